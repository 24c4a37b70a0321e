"""`make calibrate`: measure this machine and write the `sim-cpu` profile, so the cost model can be checked
against the real `cpu` device (`make validate`).

Measured with torch.utils.benchmark at the CPU device's thread count: GEMM throughput per dtype (the best of a few
large sizes), copy bandwidth per cache level (sizes from sysfs), the vector unit's elementwise rate, and the
per-operator and per-call overheads of eager and compiled PyTorch. Every figure says how it was measured.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import psutil
import torch
from scipy.optimize import nnls
from torch import nn
from torch.utils.benchmark import Timer

from accelbench.files import atomic_write
from devices.cpu import CpuDevice
from devices.simulated.cost import KernelKey, kernel_terms
from devices.simulated.profile import PROFILE_DIR, load_profile

GEMM_SIZES = (64, 256, 1024)  # small ones too: some dtypes (fp16 on CPUs without it) are fastest there
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16, "int8": torch.int8}


def seconds(stmt: str, min_run_time: float = 0.2, **names) -> float:
    """Median seconds of `stmt` at this process's thread count (Timer's own default is one thread, which would
    measure another machine than the cases run on, and make a compiled model recompile for the new thread count)."""
    timer = Timer(stmt, globals={"torch": torch, **names}, num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def gemm_rate(dtype: torch.dtype) -> float | None:
    """Best FLOP/s (OP/s for int8) over GEMM_SIZES, or None where this build has no kernel."""
    best = None
    for n in GEMM_SIZES:
        try:
            if dtype == torch.int8:
                a = torch.randint(-128, 127, (n, n), dtype=torch.int8)
                t = seconds("torch._int_mm(a, a)", a=a)
            else:
                a = torch.randn(n, n).to(dtype)
                t = seconds("torch.mm(a, a)", a=a)
        except RuntimeError:
            return None
        rate = 2 * n**3 / t
        best = rate if best is None else max(best, rate)
    return best


def cache_levels() -> list[tuple[str, int]]:
    """(name, bytes) of the data caches of CPU 0, from sysfs; fallbacks where it is not readable."""
    found = []
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(base.glob("index*")) if base.exists() else []:
        try:
            kind = (index / "type").read_text().strip()
            level = (index / "level").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind in ("Data", "Unified"):
            multiplier = {"K": 1024, "M": 1024**2}.get(size[-1], 1)
            found.append((f"l{level}", int(size.rstrip("KM")) * multiplier))
    return found or [("l1", 32 * 1024), ("l2", 1024**2), ("l3", 16 * 1024**2)]


def compiled_overheads() -> tuple[dict[str, float], dict[str, float]]:
    """Per layer, compiled: (matmul, convolution) by dtype, from models of 1 and 5 tiny layers run through the
    project's own techniques (compile for fp32, int8-static for int8), so the kernels are those the cases use."""
    import techniques
    from techniques.base import Context

    shapes = {
        "matmul": ((2, 8), lambda: torch.nn.Linear(8, 8)),
        "conv": ((2, 8, 8, 8), lambda: torch.nn.Conv2d(8, 8, 3, padding=1)),
    }
    found: dict[str, dict[str, float]] = {"matmul": {}, "conv": {}}
    for kind, (shape, layer) in shapes.items():
        x = torch.randn(*shape)
        split = type("S", (), {"x": torch.randn(16, *shape[1:]), "y": torch.zeros(16, dtype=torch.long)})
        for dtype, technique in (("fp32", "compile"), ("int8", "int8-static")):
            times = {}
            for depth in (1, 5):
                model = torch.nn.Sequential(*[m for _ in range(depth) for m in (layer(), torch.nn.ReLU())]).eval()
                try:
                    compiled = techniques.resolve(technique).apply(model, Context(torch.device("cpu"), split, split))
                    with torch.no_grad():
                        compiled(x)
                        times[depth] = seconds("m(x)", m=compiled, x=x)
                except (NotImplementedError, RuntimeError):
                    break
            if len(times) == 2:
                found[kind][dtype] = max((times[5] - times[1]) / 4, 0.0)
    return found["matmul"], found["conv"]


def onnxruntime_gemm_rate() -> float | None:
    """fp32 FLOP/s of ONNX Runtime's own GEMM (MLAS) on a 512^3 MatMul; None without onnxruntime."""
    try:
        from techniques.base import Context
        from techniques.onnxruntime import OnnxRuntime
    except ImportError:
        return None
    n = 512
    x = torch.randn(n, n)
    split = type("S", (), {"x": x[:2], "y": torch.zeros(2)})
    try:
        session = OnnxRuntime().apply(
            torch.nn.Linear(n, n, bias=False).eval(), Context(torch.device("cpu"), split, split)
        )
    except NotImplementedError:
        return None
    return 2 * n**3 / seconds("m(x)", m=session, x=x)


def onnxruntime_overheads() -> tuple[float | None, float | None]:
    """(per node, per run) of ONNX Runtime, from chains of 1 and 9 tiny Linear layers (ReLUs would be fused away);
    (None, None) without onnxruntime."""
    try:
        from techniques.base import Context
        from techniques.onnxruntime import OnnxRuntime
    except ImportError:
        return None, None
    x = torch.randn(1, 8)
    times = {}
    for depth in (1, 9):
        chain = torch.nn.Sequential(*[torch.nn.Linear(8, 8) for _ in range(depth)]).eval()
        split = type("S", (), {"x": x, "y": torch.zeros(1)})
        try:
            session = OnnxRuntime().apply(chain, Context(torch.device("cpu"), split, split))
        except NotImplementedError:
            return None, None
        times[depth] = seconds("m(x)", m=session, x=x)
    per_node = max((times[9] - times[1]) / 8, 0.0)
    return per_node, max(times[1] - per_node, 0.0)


def copy_bandwidth(size_bytes: int, overhead: float) -> float:
    """Bytes read plus written per second by a copy whose working set is `size_bytes`."""
    n = max(size_bytes // 8, 256)  # two float32 buffers of n elements
    src, dst = torch.randn(n), torch.empty(n)
    t = seconds("dst.copy_(src)", src=src, dst=dst)
    return 2 * 4 * n / max(t - overhead, t * 0.05)


# Every execution path of the default matrix on a CPU; the other default techniques change the weights or the layers
# (pruning, distillation, binarization, BN folding, depthwise-separable convolutions, 2:4 masks, which run dense on a
# CPU) or lower as one of these does (int8-qat and prune-channels-50+int8-static as int8-static), so they run the
# same kernels. tests/test_calibrate.py checks that every default technique is in one list or the other.
KERNEL_TECHNIQUES = (
    "fp32",
    "bf16",
    "fp16",
    "amp-bf16",
    "amp-fp16",
    "channels-last",
    "compile",
    "compile-freezing",
    "int8-dynamic",
    "int8-dynamic-eager",
    "int8-dynamic-legacy",
    "int8-static",
    "int8-weight-only",
    "int4-weight-only",
    "onnxruntime",
    "onnxruntime-int8",
)
SAME_KERNELS = {
    "prune-l1-50": "fp32",
    "prune-l1-90": "fp32",
    "prune-channels-50": "fp32",
    "sparse-2of4": "fp32",
    "binary": "fp32",
    "distill": "fp32",
    "bn-fold": "fp32",
    "depthwise-separable": "fp32",
    "int8-qat": "int8-static",
    "prune-channels-50+int8-static": "int8-static",
    "tensorrt": "none: CUDA only",
}
KERNEL_BATCHES = (1, 64)


def _mlp(*widths: int) -> tuple:
    def build() -> nn.Module:
        return nn.Sequential(*[m for i, o in zip(widths, widths[1:]) for m in (nn.Linear(i, o), nn.ReLU())])

    return build, (widths[0],)


def _cnn(cin: int, couts: tuple[int, ...], side: int, hidden: int | None = None) -> tuple:
    def build() -> nn.Module:
        layers: list[nn.Module] = []
        for c, co in zip((cin, *couts), couts):
            layers += [nn.Conv2d(c, co, 3, padding=1), nn.BatchNorm2d(co), nn.ReLU()]
        if hidden:
            layers += [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(couts[-1] * side * side // 4, hidden), nn.ReLU()]
            layers.append(nn.Linear(hidden, 10))
        return nn.Sequential(*layers)

    return build, (cin, side, side)


def _depthwise(channels: int, side: int, depth: int) -> tuple:
    def build() -> nn.Module:
        c = channels
        block = lambda: [nn.Conv2d(c, c, 3, padding=1, groups=c), nn.BatchNorm2d(c), nn.ReLU()]  # noqa: E731
        return nn.Sequential(*[m for _ in range(depth) for m in (*block(), nn.Conv2d(c, c, 1), nn.BatchNorm2d(c))])

    return build, (channels, side, side)


def _head(channels: int, side: int, hidden: int) -> tuple:
    def build() -> nn.Module:
        flat = channels * side * side // 4
        return nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    return build, (channels, side, side)


def _vector(channels: int, side: int) -> tuple:
    return (lambda: nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU())), (channels, side, side)


def _fc_bn(inputs: int, outputs: int) -> tuple:
    return (lambda: nn.Sequential(nn.Linear(inputs, outputs), nn.BatchNorm1d(outputs), nn.ReLU())), (inputs,)


# name -> (build, input shape without the batch): one and three layers deep, so a call's fixed cost and an operator's
# separate in the fit
KERNEL_BLOCKS = {
    "fc-64-64": _mlp(64, 64),
    "fc-64-256": _mlp(64, 256),
    "fc-256-256": _mlp(256, 256),
    "fc-512-128": _mlp(512, 128),
    "fc-64x3": _mlp(64, 64, 64, 64),
    "fc-256x3": _mlp(256, 256, 256, 256),
    "conv-1-16-s8": _cnn(1, (16,), 8),
    "conv-16-32-s8": _cnn(16, (32,), 8),
    "conv-32-32-s16": _cnn(32, (32,), 16),
    "conv-8-64-s16": _cnn(8, (64,), 16),
    "conv-64-64-s8": _cnn(64, (64,), 8),
    "conv-16x3-s8": _cnn(16, (16, 16, 16), 8),
    "conv-8-32x3-s16": _cnn(8, (32, 32, 32), 16),
    "conv-head-1-8-s8": _cnn(1, (8,), 8, hidden=32),
    "conv-head-16-32-s16": _cnn(16, (32,), 16, hidden=128),
    "dw-16-s8": _depthwise(16, 8, 1),
    "dw-32-s16": _depthwise(32, 16, 1),
    "dw-16x3-s8": _depthwise(16, 8, 3),
    "head-32-s8": _head(32, 8, 64),
    "head-16-s16": _head(16, 16, 128),
    # batch norm and ReLU alone, and after a Linear: without them every batch norm follows a convolution, and the fit
    # cannot tell their costs apart (it may give either one all of it)
    "bn-relu-16-s8": _vector(16, 8),
    "bn-relu-32-s16": _vector(32, 16),
    "fc-bn-64-128": _fc_bn(64, 128),
}


REFERENCE_BLOCK = _cnn(8, (16,), 8)  # fp32 eager, batch 8: convolution, batch norm and dispatch, about 0.1 ms
REFERENCE_BATCH = 8


def kernel_samples(
    blocks: dict = KERNEL_BLOCKS,
    technique_names: tuple[str, ...] = KERNEL_TECHNIQUES,
    batches: tuple[int, ...] = KERNEL_BATCHES,
    passes: int = 3,
    min_run_time: float = 0.1,
) -> list[dict]:
    """One sample per block, technique and batch: the median seconds per call over `passes` passes of the whole
    grid (each scaled by the reference block's speed at the time), the captured graph and its runtime. A technique that cannot run a block (weight-only quantization needs
    Linear layers) is left out of that block's samples."""
    import techniques
    from devices.simulated.device import captured, runtime_of
    from techniques.base import Context

    cases = []
    for name, (build, shape) in blocks.items():
        torch.manual_seed(0)
        base = build().eval()
        split = type("Split", (), {"x": torch.randn(32, *shape), "y": torch.zeros(32, dtype=torch.long)})
        for technique in technique_names:
            try:
                model = techniques.resolve(technique).apply(
                    copy.deepcopy(base), Context(torch.device("cpu"), split, split)
                )
            except NotImplementedError:
                continue
            for batch in batches:
                x = torch.randn(batch, *shape)
                with torch.no_grad():
                    model(x)  # compilation and one-time set-up, outside the timing
                    graph = captured(model, x)
                cases.append(dict(block=name, technique=technique, batch=batch, model=model, x=x, graph=graph))
    # The machine's speed moves in spells of seconds to minutes (docs/measurement.md): a reference block is timed
    # before and after each block's cases in every pass, and each time is scaled to the reference's fastest time in
    # the calibration, so a slow spell during one block does not inflate its kernels.
    build, shape = REFERENCE_BLOCK
    reference, reference_x = build().eval(), torch.randn(REFERENCE_BATCH, *shape)
    times: list[list[float]] = [[] for _ in cases]
    speeds: list[list[float]] = [[] for _ in cases]
    with torch.no_grad():
        for _ in range(passes):
            for block in blocks:
                mine = [i for i, c in enumerate(cases) if c["block"] == block]
                before = seconds("m(x)", min_run_time, m=reference, x=reference_x)
                for i in mine:
                    times[i].append(seconds("m(x)", min_run_time, m=cases[i]["model"], x=cases[i]["x"]))
                after = seconds("m(x)", min_run_time, m=reference, x=reference_x)
                for i in mine:
                    speeds[i].append((before + after) / 2)
    fastest = min((v for seen in speeds for v in seen), default=1.0)
    return [
        dict(
            block=c["block"],
            technique=c["technique"],
            batch=c["batch"],
            graph=c["graph"],
            runtime=runtime_of(c["model"]),
            seconds=float(np.median([t * fastest / v for t, v in zip(seen, speed)])),
            slowdown=float(np.median(speed) / fastest),  # how slow the machine was around this sample
        )
        for c, seen, speed in zip(cases, times, speeds)
    ]


def fit_kernels(samples: list[dict]) -> dict:
    """Non-negative least squares, each sample's residual relative to its time: per runtime (call, per module call)
    and per kernel key (fixed, per FLOP, per byte). Returns {"calls": {runtime: (call_s, module_s)}, "kernels":
    {key: (fixed_s, s_per_flop, s_per_byte, samples)}, "median_abs_error": in sample, "samples": n}."""
    rows, columns = [], {}
    for sample in samples:
        terms, modules = kernel_terms(sample["graph"], sample["runtime"])
        row = {("call", sample["runtime"]): 1.0, ("module", sample["runtime"]): float(modules)}
        for key, (count, flops, nbytes) in terms.items():
            row.update({(key, "fixed"): count, (key, "flop"): flops, (key, "byte"): nbytes})
        rows.append(row)
        for column in row:
            columns.setdefault(column, len(columns))
    a = np.zeros((len(rows), len(columns)))
    for r, row in enumerate(rows):
        for column, value in row.items():
            a[r, columns[column]] = value
    t = np.array([s["seconds"] for s in samples])
    weighted = a / t[:, None]
    scale = np.linalg.norm(weighted, axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(weighted / scale, np.ones(len(t)), maxiter=50 * len(columns))
    coef /= scale
    value = {column: float(coef[i]) for column, i in columns.items()}
    seen: dict[KernelKey, int] = {}
    for row in rows:
        for column in row:
            if column[1] == "fixed":
                seen[column[0]] = seen.get(column[0], 0) + 1
    kernels = {
        key: (value[(key, "fixed")], value[(key, "flop")], value[(key, "byte")], count) for key, count in seen.items()
    }
    runtimes = sorted({s["runtime"] for s in samples})
    calls = {r: (value[("call", r)], value[("module", r)]) for r in runtimes}
    error = np.abs(a @ coef / t - 1)
    slowdown = max((s.get("slowdown", 1.0) for s in samples), default=1.0)
    return dict(
        calls=calls,
        kernels=kernels,
        median_abs_error=float(np.median(error)),
        samples=len(samples),
        slowdown=slowdown,
    )


def measure(passes: int = 3) -> dict:
    threads = CpuDevice().thread_count
    torch.set_num_threads(threads)
    tiny = torch.randn(8)
    op_overhead = seconds("torch.relu(x)", x=tiny)
    linear = torch.nn.Linear(64, 64).eval()
    row = torch.randn(1, 64)
    functional = seconds("torch.nn.functional.linear(x, m.weight, m.bias)", x=row, m=linear)
    # two module calls (the Sequential and the Linear) around the same arithmetic
    module_overhead = max((seconds("m(x)", m=torch.nn.Sequential(linear), x=row) - functional) / 2, 0.0)
    matmul_overhead, conv_overhead = {}, {}
    for name, dtype in DTYPES.items():
        if dtype == torch.int8:
            continue
        a, b, bias = torch.randn(1, 64).to(dtype), torch.randn(64, 64).to(dtype), torch.randn(64).to(dtype)
        x, w = torch.randn(1, 8, 8, 8).to(dtype), torch.randn(8, 8, 3, 3).to(dtype)
        try:  # tiny shapes: the call's fixed cost (its arithmetic is well under a microsecond)
            matmul_overhead[name] = seconds("torch.addmm(bias, a, b)", a=a, b=b, bias=bias)
            conv_overhead[name] = seconds("torch.conv2d(x, w, padding=1)", x=x, w=w)
        except RuntimeError:
            pass
    chain = torch.compile(lambda x: (x * 2 + 1).relu(), dynamic=False)
    chain(tiny)
    compiled_call = seconds("f(x)", f=chain, x=tiny)
    ort_op, ort_call = onnxruntime_overheads()
    ort_gemm = onnxruntime_gemm_rate()
    compiled_matmul, compiled_conv = compiled_overheads()
    small = torch.randn(8 * 1024)  # in L1: the vector unit's rate, not the memory's
    out = torch.empty_like(small)
    vector_rate = small.numel() / max(seconds("torch.mul(a, a, out=o)", a=small, o=out) - op_overhead, 1e-9)
    caches = cache_levels()
    levels = [(name, size, copy_bandwidth(size // 2, op_overhead)) for name, size in caches]
    dram = ("dram", int(psutil.virtual_memory().total), copy_bandwidth(256 * 1024**2, op_overhead))
    return {
        "threads": threads,
        "cpu_model": CpuDevice().facts().get("cpu_model") or platform.processor(),
        "flags": " ".join(k[5:] for k, v in CpuDevice().facts().items() if k.startswith("flag_") and v) or "unknown",
        "peak": {name: gemm_rate(dtype) for name, dtype in DTYPES.items()},
        "op_overhead": op_overhead,
        "module_overhead": module_overhead,
        "matmul_overhead": matmul_overhead,
        "conv_overhead": conv_overhead,
        "compiled_call_overhead": compiled_call,
        "compiled_matmul_overhead": compiled_matmul,
        "compiled_conv_overhead": compiled_conv,
        "onnxruntime_peak": {"fp32": ort_gemm} if ort_gemm else {},
        "onnxruntime_op_overhead": ort_op,
        "onnxruntime_call_overhead": ort_call,
        "vector_rate": vector_rate,
        "memory": [*levels, dram],
        "kernel_fit": fit_kernels(kernel_samples(passes=passes)),
    }


def _figure(value: float | str, unit: str, source: str, confidence: str = "derived") -> str:
    shown = f'"{value}"' if isinstance(value, str) else str(value) if isinstance(value, int) else f"{value:.6g}"
    return f'{{ value = {shown}, unit = "{unit}", source = "{source}", confidence = "{confidence}" }}'


def kernel_lines(fit: dict, on: str) -> list[str]:
    """The fitted kernel table as TOML: [[kernel_call]] per runtime, [[kernel]] per runtime, operator, dtype and
    fused-or-not (devices/simulated/profile.py reads them)."""
    how = (
        f"{on}: fitted over {fit['samples']} samples of {len(KERNEL_BLOCKS)} blocks x {len(KERNEL_TECHNIQUES)} "
        f"techniques (tools/calibrate.py KERNEL_BLOCKS), each scaled to the reference block's fastest time (its "
        f"slowest spell: {fit['slowdown']:.2f}x), in-sample median error {fit['median_abs_error']:.0%}"
    )
    lines = [
        "",
        "# The kernel table: where it covers an operator, `predict` prices it as fixed + per_flop x FLOPs + per_byte",
        "# x bytes, and a call as call + per_module x nn.Module calls (eager), instead of the roofline above.",
    ]
    for runtime, (call, module) in sorted(fit["calls"].items()):
        lines += [
            "",
            "[[kernel_call]]",
            f'runtime = "{runtime}"',
            f"call = {_figure(call, 's', how)}",
            f"per_module = {_figure(module, 's', how)}",
        ]
    for (runtime, op, dtype, fused), (fixed, per_flop, per_byte, count) in sorted(fit["kernels"].items()):
        lines += [
            "",
            "[[kernel]]",
            f'runtime = "{runtime}"',
            f'op = "{op}"',
            f'dtype = "{dtype}"',
            f"fused = {'true' if fused else 'false'}",
            f"samples = {count}",
            f"fixed = {_figure(fixed, 's', how)}",
            f"per_flop = {_figure(per_flop, 's/FLOP', how)}",
            f"per_byte = {_figure(per_byte, 's/B', how)}",
        ]
    return lines


def profile_text(m: dict) -> str:
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    on = f"measured by make calibrate on {m['cpu_model']}, {m['threads']} threads, {when}"
    lines = [
        f"# sim-cpu: this machine as the cost model sees it. Written by `make calibrate` ({when}); rerun it on",
        f"# another machine. CPU flags: {m['flags']}",
        "schema = 1",
        'name = "sim-cpu"',
        f'version = "calibrated-{when}"',
        f'description = "{m["cpu_model"]} ({m["threads"]} threads), measured"',
        f'measured_on = "{m["cpu_model"]}"',
        "graph_compiler = false",
        "weights_resident = false",
        "",
        f"clock = {_figure(2e9, 'Hz', 'unused by the throughput model', 'assumed')}",
        f"op_overhead = {_figure(m['op_overhead'], 's', on + ': torch.relu on 8 elements')}",
        f"call_overhead = {_figure(0.0, 's', 'eager: the module calls are counted instead', 'derived')}",
        f"module_overhead = {_figure(m['module_overhead'], 's', on + ': nn.Sequential(Linear) less F.linear, per module')}",
        f"compiled_op_overhead = {_figure(0.5e-6, 's', 'one inductor C++ kernel call', 'assumed')}",
        f"compiled_call_overhead = {_figure(m['compiled_call_overhead'], 's', on + ': a compiled 3-op function')}",
    ]
    if m["onnxruntime_call_overhead"] is not None:
        lines += [
            f"onnxruntime_op_overhead = {_figure(m['onnxruntime_op_overhead'], 's', on + ': 9 less 1 Linear(8, 8) node, per node')}",
            f"onnxruntime_call_overhead = {_figure(m['onnxruntime_call_overhead'], 's', on + ': a 1-node session run, less one node')}",
        ]
    for table, what in (
        ("matmul_overhead", "torch.addmm of 1x64 by 64x64"),
        ("conv_overhead", "3x3 conv2d of 1x8x8x8"),
        ("compiled_matmul_overhead", "(5 - 1 Linear(8, 8)+ReLU layers) / 4, compiled by the technique"),
        ("compiled_conv_overhead", "(5 - 1 Conv2d(8, 8, 3)+ReLU layers) / 4, compiled by the technique"),
        ("onnxruntime_peak", "ONNX Runtime MatMul 512^3 (its own MLAS kernels)"),
    ):
        unit = "FLOP/s" if table.endswith("peak") else "s"
        kind = "the matrix rate" if unit == "FLOP/s" else "the fixed cost of one call"
        lines += [
            "",
            f"[{table}]  # per dtype: {kind} ({'compiled' if table.startswith('compiled') else 'eager' if unit == 's' else 'ONNX Runtime'})",
        ]
        lines += [f"{d} = {_figure(v, unit, on + ': ' + what)}" for d, v in m[table].items()]
    lines += kernel_lines(m["kernel_fit"], on)
    lines += [
        "",
        "[matrix]",
        'kind = "throughput"',
        f"tile = {_figure(1, '1', 'no output tiles to fill on a CPU core: a thin GEMM is bound by its weights, not by tiles', 'assumed')}",
        f"units = {_figure(m['threads'], '1', on + ': threads')}",
        "",
        "[peak]",
    ]
    for name in ("fp32", "bf16", "fp16", "int8"):
        rate = m["peak"][name]
        value = "none" if rate is None else rate
        lines.append(f"{name} = {_figure(value, 'FLOP/s', on + f': best {name} GEMM of {GEMM_SIZES}')}")
    lines.append(f"int4 = {_figure('none', 'FLOP/s', 'no int4 GEMM measured (weight-only int4 computes in bf16)')}")
    lines += [
        "",
        "[vector]",
        'dtypes = ["fp32", "bf16", "fp16", "int8"]',
        f"rate = {_figure(m['vector_rate'], 'FLOP/s', on + ': torch.mul on 8K floats (in L1)')}",
        "",
        "[fallback]",
        'mode = "upcast"',
        f"host_rate = {_figure(m['peak']['fp32'], 'FLOP/s', 'the CPU is its own host')}",
    ]
    for name, size, bandwidth in m["memory"]:
        lines += [
            "",
            "[[memory]]",
            f'name = "{name}"',
            f"capacity = {_figure(int(size), 'B', 'sysfs cache size' if name != 'dram' else 'psutil: total memory', 'vendor')}",
            f"bandwidth = {_figure(bandwidth, 'B/s', on + ': copy read+write bytes per second')}",
            f"energy = {_figure(1.25 if name != 'dram' else 64.0, 'pJ/B', 'Horowitz SRAM / LPDDR4 8 pJ/bit (devices/reference/device-specs.md#energy-reference-points)')}",
        ]
    dram_bw = m["memory"][-1][2]
    lines += [
        "",
        "[host_link]",
        f"bandwidth = {_figure(dram_bw, 'B/s', 'the CPU is its own host: main memory')}",
        f"latency = {_figure(0.0, 's', 'no transfer')}",
        "",
        "[sparsity]",
        'kind = "none"',
        "unstructured = false",
        "",
        "[power]",
        f"tdp = {_figure(10.0 * m['threads'], 'W', 'no RAPL here: about 10 W per core', 'assumed')}",
        f"idle = {_figure(2.0 * m['threads'], 'W', 'about 2 W per core', 'assumed')}",
        "[power.op_energy]",
    ]
    for name, rate in m["peak"].items():
        if rate is not None:  # at the fastest measured rate (torch or ONNX Runtime) the cores draw TDP
            rate = max(rate, m["onnxruntime_peak"].get(name) or 0.0)
            lines.append(
                f"{name} = {_figure(8 * m['threads'] / rate * 1e12, 'pJ', f'(TDP - idle) / fastest measured {name} GEMM rate')}"
            )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROFILE_DIR / "sim-cpu.toml", help="profile to write")
    parser.add_argument(
        "--passes", type=int, default=3, help="passes over the kernel grid; each sample is their median (default 3)"
    )
    args = parser.parse_args(argv)
    if args.passes < 1:
        parser.error(f"--passes {args.passes}: expected a whole number >= 1")
    measured = measure(args.passes)
    fit = measured["kernel_fit"]
    print(
        f"kernel table: {len(fit['kernels'])} kernels over {len(fit['calls'])} runtimes, fitted on {fit['samples']} "
        f"samples (in-sample median error {fit['median_abs_error']:.1%}; the machine's slowest spell during the "
        f"timing, by the reference block: {fit['slowdown']:.2f}x)"
    )
    text = profile_text(measured)
    with tempfile.TemporaryDirectory() as scratch:  # refuse to write a profile the loader would refuse
        load_profile(atomic_write(Path(scratch) / args.out.name, text))
    atomic_write(args.out, text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
