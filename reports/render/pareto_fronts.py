"""Accuracy versus latency (or energy per inference): per workload and device, every case as a point and the
Pareto front (no other case is both cheaper and at least as accurate) drawn as a step line, per batch size."""

from __future__ import annotations

import matplotlib

import accelbench.results as col

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullLocator  # noqa: E402

from reports.analysis.pareto import pareto_front  # noqa: E402
from reports.render.labels import Label, LabelOverlay  # noqa: E402
from reports.render.panels import grid_layout, quick_log, quick_panel  # noqa: E402
from reports.text import SIMULATED_MARK  # noqa: E402

AXES = {  # x column -> (axis label, what the panel title adds, unit of the tick labels)
    col.LATENCY_MEDIAN_S: ("median latency of one batch (s, log scale)", "", "s"),
    col.ENERGY_PER_INFERENCE_J: ("energy per inference (J, log scale)", col.ENERGY_METHOD, "J"),
}
PANELS_PER_FIGURE = 12  # devices per image; more devices paginate into further images
COLUMNS = 4
COLOURS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def plot_pareto(frame: pd.DataFrame, x: str, ax: plt.Axes, labels: LabelOverlay | None = None) -> plt.Axes:
    """One device's cases of one workload on `ax`: points per batch size, each batch size's front as a step line
    with its techniques named (into `labels` when given: fast; else ax.annotate). The x axis is log scale."""
    overlay = labels if labels is not None else LabelOverlay()
    all_cost = pd.to_numeric(frame[x], errors="coerce").to_numpy(dtype=float)
    all_quality = 100 * pd.to_numeric(frame[col.ACCURACY], errors="coerce").to_numpy(dtype=float)
    batches = frame[col.BATCH_SIZE].to_numpy()
    names = frame[col.TECHNIQUE].to_numpy()
    usable = np.isfinite(all_cost) & np.isfinite(all_quality) & (all_cost > 0)
    for i, batch in enumerate(sorted(set(batches[usable]))):
        colour = COLOURS[i % len(COLOURS)]
        picked = usable & (batches == batch)
        cost, quality, technique = all_cost[picked], all_quality[picked], names[picked]
        on = pareto_front(cost, quality)
        # Line2D markers rather than scatter: the same dots at a fraction of the drawing cost
        ax.plot(cost[~on], quality[~on], "o", markersize=3, color=colour, alpha=0.35, markeredgewidth=0)
        order = np.argsort(cost[on])
        ax.step(
            cost[on][order], quality[on][order], where="post", color=colour, linewidth=1.2, label=f"b={batch} front"
        )
        ax.plot(cost[on], quality[on], "o", markersize=4, color=colour)
        above = i % 2 == 0  # the first batch size's names above its points, the next one's below
        for c, q, name in zip(cost[on], quality[on], technique[on]):
            overlay.add(
                Label(ax, c, q, name, size_pt=6, offset_pt=(3, 2 if above else -3), anchor="ls" if above else "lt")
            )
    if labels is None:
        overlay.draw_with_matplotlib()
    ax.set_xscale("log")
    return ax


def _limits(values: pd.Series, log: bool) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    if log:
        return low / 1.6, high * 1.6
    pad = max((high - low) * 0.12, 0.1)
    return low - pad, high + 2 * pad  # room above for the front's names


def _axes_of_page(fig: plt.Figure, axes: np.ndarray, used: int, x: str, xlim, ylim) -> None:
    """Every panel on the same limits; tick labels on the outer panels only (the left column, and the lowest
    panel of each column): ticks are most of a panel's drawing cost."""
    columns = axes.shape[1]
    for index, ax in enumerate(axes.flat):
        ax.set_visible(index < used)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        bottom, left = index + columns >= used, index % columns == 0
        if bottom:
            quick_log(ax, "x", AXES[x][2], span=xlim[1] / xlim[0])
            ax.set_xlabel(AXES[x][0], fontsize=8)
        else:
            ax.xaxis.set_major_locator(NullLocator())
            ax.xaxis.set_minor_locator(NullLocator())
        if left:
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.set_ylabel("accuracy (%)", fontsize=8)
        else:
            ax.yaxis.set_major_locator(NullLocator())
        ax.tick_params(labelsize=7)


def pareto_figures(results: pd.DataFrame, workload: str, x: str) -> list[tuple[str, plt.Figure, LabelOverlay]]:
    """Figures of one workload (a panel per device, PANELS_PER_FIGURE per figure, all on the same axes so devices
    compare at a glance) for `x`, with a caption and the front's names each; empty when no case has `x`."""
    if x not in results:
        return []
    frame = results[
        (results[col.WORKLOAD] == workload)
        & (results[col.STATUS] == col.OK)
        & results[x].notna()
        & results[col.ACCURACY].notna()
    ]
    frame = frame[frame[x].astype(float) > 0]
    if frame.empty:
        return []
    xlim = _limits(frame[x].astype(float), log=True)
    ylim = _limits(100 * frame[col.ACCURACY].astype(float), log=False)
    devices = list(dict.fromkeys(frame[col.DEVICE]))
    pages = [devices[i : i + PANELS_PER_FIGURE] for i in range(0, len(devices), PANELS_PER_FIGURE)]
    out = []
    for number, page in enumerate(pages, 1):
        rows, columns = -(-len(page) // COLUMNS), min(len(page), COLUMNS)
        fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 2.6 * rows), squeeze=False)
        labels = LabelOverlay()
        for ax, device in zip(axes.flat, page):
            picked = frame[frame[col.DEVICE] == device]
            plot_pareto(picked, x, ax, labels)
            simulated = bool(picked[col.SIMULATED].iloc[0])
            extra = AXES[x][1]
            if extra and extra in picked:  # the energy panels say how their figures were obtained
                how = f" ({', '.join(sorted(set(picked[extra].dropna().astype(str))))} energy)"
            else:
                how = " (simulated)" if simulated else ""
            quick_panel(ax, f"{device}{' ' + SIMULATED_MARK if simulated else ''}{how}")
        _axes_of_page(fig, axes, len(page), x, xlim, ylim)
        handles, names = axes.flat[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, names, loc="upper right", fontsize=8)
        what = "latency" if x.startswith("latency") else "energy per inference"
        fig.suptitle(f"{workload}: accuracy vs {what}", fontsize=10)
        grid_layout(fig, right_in=0.9, top_in=0.75, bottom_in=0.6, wspace=0.08, hspace=0.3)
        first = PANELS_PER_FIGURE * (number - 1) + 1
        out.append((f"devices {first}-{first + len(page) - 1} of {len(devices)}", fig, labels))
    return out
