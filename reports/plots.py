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
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("arithmetic intensity (FLOP per byte moved)")
        ax.set_ylabel("attained FLOP/s (simulated)")
        ax.set_title(f"{device_label(device, True)} (simulated)")
        ax.legend(fontsize="x-small")
    for ax in list(axes.flat)[len(devices):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
