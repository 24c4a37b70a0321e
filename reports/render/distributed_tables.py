"""Tables of the distributed runs (parallel/): DDP scaling and the pipeline's bubble. DataFrame in, DataFrame out."""

from __future__ import annotations

import pandas as pd

import accelbench.results as col
from reports.render.tables import is_noisy
from reports.text import NOISY_MARK, format_seconds


def of_benchmark(results: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The measured rows of one benchmark ("inference", "training", "time-to-accuracy", "ddp", "pipeline")."""
    if col.BENCHMARK not in results:
        return results.iloc[0:0]
    return results[(results[col.BENCHMARK] == kind) & (results[col.STATUS] == col.OK)]


def with_scaling_efficiency(ddp: pd.DataFrame) -> pd.DataFrame:
    """Adds `scaling_efficiency`: samples/s with N processes over N x samples/s with one, for the same device,
    workload and configuration (NaN without a one-process row): 1.0 is perfect scaling."""
    group = [col.DEVICE, col.WORKLOAD, col.TECHNIQUE]
    one = ddp[ddp[col.NPROC] == 1].drop_duplicates(group)[[*group, col.SAMPLES_PER_S]]
    out = ddp.merge(one.rename(columns={col.SAMPLES_PER_S: "one_process_samples_per_s"}), on=group, how="left")
    out["scaling_efficiency"] = out[col.SAMPLES_PER_S] / (out[col.NPROC] * out["one_process_samples_per_s"])
    return out


def ddp_table(results: pd.DataFrame) -> pd.DataFrame:
    """Rows 'configuration (N processes)' per device and workload: step time, samples/s over all ranks, scaling
    efficiency against one process, the all-reduce of the gradients alone, and whether every replica ended with
    the same weights."""
    ddp = of_benchmark(results, "ddp")
    if ddp.empty:
        return pd.DataFrame()
    ddp = with_scaling_efficiency(ddp).sort_values([col.DEVICE, col.WORKLOAD, col.TECHNIQUE, col.NPROC])
    ddp["noisy"] = is_noisy(ddp)
    rows = {}
    for r in ddp.itertuples():
        rows[f"{r.technique} ({int(r.nproc)} proc, {r.device}, {r.workload})"] = {
            "step": format_seconds(r.latency_median_s) + (NOISY_MARK if r.noisy else ""),
            "samples/s": f"{r.samples_per_s:,.0f}",
            "scaling efficiency": "-" if pd.isna(r.scaling_efficiency) else f"{r.scaling_efficiency:.0%}",
            "all-reduce": format_seconds(r.allreduce_s),
            "all-reduce share": f"{r.allreduce_share:.0%}",
            "replicas identical": "yes" if r.replicas_identical else "NO",
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(index="configuration")


def pipeline_table(results: pd.DataFrame) -> pd.DataFrame:
    """Rows per stage and micro-batch count: step time, samples/s, and the bubble: ideal (S-1)/(M+S-1) and measured
    (1 - each stage's own compute / step time, averaged over stages)."""
    pipe = of_benchmark(results, "pipeline")
    if pipe.empty:
        return pd.DataFrame()
    pipe = pipe.assign(noisy=is_noisy(pipe))
    rows = {}
    for r in pipe.sort_values([col.DEVICE, col.WORKLOAD, col.STAGES, col.MICROBATCHES]).itertuples():
        busy = [getattr(r, f"busy_fraction_rank{i}", None) for i in range(int(r.stages))]
        rows[f"{int(r.stages)} stages, {int(r.microbatches)} micro-batches ({r.device}, {r.workload})"] = {
            "step": format_seconds(r.latency_median_s) + (NOISY_MARK if r.noisy else ""),
            "samples/s": f"{r.samples_per_s:,.0f}",
            "bubble ideal": f"{r.bubble_fraction_ideal:.0%}",
            "bubble measured": f"{r.bubble_fraction_measured:.0%}",
            "busy per stage": " / ".join("-" if pd.isna(b) else f"{b:.0%}" for b in busy),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(index="pipeline")
