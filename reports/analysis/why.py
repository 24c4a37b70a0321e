"""The "why" column: what the recorded facts say about a technique that is slower than the baseline, or whose FLOPs
fell while its latency did not. Only facts the benchmark recorded are used; a case they do not explain says nothing."""

from __future__ import annotations

import math

import pandas as pd

import accelbench.results as col
from reports.analysis.speedups import BASELINE

SLOWER_BELOW = 0.95  # an unpaired speedup below this counts as slower (pairs decide by their interval instead)
FLOPS_FELL_BELOW = 0.9  # FLOPs at most this fraction of the baseline's "fell"


def _get(row: dict, key: str):
    value = row.get(key)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _flag(row: dict, *flags: str) -> bool | None:
    """True if any flag is set, False if all are recorded unset, None if none is recorded."""
    seen = [_get(row, f"flag_{flag}") for flag in flags]
    return True if any(v is True for v in seen) else (None if all(v is None for v in seen) else False)


def reasons(row: dict, larger_batch: dict) -> list[str]:
    """Reasons, from facts, that one slower (or FLOPs-down-latency-up) case is so; `larger_batch` maps
    (device, workload, technique) to (batch size, speedup) at its largest batch size."""
    found: list[str] = []
    technique, device = str(row.get(col.TECHNIQUE)), str(row.get(col.DEVICE))
    if _get(row, col.FAST_PATH) is False or _get(row, col.INT8_KERNELS) == 0:
        found.append("no int8 kernel was made: the int8 graph ran as float operations")
    dtype = _get(row, col.TECHNIQUE_DTYPE)
    if _get(row, col.RUNTIME) == "eager" and dtype in ("int8", "int4"):
        found.append("not compiled: quantized tensors dispatched op by op in eager mode")
    for fact in (col.SPARSE_KERNEL, col.BINARY_KERNEL):
        if str(_get(row, fact) or "").startswith("none"):
            found.append(f"{fact.replace('_', ' ')}: {row[fact]}")
    if not row.get(col.SIMULATED) and device.startswith("cpu"):
        if dtype == "bf16" and _flag(row, "avx512_bf16", "amx_bf16") is False:
            found.append("unsupported dtype: this CPU has no AVX512-BF16/AMX, bf16 is converted in software")
        if dtype == "fp16" and _flag(row, "avx512_fp16", "amx_fp16") is not True:
            found.append("unsupported dtype: without AVX512-FP16/AMX-FP16 a CPU emulates fp16")
    if (_get(row, col.UPCAST_OPS) or 0) > 0:
        found.append(f"unsupported dtype fell back: {int(row['upcast_ops'])} ops up-cast to a wider dtype")
    if (_get(row, col.HOST_OPS) or 0) > 0:
        total = _get(row, col.GRAPH_OPS)
        found.append(f"{int(row['host_ops'])}{f' of {int(total)}' if total else ''} ops fell back to the host")
    if _get(row, col.POWER_LIMITED) is True:
        found.append("power-limited: the device would exceed its TDP")
    if _get(row, col.BOUND) == "overhead":
        found.append("overhead-bound: launches and dispatch outweigh the arithmetic")
    batch = _get(row, col.BATCH_SIZE)
    big = larger_batch.get((device, row.get(col.WORKLOAD), technique))
    if big is not None and batch is not None and batch < big[0] and big[1] is not None and big[1] > 1:
        found.append(
            f"shape too small: at batch {int(batch)} fixed costs outweigh the work; {big[1]:.2f}x at batch {big[0]}"
        )
    ratio, speedup = _get(row, col.FLOPS_RATIO), _get(row, col.SPEEDUP_SHOWN)
    if ratio is not None and speedup is not None and ratio < FLOPS_FELL_BELOW and speedup < 1:
        found.append(f"FLOPs fell to {ratio:.2f}x but latency rose: memory-bound or overhead-bound kernels")
    return found


def with_why(results: pd.DataFrame) -> pd.DataFrame:
    """Adds `why` (reasons joined by '; ') to slower cases and to cases whose FLOPs fell while latency rose; empty
    elsewhere, and where no recorded fact explains it."""
    out = results.copy()
    ok = out[(out[col.STATUS] == col.OK) & out[col.SPEEDUP_SHOWN].notna()]
    largest = ok.sort_values(col.BATCH_SIZE).drop_duplicates([col.DEVICE, col.WORKLOAD, col.TECHNIQUE], keep="last")
    larger_batch = {
        (d, w, t): (int(b), s)
        for d, w, t, b, s in largest[
            [col.DEVICE, col.WORKLOAD, col.TECHNIQUE, col.BATCH_SIZE, col.SPEEDUP_SHOWN]
        ].itertuples(index=False)
    }
    why = pd.Series("", index=out.index, dtype=object)
    speedup = ok[col.SPEEDUP_SHOWN].astype(float)
    ratio = (
        pd.to_numeric(ok[col.FLOPS_RATIO], errors="coerce")
        if col.FLOPS_RATIO in ok
        else pd.Series(math.nan, index=ok.index)
    )
    verdict = ok[col.SPEEDUP_VERDICT] if col.SPEEDUP_VERDICT in ok else pd.Series(None, index=ok.index)
    slower = verdict.eq("slower") | (verdict.isna() & (speedup < SLOWER_BELOW))
    fell = (ratio < FLOPS_FELL_BELOW) & (speedup < 1)
    picked = ok[(ok[col.TECHNIQUE] != BASELINE) & (slower | fell)]
    for index, row in zip(picked.index, picked.to_dict("records")):  # records: far faster than row-wise .loc
        why[index] = "; ".join(reasons(row, larger_batch))
    out[col.WHY] = why
    return out
