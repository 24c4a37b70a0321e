"""Energy per inference and cost per million inferences: technique rows x device columns, every figure with its
method (measured, estimated or simulated), and one table per device saying where each method's figures come from."""

from __future__ import annotations

import pandas as pd

import accelbench.results as col
from reports.analysis.recommend import format_usd
from reports.text import device_label, format_joules

NOT_RECORDED = "not recorded"  # a case without an energy figure (an older run, a device without a meter)


def _pivot(frame: pd.DataFrame, cells: list[str]) -> pd.DataFrame:
    frame = frame.assign(cell=cells)
    frame["row"] = frame[col.TECHNIQUE] + " (b=" + frame[col.BATCH_SIZE].astype(str) + ")"
    frame["column"] = [device_label(d, s) for d, s in zip(frame[col.DEVICE], frame[col.SIMULATED])]
    table = frame.pivot_table(index="row", columns="column", values="cell", aggfunc="first")
    return (
        table.reindex(index=frame["row"].unique(), columns=frame["column"].unique())
        .fillna("-")
        .rename_axis(index="technique", columns=None)
    )


def energy_table(results: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Cells "2.1 µJ estimated"; for a simulated device also what bounds its modelled latency (compute, memory,
    overhead, host) and "(power-limited)" where it would exceed its TDP. Empty without measured cases."""
    frame = results[(results[col.WORKLOAD] == workload) & (results[col.STATUS] == col.OK)]
    if frame.empty:
        return pd.DataFrame()
    energy = (
        pd.to_numeric(frame.get(col.ENERGY_PER_INFERENCE_J), errors="coerce")
        if col.ENERGY_PER_INFERENCE_J in frame
        else pd.Series(float("nan"), index=frame.index)
    )
    method = frame.get(col.ENERGY_METHOD, pd.Series(None, index=frame.index))
    bound = frame.get(col.BOUND, pd.Series(None, index=frame.index))
    limited = frame.get(col.POWER_LIMITED, pd.Series(None, index=frame.index))
    cells = [
        NOT_RECORDED
        if pd.isna(e)
        else f"{format_joules(float(e))} {m}"
        + (f" · {b}" if sim and isinstance(b, str) else "")
        + (" (power-limited)" if lim is True else "")
        for e, m, b, lim, sim in zip(energy, method, bound, limited, frame[col.SIMULATED])
    ]
    return _pivot(frame, cells)


def cost_table(results: pd.DataFrame, workload: str) -> pd.DataFrame:
    """Cells "$0.0041 measured" (USD per million inferences and how its latency was obtained), or "no price"."""
    frame = results[(results[col.WORKLOAD] == workload) & (results[col.STATUS] == col.OK)]
    if frame.empty:
        return pd.DataFrame()
    cells = [
        "no price" if pd.isna(c) else f"{format_usd(c)} {m}"
        for c, m in zip(frame[col.COST_PER_MILLION_USD], frame[col.COST_METHOD])
    ]
    return _pivot(frame, cells)


def methods_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per device and energy method: how many cases, where the energy figures come from (the first
    source, and how many distinct ones), the cost method and the price with its source."""
    frame = results[results[col.STATUS] == col.OK].copy()
    if frame.empty:
        return pd.DataFrame()
    for column in (col.ENERGY_METHOD, col.ENERGY_SOURCE, col.PRICE_SOURCE):
        if column not in frame:
            frame[column] = None
    frame[col.ENERGY_METHOD] = frame[col.ENERGY_METHOD].fillna(NOT_RECORDED)
    frame[col.COST_METHOD] = frame[col.COST_METHOD].fillna("no price")
    rows = []
    for (device, method), group in frame.groupby([col.DEVICE, col.ENERGY_METHOD], sort=False):
        sources = group[col.ENERGY_SOURCE].dropna().astype(str)
        source = sources.iloc[0] if len(sources) else "-"
        # an estimate's source carries each case's own CPU seconds: count the kinds of source, not the numbers
        kinds = sources.str.replace(r"[\d.]+(e-?\d+)? s of", "… s of", regex=True).nunique()
        prices = group[col.PRICE_PER_HOUR_USD].dropna()
        rows.append(
            {
                col.DEVICE: device_label(device, bool(group[col.SIMULATED].iloc[0])),
                "cases": len(group),
                "energy method": method,
                "energy source": source + (f" (and {kinds - 1} other sources)" if kinds > 1 else ""),
                "cost method": ", ".join(sorted(set(group[col.COST_METHOD]))),
                "price (USD/h)": f"{prices.iloc[0]:.4g}" if len(prices) else "-",
                "price source": next(iter(group[col.PRICE_SOURCE].dropna().astype(str)), "-"),
            }
        )
    return pd.DataFrame(rows).set_index(col.DEVICE)
