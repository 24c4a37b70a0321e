"""Inference latency: device x workload x technique x batch size.

Timed: one forward pass on a fixed batch of test images, waited for by the device. Recorded beside it, untimed:
quality on the whole test split, model size, parameters, FLOPs, peak memory and the first call (compile time).
"""

from __future__ import annotations

import os
import time

import pytest
import torch

from accelbench.measure import (
    compressed_size_bytes,
    flops_per_call,
    model_size_bytes,
    param_count,
    predict,
    weight_sparsity,
)
from techniques import facts_of

BATCH_SIZES = (1, 64)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_inference(benchmark, case, batch_size: int) -> None:
    data = case.workload.data()
    x = data.test.x[:batch_size].to(case.where)
    call = case.device.synchronized(lambda: case.model(x))

    with torch.no_grad():
        start = time.perf_counter()
        call()  # the first call pays for compilation and one-time kernel set-up
        first_call_s = time.perf_counter() - start
        outputs = predict(lambda batch: case.model(batch.to(case.where)), data.test.x, batch_size)
        size = model_size_bytes(case.model)
        benchmark.extra_info.update(
            device=case.device.name,
            simulated=case.device.simulated,
            workload=case.workload.name,
            technique=case.technique.name,
            batch_size=batch_size,
            accuracy=case.workload.score(outputs, data.test.y),
            metric=case.workload.metric,
            **(case.workload.quality(outputs, data.test.y) if hasattr(case.workload, "quality") else {}),
            model_size_bytes=size,
            compressed_size_bytes=compressed_size_bytes(case.model),
            param_count=param_count(case.model),
            bits_per_param=8 * size / max(param_count(case.model), 1),  # serialised, scales and biases included
            weight_sparsity=weight_sparsity(case.model),
            flops_per_batch=flops_per_call(case.model, x),
            peak_memory_bytes=case.device.peak_memory_bytes(call),
            first_call_s=first_call_s,
            model_setup_s=case.model_setup_s,
            apply_s=case.apply_s,
            load_avg_1m=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,  # a busy machine explains noise
        )
        benchmark(call)
    # the technique's own record; a compiled technique learns some facts (fast path taken?) at its first call
    benchmark.extra_info.update(flat_facts(facts_of(case.model)))


def flat_facts(facts: dict) -> dict:
    """Only flat scalars go into the results; anything else is recorded as its text."""
    return {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in facts.items()}
