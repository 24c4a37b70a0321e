"""Summary tables for people: per workload, technique (and batch) rows x device columns."""

from __future__ import annotations

import math

import pandas as pd

from reports.compare import BASELINE

SIMULATED_MARK = "†"  # a column of simulated figures; explained under every table
NOISY_MARK = "~"  # a latency whose rounds spread widely; explained in the legend
NOISY_IQR_FRACTION = 0.25  # interquartile range above this fraction of the median: the machine was not quiet


def is_noisy(results: pd.DataFrame) -> pd.Series:
    """Cases whose timing rounds spread too widely to trust two decimals of a speedup."""
    iqr = results.get("latency_iqr_s", pd.Series(float("nan"), index=results.index)).astype(float)
    return (iqr / results["latency_median_s"].astype(float)) > NOISY_IQR_FRACTION


def format_seconds(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def device_label(device: str, simulated: bool) -> str:
    return f"{device} {SIMULATED_MARK}" if simulated else device


def _cell(row: pd.Series) -> str:
    if row["status"] != "ok":
        return row["status"]
    text = f"{format_seconds(row['latency_median_s'])}{NOISY_MARK if row.get('noisy') else ''}"
    if not math.isnan(row.get("speedup", math.nan)):
        text += f" · {row['speedup']:.2f}x"
    if pd.notna(row.get("accuracy")):
        text += f" · {100 * row['accuracy']:.1f}%"
        if pd.notna(row.get("accuracy_delta")) and row["technique"] != BASELINE:
            text += f" ({100 * row['accuracy_delta']:+.1f} pp)"
    ratio = row.get("flops_ratio", math.nan)
    if pd.notna(ratio) and abs(ratio - 1) > 0.01:
        text += f" · FLOPs {ratio:.2f}x"
    return text


def summary_table(results: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Rows 'technique (b=N)', columns devices (simulated ones marked); each cell 'median latency · speedup
    versus the baseline · accuracy (change in percentage points)', or the case's status. Devices whose every
    case was skipped are left out (their reason is listed by `notes`)."""
    frame = results[results["workload"] == workload].copy()
    shown = frame.groupby("device")["status"].transform(lambda s: (s != "skipped").any())
    frame = frame[shown]
    if frame.empty:
        return pd.DataFrame()
    frame["row"] = frame["technique"] + " (b=" + frame["batch_size"].astype(str) + ")"
    frame["column"] = [device_label(d, s) for d, s in zip(frame["device"], frame["simulated"])]
    frame["noisy"] = is_noisy(frame)
    frame["cell"] = frame.apply(_cell, axis=1)
    order = frame.drop_duplicates("row")[["row", "technique", "batch_size"]]
    order = order.assign(tech_order=pd.Categorical(order["technique"], frame["technique"].unique()))
    rows = order.sort_values(["tech_order", "batch_size"])["row"]
    table = frame.pivot_table(index="row", columns="column", values="cell", aggfunc="first")
    return table.reindex(index=rows, columns=list(dict.fromkeys(frame["column"]))).fillna("-").rename_axis(
        index="technique", columns=None
    )


def notes(results: pd.DataFrame) -> list[str]:
    """One line per error, and one per distinct skip reason, so that nothing that did not run goes unexplained."""
    lines = [f"error in `{r.case}`: {r.message}" for r in results[results["status"] == "error"].itertuples()]
    skipped = results[results["status"] == "skipped"].groupby("message")["case"].count()
    lines += [f"skipped {count} case(s): {reason}" for reason, count in skipped.items()]
    noisy = results[(results["status"] == "ok") & is_noisy(results)]
    if len(noisy):
        lines.append(
            f"{len(noisy)} case(s) timed with an interquartile range above {NOISY_IQR_FRACTION:.0%} of the median "
            f"(marked {NOISY_MARK}): the machine was busy; rerun them on a quiet machine before trusting the speedup"
        )
    return lines


def one_time_costs(results: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Rows 'technique (b=N)', device columns: the first call (which holds compilation) and the technique's
    apply time, costs that steady-state latency hides. Real devices only: a simulated device shares its host's."""
    frame = results[(results["workload"] == workload) & (results["status"] == "ok") & ~results["simulated"]].copy()
    if frame.empty or "first_call_s" not in frame:
        return pd.DataFrame()
    frame["row"] = frame["technique"] + " (b=" + frame["batch_size"].astype(str) + ")"
    frame["column"] = [device_label(d, s) for d, s in zip(frame["device"], frame["simulated"])]
    frame["cell"] = [
        f"first call {format_seconds(first)} · apply {format_seconds(apply)}"
        for first, apply in zip(
            frame["first_call_s"].astype(float), frame.get("apply_s", pd.Series(math.nan, index=frame.index)).astype(float)
        )
    ]
    table = frame.pivot_table(index="row", columns="column", values="cell", aggfunc="first")
    return table.reindex(index=frame["row"].unique(), columns=frame["column"].unique()).fillna("-").rename_axis(
        index="technique", columns=None
    )


def format_joules(joules: float) -> str:
    for scale, unit in ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ")):
        if abs(joules) >= scale:
            return f"{joules / scale:.3g} {unit}"
    return f"{joules / 1e-9:.3g} nJ"


def simulated_energy(results: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Rows 'technique (b=N)', simulated-device columns: modelled energy per inference, what bounds the latency,
    and '(power-limited)' where the device would hit its TDP. Empty without simulated cases."""
    if "energy_per_inference_j" not in results:
        return pd.DataFrame()
    frame = results[(results["workload"] == workload) & (results["status"] == "ok") & results["simulated"]].copy()
    frame = frame[frame["energy_per_inference_j"].notna()]
    if frame.empty:
        return pd.DataFrame()
    frame["row"] = frame["technique"] + " (b=" + frame["batch_size"].astype(str) + ")"
    frame["column"] = [device_label(d, True) for d in frame["device"]]
    limited = frame.get("power_limited", pd.Series(False, index=frame.index)).fillna(False).astype(bool)
    frame["cell"] = [
        f"{format_joules(float(e))} · {bound}" + (" (power-limited)" if lim else "")
        for e, bound, lim in zip(frame["energy_per_inference_j"], frame.get("bound", ""), limited)
    ]
    table = frame.pivot_table(index="row", columns="column", values="cell", aggfunc="first")
    return table.reindex(index=frame["row"].unique(), columns=frame["column"].unique()).fillna("-").rename_axis(
        index="technique", columns=None
    )
