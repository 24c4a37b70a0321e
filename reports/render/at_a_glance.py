"""The report's first figure per workload: the best latency each device reaches within the accuracy budget, one
panel per batch size, devices fastest first, each bar named by its technique, measured and simulated told apart."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

import accelbench.results as col
from reports.text import SIMULATED_MARK, format_seconds

MEASURED_COLOUR = "#4c72b0"
SIMULATED_COLOUR = "#dd8452"


def glance_figure(best: pd.DataFrame, workload: str, budget: float) -> plt.Figure | None:
    """`best` is reports.analysis.recommend.best_per_device's frame; None where the workload has no row."""
    rows = best[best[col.WORKLOAD] == workload]
    if rows.empty:
        return None
    batches = sorted(rows[col.BATCH_SIZE].unique())
    height = max(2.0, 0.32 * rows.groupby(col.BATCH_SIZE).size().max() + 1.2)
    figure, axes = plt.subplots(1, len(batches), figsize=(6.2 * len(batches), height), squeeze=False)
    for ax, batch in zip(axes[0], batches):
        panel = rows[rows[col.BATCH_SIZE] == batch].sort_values(col.LATENCY_MEDIAN_S, ascending=False)
        simulated = panel[col.SIMULATED].fillna(False).astype(bool).tolist()
        labels = [f"{d} {SIMULATED_MARK}" if s else d for d, s in zip(panel[col.DEVICE], simulated)]
        bars = ax.barh(
            labels,
            panel[col.LATENCY_MEDIAN_S],
            color=[SIMULATED_COLOUR if s else MEASURED_COLOUR for s in simulated],
            hatch=None,
        )
        for bar, s in zip(bars, simulated):
            if s:
                bar.set_hatch("//")
        for bar, technique, seconds, cost in zip(
            bars, panel[col.TECHNIQUE], panel[col.LATENCY_MEDIAN_S], panel[col.COST_PER_MILLION_USD]
        ):
            money = f" · ${cost:.3g}/M" if pd.notna(cost) else ""
            ax.text(
                bar.get_width(),
                bar.get_y() + bar.get_height() / 2,
                f" {technique} · {format_seconds(seconds)}{money}",
                va="center",
                fontsize=8,
            )
        ax.set_xscale("log")
        ax.set_xlabel(f"latency of one batch of {batch} (log scale)")
        ax.set_title(f"batch {batch}", fontsize=10)
        ax.margins(x=0.9)
    known = bool(rows["quality_known"].all())
    within = f"within {budget:.0%} of fp32 accuracy" if known else "any format: quality not measured"
    figure.suptitle(f"{workload}: the best latency each device reaches, {within}", fontsize=11)
    figure.tight_layout()
    return figure


def glance_line(bests: dict[float, pd.DataFrame], workload: str) -> str:
    """The one-line recommendation under a workload's figure: per batch size, the fastest device and technique
    within each accuracy budget (`bests`: budget -> best_per_device's frame), simulated ones marked."""
    parts = []
    batches = sorted({b for best in bests.values() for b in best.loc[best[col.WORKLOAD] == workload, col.BATCH_SIZE]})
    for batch in batches:
        choices: dict[str, list[str]] = {}  # a choice -> the budgets it is the fastest within
        for budget, best in bests.items():
            rows = best[(best[col.WORKLOAD] == workload) & (best[col.BATCH_SIZE] == batch)]
            if rows.empty:
                choices.setdefault("nothing", []).append(f"{budget * 100:g}%")
                continue
            top = rows.loc[rows[col.LATENCY_MEDIAN_S].idxmin()]
            mark = f" {SIMULATED_MARK}" if bool(top[col.SIMULATED]) else ""
            choice = f"{top[col.DEVICE]}{mark} {top[col.TECHNIQUE]}, {format_seconds(top[col.LATENCY_MEDIAN_S])}"
            choices.setdefault(choice, []).append(f"{budget * 100:g}%" if top["quality_known"] else "")
        said = [
            f"nothing within {' and '.join(b)} of fp32"
            if choice == "nothing"
            else f"{choice} ({'within ' + ' and '.join(b) if all(b) else 'quality not measured'})"
            for choice, b in choices.items()
        ]
        parts.append(f"batch {batch}: " + "; ".join(said))
    return f"{workload}, the fastest: " + " · ".join(parts) + "."
