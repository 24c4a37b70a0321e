"""Ratios against the baseline technique on the same device, workload and batch size. DataFrame in, DataFrame out."""

from __future__ import annotations

import pandas as pd

import accelbench.results as col
from accelbench.energy import SIMULATED as SIMULATED_METHOD

BASELINE = "fp32"  # the technique every speedup is measured against (techniques.BASELINE; reports do not import torch)
GROUP = [col.DEVICE, col.WORKLOAD, col.BATCH_SIZE]


def with_baseline_ratios(results: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Adds `speedup` (the baseline's latency / this case's, each its fastest timing window: above 1 is faster),
    `accuracy_delta` (this accuracy minus the baseline's) and `flops_ratio` (this FLOP count / the baseline's). Each
    is NaN where the baseline or the case has no measurement."""
    ok = results[results[col.STATUS] == col.OK]
    if col.FLOPS_PER_BATCH not in ok:
        ok = ok.assign(flops_per_batch=float("nan"))
    base = ok[ok[col.TECHNIQUE] == baseline].drop_duplicates(GROUP)
    base = base.assign(**{col.LATENCY_MEDIAN_S: fastest_window_latency(base)})
    if col.MACHINE_SLOWDOWN not in base:
        base = base.assign(**{col.MACHINE_SLOWDOWN: float("nan")})
    base = base[GROUP + [col.LATENCY_MEDIAN_S, col.ACCURACY, col.FLOPS_PER_BATCH, col.MACHINE_SLOWDOWN]].rename(
        columns={
            col.LATENCY_MEDIAN_S: col.BASELINE_LATENCY_S,
            col.ACCURACY: col.BASELINE_ACCURACY,
            col.FLOPS_PER_BATCH: col.BASELINE_FLOPS,
            col.MACHINE_SLOWDOWN: col.BASELINE_MACHINE_SLOWDOWN,
        }
    )
    derived = [col.SPEEDUP, col.ACCURACY_DELTA, col.FLOPS_RATIO, col.BASELINE_MACHINE_SLOWDOWN]
    out = results.drop(columns=derived, errors="ignore").merge(base, on=GROUP, how="left")
    measured = out[col.STATUS] == col.OK
    out[col.SPEEDUP] = (out[col.BASELINE_LATENCY_S] / fastest_window_latency(out)).where(measured)
    out[col.ACCURACY_DELTA] = (out[col.ACCURACY].astype(float) - out[col.BASELINE_ACCURACY].astype(float)).where(
        measured
    )
    # FLOPs beside latency: a technique can cut FLOPs several-fold and still be slower (depthwise convolutions)
    flops = out[col.FLOPS_PER_BATCH] if col.FLOPS_PER_BATCH in out else float("nan")
    out[col.FLOPS_RATIO] = (pd.to_numeric(flops, errors="coerce") / out[col.BASELINE_FLOPS].astype(float)).where(
        measured
    )
    return out


def fastest_window_latency(rows: pd.DataFrame) -> pd.Series:
    """Each row's fastest timing window where it has several (a real case is timed alone again in each later pass of
    the paired rounds, accelbench.rounds.LaterWindows, so a slow spell of the machine in its pytest-benchmark window
    does not move its ratios), else its median."""
    median = pd.to_numeric(rows[col.LATENCY_MEDIAN_S], errors="coerce")
    if col.LATENCY_BEST_WINDOW_S not in rows:
        return median
    return pd.to_numeric(rows[col.LATENCY_BEST_WINDOW_S], errors="coerce").fillna(median)


PAIRED_COLUMNS = [col.PAIRED_SPEEDUP, col.PAIRED_SPEEDUP_CI_LOW, col.PAIRED_SPEEDUP_CI_HIGH, col.PAIRED_VERDICT]
SAME = "no significant difference"  # accelbench.stats.SAME, repeated so that this module stays import-light


def with_speedup_evidence(results: pd.DataFrame) -> pd.DataFrame:
    """Adds the speedup a reader should see and how far to trust it: `speedup_shown` (the paired speedup where the case
    was paired, else the ratio of the fastest timing windows, or of medians where there are none),
    `speedup_ci_low`/`speedup_ci_high` (paired only), `speedup_basis` (paired, unpaired or simulated) and
    `speedup_verdict` (faster, slower, no significant difference; simulated figures are deterministic: faster or slower
    by their value, exactly 1 is the same; empty for an unpaired real case)."""
    out = results.copy()
    for column in PAIRED_COLUMNS:
        if column not in out:
            out[column] = None
    paired = pd.to_numeric(out[col.PAIRED_SPEEDUP], errors="coerce")
    has_pair = paired.notna() & (out[col.STATUS] == col.OK)
    out[col.SPEEDUP_SHOWN] = paired.where(has_pair, out[col.SPEEDUP])
    out[col.SPEEDUP_CI_LOW] = pd.to_numeric(out[col.PAIRED_SPEEDUP_CI_LOW], errors="coerce").where(has_pair)
    out[col.SPEEDUP_CI_HIGH] = pd.to_numeric(out[col.PAIRED_SPEEDUP_CI_HIGH], errors="coerce").where(has_pair)
    basis = (
        pd.Series("unpaired", index=out.index).where(~out[col.SIMULATED], SIMULATED_METHOD).where(~has_pair, "paired")
    )
    out[col.SPEEDUP_BASIS] = basis.where(out[col.SPEEDUP].notna() | has_pair)
    value = out[col.SPEEDUP].astype(float)
    by_value = pd.Series(SAME, index=out.index).where(value == 1.0, "faster").where(value >= 1.0, "slower")
    verdict = out[col.PAIRED_VERDICT].where(has_pair, by_value.where(out[col.SIMULATED] & value.notna()))
    out[col.SPEEDUP_VERDICT] = verdict
    # every run checks itself: paired rounds and separate timings of one case should tell the same speedup
    unpaired = pd.to_numeric(out[col.SPEEDUP], errors="coerce")
    disagreement = (paired / unpaired - 1).where(has_pair)
    out[col.SPEEDUP_DISAGREEMENT] = disagreement
    load = _numbers(out, col.LOAD_AVG_1M)
    speed = _numbers(out, col.MACHINE_SLOWDOWN), _numbers(out, col.BASELINE_MACHINE_SLOWDOWN)
    out[col.SPEEDUP_CHECK] = [
        _check(d, load.loc[i], speed[1].loc[i], speed[0].loc[i]) if pd.notna(d) and abs(d) > DISAGREE else None
        for i, d in disagreement.items()
    ]
    return out


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce") if column in frame else pd.Series(float("nan"), frame.index)


DISAGREE = 0.10  # paired and unpaired speedups of one case further apart than this are marked


SPEED_CHANGED = 1.15  # the probe beside fp32's timing and beside the case's differ by more than this factor


def _check(
    disagreement: float, load: float, baseline_slowdown: float = float("nan"), slowdown: float = float("nan")
) -> str:
    busy = f"; the machine was busy (load {load:.1f})" if pd.notna(load) and load >= 1.0 else ""
    if pd.notna(baseline_slowdown) and pd.notna(slowdown):
        if max(baseline_slowdown, slowdown) / min(baseline_slowdown, slowdown) > SPEED_CHANGED:
            return (
                f"paired and unpaired speedups differ by {disagreement:+.0%}: the machine's speed changed between the "
                f"two timings (a probe beside them ran {baseline_slowdown:.2g}x its usual time while fp32 was timed, "
                f"{slowdown:.2g}x while this case was): trust the paired figure{busy}"
            )
    return (
        f"paired and unpaired speedups differ by {disagreement:+.0%}: the case and fp32 interfere when alternated "
        f"(thread pools that spin or stay awake) or the machine's speed changed between the two timings{busy}"
    )
