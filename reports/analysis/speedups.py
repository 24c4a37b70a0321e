"""Ratios against the baseline technique on the same device, workload and batch size. DataFrame in, DataFrame out."""

from __future__ import annotations

import pandas as pd

BASELINE = "fp32"  # the technique every speedup is measured against (techniques.BASELINE; reports do not import torch)
GROUP = ["device", "workload", "batch_size"]


def with_baseline_ratios(results: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Adds `speedup` (baseline median latency / this median latency: above 1 is faster), `accuracy_delta`
    (this accuracy minus the baseline's) and `flops_ratio` (this FLOP count / the baseline's). Each is NaN where
    the baseline or the case has no measurement."""
    ok = results[results["status"] == "ok"]
    if "flops_per_batch" not in ok:
        ok = ok.assign(flops_per_batch=float("nan"))
    base = ok[ok["technique"] == baseline].drop_duplicates(GROUP)
    base = base[GROUP + ["latency_median_s", "accuracy", "flops_per_batch"]].rename(
        columns={
            "latency_median_s": "baseline_latency_s",
            "accuracy": "baseline_accuracy",
            "flops_per_batch": "baseline_flops",
        }
    )
    out = results.drop(columns=["speedup", "accuracy_delta", "flops_ratio"], errors="ignore").merge(
        base, on=GROUP, how="left"
    )
    measured = out["status"] == "ok"
    out["speedup"] = (out["baseline_latency_s"] / out["latency_median_s"]).where(measured)
    out["accuracy_delta"] = (out["accuracy"].astype(float) - out["baseline_accuracy"].astype(float)).where(measured)
    # FLOPs beside latency: a technique can cut FLOPs several-fold and still be slower (depthwise convolutions)
    flops = out["flops_per_batch"] if "flops_per_batch" in out else float("nan")
    out["flops_ratio"] = (pd.to_numeric(flops, errors="coerce") / out["baseline_flops"].astype(float)).where(measured)
    return out


PAIRED_COLUMNS = ["paired_speedup_median", "paired_speedup_ci_low", "paired_speedup_ci_high", "paired_verdict"]
SAME = "no significant difference"  # accelbench.stats.SAME, repeated so that this module stays import-light


def with_speedup_evidence(results: pd.DataFrame) -> pd.DataFrame:
    """Adds the speedup a reader should see and how far to trust it: `speedup_shown` (the paired median where the
    case was paired, else the ratio of medians), `speedup_ci_low`/`speedup_ci_high` (paired only), `speedup_basis`
    (paired, unpaired or simulated) and `speedup_verdict` (faster, slower, no significant difference; simulated
    figures are deterministic: faster or slower by their value, exactly 1 is the same; empty for an unpaired
    real case)."""
    out = results.copy()
    for column in PAIRED_COLUMNS:
        if column not in out:
            out[column] = None
    paired = pd.to_numeric(out["paired_speedup_median"], errors="coerce")
    has_pair = paired.notna() & (out["status"] == "ok")
    out["speedup_shown"] = paired.where(has_pair, out["speedup"])
    out["speedup_ci_low"] = pd.to_numeric(out["paired_speedup_ci_low"], errors="coerce").where(has_pair)
    out["speedup_ci_high"] = pd.to_numeric(out["paired_speedup_ci_high"], errors="coerce").where(has_pair)
    basis = pd.Series("unpaired", index=out.index).where(~out["simulated"], "simulated").where(~has_pair, "paired")
    out["speedup_basis"] = basis.where(out["speedup"].notna() | has_pair)
    value = out["speedup"].astype(float)
    by_value = pd.Series(SAME, index=out.index).where(value == 1.0, "faster").where(value >= 1.0, "slower")
    verdict = out["paired_verdict"].where(has_pair, by_value.where(out["simulated"] & value.notna()))
    out["speedup_verdict"] = verdict
    return out
