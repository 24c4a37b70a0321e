"""The simulated training step and the data-parallel projection: properties and hand computations."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import devices
from devices.simulated.cost import predict
from devices.simulated.graph import Gemm, capture
from devices.simulated.profile import PROFILE_DIR, Link, ProfileError, load_profile, load_profiles
from devices.simulated.training import (
    TrainingStep,
    backward_graph,
    link_for,
    optimizer_s,
    predict_step,
    project_data_parallel,
    ring_allreduce_s,
)

PROFILES, _ = load_profiles([PROFILE_DIR])
TRAINING_PROFILES = sorted(name for name, p in PROFILES.items() if not p.inference_only)


def mlp_graph(batch: int = 64):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    return capture(model, torch.randn(batch, 64))


PARAMS = 64 * 256 + 256 + 256 * 10 + 10  # of mlp_graph's model, float32


def step_of(graph, **fields) -> TrainingStep:
    """SGD with momentum on mlp_graph's model: one state tensor per parameter, 4 FLOPs per element."""
    defaults = dict(
        forward=graph, param_bytes=4 * PARAMS, param_tensors=4, state_bytes=4 * PARAMS, update_flops=4 * PARAMS
    )
    return TrainingStep(**{**defaults, **fields})


def test_backward_is_twice_the_forward_matrix_work_in_reverse_order() -> None:
    forward = mlp_graph()
    backward = backward_graph(forward)
    matrix = lambda g: sum(op.flops for op in g.ops if op.kind == "matrix")  # noqa: E731
    assert matrix(backward) == 2 * matrix(forward) > 0
    assert [op.name for op in backward.ops] == [f"{op.name}.backward" for op in reversed(forward.ops)]
    first = forward.ops[0].gemms[0]  # (64 x 64)(64 x 256)
    assert first == Gemm(1, 64, 256, 64)
    # gradient of the input (64 x 256)(256 x 64), of the weight (64 x 64)(64 x 256)
    assert backward.ops[-1].gemms == (Gemm(1, 64, 64, 256), Gemm(1, 64, 256, 64))
    for f, b in zip(reversed(forward.ops), backward.ops):  # every backward op moves at least its forward's bytes
        assert b.bytes >= f.bytes


@pytest.mark.parametrize("name", TRAINING_PROFILES)
def test_a_step_is_its_parts_and_more_work_is_never_faster(name: str) -> None:
    profile, graph = PROFILES[name], mlp_graph()
    base = predict_step(step_of(graph), profile)
    assert base.forward_s == pytest.approx(predict(graph, profile).latency_s)
    assert base.step_s == pytest.approx(base.forward_s + base.backward_s + base.optimizer_s)
    assert base.recompute_s == 0 and base.energy_j > 0
    recompute = predict_step(step_of(graph, recompute=graph), profile)  # checkpointing the whole model
    assert recompute.step_s == pytest.approx(base.step_s + base.forward_s)
    accumulated = predict_step(step_of(mlp_graph(16), micro_batches=4), profile)
    assert accumulated.optimizer_s == pytest.approx(base.optimizer_s)  # one update per step, however many slices
    assert accumulated.forward_s == pytest.approx(4 * predict(mlp_graph(16), profile).latency_s)
    adam = predict_step(step_of(graph, state_bytes=8 * PARAMS, update_flops=12 * PARAMS), profile)  # two moments
    assert adam.optimizer_s > base.optimizer_s


def test_optimizer_time_is_traffic_or_arithmetic_plus_kernels_by_hand() -> None:
    profile = dataclasses.replace(PROFILES["sim-h100"], op_overhead=1e-6)
    step = TrainingStep(
        forward=mlp_graph(),
        param_bytes=4_000_000,
        param_tensors=10,
        state_bytes=4_000_000,
        update_flops=1000,
        update_ops_per_tensor=2,
    )
    traffic = (2 * 4e6 + 4e6 + 2 * 4e6) / profile.memory[-1].bandwidth  # params r+w, grads r, state r+w
    assert optimizer_s(step, profile, fused=False) == pytest.approx(traffic + 20 * 1e-6)
    assert optimizer_s(step, profile, fused=True) == pytest.approx(traffic + 2 * 1e-6)


def test_ring_allreduce_matches_a_hand_computation() -> None:
    link = Link("test link", bandwidth=1e9, latency=1e-6, devices=None)
    # 2(N-1)/N x bytes / bandwidth + 2(N-1) x latency, N = 4, 1 MB over 1 GB/s
    assert ring_allreduce_s(1e6, 4, link) == pytest.approx(2 * 3 / 4 * 1e6 / 1e9 + 6 * 1e-6)
    assert ring_allreduce_s(1e6, 4, link) == pytest.approx(1.506e-3)
    assert ring_allreduce_s(1e6, 1, link) == 0.0
    # the bandwidth term approaches 2 x bytes / bandwidth as N grows
    assert ring_allreduce_s(1e6, 1024, Link("x", 1e9, 0.0, None)) == pytest.approx(2e-3, rel=1e-2)
    with pytest.raises(ValueError, match="at least 1 device; got 0"):
        ring_allreduce_s(1e6, 0, link)


def test_the_projection_picks_the_link_that_joins_that_many_devices() -> None:
    h100 = PROFILES["sim-h100"]
    assert "NVLink" in link_for(h100, 8).name and "InfiniBand" in link_for(h100, 64).name
    assert "ICI" in link_for(PROFILES["sim-tpu-v4"], 64).name
    assert link_for(PROFILES["sim-cpu"], 8) is None
    assert project_data_parallel(1e-3, 10**6, PROFILES["sim-cpu"], 8) is None  # unavailable, not guessed


@pytest.mark.parametrize("name", [n for n in TRAINING_PROFILES if PROFILES[n].interconnect])
def test_more_devices_spend_more_on_the_all_reduce_at_lower_efficiency(name: str) -> None:
    profile, step_s, grad_bytes = PROFILES[name], 2e-3, 50_000_000
    projections = [project_data_parallel(step_s, grad_bytes, profile, n) for n in (1, 2, 8, 64)]
    assert projections[0].scaling_efficiency == 1.0 and projections[0].allreduce_s == 0.0
    efficiencies = [p.scaling_efficiency for p in projections]
    assert efficiencies == sorted(efficiencies, reverse=True) and all(0 < e <= 1 for e in efficiencies)
    allreduces = [p.allreduce_s for p in projections]
    assert allreduces == sorted(allreduces)
    for p in projections:  # per-device compute is the measured step: only communication is added
        assert p.step_s == pytest.approx(step_s + p.allreduce_s)


def test_inference_only_devices_have_no_training_step() -> None:
    edge = devices.REGISTRY.get("sim-edge-tpu")
    with pytest.raises(NotImplementedError, match="inference-only accelerator"):
        edge.predict_training(step_of(mlp_graph()))
    assert devices.REGISTRY.get("sim-tpu-v4").predict_training(step_of(mlp_graph())).step_s > 0


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def test_interconnect_figures_are_optional_and_sourced() -> None:
    assert PROFILES["sim-cpu"].interconnect == ()
    for name in ("sim-h100", "sim-a100", "sim-l4", "sim-t4", "sim-tpu-v4", "sim-tpu-v5e"):
        figures = PROFILES[name].figures
        assert PROFILES[name].interconnect, name
        assert all(figures[f"interconnect.{i}.bandwidth"].source for i in range(len(PROFILES[name].interconnect)))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('name = "ICI, 3D torus (TPU v4 pod)"\n', ""), r"field 'interconnect\[0\].name': missing"),
        (
            lambda t: re.sub(r"(?m)^bandwidth = \{ value = 268.6e9.*$", "bandwidth = 268.6e9", t),
            r"field 'interconnect.0.bandwidth': 268600000000.0 is a bare float",
        ),
        (
            lambda t: "interconnect = 5\n" + t.split("[[interconnect]]")[0],
            r"field 'interconnect': not an array of tables",
        ),
    ],
    ids=["missing-name", "bare-number", "not-a-table"],
)
def test_a_malformed_interconnect_is_refused_with_the_field(tmp_path: Path, edit, message: str) -> None:
    path = write(tmp_path, edit((PROFILE_DIR / "sim-tpu-v4.toml").read_text()))
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_a_graph_is_retyped_only_between_types_of_one_width() -> None:
    from devices.simulated.graph import Graph, Op, retyped

    ops = tuple(
        Op(index=i, name=name, kind="vector", dtype=dtype, flops=10, bytes_read=20, weight_bytes=0, bytes_written=20)
        for i, (name, dtype) in enumerate([("aten.add", "bf16"), ("aten.mul", "fp32")])
    )
    graph = Graph(ops=ops, weight_bytes=0, input_bytes=20, output_bytes=20)
    fp16 = retyped(graph, {"bf16": "fp16"})
    assert [op.dtype for op in fp16.ops] == ["fp16", "fp32"]
    assert [op.bytes_read for op in fp16.ops] == [op.bytes_read for op in graph.ops]
    with pytest.raises(ValueError, match="cannot re-type 'bf16' as 'fp32'.*valid: fp32 \\(32 bits\\)"):
        retyped(graph, {"bf16": "fp32"})


def test_amp_fp16_stands_in_as_amp_bf16_where_the_host_cannot_train_in_fp16() -> None:
    from training import REGISTRY

    recipe, dtypes = REGISTRY.get("amp-fp16").stand_in()
    assert recipe.amp == "bf16" and dtypes == {"bf16": "fp16"}
    assert recipe.optimizer == REGISTRY.get("amp-fp16").optimizer
    assert REGISTRY.get("amp-bf16").stand_in() is None and REGISTRY.get("train-baseline").stand_in() is None
