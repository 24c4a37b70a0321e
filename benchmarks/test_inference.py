"""Inference latency: device x workload x technique x batch size.

Real devices: one forward pass on a fixed batch of test inputs is timed, waited for by the device. Simulated
devices: the host captures the operator graph of that same call and the device's cost model predicts its latency
and energy; the timed figure is then the simulator's own run time, and `simulated_latency_s` is the result.
Recorded beside either, untimed: quality on the whole test split (on the host), model size, parameters, FLOPs,
peak memory and the first call (compile time). After the timing, real devices add energy per inference (from the
device's energy meter, over a fixed window of calls) and, for every technique but the baseline, a paired speedup
against the baseline model of the same device and workload (ABAB rounds; median and bootstrap interval).
"""

from __future__ import annotations

import os
import time

import pytest
import torch

import accelbench.results as results
from accelbench.contention import watched
from accelbench.energy import energy_meter_of, metered
from accelbench.measure import (
    compressed_size_bytes,
    flops_per_call,
    model_size_bytes,
    param_count,
    predict,
    weight_sparsity,
)
from accelbench.rounds import LaterPasses, LaterWindows, Pairing, paired_rounds
from accelbench.stats import low_quantile
from devices.simulated.device import captured, prediction_figures, roofline_points, runtime_of
from techniques import facts_of

BATCH_SIZES = (1, 64)


def host_measurements(case, batch_size: int, x: torch.Tensor) -> dict:
    """Quality, size, parameters and FLOPs of the case's model: the same on every device that shares the host."""
    data = case.workload.data()
    outputs = predict(lambda batch: case.model(batch.to(case.where)), data.test.x, batch_size)
    size = model_size_bytes(case.model)
    quality = case.workload.quality(outputs, data.test.y)
    return dict(
        accuracy=case.workload.score(outputs, data.test.y),
        metric=case.workload.metric,
        **quality,
        model_size_bytes=size,
        compressed_size_bytes=compressed_size_bytes(case.model),
        param_count=param_count(case.model),
        bits_per_param=8 * size / max(param_count(case.model), 1),  # serialised, scales and biases included
        weight_sparsity=weight_sparsity(case.model),
        flops_per_batch=flops_per_call(case.model, x),
    )


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_inference(benchmark, case, baseline_model, host_figures: dict, later_passes: list, batch_size: int) -> None:
    data = case.workload.data()
    x = data.test.x[:batch_size].to(case.where)
    call = case.device.synchronized(lambda: case.model(x))
    key = (str(case.where), case.workload.name, case.technique.name, batch_size)

    with torch.no_grad():
        first_call_s = None
        if not case.device.simulated:  # the host's first call says nothing about a simulated device
            start = time.perf_counter()
            call()  # the first call pays for compilation and one-time kernel set-up
            first_call_s = time.perf_counter() - start
        if key not in host_figures:
            host_figures[key] = host_measurements(case, batch_size, x)
        benchmark.extra_info.update(
            device=case.device.name,
            simulated=case.device.simulated,
            workload=case.workload.name,
            technique=case.technique.name,
            technique_dtype=case.technique.dtype,
            batch_size=batch_size,
            **host_figures[key],
            first_call_s=first_call_s,
            model_setup_s=case.model_setup_s,
            apply_s=case.apply_s,
            load_avg_1m=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,  # a busy machine explains noise
        )
        if case.device.simulated:
            simulate(benchmark, case, host_figures, key, x)
        else:
            benchmark.extra_info["peak_memory_bytes"] = case.device.peak_memory_bytes(call)
            with watched() as seen:  # what other processes took from the machine while this case was timed
                benchmark(call)
                after_timing(benchmark, case, baseline_model, call, x, later_passes)
            benchmark.extra_info.update(seen)
    # the technique's own record; a compiled technique learns some facts (fast path taken?) at its first call
    benchmark.extra_info.update(results.flat(facts_of(case.model)))


def after_timing(benchmark, case, baseline_model, call, x: torch.Tensor, later_passes: list) -> None:
    """Energy per inference over a window of calls, then the paired speedup against the baseline (if any).
    Untimed runs (`--benchmark-disable`, `make smoke`) do both at their minimum, to check that they work."""
    quick = benchmark.disabled
    stats = getattr(benchmark.stats, "stats", None)
    per_call_s = stats.median if stats is not None and not quick else 0.0
    reading, calls = metered(energy_meter_of(case.device), call, per_call_s, max_calls=1 if quick else 100_000)
    batch = x.shape[0]
    benchmark.extra_info.update(
        energy_per_inference_j=reading.joules / (calls * batch) if reading.joules is not None else None,
        energy_method=reading.method,
        energy_source=reading.source,
        energy_calls=calls,
        average_power_w=reading.average_power_w,
        runtime=runtime_of(case.model),  # eager, compiled or onnxruntime: the report's "why" reads it
    )
    pairing = Pairing(max_time_s=0.0, round_s=0.0, passes=1) if quick else Pairing()
    windows = None
    if pairing.passes > 1 and per_call_s > 0:  # timed alone again in each later pass
        first = low_quantile(stats.data)  # pytest-benchmark's window, read as the later windows are
        benchmark.extra_info.update({results.LATENCY_WINDOWS_S: [first], results.LATENCY_BEST_WINDOW_S: first})
        calls = benchmark.stats.iterations  # per round, as pytest-benchmark calibrated them
        windows = LaterWindows(benchmark.extra_info, call, calls, pairing.later_pass(), pairing.passes - 1)
    if isinstance(baseline_model, str):  # the baseline itself, or why there is no baseline to pair with
        benchmark.extra_info["paired_note"] = baseline_model
        if windows is not None:
            later_passes.append(windows)
        return
    baseline = case.device.synchronized(lambda: baseline_model(x))
    baseline()  # its first call at this batch size (set-up), outside the rounds
    start = time.perf_counter()
    rounds = paired_rounds(baseline, call, pairing.one_pass())
    benchmark.extra_info["paired_s"] = time.perf_counter() - start  # what pairing cost this case
    if isinstance(rounds, str):
        benchmark.extra_info["paired_note"] = rounds
        if windows is not None:
            later_passes.append(windows)
        return
    benchmark.extra_info.update(
        rounds.as_extra_info(),
        paired_passes=1,
        paired_calls_per_round=rounds.candidate_calls,
        paired_calls_per_baseline_round=rounds.baseline_calls,
    )
    if pairing.passes > 1:  # the other passes at the end of the session, in another of the machine's spells
        later_passes.append(
            LaterPasses(benchmark.extra_info, baseline, call, rounds, pairing.later_pass(), pairing.passes - 1, windows)
        )


def simulate(benchmark, case, host_figures: dict, key: tuple, x: torch.Tensor) -> None:
    graph_key = (*key, "graph")
    if graph_key not in host_figures:
        start = time.perf_counter()
        host_figures[graph_key] = (captured(case.model, x), time.perf_counter() - start)
    graph, capture_s = host_figures[graph_key]
    runtime = runtime_of(case.model)
    prediction = benchmark.pedantic(case.device.predict, args=(graph, runtime), rounds=1, iterations=1)
    batch = key[-1]
    profile = case.device.profile
    benchmark.extra_info.update(
        **prediction_figures(prediction, profile, batch),
        accuracy_on="host",
        **results.simulated_provenance(profile.name, profile.version, runtime, len(graph.ops), capture_s),
    )
    if case.technique.name == "fp32" and batch == max(BATCH_SIZES):  # the report's roofline: one point per operator
        benchmark.extra_info["roofline_ops"] = roofline_points(prediction)
