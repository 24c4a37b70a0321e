"""Training step: device x workload x training technique.

Real devices: one optimizer step (forward, backward, update) on a fixed batch is timed, waited for by the device.
Simulated devices: the host captures the forward graph of one micro-batch as the step runs it, and the device's cost
model prices forward, backward (twice the forward's matrix work), any recomputation and the optimizer update, plus a
projection of data-parallel training to 8 and 64 devices over the profile's interconnect; the timed figure is then
the simulator's own run time, and `simulated_latency_s` (the step time) is the result.
Recorded beside either, untimed: the loss after a fixed number of steps from seeded weights, the bytes autograd saves
for backward (device-neutral), the parameter and optimizer-state bytes; on real devices also the first step (compile
time), peak memory as the device measures it and the process's resident memory.
"""

from __future__ import annotations

import os
import time

import psutil
import pytest
import torch

import accelbench.results as results
import devices
import training
from accelbench.contention import watched
from training.memory import SavedTensorMeter
from training.optimizers import state_bytes

BATCH_SIZES = (64,)
# digits-mlp in the default tier; the others join `make bench TIER=full` (digits-cnn too since a first `make bench`
# has to fit in three minutes, issue 18: its compiled training step alone compiles for 9 s)
WORKLOADS = [
    "digits-mlp",
    *(pytest.param(name, marks=pytest.mark.full) for name in ("digits-cnn", "digits-dscnn", "digits-lstm")),
]
LOSS_STEPS = 30  # optimizer steps from seed 0's initial weights before the loss is read
SEED = 0


def host_training(case, batch_size: int) -> tuple[dict, object]:
    """Figures of the recipe on the host (or the real device) that simulated devices share, and the trained step."""
    data = case.workload.data()
    step = (case.host_technique or case.technique).prepare(case.model(SEED), case.context)
    x, y = data.train.x.to(case.where), data.train.y.to(case.where)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SEED)).to(case.where)
    batches = [order[i : i + batch_size] for i in range(0, len(y) - batch_size + 1, batch_size)]
    run = lambda b: case.device.synchronized(lambda: step(x[b], y[b]))()  # noqa: E731 (waited for by the device)
    start = time.perf_counter()
    run(batches[0])  # the first step pays for compilation and one-time set-up
    first_step_s = time.perf_counter() - start
    for i in range(1, LOSS_STEPS):
        run(batches[i % len(batches)])
    loss = step.evaluate_loss(data.val.x.to(case.where), data.val.y.to(case.where))
    with SavedTensorMeter(step.model) as meter:
        step.backward(x[batches[0]], y[batches[0]])
    step.optimizer.zero_grad(set_to_none=True)
    params = list(step.model.parameters())
    figures = dict(
        loss_after_steps=loss,
        loss_steps=LOSS_STEPS,
        saved_activation_bytes=meter.peak_bytes,
        saved_tensors=meter.saved_tensors,
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        optimizer_state_bytes=state_bytes(step.optimizer),
        micro_batches=step.micro_batches,
        micro_batch_size=batch_size // step.micro_batches,
        first_step_s=first_step_s,
    )
    return figures, step


# listed outermost first, so that ids read device-workload-technique-batch as in test_inference
@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("training_technique", training.REGISTRY.names(), indirect=True)
@pytest.mark.parametrize("workload", WORKLOADS, indirect=True)
@pytest.mark.parametrize("device", devices.REGISTRY.names(), indirect=True)
def test_training(benchmark, training_case, host_figures: dict, batch_size: int) -> None:
    case = training_case
    host_recipe = case.host_technique or case.technique  # what the host runs (a stand-in: TrainingCase)
    key = (str(case.where), case.workload.name, host_recipe.name, batch_size, "training")
    if key not in host_figures:
        host_figures[key] = host_training(case, batch_size)
    figures, step = host_figures[key]
    benchmark.extra_info.update(
        benchmark="training",
        device=case.device.name,
        simulated=case.device.simulated,
        workload=case.workload.name,
        technique=case.technique.name,
        batch_size=batch_size,
        optimizer=case.technique.optimizer,
        **{k: v for k, v in figures.items() if not (case.device.simulated and k == "first_step_s")},
        load_avg_1m=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    )
    if case.device.simulated:
        simulate_training(benchmark, case, step, figures, host_figures, key)
        return
    data = case.workload.data()
    x, y = data.train.x[:batch_size].to(case.where), data.train.y[:batch_size].to(case.where)
    call = case.device.synchronized(lambda: step(x, y))
    benchmark.extra_info["peak_memory_bytes"] = case.device.peak_memory_bytes(call)
    with watched() as seen:  # what other processes took from the machine while this case was timed
        benchmark(call)
    benchmark.extra_info.update(seen)
    benchmark.extra_info["rss_bytes"] = psutil.Process().memory_info().rss
    median_s = benchmark.stats.stats.median if benchmark.stats else None  # None under --benchmark-disable
    benchmark.extra_info["samples_per_s"] = batch_size / median_s if median_s else None


def simulate_training(benchmark, case, step, figures: dict, host_figures: dict, key: tuple) -> None:
    from devices.simulated.graph import capture, retyped
    from devices.simulated.training import PROJECTED_DEVICES, TrainingStep, project_data_parallel

    graph_key = (*key, "graph")
    if graph_key not in host_figures:
        x = case.workload.data().train.x[: figures["micro_batch_size"]].to(case.where)
        start = time.perf_counter()
        recomputed = step.recomputed_module()
        graphs = (capture(step.forward_module, x), capture(recomputed, x) if recomputed is not None else None)
        host_figures[graph_key] = (*graphs, time.perf_counter() - start)
    forward, recompute, capture_s = host_figures[graph_key]
    if case.retype:  # the host ran a stand-in (amp-bf16 for amp-fp16): its graph in the recipe's own types
        forward, recompute = retyped(forward, case.retype), recompute and retyped(recompute, case.retype)
        benchmark.extra_info["host_stand_in"] = case.host_technique.name
    params = list(step.model.parameters())
    spec = TrainingStep(
        forward=forward,
        micro_batches=step.micro_batches,
        recompute=recompute,
        param_bytes=figures["param_bytes"],
        param_tensors=len(params),
        state_bytes=figures["optimizer_state_bytes"],
        update_flops=step.optimizer_spec.flops_per_element * sum(p.numel() for p in params),
        update_ops_per_tensor=step.optimizer_spec.kernels_per_tensor,
    )
    runtime = "compiled" if step.compiled else "eager"
    prediction = benchmark.pedantic(case.device.predict_training, args=(spec, runtime), rounds=1, iterations=1)
    batch, profile = key[3], case.device.profile
    benchmark.extra_info.update(
        simulated_latency_s=prediction.step_s,  # the report's step time for a simulated case
        samples_per_s=batch / prediction.step_s,
        **{
            f"time_{part}_s": getattr(prediction, f"{part}_s")
            for part in ("forward", "backward", "recompute", "optimizer")
        },
        energy_per_step_j=prediction.energy_j,
        energy_method="simulated",
        loss_on="host",
        **results.simulated_provenance(profile.name, profile.version, runtime, len(forward.ops), capture_s),
    )
    for count in PROJECTED_DEVICES:  # weak scaling: each device keeps the case's batch
        projected = project_data_parallel(prediction.step_s, spec.grad_bytes, profile, count)
        if projected is None:
            benchmark.extra_info[f"projection_{count}"] = (
                f"unavailable: {profile.name} lists no interconnect for {count} devices"
            )
            continue
        benchmark.extra_info.update(
            {
                f"projection_{count}": f"projection over {projected.link}",
                f"projected_step_s_{count}": projected.step_s,
                f"projected_allreduce_s_{count}": projected.allreduce_s,
                f"projected_efficiency_{count}": projected.scaling_efficiency,
                f"projected_samples_per_s_{count}": count * batch / projected.step_s,
            }
        )
