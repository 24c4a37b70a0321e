"""The training figure: activation memory against step time, per workload."""

from __future__ import annotations

import matplotlib

import accelbench.results as col

matplotlib.use("Agg")  # files only; no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from reports.render.training_tables import kind  # noqa: E402
from reports.text import device_label  # noqa: E402

MARKERS = "os^Dv<>pPX*h"


def plot_memory_vs_step(results: pd.DataFrame, workload: str, ax: plt.Axes) -> plt.Axes:
    """One point per device and training technique: step time (x, log) against the bytes saved for backward (y).
    Colour: technique; marker: device; simulated devices hollow. Techniques up and to the left cost memory for
    speed (or the reverse): checkpointing and gradient accumulation move down, paying in step time."""
    frame = results[
        (kind(results) == "training") & (results[col.STATUS] == col.OK) & (results[col.WORKLOAD] == workload)
    ]
    techniques = list(frame[col.TECHNIQUE].unique())
    palette = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7]  # grey is kept for nothing
    colours = {t: palette[i % len(palette)] for i, t in enumerate(techniques)}
    devices = list(frame[col.DEVICE].unique())
    for index, device in enumerate(devices):
        picked = frame[frame[col.DEVICE] == device]
        simulated = bool(picked[col.SIMULATED].iloc[0])
        for _, row in picked.iterrows():
            colour = colours[row[col.TECHNIQUE]]
            ax.scatter(
                row[col.LATENCY_MEDIAN_S],
                row[col.SAVED_ACTIVATION_BYTES],
                marker=MARKERS[index % len(MARKERS)],
                s=40,
                facecolors="none" if simulated else colour,
                edgecolors=colour,
            )
    for technique in techniques:  # legend entries: colour per technique
        ax.scatter([], [], color=colours[technique], label=technique)
    for index, device in enumerate(devices):  # and marker per device
        simulated = bool(frame.loc[frame[col.DEVICE] == device, col.SIMULATED].iloc[0])
        ax.scatter(
            [],
            [],
            marker=MARKERS[index % len(MARKERS)],
            facecolors="none" if simulated else "black",
            edgecolors="black",
            label=device_label(device, simulated) + (" (simulated)" if simulated else ""),
        )
    ax.set_xscale("log")
    ax.set_xlabel("training step time, s (log)")
    ax.set_ylabel("bytes saved for backward")
    ax.set_title(workload)
    if techniques:
        ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax


def memory_vs_step_figure(results: pd.DataFrame) -> plt.Figure | None:
    """One panel per workload with training rows; None when the run has none."""
    frame = results[(kind(results) == "training") & (results[col.STATUS] == col.OK)]
    workloads = list(frame[col.WORKLOAD].dropna().unique())
    if not workloads:
        return None
    fig, axes = plt.subplots(1, len(workloads), figsize=(8 * len(workloads), 4.6), squeeze=False)
    for workload, ax in zip(workloads, axes[0]):
        plot_memory_vs_step(results, workload, ax)
    fig.tight_layout()
    return fig
