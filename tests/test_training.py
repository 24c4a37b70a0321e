"""The training axis: recipes, gradient accumulation, checkpointing, the saved-tensor meter, time-to-accuracy."""

from __future__ import annotations

import copy
import itertools

import pytest
import torch
from torch import nn

import training
import workloads
from accelbench.plugin import accuracy_target
from training import Recipe, TrainContext
from training.accuracy import summarize, time_to_accuracy, train_to_accuracy
from training.memory import SavedTensorMeter
from workloads import untrained_model

CPU = TrainContext(torch.device("cpu"))


def digits(name: str = "digits-mlp"):
    workload = workloads.REGISTRY.get(name)
    return workload, workload.data()


def gradients(step, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    step.backward(x, y)
    return {name: p.grad.clone() for name, p in step.model.named_parameters()}


def test_every_recipe_is_registered_with_the_issue_names() -> None:
    assert set(training.REGISTRY.names()) == {
        "train-baseline",
        "grad-accum-4",
        "checkpointing",
        "amp-bf16",
        "amp-fp16",
        "adam",
        "rmsprop",
        "sgd",
        "train-compile",
    }
    assert training.BASELINE in training.REGISTRY.names()


@pytest.mark.parametrize("name", training.REGISTRY.names())
def test_prepare_never_mutates_its_input(name: str) -> None:
    workload, data = digits()
    model = untrained_model(workload, 0)
    before = copy.deepcopy(model.state_dict())
    try:
        step = training.REGISTRY.get(name).prepare(model, TrainContext(torch.device("cpu"), sample=data.train))
    except NotImplementedError:
        pytest.skip(f"{name} cannot run on this CPU")
    assert all(p is not q for p, q in zip(step.model.parameters(), model.parameters()))
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize("workload_name", ["digits-mlp", "digits-lstm"])
def test_grad_accum_4_gives_the_full_batch_gradients(workload_name: str) -> None:
    workload, data = digits(workload_name)
    x, y = data.train.x[:64], data.train.y[:64]
    full = gradients(training.REGISTRY.get("train-baseline").prepare(untrained_model(workload, 0), CPU), x, y)
    accumulated = gradients(training.REGISTRY.get("grad-accum-4").prepare(untrained_model(workload, 0), CPU), x, y)
    assert full.keys() == accumulated.keys()
    for name in full:
        torch.testing.assert_close(accumulated[name], full[name], rtol=1e-5, atol=1e-6)
    # the scaling matters: without dividing each micro-batch's loss by 4 the gradients would be 4x too large
    first = next(iter(full))
    assert not torch.allclose(4 * accumulated[first], full[first])


def test_a_batch_that_does_not_split_into_micro_batches_is_refused() -> None:
    workload, data = digits()
    step = training.REGISTRY.get("grad-accum-4").prepare(untrained_model(workload, 0), CPU)
    with pytest.raises(ValueError, match="cannot be cut into 4 equal micro-batches; use a batch size divisible by 4"):
        step(data.train.x[:30], data.train.y[:30])


@pytest.mark.parametrize("workload_name", ["digits-mlp", "digits-cnn", "digits-lstm"])
def test_checkpointing_saves_activation_bytes_and_keeps_the_gradients(workload_name: str) -> None:
    workload, data = digits(workload_name)
    x, y = data.train.x[:64], data.train.y[:64]
    saved, grads = {}, {}
    for name in ("train-baseline", "checkpointing"):
        step = training.REGISTRY.get(name).prepare(untrained_model(workload, 0), CPU)
        with SavedTensorMeter(step.model) as meter:
            grads[name] = gradients(step, x, y)
        saved[name] = meter.peak_bytes
    assert 0 < saved["checkpointing"] < saved["train-baseline"]
    baseline = {k.removeprefix("inner."): v for k, v in grads["train-baseline"].items()}
    for name, grad in grads["checkpointing"].items():  # recomputation gives the same gradients
        torch.testing.assert_close(grad, baseline[name.removeprefix("inner.")], rtol=1e-5, atol=1e-6)


def test_the_meter_counts_what_autograd_holds_and_releases_it_after_backward() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    x = torch.randn(5, 8)
    with SavedTensorMeter(model) as meter:
        loss = model(x).sum()
        held = meter.held_bytes
        loss.backward()
    # saved for backward: x by the first matmul, the ReLU output (by ReLU and the second matmul: counted once)
    assert held == meter.peak_bytes == (5 * 8 + 5 * 16) * 4
    assert meter.held_bytes == 0  # the graph was freed after backward
    with SavedTensorMeter(model) as meter:
        losses = [model(x).sum() for _ in range(4)]  # four graphs alive at once: four ReLU outputs, one shared x
    assert meter.peak_bytes == (5 * 8 + 4 * 5 * 16) * 4 and len(losses) == 4


def test_amp_fp16_says_it_needs_cuda() -> None:
    workload, _ = digits()
    with pytest.raises(
        NotImplementedError, match=r"amp-fp16 needs CUDA \(fp16 training with torch.amp.GradScaler\); cpu"
    ):
        training.REGISTRY.get("amp-fp16").prepare(untrained_model(workload, 0), CPU)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"optimizer": "lion"}, "unknown optimizer 'lion'; valid: sgd-momentum, sgd, adam, rmsprop"),
        ({"micro_batches": 0}, "micro_batches must be a whole number >= 1; got 0"),
        ({"amp": "fp8"}, "unknown amp dtype 'fp8'; valid: None, bf16, fp16"),
    ],
)
def test_a_bad_recipe_is_refused_with_what_is_valid(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Recipe("bad", **fields)


def test_a_workload_without_an_untrained_model_is_refused_with_the_reason() -> None:
    with pytest.raises(NotImplementedError, match="resnet-mini has no build"):
        untrained_model(workloads.REGISTRY.get("resnet-mini"), 0)


# --- time-to-accuracy ------------------------------------------------------------------------------------------


def fake_clock(step_s: float = 0.5):
    ticks = itertools.count()
    return lambda: next(ticks) * step_s


def test_time_to_accuracy_stops_at_the_first_epoch_that_reaches_the_target() -> None:
    accuracies = iter([0.5, 0.9, 0.96, 0.99])
    epochs = []
    result = time_to_accuracy(epochs.append, lambda: next(accuracies), 0.95, 10, clock=fake_clock())
    assert result.reached and result.epochs == 3 and epochs == [1, 2, 3]
    assert result.seconds == 0.5 and result.best_accuracy == 0.96  # the fake clock ticked once at start and end
    assert result.summary == "reached 95.0% in 3 epochs (0.5 s)"


def test_time_to_accuracy_that_never_reaches_the_target_says_so() -> None:
    result = time_to_accuracy(lambda epoch: None, lambda: 0.8, 0.95, 4, clock=fake_clock())
    assert not result.reached and result.epochs == 4
    assert result.summary == "not reached within 4 epochs (best 80.0%)"
    figures = summarize([result, result])
    assert figures["reached_seeds"] == 0 and figures["time_to_accuracy_s_mean"] is None
    assert figures["verdict"] == "not reached within 4 epochs (best 80.0%)"


def test_summary_over_seeds_is_the_mean_and_spread_of_those_that_reached() -> None:
    runs = [
        time_to_accuracy(lambda e: None, lambda: acc, 0.9, 3, clock=fake_clock(s))
        for acc, s in [(0.95, 1.0), (0.95, 3.0), (0.5, 2.0)]
    ]
    figures = summarize(runs)
    assert figures["reached_seeds"] == 2 and figures["seeds"] == 3
    assert figures["time_to_accuracy_s_mean"] == pytest.approx(2.0)
    assert figures["time_to_accuracy_s_std"] == pytest.approx(2**0.5)
    assert figures["verdict"] == "reached 90.0% in 2 of 3 seeds within 3 epochs"


@pytest.mark.parametrize("bad", ["0", "1.5", "-0.2"])
def test_a_target_accuracy_outside_0_1_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"is not a fraction in \(0, 1\]"):
        accuracy_target(bad)
    with pytest.raises(ValueError, match=r"target accuracy must be in \(0, 1\]"):
        time_to_accuracy(lambda e: None, lambda: 1.0, float(bad), 3)


def test_adam_trains_digits_mlp_to_90_percent_and_a_frozen_model_never_does() -> None:
    workload, data = digits()
    adam = training.REGISTRY.get("adam").prepare(untrained_model(workload, 0), CPU)
    assert train_to_accuracy(adam, workload.score, data, 64, target=0.9, max_epochs=20, seed=0).reached
    frozen = Recipe("frozen", optimizer="sgd").prepare(untrained_model(workload, 0), CPU)
    frozen.optimizer.param_groups[0]["lr"] = 0.0
    result = train_to_accuracy(frozen, workload.score, data, 64, target=0.9, max_epochs=2, seed=0)
    assert not result.reached and result.summary.startswith("not reached within 2 epochs")
