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
        columns={"latency_median_s": "baseline_latency_s", "accuracy": "baseline_accuracy",
                 "flops_per_batch": "baseline_flops"}
    )  # fmt: skip
    out = results.drop(columns=["speedup", "accuracy_delta", "flops_ratio"], errors="ignore").merge(base, on=GROUP, how="left")
    measured = out["status"] == "ok"
    out["speedup"] = (out["baseline_latency_s"] / out["latency_median_s"]).where(measured)
    out["accuracy_delta"] = (out["accuracy"].astype(float) - out["baseline_accuracy"].astype(float)).where(measured)
    # FLOPs beside latency: a technique can cut FLOPs several-fold and still be slower (depthwise convolutions)
    flops = out["flops_per_batch"] if "flops_per_batch" in out else float("nan")
    out["flops_ratio"] = (pd.to_numeric(flops, errors="coerce") / out["baseline_flops"].astype(float)).where(measured)
    return out
