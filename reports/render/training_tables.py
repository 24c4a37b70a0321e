"""The training part of the report: step time and memory per recipe, the projected data-parallel scaling of the
simulated devices, time-to-accuracy, and the distributed runs. DataFrame in, DataFrame (or sections) out."""

from __future__ import annotations

import math

import pandas as pd

import accelbench.results as col
from reports.render.distributed_tables import ddp_table, of_benchmark, pipeline_table
from reports.render.tables import is_noisy
from reports.text import NOISY_MARK, SIMULATED_MARK, device_label, format_seconds

PROJECTED_DEVICES = (8, 64)  # devices/simulated/training.py's (reports do not import the simulator)
BASELINE = "train-baseline"


def kind(results: pd.DataFrame) -> pd.Series:
    """Each row's benchmark; "inference" for rows recorded before there were others."""
    if col.BENCHMARK not in results:
        return pd.Series("inference", index=results.index)
    return results[col.BENCHMARK].fillna("inference")


def inference_rows(results: pd.DataFrame) -> pd.DataFrame:
    return results[kind(results) == "inference"]


def format_bytes(count: float) -> str:
    if count is None or pd.isna(count):
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count:.0f} B"


def _cell(row: pd.Series) -> str:
    if row[col.STATUS] != col.OK:
        return row[col.STATUS]
    return (
        f"{format_seconds(row['latency_median_s'])}{NOISY_MARK if row['noisy'] else ''} · {row['samples_per_s']:,.0f}/s · "
        f"saved {format_bytes(row['saved_activation_bytes'])} · loss {row['loss_after_steps']:.3f}"
    )


def training_table(results: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Rows technique, columns devices (simulated ones marked): step time · samples/s · bytes saved for backward ·
    loss after the fixed number of steps; or the case's status. Devices whose every case was skipped are left out."""
    frame = results[(kind(results) == "training") & (results[col.WORKLOAD] == workload)].copy()
    frame = frame[frame.groupby(col.DEVICE)[col.STATUS].transform(lambda s: (s != "skipped").any())]
    if frame.empty:
        return pd.DataFrame()
    frame["column"] = [device_label(d, s) for d, s in zip(frame[col.DEVICE], frame[col.SIMULATED])]
    frame["noisy"] = is_noisy(frame)
    frame["cell"] = frame.apply(_cell, axis=1)
    return _technique_by_column(frame)


def _technique_by_column(frame: pd.DataFrame) -> pd.DataFrame:
    """Technique rows x `column` columns of `cell` texts, in the frame's order; "-" where a cell is missing."""
    table = frame.pivot_table(index=col.TECHNIQUE, columns="column", values="cell", aggfunc="first")
    return (
        table.reindex(index=frame[col.TECHNIQUE].unique(), columns=frame["column"].unique())
        .fillna("-")
        .rename_axis(columns=None)
    )


def projection_table(results: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Per simulated device, `train-baseline` on one device, then projected to 8 and 64 devices (each with the
    same batch): scaling efficiency and samples/s, or why the projection is unavailable."""
    frame = of_benchmark(results, "training")
    frame = frame[frame[col.SIMULATED] & (frame[col.WORKLOAD] == workload) & (frame[col.TECHNIQUE] == BASELINE)]
    if frame.empty:
        return pd.DataFrame()
    rows = {}
    for _, r in frame.iterrows():
        row = {"1 device": f"{format_seconds(r['latency_median_s'])} · {r['samples_per_s']:,.0f}/s"}
        for n in PROJECTED_DEVICES:
            efficiency = r.get(f"projected_efficiency_{n}")
            row[f"{n} devices"] = (
                f"{efficiency:.0%} · {r[f'projected_samples_per_s_{n}']:,.0f}/s · all-reduce "
                f"{format_seconds(r[f'projected_allreduce_s_{n}'])}"
                if pd.notna(efficiency)
                else str(r.get(f"projection_{n}", "unavailable"))
            )
        links = [str(r.get(f"projection_{n}", "")).removeprefix("projection over ") for n in PROJECTED_DEVICES]
        row["link"] = " / ".join(dict.fromkeys(link for link in links if not link.startswith("unavailable")))
        rows[device_label(r[col.DEVICE], True)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(index="device")


def _tta_cell(r: pd.Series) -> str:
    if r[col.STATUS] != col.OK:
        return r[col.STATUS]
    if not r[col.REACHED_SEEDS]:
        return r[col.VERDICT]
    text = (
        f"{format_seconds(r['time_to_accuracy_s_mean'])} ± {format_seconds(r['time_to_accuracy_s_std'])} · "
        f"{r['epochs_to_accuracy_mean']:.1f} ± {r['epochs_to_accuracy_std']:.1f} epochs"
    )
    return text if r[col.REACHED_SEEDS] == r[col.SEEDS] else f"{text} ({r['verdict']})"


def time_to_accuracy_table(results: pd.DataFrame) -> pd.DataFrame:
    """Rows technique, columns 'workload (device)': mean ± standard deviation over seeds of the wall time and the
    epochs to the target test accuracy, or 'not reached within N epochs (best x%)'."""
    frame = results[kind(results) == "time-to-accuracy"].copy()
    frame = frame[frame[col.STATUS] != "skipped"]
    if frame.empty:
        return pd.DataFrame()
    frame["column"] = frame[col.WORKLOAD] + " (" + frame[col.DEVICE] + ")"
    frame["cell"] = frame.apply(_tta_cell, axis=1)
    return _technique_by_column(frame)


def training_sections(results: pd.DataFrame) -> list[dict]:
    """The report's training sections, as keyword arguments of render.Section; empty without training rows."""
    out: list[dict] = []
    training = results[kind(results) == "training"]
    if not training.empty:
        out.append(
            dict(
                title="Training step",
                paragraphs=[
                    "Each cell: median time of one optimizer step (forward, backward, update) on a batch · samples per "
                    "second · bytes autograd saves for backward (parameters excluded; the same count on every device) · "
                    "validation loss after the fixed number of steps from the same seeded weights (simulated devices: the "
                    f"host's). {SIMULATED_MARK}: a modelled step (forward + backward at twice the forward's matrix work + "
                    "recomputation + optimizer traffic). training.png: saved bytes against step time."
                ],
            )
        )
        for workload in training[col.WORKLOAD].dropna().unique():
            table = training_table(results, workload)
            if not table.empty:
                out.append(dict(title=workload, level=3, table=table))
        for workload in training[col.WORKLOAD].dropna().unique():
            table = projection_table(results, workload)
            if not table.empty:
                out.append(
                    dict(
                        title=f"Projected data-parallel scaling, {workload} {SIMULATED_MARK}",
                        level=3,
                        paragraphs=[
                            f"Projection, not measurement: {BASELINE} per device plus a ring all-reduce of the gradients, "
                            "2(N-1)/N x bytes / link bandwidth + 2(N-1) x link latency, over the profile's interconnect, not "
                            "overlapped with backward. Efficiency = one device's step time / the N-device step time."
                        ],
                        table=table,
                    )
                )
    tta = time_to_accuracy_table(results)
    if not tta.empty:
        target = results.loc[kind(results) == "time-to-accuracy", col.TARGET_ACCURACY].dropna()
        goal = f"{target.iloc[0]:.0%}" if not target.empty and not math.isnan(target.iloc[0]) else "the target"
        out.append(
            dict(
                title="Time to accuracy",
                paragraphs=[
                    f"Wall time (training plus the evaluation after each epoch) and epochs until the test accuracy first "
                    f"reaches {goal}, mean ± standard deviation over the seeds that reached it; a case that never did says so."
                ],
                table=tta,
            )
        )
    for title, table, text in (
        (
            "Data-parallel training (DDP)",
            ddp_table(results),
            "torchrun, one process per rank; scaling efficiency = "
            "samples/s with N processes / (N x samples/s with one); all-reduce: the gradients' bytes alone, median.",
        ),
        (
            "Pipeline-parallel training (GPipe)",
            pipeline_table(results),
            "torch.distributed.pipelining, one stage per "
            "rank; bubble measured = 1 - a stage's own compute / step time (communication included).",
        ),
    ):
        if not table.empty:
            out.append(dict(title=title, paragraphs=[text], table=table))
    return out
