"""Speedup heatmaps: per workload and batch size, technique rows x device columns, coloured by log2 speedup.

A heatmap is an HTML table with coloured cells, not an image: its text stays crisp, selectable and searchable, and
no figure is drawn per cell (a 10,000-case report stays quick: `make bench-report`). Markdown shows the same table
without colour.

Cell text: "1.8x"; in bold ("**") where a paired interval says faster or slower; "≈1" where it holds 1 (no significant
difference: coloured neutral, never as a win or a loss); "⚠" after it where the case's paired and unpaired speedups
differ by over 10% (the report lists why); "skip"/"error" where the case did not run. Simulated device
columns are hatched, under an orange band, and marked † in their header.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize, to_hex

import accelbench.results as col
from reports.analysis.speedups import BASELINE, SAME
from reports.text import CHECK_MARK, SIMULATED_MARK

DEVICES_PER_TABLE = 16  # columns per heatmap; more devices paginate into further tables
CLIP_LOG2 = 2.0  # colours saturate at 4x faster or slower
COLOURMAP = "RdBu"  # red slower, blue faster; diverging around 1x
KEY = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Heatmap:
    """One table: `text` (technique rows x device columns), `colour` (hex background per cell, "" for none),
    `simulated` (device -> bool) and a `caption`."""

    caption: str
    text: pd.DataFrame
    colour: pd.DataFrame
    simulated: dict

    def header(self, device: str) -> str:
        return f"{device} {SIMULATED_MARK}" if self.simulated.get(device) else device


def colour_of(speedup) -> np.ndarray:
    """Hex colours of speedups on the diverging scale (log2, clipped at 1/4x and 4x); "" where not a number."""
    values = np.log2(np.asarray(speedup, dtype=float).clip(min=1e-12))
    rgba = colormaps[COLOURMAP](Normalize(-CLIP_LOG2, CLIP_LOG2, clip=True)(values))
    return np.where(np.isfinite(values), [to_hex(c) for c in rgba], "")


def heatmap_cells(results: pd.DataFrame, workload: str, batch: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(text, colour, device -> simulated) of one workload and batch size: rows techniques in run order, columns
    devices (measured first)."""
    frame = results[(results[col.WORKLOAD] == workload) & (results[col.BATCH_SIZE] == batch)].copy()
    shown = frame[col.SPEEDUP_SHOWN].astype(float)
    paired = frame[col.SPEEDUP_BASIS] == "paired"
    same = frame[col.SPEEDUP_VERDICT].eq(SAME) & paired
    bold = frame[col.SPEEDUP_VERDICT].isin(["faster", "slower"]) & paired
    text = pd.Series([f"{v:.2g}x" if np.isfinite(v) else "" for v in shown], index=frame.index)
    text = text.where(~bold, "**" + text + "**").where(~same, "≈1")
    if col.SPEEDUP_CHECK in frame:  # paired and unpaired disagree: the summary lists why
        text = text.where(frame[col.SPEEDUP_CHECK].isna(), text + " " + CHECK_MARK)
    failed = frame[col.STATUS] != col.OK
    frame["text"] = text.where(~failed, frame[col.STATUS].map({"skipped": "skip"}).fillna("error"))
    frame["colour"] = np.where(same, colour_of(np.ones(len(frame))), colour_of(shown))
    frame.loc[failed, "colour"] = ""
    simulated = frame.groupby(col.DEVICE, sort=False)[col.SIMULATED].first().to_dict()
    devices = sorted(simulated, key=lambda d: (simulated[d], list(simulated).index(d)))
    techniques = list(dict.fromkeys(frame[col.TECHNIQUE]))
    frame = frame.drop_duplicates([col.TECHNIQUE, col.DEVICE])  # one case per cell (reports.load.runs renames repeats)
    text = frame.pivot(index=col.TECHNIQUE, columns=col.DEVICE, values="text")
    colour = frame.pivot(index=col.TECHNIQUE, columns=col.DEVICE, values="colour")
    return (
        text.reindex(index=techniques, columns=devices).fillna(""),
        colour.reindex(index=techniques, columns=devices).fillna(""),
        simulated,
    )


def heatmaps(results: pd.DataFrame, workload: str) -> list[Heatmap]:
    """One table per batch size and page of DEVICES_PER_TABLE devices."""
    out = []
    for batch in sorted(results.loc[results[col.WORKLOAD] == workload, col.BATCH_SIZE].dropna().unique()):
        text, colour, simulated = heatmap_cells(results, workload, batch)
        for start in range(0, text.shape[1], DEVICES_PER_TABLE):
            page = list(text.columns[start : start + DEVICES_PER_TABLE])
            caption = f"{workload}, batch {batch}: speedup vs {BASELINE} (devices {start + 1}-{start + len(page)} of {text.shape[1]})"
            out.append(
                Heatmap(caption, text[page].rename_axis(index="technique", columns=None), colour[page], simulated)
            )
    return out


def key_colours() -> list[tuple[str, str]]:
    """(label, colour) of the colour key."""
    return [(f"{v:g}x", c) for v, c in zip(KEY, colour_of(KEY))]
