"""The report's figure sections: speedup heatmaps, Pareto fronts, roofline and history, each figure a PNG."""

from __future__ import annotations

import io
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image as PILImage

import accelbench.results as col
from reports.analysis.recommend import BUDGETS, best_per_device
from reports.analysis.speedups import BASELINE
from reports.render.at_a_glance import glance_figure, glance_line
from reports.render.document import Image, Section
from reports.render.history_trends import history_figures, trend_cases
from reports.render.labels import LabelOverlay
from reports.render.pareto_fronts import pareto_figures
from reports.render.roofline import roofline_figure
from reports.render.speedup_heatmap import heatmaps
from reports.text import SIMULATED_MARK

DPI = 80  # about 1000 px for a 12-inch figure: readable, and quick to render at scale
PNG_COMPRESSION = 1  # zlib level: several times faster than the default 6, files about a third larger


def png(figure: plt.Figure, dpi: int = DPI, labels: LabelOverlay | None = None) -> bytes:
    """The figure as PNG bytes, with `labels` burnt in; the figure is closed. Rendered once by Agg and encoded once
    by Pillow at a light compression level (PNG encoding of large figures otherwise costs as much as drawing them)."""
    figure.set_dpi(dpi)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    image = PILImage.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    if labels is not None:
        labels.burn(figure, image)
    plt.close(figure)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESSION)
    return buffer.getvalue()


def _file(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", "-".join(str(p) for p in parts)).strip("-") + ".png"


def glance_sections(results: pd.DataFrame) -> list[Section]:
    """First in the report: per workload, the best latency each device reaches within the first accuracy budget."""
    bests = {budget: best_per_device(results, budget) for budget in BUDGETS}
    best = bests[BUDGETS[0]]
    images = []
    for workload in results[col.WORKLOAD].dropna().unique():
        figure = glance_figure(best, workload, BUDGETS[0]) if not best.empty else None
        if figure is not None:  # its caption: the one-line recommendation, at every budget
            images.append(Image(_file("glance", workload), glance_line(bests, workload), png(figure)))
    if not images:
        return []
    return [
        Section(
            "At a glance",
            paragraphs=[
                f"Per workload, each device's best latency among the cases within {BUDGETS[0]:.0%} of the fp32 accuracy "
                f"(or of any format where quality is not measured), fastest first, with the technique that reaches it "
                f"and its cost per million inferences. Orange, hatched and {SIMULATED_MARK}: simulated by the cost model; "
                "blue: measured. The recommendations below name the overall best per budget and objective."
            ],
            images=images,
            first_screen=True,
        )
    ]


def heatmap_sections(results: pd.DataFrame) -> list[Section]:
    out = [
        Section(
            "Speedup heatmaps",
            paragraphs=[
                f"Per workload and batch size: speedup versus {BASELINE} on the same device, technique rows x device columns. "
                "Blue is faster, red slower (log scale, saturating at 4x). A number in bold is a paired result whose 95% "
                "interval excludes 1; ≈1 is a paired result whose interval holds 1 (no significant difference, coloured "
                f"neutral). Simulated devices ({SIMULATED_MARK}, orange band over the column, hatched cells) are deterministic "
                "modelled figures without an interval; measured devices have a grey band. Grey cells: the case did not run."
            ],
        )
    ]
    for workload in results[col.WORKLOAD].dropna().unique():
        out.append(Section(f"Heatmap: {workload}", 3, heatmaps=heatmaps(results, workload)))
    return out


def pareto_sections(results: pd.DataFrame) -> list[Section]:
    out = []
    for x, what, text in (
        (col.LATENCY_MEDIAN_S, "latency", "median latency of one batch, measured or simulated"),
        (col.ENERGY_PER_INFERENCE_J, "energy", "energy per inference, with its method in each panel's title"),
    ):
        out.append(
            Section(
                f"Pareto fronts: accuracy vs {what}",
                paragraphs=[
                    f"Per workload, one panel per device: every case's accuracy against its {text} (log scale). The step "
                    "line per batch size is the Pareto front: no case off it is both cheaper and at least as accurate; "
                    "front points are named."
                ],
            )
        )
        for workload in results[col.WORKLOAD].dropna().unique():
            figures = pareto_figures(results, workload, x)
            images = [
                Image(
                    _file("pareto", what, workload, i),
                    f"{workload}: accuracy vs {what}, {caption}",
                    png(fig, labels=labels),
                )
                for i, (caption, fig, labels) in enumerate(figures, 1)
            ]
            out.append(
                Section(
                    f"Pareto ({what}): {workload}",
                    3,
                    images=images,
                    paragraphs=[] if images else [_no_front(results, workload)],
                )
            )
    return out


def _no_front(results: pd.DataFrame, workload: str) -> str:
    rows = results[results[col.WORKLOAD] == workload]
    if col.ACCURACY not in rows or pd.to_numeric(rows[col.ACCURACY], errors="coerce").isna().all():
        return (
            f"{workload}'s quality is not measured in this run (priced from its shapes on the simulated devices), so "
            "there is no accuracy axis; `make bench TIER=full` measures it on the real CPU for the models that fit."
        )
    return f"No case of {workload} has this figure."


def roofline_sections(results: pd.DataFrame) -> list[Section]:
    figure = roofline_figure(results)
    if figure is None:
        return []
    return [
        Section(
            f"Roofline of the simulated devices {SIMULATED_MARK}",
            paragraphs=[
                "Each operator of each workload's fp32 model at the largest batch size, placed by its arithmetic intensity "
                "and the FLOP/s the cost model gives it, under the device's peak per dtype and its DRAM/HBM bandwidth (points "
                "above that slope read from on-chip memory or caches). Simulated, not measured."
            ],
            images=[Image("roofline.png", "roofline per simulated device", png(figure, dpi=90))],
        )
    ]


def history_sections(history: pd.DataFrame | None, notes: list[str], machine: str | None) -> list[Section]:
    if history is None:
        return []
    runs = history[col.RUN_FILE].nunique()
    cases, more = trend_cases(history)
    paragraphs = [
        f"{runs} saved run(s) read. Latency of each case across runs, by run date and commit (x labels); "
        "hollow red markers: a run from another machine than this report's. history.csv holds every "
        "case's latency in every run."
    ]
    bullets = list(notes)
    if not cases:
        bullets.append("no case has a latency in two or more runs: nothing to trend yet")
    if more:
        bullets.append(
            f"plotted the {len(cases)} cases whose latency changed most across runs (largest max/min); "
            f"{more} more cases with a history are not plotted: see history.csv"
        )
    others = history.loc[history[col.MACHINE_ID] != machine, col.RUN_FILE].unique() if machine else []
    warnings = [f"runs from another machine are in this history: {', '.join(map(str, others))}"] if len(others) else []
    images = [
        Image(_file("history", i), f"latency history, {caption}", png(fig, dpi=100))
        for i, (caption, fig) in enumerate(history_figures(history, cases, machine), 1)
    ]
    return [Section("History", paragraphs=paragraphs, warnings=warnings, images=images, bullets=bullets)]
