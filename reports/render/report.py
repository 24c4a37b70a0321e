"""Writes a report: index.html (self-contained), summary.md with its PNG figures, results.csv, results.parquet,
recommendations.csv and, with a history, history.csv. Every file is written atomically."""

from __future__ import annotations

import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
import pandas as pd

import accelbench.results as col
from accelbench.files import atomic_write
from reports.analysis.prices import Price, with_costs
from reports.analysis.recommend import recommend
from reports.analysis.speedups import with_baseline_ratios, with_speedup_evidence
from reports.analysis.why import with_why
from reports.render.document import Image, Section, to_html, to_markdown, with_anchors
from reports.render.figures import (
    glance_sections,
    heatmap_sections,
    history_sections,
    pareto_sections,
    roofline_sections,
)
from reports.render.memory_vs_step import memory_vs_step_figure
from reports.render.sections import (
    header,
    money_sections,
    one_time_sections,
    recommendations_section,
    runs_section,
    summary_sections,
    trust_section,
)
from reports.render.tables import notes
from reports.render.training_tables import inference_rows, training_sections


def prepare(results: pd.DataFrame, prices: dict[str, Price] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Results with every derived column the report shows (ratios, paired evidence, costs, why) and the price notes."""
    results, price_notes = with_costs(with_speedup_evidence(with_baseline_ratios(results)), prices)
    return with_why(results), price_notes


def _training_parts(results: pd.DataFrame) -> list[Section]:
    """The training benchmarks' sections (reports/render/training_tables.py), the memory-versus-step-time figure in the first."""
    parts = [
        Section(
            title=p["title"],
            level=p.get("level", 2),
            paragraphs=list(p.get("paragraphs", [])),
            tables=[("", p["table"])] if p.get("table") is not None and not p["table"].empty else [],
            bullets=list(p.get("bullets", [])),
        )
        for p in training_sections(results)
    ]
    figure = memory_vs_step_figure(results)
    if figure is not None and parts:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
        plt.close(figure)
        parts[0].images.append(
            Image("training.png", "saved-for-backward memory versus training step time", buffer.getvalue())
        )
    return parts


def _parquet(frame: pd.DataFrame) -> bytes:
    """Parquet bytes; a column mixing types (a fact recorded as text on one case, a number on another) is stored as
    text, since Parquet columns have one type."""
    frame = frame.copy()
    for column in frame.columns[frame.dtypes == object]:
        kinds = {type(v) for v in frame[column].dropna()}
        if len(kinds) > 1:
            frame[column] = frame[column].map(lambda v: v if v is None or pd.isna(v) else str(v))
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def figure_workers() -> int:
    """Processes for `python -m reports` to draw the figures in (matplotlib draws on one core): one per available
    core, up to two."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(2, cores))


class _FigureJobs:
    """The figure sections, each job `name: (function, args)` drawn in a pool of `workers` fresh processes (spawned:
    a forked copy of a process with threads, torch's or pyarrow's, can hang) while the caller builds the other
    sections; with one worker, or where no process can be started, here, one after another. A job's error is raised
    by `sections()`, as it would be here."""

    def __init__(self, jobs: dict[str, tuple[Callable[..., list[Section]], tuple]], workers: int) -> None:
        self.jobs, self.pool, self.futures = jobs, None, {}
        if workers > 1:
            try:
                self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
                self.futures = {name: self.pool.submit(fn, *args) for name, (fn, args) in jobs.items()}
            except OSError:  # no processes here (a sandbox, no semaphores): draw them in this one
                self.pool, self.futures = None, {}

    def sections(self) -> dict[str, list[Section]]:
        drawn = {}
        for name, (fn, args) in self.jobs.items():
            try:
                drawn[name] = self.futures[name].result() if name in self.futures else fn(*args)
            except BrokenProcessPool:  # a worker was killed (out of memory): this one draws what is left
                self.futures = {}
                drawn[name] = fn(*args)
        return drawn

    def __enter__(self) -> _FigureJobs:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def write_report(
    results: pd.DataFrame,
    out_dir: Path,
    prices: dict[str, Price] | None = None,
    history: pd.DataFrame | None = None,
    history_notes: list[str] | None = None,
    workers: int = 1,
) -> dict[str, Path]:
    """Writes every output of `results` (one run, or several combined by reports.load.runs.combine) into `out_dir` and
    returns their paths by kind. `history`: the latency of each case in earlier runs (reports.load.history).
    `workers`: processes to draw the figures in (1: this one; `python -m reports` gives figure_workers())."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    everything, price_notes = prepare(results, prices)
    results = inference_rows(everything)  # the training benchmarks have sections of their own
    machine = results[col.MACHINE_ID].iloc[0] if col.MACHINE_ID in results and len(results) else None
    figures = _FigureJobs(  # the largest first: a pool hands them out in this order
        {
            "glance": (glance_sections, (results,)),
            "pareto": (pareto_sections, (results,)),
            "history": (history_sections, (history, history_notes or [], machine)),
            "training": (_training_parts, (everything,)),
            "roofline": (roofline_sections, (results,)),
            "heatmaps": (heatmap_sections, (results,)),
        },
        workers,
    )
    with figures:  # the sections without figures are built here meanwhile
        recs = recommend(results)
        first = [header(everything)]
        middle = [
            runs_section(everything),
            recommendations_section(recs),
            *[section for section in (trust_section(everything),) if section is not None],
        ]
        tables = [*summary_sections(results), *money_sections(results, price_notes), *one_time_sections(results)]
        drawn = figures.sections()
    parts = with_anchors(
        [
            *first,
            *drawn["glance"],
            *middle,
            *drawn["heatmaps"],
            *drawn["pareto"],
            *tables,
            *drawn["roofline"],
            *drawn["training"],
            *drawn["history"],
        ]
    )
    extra = notes(everything)
    if extra:
        parts = with_anchors([*parts, Section("Not measured", bullets=extra)])
    paths = {
        "csv": out_dir / "results.csv",
        "parquet": out_dir / "results.parquet",
        "md": out_dir / "summary.md",
        "html": out_dir / "index.html",
        "recommendations": out_dir / "recommendations.csv",
    }
    atomic_write(paths["csv"], everything.to_csv(index=False))
    atomic_write(paths["parquet"], _parquet(everything))
    atomic_write(paths["recommendations"], recs.to_csv(index=False))
    if history is not None:
        paths["history"] = atomic_write(out_dir / "history.csv", history.to_csv(index=False))
    for part in parts:
        for image in part.images:
            paths[image.file] = atomic_write(out_dir / image.file, image.png)
    atomic_write(paths["md"], to_markdown(parts))
    atomic_write(paths["html"], to_html(parts))
    return paths
