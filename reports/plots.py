"""The roofline figure of the simulated devices (the speedup heatmaps and Pareto fronts have modules of their own)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator  # noqa: E402

from reports.tables import device_label, format_joules, format_seconds  # noqa: E402


def quick_log(ax: plt.Axes, axis: str = "x", unit: str | None = None, span: float | None = None) -> None:
    """A log axis with a few major ticks, no minor ones, and plain tick labels ("100 µs" with a `unit` of "s" or
    "J", else "0.001"): minor ticks and the mathtext of 10^n labels are most of the cost of drawing a panel, and a
    report draws hundreds. `span` (largest / smallest value shown): under 30, ticks at 1-2-5 so that a range within
    one decade still has some; else at powers of ten."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    subs = (1.0, 2.0, 5.0) if span is not None and span < 30 else (1.0,)
    target.set_major_locator(LogLocator(subs=subs, numticks=6))
    target.set_minor_locator(NullLocator())
    formats = {"s": format_seconds, "J": format_joules}
    target.set_major_formatter(FuncFormatter(lambda v, _: formats[unit](v) if unit in formats else f"{v:g}"))


def quick_panel(ax: plt.Axes, title: str, fontsize: float = 9) -> None:
    """A title at a fixed height (matplotlib otherwise measures the tick labels to place it) and a few linear ticks
    on y: the two costliest parts of drawing a small panel."""
    ax.set_title(title, fontsize=fontsize, y=1.0, pad=4)
    if ax.get_yscale() == "linear":
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))


def grid_layout(
    fig: plt.Figure,
    left_in: float = 0.6,
    right_in: float = 0.2,
    top_in: float = 0.55,
    bottom_in: float = 0.55,
    wspace: float = 0.4,
    hspace: float = 0.75,
) -> None:
    """Fixed margins in inches instead of tight_layout, which measures every tick label of every panel (seconds
    for a page of log-scale panels)."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=left_in / width,
        right=1 - right_in / width,
        top=1 - top_in / height,
        bottom=bottom_in / height,
        wspace=wspace,
        hspace=hspace,
    )


def roofline_figure(results: pd.DataFrame) -> plt.Figure | None:
    """Per simulated device with operator points (`roofline_ops`: the fp32 model at the largest batch), the
    roofline: attained FLOP/s against arithmetic intensity, under the device's peak per dtype and its DRAM/HBM
    bandwidth. None when no case carries points."""
    import json

    if "roofline_ops" not in results:
        return None
    frame = results[results["roofline_ops"].notna() & results["simulated"]].copy()
    # an operator list can be empty: everything ran on the device's host (the Edge TPU with a float model)
    frame["points"] = [np.array(json.loads(text), dtype=float).reshape(-1, 2) for text in frame["roofline_ops"]]
    frame = frame[[len(p) > 0 for p in frame["points"]]]
    devices = list(frame["device"].unique())
    if not devices:
        return None
    columns = min(len(devices), 3)
    rows = -(-len(devices) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.2 * rows), squeeze=False)
    for ax, device in zip(axes.flat, devices):
        picked = frame[frame["device"] == device]
        intensities = []
        for workload, points in zip(picked["workload"], picked["points"]):
            intensities += list(points[:, 0])
            ax.scatter(points[:, 0], points[:, 1], s=14, label=workload, alpha=0.8)
        first = picked.iloc[0]
        low, high = min(intensities) / 4, max(intensities) * 4
        x = np.logspace(np.log10(max(low, 1e-3)), np.log10(max(high, 1.0)), 100)
        bandwidth = float(first.get("roof_bandwidth_bps", np.nan))
        for column in [c for c in picked.columns if c.startswith("roof_peak_") and pd.notna(first.get(c))]:
            peak = float(first[column])
            ax.plot(x, np.minimum(peak, bandwidth * x), linewidth=1, label=f"roof {column[10:-6]}")
        quick_log(ax, "x")
        quick_log(ax, "y")
        ax.set_xlabel("arithmetic intensity (FLOP per byte moved)")
        ax.set_ylabel("attained FLOP/s (simulated)")
        quick_panel(ax, f"{device_label(device, True)} (simulated)", 10)
        ax.legend(fontsize="x-small")
    for ax in list(axes.flat)[len(devices) :]:
        ax.set_visible(False)
    grid_layout(fig, left_in=0.8, bottom_in=0.6, wspace=0.35, hspace=0.45)
    return fig
