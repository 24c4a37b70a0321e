"""Small-multiple panels drawn fast: log axes with few ticks, fixed titles, fixed margins. The heatmaps, Pareto
fronts, roofline and history figures share them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator  # noqa: E402

from reports.text import format_joules, format_seconds  # noqa: E402


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
