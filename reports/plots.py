"""Figures. Each function draws on the `ax` it is given and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from reports.compare import BASELINE  # noqa: E402
from reports.tables import device_label  # noqa: E402


def plot_speedup(results: pd.DataFrame, workload: str, ax: plt.Axes) -> plt.Axes:
    """Bars of speedup versus the baseline, one group per technique, one bar per device and batch size.
    Simulated devices are hatched and marked in the legend; 1.0 (no change) is drawn as a line."""
    frame = results[(results["workload"] == workload) & (results["status"] == "ok")].dropna(subset=["speedup"])
    techniques = [t for t in frame["technique"].unique() if t != BASELINE]
    series = frame.drop_duplicates(["device", "batch_size"])[["device", "batch_size", "simulated"]]
    width = 0.8 / max(len(series), 1)
    for i, (device, batch, simulated) in enumerate(series.itertuples(index=False)):
        picked = frame[(frame["device"] == device) & (frame["batch_size"] == batch)].set_index("technique")
        heights = [picked["speedup"].get(t, np.nan) for t in techniques]
        ax.bar(
            np.arange(len(techniques)) + (i - (len(series) - 1) / 2) * width,
            heights,
            width,
            label=f"{device_label(device, simulated)} b={batch}" + (" (simulated)" if simulated else ""),
            hatch="//" if simulated else None,
        )
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(techniques)), techniques, rotation=20, ha="right")
    ax.set_ylabel(f"speedup vs {BASELINE} (higher is faster)")
    ax.set_title(workload)
    if len(series):
        ax.legend(fontsize="small")
    return ax


def speedup_figure(results: pd.DataFrame) -> plt.Figure:
    """One speedup panel per workload."""
    workloads = list(results["workload"].dropna().unique()) or ["(no workload)"]
    fig, axes = plt.subplots(1, len(workloads), figsize=(5.5 * len(workloads), 4.2), squeeze=False)
    for workload, ax in zip(workloads, axes[0]):
        plot_speedup(results, workload, ax)
    fig.tight_layout()
    return fig
