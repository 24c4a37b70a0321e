"""The roofline figure of the simulated devices: attainable FLOP/s against arithmetic intensity, per device."""

from __future__ import annotations

import matplotlib

import accelbench.results as col

matplotlib.use("Agg")  # files only; no display is needed or assumed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from reports.render.panels import grid_layout, quick_log, quick_panel  # noqa: E402
from reports.text import device_label  # noqa: E402


def roofline_figure(results: pd.DataFrame) -> plt.Figure | None:
    """Per simulated device with operator points (`roofline_ops`: the fp32 model at the largest batch), the
    roofline: attained FLOP/s against arithmetic intensity, under the device's peak per dtype and its DRAM/HBM
    bandwidth. None when no case carries points."""
    import json

    if col.ROOFLINE_OPS not in results:
        return None
    frame = results[results[col.ROOFLINE_OPS].notna() & results[col.SIMULATED]].copy()
    # an operator list can be empty: everything ran on the device's host (the Edge TPU with a float model)
    frame["points"] = [np.array(json.loads(text), dtype=float).reshape(-1, 2) for text in frame[col.ROOFLINE_OPS]]
    frame = frame[[len(p) > 0 for p in frame["points"]]]
    devices = list(frame[col.DEVICE].unique())
    if not devices:
        return None
    columns = min(len(devices), 3)
    rows = -(-len(devices) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.2 * rows), squeeze=False)
    for ax, device in zip(axes.flat, devices):
        picked = frame[frame[col.DEVICE] == device]
        intensities = []
        for workload, points in zip(picked[col.WORKLOAD], picked["points"]):
            intensities += list(points[:, 0])
            ax.scatter(points[:, 0], points[:, 1], s=14, label=workload, alpha=0.8)
        first = picked.iloc[0]
        low, high = min(intensities) / 4, max(intensities) * 4
        x = np.logspace(np.log10(max(low, 1e-3)), np.log10(max(high, 1.0)), 100)
        bandwidth = float(first.get(col.ROOF_BANDWIDTH_BPS, np.nan))
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
