"""Writes a run's report: results.csv, summary.md, speedup.png and a self-contained index.html.

Both documents are rendered from the same list of sections, so the page and the Markdown never disagree.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from reports.compare import BASELINE, with_baseline_ratios
from reports.plots import roofline_figure, speedup_figure
from reports.training import inference_rows, training_sections
from reports.training_plots import memory_vs_step_figure
from reports.tables import (
    NOISY_MARK,
    SIMULATED_MARK,
    format_seconds,
    notes,
    one_time_costs,
    simulated_energy,
    summary_table,
)

LEGEND = (
    f"Each cell: median latency · speedup versus {BASELINE} on the same device and batch size (above 1 is "
    f"faster) · accuracy (change versus {BASELINE} in percentage points) · FLOPs versus {BASELINE}, where they differ. {SIMULATED_MARK} marks a simulated "
    f"device: its figures come from a cost model, not a clock. {NOISY_MARK} after a latency: its timing rounds "
    "spread widely (see Not measured)."
)


@dataclass
class Section:
    """A heading, paragraphs, an optional table and an optional bullet list."""

    title: str
    level: int = 2
    paragraphs: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    bullets: list[str] = field(default_factory=list)


def _machine_line(results: pd.DataFrame) -> str:
    first = results.iloc[0]
    parts = [f"{c.removesuffix('_version')} {first[c]}" for c in ("torch_version", "torchao_version") if c in first]
    if "cpu_model" in results and results["cpu_model"].notna().any():
        cpu = results[results["cpu_model"].notna()].iloc[0]
        flags = [c.removeprefix("flag_") for c in results.columns if c.startswith("flag_") and cpu[c] == True]  # noqa: E712 (numpy bools)
        parts.insert(0, f"CPU {cpu['cpu_model']}, {int(cpu['threads'])} threads, flags: {' '.join(flags) or 'none'}")
    return "; ".join(parts)


def sections(results: pd.DataFrame) -> list[Section]:
    """The report's content, in order, from results that already carry baseline ratios."""
    everything, results = results, inference_rows(results)  # training sections: reports/training.py
    out = [Section("accelbench report", 1, [f"Run {everything['run_datetime'].iloc[0]} · {_machine_line(everything)}", LEGEND])]
    workloads = list(results["workload"].dropna().unique())
    for workload in workloads:
        metric = results.loc[results["workload"] == workload].get("metric", pd.Series(dtype=object)).dropna()
        table = summary_table(results, workload)
        out.append(Section(
            workload,
            paragraphs=[f"Accuracy: {metric.iloc[0]}." if not metric.empty else ""]
            + ([] if not table.empty else ["No case of this workload was measured."]),
            table=table if not table.empty else None,
        ))  # fmt: skip
    energy = [(w, simulated_energy(results, w)) for w in workloads]
    if any(not table.empty for _, table in energy):
        out.append(Section(f"Simulated energy {SIMULATED_MARK}", paragraphs=[
            "Modelled by each simulated device's cost model (idle power x time + energy per operation + energy per "
            "byte moved), per inference; and what bounds the modelled latency: compute, memory, overhead (launches, "
            "dispatch) or host (operators the device cannot run fell back to its host). Simulated, not measured."
        ]))  # fmt: skip
        for workload, table in energy:
            if not table.empty:
                out.append(Section(workload, 3, [], table))
    costs = [(w, one_time_costs(results, w)) for w in workloads]
    if any(not table.empty for _, table in costs):
        out.append(Section("One-time costs", paragraphs=[
            "Not in the latencies above: the first call at each batch size (compilation, kernel set-up) and "
            "applying the technique (quantization, fine-tuning)."
        ]))  # fmt: skip
        for workload, table in costs:
            if table.empty:
                continue
            setup = results.loc[results["workload"] == workload].get("model_setup_s", pd.Series(dtype=float))
            line = f"Model set-up (training on first use, else loading cached weights): up to {format_seconds(setup.astype(float).max())}."
            out.append(Section(workload, 3, [line] if setup.notna().any() else [], table))
    if "roofline_ops" in results and results["roofline_ops"].notna().any():
        out.append(Section(f"Roofline of the simulated devices {SIMULATED_MARK}", paragraphs=[
            "roofline.png: each operator of each workload's fp32 model at the largest batch size, placed by its "
            "arithmetic intensity and the FLOP/s the cost model gives it, under the device's peak per dtype and its "
            "DRAM/HBM bandwidth (points above that slope read from on-chip memory or caches). Simulated, not measured."
        ]))  # fmt: skip
    out += [Section(**part) for part in training_sections(everything)]
    extra = notes(everything)
    if extra:
        out.append(Section("Not measured", bullets=extra))
    return out


def to_markdown(parts: list[Section]) -> str:
    lines: list[str] = []
    for part in parts:
        lines.append(f"{'#' * part.level} {part.title}\n")
        lines += [f"{p}\n" for p in part.paragraphs if p]
        if part.table is not None:
            lines.append(part.table.to_markdown() + "\n")
        lines += [f"- {b}" for b in part.bullets]
        if part.bullets:
            lines.append("")
    return "\n".join(lines)


def to_html(parts: list[Section], png: bytes, roofline: bytes | None = None, training: bytes | None = None) -> str:
    body = []
    for index, part in enumerate(parts):
        body.append(f"<h{part.level}>{html.escape(part.title)}</h{part.level}>")
        body += [f"<p>{html.escape(p)}</p>" for p in part.paragraphs if p]
        if index == 0:
            body.append(f'<img alt="speedup versus {BASELINE}" src="data:image/png;base64,{base64.b64encode(png).decode()}">')
        if part.title == "Training step" and training is not None:
            body.append(f'<img alt="memory versus step time" src="data:image/png;base64,{base64.b64encode(training).decode()}">')
        if part.title.startswith("Roofline") and roofline is not None:
            body.append(f'<img alt="roofline per simulated device" src="data:image/png;base64,{base64.b64encode(roofline).decode()}">')
        if part.table is not None:
            body.append(part.table.rename_axis(index=None).to_html(border=0))
        if part.bullets:
            body.append("<ul>" + "".join(f"<li>{html.escape(b)}</li>" for b in part.bullets) + "</ul>")
    style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:4px 10px;" \
            "border-bottom:1px solid #ddd;text-align:right}"  # fmt: skip
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>accelbench report</title><style>{style}</style>'
            f"</head><body>{''.join(body)}</body></html>")  # fmt: skip


def _atomic_write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_bytes(data)
    os.replace(partial, path)


def write_report(results: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """Writes every output of one run into `out_dir` and returns their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = with_baseline_ratios(results)
    paths = {kind: out_dir / name for kind, name in
             (("csv", "results.csv"), ("md", "summary.md"), ("png", "speedup.png"), ("html", "index.html"))}  # fmt: skip
    _atomic_write(paths["csv"], results.to_csv(index=False).encode())
    parts = sections(results)
    _atomic_write(paths["md"], to_markdown(parts).encode())
    figure = speedup_figure(inference_rows(results))
    figure.savefig(paths["png"], dpi=110)
    plt.close(figure)
    roofline = roofline_figure(results)
    if roofline is not None:
        paths["roofline"] = out_dir / "roofline.png"
        roofline.savefig(paths["roofline"], dpi=100)
        plt.close(roofline)
    training = memory_vs_step_figure(results)
    if training is not None:
        paths["training"] = out_dir / "training.png"
        training.savefig(paths["training"], dpi=100)
        plt.close(training)
    _atomic_write(paths["html"], to_html(parts, paths["png"].read_bytes(),
                                         paths["roofline"].read_bytes() if roofline is not None else None,
                                         paths["training"].read_bytes() if training is not None else None).encode())  # fmt: skip
    return paths
