"""The history figure: the latency of each case across the saved runs, by run date and commit.

Every case with a latency in two or more runs is written to history.csv; the trend plot shows the TREND_CASES whose
latency changed most across runs (largest max / min ratio), in panels of PANELS_PER_FIGURE, and says how many more
there are. Runs from a machine other than the current run's are drawn with hollow markers and named in a warning.
"""

from __future__ import annotations

import matplotlib

import accelbench.results as col

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from reports.render.panels import grid_layout, quick_log, quick_panel  # noqa: E402
from reports.text import SIMULATED_MARK  # noqa: E402

TREND_CASES = 24
PANELS_PER_FIGURE = 12


def trend_cases(history: pd.DataFrame, limit: int = TREND_CASES) -> tuple[list[str], int]:
    """The cases to plot (latency in two or more runs; the `limit` that changed most) and how many more have a
    history but are not plotted."""
    runs = history.groupby(col.CASE)[col.RUN_FILE].nunique()
    repeated = runs[runs >= 2].index
    if len(repeated) == 0:
        return [], 0
    latency = history[history[col.CASE].isin(repeated)].groupby(col.CASE)[col.LATENCY_MEDIAN_S]
    change = (latency.max() / latency.min()).sort_values(ascending=False, kind="stable")
    return list(change.index[:limit]), max(0, len(change) - limit)


def history_figures(history: pd.DataFrame, cases: list[str], machine: str | None) -> list[tuple[str, plt.Figure]]:
    """Small multiples, one case per panel: latency (log scale) per run, x labelled by date and short commit."""
    runs = history.drop_duplicates(col.RUN_FILE)[[col.RUN_FILE, col.RUN_DATETIME, col.COMMIT_ID, col.MACHINE_ID]]
    position = {f: i for i, f in enumerate(runs[col.RUN_FILE])}
    labels = [f"{d:%m-%d %H:%M}" if pd.notna(d) else "?" for d in runs[col.RUN_DATETIME]]
    labels = [f"{label}\n{str(c)[:7] if isinstance(c, str) else '-'}" for label, c in zip(labels, runs[col.COMMIT_ID])]
    out = []
    for start in range(0, len(cases), PANELS_PER_FIGURE):
        page = cases[start : start + PANELS_PER_FIGURE]
        columns = min(len(page), 4)
        rows = -(-len(page) // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.6 * rows), squeeze=False)
        for ax, case in zip(axes.flat, page):
            picked = history[history[col.CASE] == case]
            x = picked[col.RUN_FILE].map(position)
            other = picked[col.MACHINE_ID] != machine if machine else pd.Series(False, index=picked.index)
            ax.plot(x, picked[col.LATENCY_MEDIAN_S], color="#4e79a7", linewidth=1)
            ax.scatter(x[~other], picked[col.LATENCY_MEDIAN_S][~other], s=14, color="#4e79a7")
            ax.scatter(x[other], picked[col.LATENCY_MEDIAN_S][other], s=14, facecolors="none", edgecolors="#e15759")
            first = picked.iloc[0]
            mark = f" {SIMULATED_MARK}" if bool(first[col.SIMULATED]) else ""
            quick_panel(
                ax, f"{first['device']}{mark} · {first['workload']}\n{first['technique']} b={first['batch_size']}", 7.5
            )
            latency = picked[col.LATENCY_MEDIAN_S].astype(float)
            quick_log(ax, "y", "s", span=latency.max() / latency.min())
            ax.set_ylabel("median latency (s)", fontsize=7)
            ax.set_xticks(range(len(labels)), labels, fontsize=6.5, rotation=90)
            ax.tick_params(axis="y", labelsize=6.5)
        for ax in list(axes.flat)[len(page) :]:
            ax.set_visible(False)
        grid_layout(fig, left_in=0.75, top_in=0.5, bottom_in=1.0, wspace=0.45, hspace=1.1)
        out.append((f"cases {start + 1}-{start + len(page)} of {len(cases)} plotted", fig))
    return out
