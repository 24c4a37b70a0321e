"""The compression techniques do what they say: accuracy bounds, sparsity patterns, sizes, records."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

import techniques
from accelbench.measure import compressed_size_bytes, model_size_bytes, param_count, predict, weight_sparsity
from techniques import Context, facts_of
from techniques.sparse_2of4 import mask_2of4
from workloads.digits_cnn import DigitsCNN
from workloads.digits_mlp import DigitsMLP

WORKLOADS = [DigitsMLP(), DigitsCNN()]
BOUNDED = ["prune-l1-50", "int8-dynamic", "int8-static", "int8-weight-only", "prune-channels-50"]
MAX_DROP = 0.015  # accuracy points (as a fraction) these may lose against fp32, on the fixed seeds


def context_for(workload) -> Context:
    data = workload.data()
    return Context(device=torch.device("cpu"), calibration=data.val, train=data.train)


def split_accuracy(workload, model: nn.Module) -> float:
    data = workload.data()  # the split as one batch: a compiled model compiles one shape, not 64 and the remainder
    return workload.score(predict(model, data.test.x, len(data.test.x)), data.test.y)


@pytest.mark.slow
@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.name)
@pytest.mark.parametrize("name", BOUNDED)
def test_accuracy_stays_within_bound_of_fp32(name: str, workload, cache_dir: Path) -> None:
    base = workload.model(cache_dir)
    reference = split_accuracy(workload, base)
    accuracy = split_accuracy(workload, techniques.resolve(name).apply(base, context_for(workload)))
    assert accuracy >= reference - MAX_DROP, f"{name} on {workload.name}: {accuracy:.4f} vs fp32 {reference:.4f}"


@pytest.mark.parametrize("name, amount", [("prune-l1-50", 0.5), ("prune-l1-90", 0.9)])
def test_unstructured_pruning_leaves_a_plain_sparse_model(name: str, amount: float, cache_dir: Path) -> None:
    workload = DigitsMLP()
    pruned = techniques.resolve(name).apply(workload.model(cache_dir), context_for(workload))
    assert not any(hasattr(m, "weight_mask") or hasattr(m, "weight_orig") for m in pruned.modules())  # masks gone
    assert weight_sparsity(pruned) == pytest.approx(amount, abs=0.01)
    assert compressed_size_bytes(pruned) < model_size_bytes(pruned) * (1 - amount + 0.1)
    assert facts_of(pruned)["finetune_s"] > 0


@pytest.mark.slow
def test_channel_pruning_makes_the_model_physically_smaller(cache_dir: Path) -> None:
    workload = DigitsCNN()
    base = workload.model(cache_dir)
    pruned = techniques.resolve("prune-channels-50").apply(base, context_for(workload))
    assert param_count(pruned) < 0.4 * param_count(base)
    assert pruned(workload.data().test.x[:3]).shape == (3, 10)
    assert weight_sparsity(pruned) < 0.01  # smaller, not zero-filled


def test_2of4_keeps_two_of_every_four_weights(cache_dir: Path) -> None:
    weight = torch.randn(8, 16)
    mask = mask_2of4(weight)
    assert torch.equal(mask.reshape(8, 4, 4).sum(-1), torch.full((8, 4), 2.0))
    kept = (weight.abs() * mask).reshape(8, 4, 4)
    dropped = (weight.abs() * (1 - mask)).reshape(8, 4, 4)
    assert torch.all(kept.topk(2, -1).values.min(-1).values >= dropped.max(-1).values)
    assert mask_2of4(torch.randn(4, 9)) is None  # 9 inputs cannot form groups of 4

    workload = DigitsMLP()
    sparse = techniques.resolve("sparse-2of4").apply(workload.model(cache_dir), context_for(workload))
    for module in sparse.modules():
        if isinstance(module, nn.Linear) and module.in_features % 4 == 0:
            groups = (module.weight != 0).reshape(module.out_features, -1, 4).sum(-1)
            assert int(groups.max()) <= 2
    assert facts_of(sparse)["sparse_kernel"].startswith("none on cpu")


def test_binary_weights_take_two_values_per_output_channel_and_spare_the_ends(cache_dir: Path) -> None:
    workload = DigitsMLP()
    binary = techniques.resolve("binary").apply(workload.model(cache_dir), context_for(workload))
    layers = [m for m in binary.modules() if isinstance(m, nn.Linear)]
    for layer in layers[1:-1]:
        for row in layer.weight:
            assert len(row.abs().unique()) == 1
    assert len(layers[0].weight[0].abs().unique()) > 2 and len(layers[-1].weight[0].abs().unique()) > 2


@pytest.mark.slow
def test_distillation_records_the_scratch_baseline_beside_the_student(cache_dir: Path) -> None:
    workload = DigitsCNN()
    base = workload.model(cache_dir)
    distill = techniques.resolve("distill")  # 8 of its 25 epochs: the students reach 0.97-0.98 and it takes a third
    distill = dataclasses.replace(distill, recipe=dataclasses.replace(distill.recipe, epochs=8))
    student = distill.apply(base, context_for(workload))
    facts = facts_of(student)
    assert 0.15 < facts["student_param_fraction"] < 0.4
    assert param_count(student) == pytest.approx(facts["student_param_fraction"] * param_count(base))
    for key in ("kd_val_accuracy_mean", "scratch_val_accuracy_mean"):
        assert 0.5 < facts[key] <= 1.0
    assert facts["kd_val_accuracy_std"] < 0.1 and facts["scratch_val_accuracy_std"] < 0.1  # seeds, not chaos


@pytest.mark.slow
def test_static_int8_takes_the_int8_kernel_path(cache_dir: Path) -> None:
    workload = DigitsCNN()
    model = techniques.resolve("int8-static").apply(workload.model(cache_dir), context_for(workload))
    with torch.no_grad():
        model(workload.data().test.x[:4])
    assert facts_of(model)["fast_path"] is True and facts_of(model)["int8_kernels"] > 0


@pytest.mark.slow
def test_a_composition_merges_what_its_parts_record(cache_dir: Path) -> None:
    workload = DigitsCNN()
    model = techniques.resolve("prune-channels-50+int8-static").apply(workload.model(cache_dir), context_for(workload))
    with torch.no_grad():
        model(workload.data().test.x[:4])
    facts = facts_of(model)
    assert facts["finetune_s"] > 0 and facts["fast_path"] is True


def test_a_composition_that_cannot_apply_is_a_skip_with_the_reason(cache_dir: Path) -> None:
    workload = DigitsMLP()
    with pytest.raises(NotImplementedError, match="prune-l1-50 cannot be applied after int8-static"):
        techniques.resolve("int8-static+prune-l1-50").apply(workload.model(cache_dir), context_for(workload))
