"""Summary tables for people: per workload, technique (and batch) rows x device columns."""

from __future__ import annotations

import math

import pandas as pd

import accelbench.results as col
from reports.analysis.speedups import BASELINE
from reports.text import CHECK_MARK, CONTENDED_MARK, NOISY_MARK, device_label, format_seconds

NOISY_IQR_FRACTION = 0.25  # interquartile range above this fraction of the median: the machine was not quiet


def is_noisy(results: pd.DataFrame) -> pd.Series:
    """Cases whose timing rounds spread too widely to trust two decimals of a speedup."""
    iqr = results.get(col.LATENCY_IQR_S, pd.Series(float("nan"), index=results.index)).astype(float)
    return (iqr / results[col.LATENCY_MEDIAN_S].astype(float)) > NOISY_IQR_FRACTION


def is_contended(results: pd.DataFrame) -> pd.Series:
    """Cases measured while other processes (or the hypervisor) took a share of the CPU: `contended` recorded."""
    if col.CONTENDED not in results:
        return pd.Series(False, index=results.index)
    return results[col.CONTENDED].fillna(False).astype(bool)


def is_contended_row(row: pd.Series) -> bool:
    value = row.get(col.CONTENDED)
    return bool(value) if value is not None and pd.notna(value) else False


def _cell(row: pd.Series) -> str:
    if row[col.STATUS] != col.OK:
        return row[col.STATUS]
    text = f"{format_seconds(row['latency_median_s'])}{NOISY_MARK if row.get('noisy') else ''}"
    text += CONTENDED_MARK if is_contended_row(row) else ""
    text += _speedup_text(row)
    if pd.notna(row.get(col.ACCURACY)):
        text += f" · {100 * row['accuracy']:.1f}%"
        if pd.notna(row.get(col.ACCURACY_DELTA)) and row[col.TECHNIQUE] != BASELINE:
            text += f" ({100 * row['accuracy_delta']:+.1f} pp)"
    ratio = row.get(col.FLOPS_RATIO, math.nan)
    if pd.notna(ratio) and abs(ratio - 1) > 0.01:
        text += f" · FLOPs {ratio:.2f}x"
    return text


def _speedup_text(row: pd.Series) -> str:
    """ " · 1.26x", with its paired interval " [1.20-1.31]" where paired; " · ≈1 [0.95-1.04]" where the interval
    holds 1 (no significant difference)."""
    shown = row.get(col.SPEEDUP_SHOWN, row.get(col.SPEEDUP, math.nan))
    if shown is None or pd.isna(shown):
        return ""
    low, high = row.get(col.SPEEDUP_CI_LOW, math.nan), row.get(col.SPEEDUP_CI_HIGH, math.nan)
    interval = f" [{low:.2f}-{high:.2f}]" if pd.notna(low) and pd.notna(high) else ""
    check = f" {CHECK_MARK}" if isinstance(row.get(col.SPEEDUP_CHECK), str) else ""
    if interval and row.get(col.SPEEDUP_VERDICT) == "no significant difference":
        return f" · ≈1{interval}{check}"
    return f" · {shown:.2f}x{interval}{check}"


def paginate(table: pd.DataFrame, per_page: int, keep: tuple[str, ...] = ()) -> list[tuple[str, pd.DataFrame]]:
    """`table` cut into pages of at most `per_page` columns (the columns in `keep` repeated on every page), each
    with a caption "devices a-b of n"; one page, uncaptioned, when it fits."""
    columns = [c for c in table.columns if c not in keep]
    if len(columns) <= per_page:
        return [("", table)]
    return [
        (
            f"devices {start + 1}-{min(start + per_page, len(columns))} of {len(columns)}",
            table[columns[start : start + per_page] + list(keep)],
        )
        for start in range(0, len(columns), per_page)
    ]


def summary_table(results: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Rows 'technique (b=N)', columns devices (simulated ones marked); each cell 'median latency · speedup
    versus the baseline · accuracy (change in percentage points)', or the case's status. Devices whose every
    case was skipped are left out (their reason is listed by `notes`)."""
    frame = results[results[col.WORKLOAD] == workload].copy()
    shown = frame.groupby(col.DEVICE)[col.STATUS].transform(lambda s: (s != "skipped").any())
    frame = frame[shown]
    if frame.empty:
        return pd.DataFrame()
    frame["row"] = frame[col.TECHNIQUE] + " (b=" + frame[col.BATCH_SIZE].astype(str) + ")"
    frame["column"] = [device_label(d, s) for d, s in zip(frame[col.DEVICE], frame[col.SIMULATED])]
    frame["noisy"] = is_noisy(frame)
    frame["cell"] = frame.apply(_cell, axis=1)
    order = frame.drop_duplicates("row")[["row", col.TECHNIQUE, col.BATCH_SIZE]]
    order = order.assign(tech_order=pd.Categorical(order[col.TECHNIQUE], frame[col.TECHNIQUE].unique()))
    rows = order.sort_values(["tech_order", col.BATCH_SIZE])["row"]
    table = frame.pivot_table(index="row", columns="column", values="cell", aggfunc="first")
    return (
        table.reindex(index=rows, columns=list(dict.fromkeys(frame["column"])))
        .fillna("-")
        .rename_axis(index="technique", columns=None)
    )


def notes(results: pd.DataFrame) -> list[str]:
    """One line per error, and one per distinct skip reason, so that nothing that did not run goes unexplained."""
    lines = [f"error in `{r.case}`: {r.message}" for r in results[results[col.STATUS] == "error"].itertuples()]
    skipped = results[results[col.STATUS] == "skipped"].groupby(col.MESSAGE)[col.CASE].count()
    lines += [f"skipped {count} case(s): {reason}" for reason, count in skipped.items()]
    noisy = results[(results[col.STATUS] == col.OK) & is_noisy(results)]
    if len(noisy):
        lines.append(
            f"{len(noisy)} case(s) timed with an interquartile range above {NOISY_IQR_FRACTION:.0%} of the median "
            f"(marked {NOISY_MARK}): the machine was busy; rerun them on a quiet machine before trusting the speedup"
        )
    contended = results[(results[col.STATUS] == col.OK) & is_contended(results)]
    if len(contended):
        worst = pd.to_numeric(contended[col.OTHERS_CPU_FRACTION], errors="coerce").max()
        lines.append(
            f"{len(contended)} case(s) measured under contention (marked {CONTENDED_MARK}: other processes used over "
            f"20% of the CPU, the hypervisor stole over 10%, or the machine ran over 1.3x slower than usual, while "
            f"they were timed; at worst {worst:.0%} taken by others): "
            "their latencies are not this machine's; rerun them on a quiet machine (docs/measurement.md)"
        )
    return lines


def one_time_costs(results: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Rows 'technique (b=N)', device columns: the first call (which holds compilation) and the technique's
    apply time, costs that steady-state latency hides. Real devices only: a simulated device shares its host's."""
    frame = results[
        (results[col.WORKLOAD] == workload) & (results[col.STATUS] == col.OK) & ~results[col.SIMULATED]
    ].copy()
    if frame.empty or col.FIRST_CALL_S not in frame:
        return pd.DataFrame()
    frame["row"] = frame[col.TECHNIQUE] + " (b=" + frame[col.BATCH_SIZE].astype(str) + ")"
    frame["column"] = [device_label(d, s) for d, s in zip(frame[col.DEVICE], frame[col.SIMULATED])]
    frame["cell"] = [
        f"first call {format_seconds(first)} · apply {format_seconds(apply)}"
        for first, apply in zip(
            frame[col.FIRST_CALL_S].astype(float),
            frame.get(col.APPLY_S, pd.Series(math.nan, index=frame.index)).astype(float),
        )
    ]
    table = frame.pivot_table(index="row", columns="column", values="cell", aggfunc="first")
    return (
        table.reindex(index=frame["row"].unique(), columns=frame["column"].unique())
        .fillna("-")
        .rename_axis(index="technique", columns=None)
    )
