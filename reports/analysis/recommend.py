"""Which device and technique to use: per workload, batch size and accuracy budget, the best case by latency, by
energy per inference and by cost per million inferences, each marked with how its figure was obtained.

- Budget: a case qualifies when its accuracy is at least `budget` x the fp32 accuracy on the same device, workload
  and batch size (a simulated device carries its host's accuracy, so that is the host's fp32); where that device has
  no fp32 result, the best fp32 accuracy of a real device for the workload and batch size.
- Batch sizes are separate questions (latency at batch 1 and throughput at batch 64 answer different needs), so
  every answer is per batch size.
- Ties: figures equal to TIE_DIGITS significant digits (the precision shown) are a tie, listed as "tie: a, b";
  the one named first is chosen by: measured before simulated, higher accuracy, then device and technique name.
- Nothing qualifies: the row says so, with the closest case. Only simulated cases qualify: marked so.
- A simulated device calibrated on the CPU the results measured (`sim-cpu` beside `cpu`) is never an answer: it is
  the cost model's check against this host.
- Quality not measured for a whole workload and batch size (the standard models priced from a fake capture): the
  fp32 model itself meets every budget (it is the reference); all cases answer one more question per objective, budget `None` ("any format,
  quality not measured"), so a fast format is shown without being passed off as meeting a budget.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import accelbench.results as col
from accelbench.energy import SIMULATED as SIMULATED_METHOD
from reports.analysis.speedups import BASELINE
from reports.text import SIMULATED_MARK, format_joules, format_seconds

BUDGETS = (0.99, 0.999)  # fractions of fp32 accuracy (MLPerf's 99% and 99.9% quality targets)
TIE_DIGITS = 3
UNMEASURED = "any format, quality not measured"
OBJECTIVES = {  # objective -> (column, how the figure was obtained: a column, or None for measured/simulated)
    "latency": (col.LATENCY_MEDIAN_S, None),
    "energy": (col.ENERGY_PER_INFERENCE_J, col.ENERGY_METHOD),
    "cost": (col.COST_PER_MILLION_USD, col.COST_METHOD),
}
COLUMNS = [
    col.WORKLOAD,
    col.BATCH_SIZE,
    "budget",
    "objective",
    col.DEVICE,
    col.TECHNIQUE,
    col.SIMULATED,
    "value",
    "basis",
    col.ACCURACY_RATIO,
    "answer",
    "note",
]


def _reference(ok: pd.DataFrame) -> pd.Series:
    """fp32 accuracy for each row: same device, workload and batch size, else the best real device's."""
    fp32 = ok[ok[col.TECHNIQUE] == BASELINE]
    same = fp32.groupby([col.DEVICE, col.WORKLOAD, col.BATCH_SIZE])[col.ACCURACY].max()
    host = fp32[~fp32[col.SIMULATED]].groupby([col.WORKLOAD, col.BATCH_SIZE])[col.ACCURACY].max()
    keys = pd.MultiIndex.from_frame(ok[[col.DEVICE, col.WORKLOAD, col.BATCH_SIZE]])
    reference = pd.Series(same.reindex(keys).to_numpy(), index=ok.index)
    fallback = pd.Series(
        host.reindex(pd.MultiIndex.from_frame(ok[[col.WORKLOAD, col.BATCH_SIZE]])).to_numpy(), index=ok.index
    )
    return reference.fillna(fallback)


def without_host_models(results: pd.DataFrame) -> pd.DataFrame:
    """The rows, less those of a simulated device calibrated on a CPU the same results measure (sim-cpu beside
    cpu): that profile is the cost model's check against this host, not a device a user could choose instead."""
    if col.CALIBRATED_ON not in results or col.CPU_MODEL not in results:
        return results
    simulated = results[col.SIMULATED].fillna(False).astype(bool)
    measured_cpus = set(results.loc[~simulated, col.CPU_MODEL].dropna().astype(str))
    return results[~(simulated & results[col.CALIBRATED_ON].astype(str).isin(measured_cpus))]


def _round(values: pd.Series) -> pd.Series:
    magnitude = np.floor(np.log10(np.abs(values.where(values != 0, 1.0))))
    scale = 10.0 ** (TIE_DIGITS - 1 - magnitude)
    return np.round(values * scale) / scale


def _label(device: str, technique: str, simulated: bool) -> str:
    return f"{device}{' ' + SIMULATED_MARK if simulated else ''} + {technique}"


def _answer(group: pd.DataFrame, objective: str, budget: float | None) -> dict:
    column, method = OBJECTIVES[objective]
    qualified = group if budget is None else group[group[col.ACCURACY_RATIO] >= budget - 1e-12]
    row = {
        "answer": "",
        "note": "",
        col.DEVICE: None,
        col.TECHNIQUE: None,
        col.SIMULATED: None,
        "value": np.nan,
        "basis": None,
        col.ACCURACY_RATIO: np.nan,
    }
    if qualified.empty:
        closest = group.sort_values(col.ACCURACY_RATIO, ascending=False).iloc[0] if len(group) else None
        row["answer"] = f"no case meets {budget:.1%} of {BASELINE} accuracy"
        if group[col.ACCURACY].isna().all():  # quality not measured, and the reference itself did not run
            row["answer"] = f"quality not measured, and no {BASELINE} case ran (the reference of the budget)"
            return row
        if closest is not None and pd.notna(closest[col.ACCURACY_RATIO]):
            row["note"] = (
                f"closest: {_label(closest['device'], closest['technique'], closest['simulated'])} at "
                f"{closest['accuracy_ratio']:.2%}"
            )
        return row
    valued = qualified[qualified[column].notna()]
    if valued.empty:
        row["answer"] = f"no qualifying case has a {objective} figure"
        return row
    valued = valued.assign(_rounded=_round(valued[column].astype(float)))
    order = valued.sort_values(
        ["_rounded", col.SIMULATED, col.ACCURACY, col.DEVICE, col.TECHNIQUE], ascending=[True, True, False, True, True]
    )
    best = order.iloc[0]
    tied = order[order["_rounded"] == best["_rounded"]]
    basis = best[method] if method else (SIMULATED_METHOD if best[col.SIMULATED] else "measured")
    row.update(
        device=best[col.DEVICE],
        technique=best[col.TECHNIQUE],
        simulated=bool(best[col.SIMULATED]),
        value=float(best[column]),
        basis=basis,
        accuracy_ratio=float(best[col.ACCURACY_RATIO]),
        answer=_label(best[col.DEVICE], best[col.TECHNIQUE], best[col.SIMULATED]),
    )
    notes = []
    if len(tied) > 1:
        notes.append(
            "tie: "
            + ", ".join(
                _label(d, t, s) for d, t, s in tied[[col.DEVICE, col.TECHNIQUE, col.SIMULATED]].itertuples(index=False)
            )
        )
    measured = order[~order[col.SIMULATED]]
    if measured.empty:
        notes.append("simulated only: no measured case qualifies")
    elif best[col.SIMULATED]:
        top = measured.iloc[0]
        notes.append(
            f"best measured: {_label(top['device'], top['technique'], False)} ({format_value(objective, top[column])})"
        )
    row["note"] = "; ".join(notes)
    return row


def format_value(objective: str, value: float) -> str:
    if pd.isna(value):
        return "-"
    if objective == "latency":
        return format_seconds(value)
    if objective == "energy":
        return format_joules(value)
    return f"{format_usd(value)}/M"


def format_usd(value: float) -> str:
    """Three significant digits without an exponent: "$1.23", "$0.0000587"."""
    if value >= 0.01 or value <= 0:
        return f"${value:.3g}"
    return f"${value:.{2 - int(np.floor(np.log10(value)))}f}"


def judged(results: pd.DataFrame) -> pd.DataFrame:
    """The cases that ran, less the host's own models, with their objectives as numbers and `accuracy_ratio` (the
    accuracy over the fp32 reference; a simulated case carries the host's quality; fp32 is 1 where none is known)."""
    ok = without_host_models(results[results[col.STATUS] == col.OK]).copy()
    for column, _ in OBJECTIVES.values():
        if column not in ok:
            ok[column] = np.nan
        ok[column] = pd.to_numeric(ok[column], errors="coerce")
    ok[col.ACCURACY] = pd.to_numeric(ok[col.ACCURACY], errors="coerce").astype(float)
    # a simulated case without quality of its own (priced from a fake capture) carries the host's: the same
    # workload, technique and batch size measured on a real device
    host = ok[~ok[col.SIMULATED].astype(bool)].groupby([col.WORKLOAD, col.TECHNIQUE, col.BATCH_SIZE])[col.ACCURACY]
    carried = host.mean().reindex(pd.MultiIndex.from_frame(ok[[col.WORKLOAD, col.TECHNIQUE, col.BATCH_SIZE]]))
    missing = ok[col.SIMULATED].astype(bool) & ok[col.ACCURACY].isna()
    ok.loc[missing, col.ACCURACY] = carried.to_numpy()[missing.to_numpy()]
    measured = ok[col.ACCURACY].notna()
    ok[col.ACCURACY_RATIO] = np.nan
    ok.loc[measured, col.ACCURACY_RATIO] = ok.loc[measured, col.ACCURACY] / _reference(ok[measured])
    # a workload whose quality is not measured at all: its fp32 model is the reference itself
    unmeasured = ~measured.groupby([ok[col.WORKLOAD], ok[col.BATCH_SIZE]]).transform("any")
    ok.loc[unmeasured & (ok[col.TECHNIQUE] == BASELINE), col.ACCURACY_RATIO] = 1.0
    return ok


def best_per_device(results: pd.DataFrame, budget: float = BUDGETS[0]) -> pd.DataFrame:
    """Per workload, batch size and device: the lowest-latency case within `budget` of fp32's accuracy (where a
    workload's quality is not measured, the fastest of any format, `quality_known` False), with its technique and
    cost per million inferences."""
    ok = judged(results)
    known = ok.groupby([col.WORKLOAD, col.BATCH_SIZE])[col.ACCURACY].transform(lambda a: a.notna().any())
    fits = (ok[col.ACCURACY_RATIO] >= budget - 1e-12) | ~known
    ok = ok[fits & ok[col.LATENCY_MEDIAN_S].notna()].assign(quality_known=known[fits])
    if ok.empty:
        return ok
    best = ok.loc[ok.groupby([col.WORKLOAD, col.BATCH_SIZE, col.DEVICE])[col.LATENCY_MEDIAN_S].idxmin()]
    columns = [col.WORKLOAD, col.BATCH_SIZE, col.DEVICE, col.SIMULATED, col.TECHNIQUE, col.LATENCY_MEDIAN_S]
    return best[[*columns, col.COST_PER_MILLION_USD, "quality_known"]].reset_index(drop=True)


def recommend(results: pd.DataFrame, budgets: tuple[float, ...] = BUDGETS) -> pd.DataFrame:
    """One row per workload, batch size, budget and objective (latency, energy, cost): the chosen `device` and
    `technique`, its `value` (seconds, joules per inference, USD per million inferences), `basis` (measured,
    estimated or simulated), `answer` (text) and `note` (ties, simulated only, best measured, closest case)."""
    ok = judged(results)
    # only what an answer reads: a boolean selection of the whole frame copies every column (results has ~150),
    # and the report asks 3 objectives x every budget of every workload and batch size
    used = [col.WORKLOAD, col.BATCH_SIZE, col.DEVICE, col.TECHNIQUE, col.SIMULATED, col.ACCURACY, col.ACCURACY_RATIO]
    used += [c for pair in OBJECTIVES.values() for c in pair if c is not None]
    ok = ok[[c for c in dict.fromkeys(used) if c in ok]]
    rows = []
    order = {name: i for i, name in enumerate(dict.fromkeys(ok[col.WORKLOAD]))}  # workloads in run order
    groups = sorted(ok.groupby([col.WORKLOAD, col.BATCH_SIZE]), key=lambda item: (order[item[0][0]], item[0][1]))
    for (workload, batch), group in groups:
        unmeasured = group[col.ACCURACY].isna().all()
        for budget in (*budgets, None) if unmeasured else budgets:
            for objective in OBJECTIVES:
                rows.append(
                    {
                        col.WORKLOAD: workload,
                        col.BATCH_SIZE: batch,
                        "budget": budget,
                        "objective": objective,
                        **_answer(group, objective, budget),
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def recommendation_table(recs: pd.DataFrame) -> pd.DataFrame:
    """Rows workload, batch size and budget; columns by latency / by energy / by cost: each cell the answer, its
    figure and how that figure was obtained, then its notes."""
    if recs.empty:
        return pd.DataFrame()
    cells = [
        answer
        if device is None
        else f"{answer} · {format_value(objective, value)} ({basis})" + (f" — {note}" if note else "")
        for answer, device, objective, value, basis, note in recs[
            ["answer", col.DEVICE, "objective", "value", "basis", "note"]
        ].itertuples(index=False)
    ]
    cells = [c + (f" — {n}" if d is None and n else "") for c, d, n in zip(cells, recs[col.DEVICE], recs["note"])]
    frame = recs.assign(
        cell=cells,
        row=[
            f"{w} · b={b} · " + (UNMEASURED if pd.isna(budget) else f"{budget:.1%} of {BASELINE}")
            for w, b, budget in recs[[col.WORKLOAD, col.BATCH_SIZE, "budget"]].itertuples(index=False)
        ],
    )
    table = frame.pivot(index="row", columns="objective", values="cell")
    table = table.reindex(index=list(dict.fromkeys(frame["row"])), columns=list(OBJECTIVES))
    return table.rename(columns={o: f"by {o}" for o in OBJECTIVES}).rename_axis(
        index="workload · batch · budget", columns=None
    )
