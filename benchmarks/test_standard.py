"""The models people deploy on every simulated device: workloads/standard.py's ResNet-50, MobileNet v1/v2,
ViT-B/16, BERT base/large and the Llama-2-7B-shaped decoder (prefill and decode), in each number format that needs
no fine-tuning, at batch 1 and 64.

Nothing runs on the host: each model's operator graph is captured on fake tensors (shapes and dtypes only, so a
7B-parameter decoder costs no memory), once per model, batch and float dtype, shared by every device and kept beside
the trained weights (a later run reads it: devices/simulated/graph.py `cached_fake_capture`); the quantized and
sparse formats are that graph's weighted matrix operators re-typed as a deployed runtime's kernels read them
(`as_format`). Without values there is no output to score: these rows record no quality (their metric says so);
`TIER=full` measures the models that fit on the real `cpu`.

The test is named `test_inference`, as in test_inference.py: the rows are inference rows, case ids
`test_inference[device-workload-technique-batch]`, and every table and plot of the report takes them as such.
"""

from __future__ import annotations

import inspect
import time
from importlib.metadata import version
from pathlib import Path

import pytest
import torch

import accelbench.results as results
import devices
from devices.simulated.cost import does_not_fit
from devices.simulated.device import prediction_figures, roofline_points
from devices.simulated.graph import as_format, cached_fake_capture, retyped
from workloads import standard
from workloads.standard import MATRIX

BATCH_SIZES = (1, 64)
# the technique each format stands for: (the dtype the model is built in, the format its weighted matrix operators
# are then priced in); quantized and sparse formats start from a 16-bit model, as deployed runtimes run them
FORMATS = {
    "fp32": ("fp32", None),
    "bf16": ("bf16", None),
    "fp16": ("fp16", None),
    "fp8": ("bf16", "fp8"),  # only on devices whose profile has fp8
    "int8-static": ("bf16", "int8"),  # int8 weights and activations, scales fixed ahead of time
    "int8-weight-only": ("bf16", "int8-weight"),
    "int4-weight-only": ("bf16", "int4-weight"),
    "sparse-2of4": ("bf16", "2:4"),
}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# what builds the models, read once (a file edited during a run must not name graphs the loaded code made)
STANDARD_SOURCE = inspect.getsource(standard)
# an fp16 model's graph is its bf16 graph re-typed (tests/test_standard_models.py checks it for every model)
SAME_GRAPH = {"fp16": "bf16"}
FORMAT_DTYPE = {"int8": "int8", "int8-weight": "int8", "int4-weight": "int4", "fp8": "fp8", "2:4": "bf16"}
# the standard models are priced as deployed: the vendor's runtime (devices/simulated/cost.py), as the published
# measurements they are validated against (tools/validate.py) run them
RUNTIME = "deployed"
METRIC = "fidelity to fp32: not measured (priced from a fake capture, shapes only; TIER=full measures it on cpu)"


def _cases() -> list:
    cases = []
    for device in devices.REGISTRY:
        if not device.simulated:
            continue
        for workload in MATRIX:
            for technique in FORMATS:
                if technique == "fp8" and not device.profile.supports("fp8"):
                    continue
                for batch in BATCH_SIZES:
                    cases.append(
                        pytest.param(
                            device.name, workload, technique, batch, id=f"{device.name}-{workload}-{technique}-{batch}"
                        )
                    )
    return cases


@pytest.fixture(scope="session")
def fake_graphs() -> dict:
    """(workload, dtype, batch) -> (graph, parameters, capture seconds), shared by every device and format."""
    return {}


def _graph(fake_graphs: dict, cache_dir: Path, workload: str, dtype: str, batch: int):
    """The captured graph, kept on disk beside the trained weights (a later run reads it instead of capturing)."""
    key = (workload, dtype, batch)
    if key not in fake_graphs and dtype in SAME_GRAPH:  # the same operators on the same bytes: not captured again
        graph, params, capture_s = _graph(fake_graphs, cache_dir, workload, SAME_GRAPH[dtype], batch)
        fake_graphs[key] = (retyped(graph, {SAME_GRAPH[dtype]: dtype}), params, capture_s)
    if key not in fake_graphs:
        model, phase = MATRIX[workload]
        build = model.builder(batch, DTYPES[dtype], phase=phase)
        definition = (model, phase, DTYPES[dtype], batch, STANDARD_SOURCE, version("transformers"))
        start = time.perf_counter()
        stacked = model.stacked(batch, DTYPES[dtype], phase=phase)  # a transformer's layers: a few, repeated
        graph, _ = cached_fake_capture(build, definition, cache_dir, stacked)
        fake_graphs[key] = (graph, graph.parameters, time.perf_counter() - start)
    return fake_graphs[key]


@pytest.mark.parametrize("device, workload, technique, batch_size", _cases())
def test_inference(
    benchmark, fake_graphs: dict, cache_dir: Path, device: str, workload: str, technique: str, batch_size: int
) -> None:
    simulated = devices.REGISTRY.get(device)
    base, fmt = FORMATS[technique]
    graph, params, capture_s = _graph(fake_graphs, cache_dir, workload, base, batch_size)
    if fmt is not None:
        graph = as_format(graph, fmt)
    model, phase = MATRIX[workload]
    too_big = does_not_fit(graph, simulated.profile, model.state_bytes(batch_size, DTYPES[base], phase=phase))
    if too_big:
        pytest.skip(f"{workload} {technique} at batch {batch_size} on {device}: {too_big}")
    prediction = benchmark.pedantic(simulated.predict, args=(graph, RUNTIME), rounds=1, iterations=1)
    profile = simulated.profile
    benchmark.extra_info.update(
        benchmark=results.INFERENCE,
        device=device,
        simulated=True,
        workload=workload,
        technique=technique,
        technique_dtype=FORMAT_DTYPE.get(fmt, base),
        batch_size=batch_size,
        accuracy=None,
        metric=METRIC,
        model_size_bytes=graph.weight_bytes,
        param_count=params,
        bits_per_param=8 * graph.weight_bytes / max(params, 1),
        weight_sparsity=0.5 if fmt == "2:4" else 0.0,
        flops_per_batch=graph.flops,
        **prediction_figures(prediction, profile, batch_size),
        **results.simulated_provenance(profile.name, profile.version, RUNTIME, len(graph.ops), capture_s),
    )
    if technique == "fp32" and batch_size == max(BATCH_SIZES):
        benchmark.extra_info["roofline_ops"] = roofline_points(prediction)
