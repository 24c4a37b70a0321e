"""Writes a run's report: results.csv, summary.md, speedup.png and a self-contained index.html."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from reports.compare import BASELINE, with_baseline_ratios
from reports.plots import speedup_figure
from reports.tables import SIMULATED_MARK, format_seconds, notes, one_time_costs, summary_table

LEGEND = (
    f"Each cell: median latency · speedup versus `{BASELINE}` on the same device and batch size (above 1 is "
    f"faster) · accuracy (change versus `{BASELINE}` in percentage points). {SIMULATED_MARK} marks a simulated "
    "device: its figures come from a cost model, not a clock."
)


def _atomic_write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_bytes(data)
    os.replace(partial, path)


def _machine_line(results: pd.DataFrame) -> str:
    first = results.iloc[0]
    parts = [f"{c.removesuffix('_version')} {first[c]}" for c in ("torch_version", "torchao_version") if c in first]
    if "cpu_model" in results and results["cpu_model"].notna().any():
        cpu = results[results["cpu_model"].notna()].iloc[0]
        flags = [c.removeprefix("flag_") for c in results.columns if c.startswith("flag_") and cpu[c] is True]
        parts.insert(0, f"CPU {cpu['cpu_model']}, {int(cpu['threads'])} threads, flags: {' '.join(flags) or 'none'}")
    return "; ".join(parts)


def summary_markdown(results: pd.DataFrame) -> str:
    lines = [f"# accelbench summary\n", f"Run {results['run_datetime'].iloc[0]} · {_machine_line(results)}\n", LEGEND]
    for workload in results["workload"].dropna().unique():
        table = summary_table(results, workload)
        metric = results.loc[results["workload"] == workload, "metric"].dropna()
        lines.append(f"\n## {workload}\n")
        if not metric.empty:
            lines.append(f"Accuracy: {metric.iloc[0]}.\n")
        lines.append(table.to_markdown() if not table.empty else "No case of this workload ran.")
    lines.append("\n## One-time costs\n")
    lines.append("Not in the latencies above: the first call (compilation, kernel set-up) and applying the technique.")
    for workload in results["workload"].dropna().unique():
        table = one_time_costs(results, workload)
        if not table.empty:
            lines.append(f"\n### {workload}\n")
            if "model_setup_s" in results:
                setup = results.loc[results["workload"] == workload, "model_setup_s"].astype(float).max()
                lines.append(f"Model set-up (training on first use, else loading cached weights): up to "
                             f"{format_seconds(setup)}.\n")
            lines.append(table.to_markdown())
    extra = notes(results)
    if extra:
        lines.append("\n## Not measured\n")
        lines += [f"- {line}" for line in extra]
    return "\n".join(lines) + "\n"


def write_report(results: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """Writes every output of one run into `out_dir` and returns their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = with_baseline_ratios(results)
    paths = {kind: out_dir / name for kind, name in
             (("csv", "results.csv"), ("md", "summary.md"), ("png", "speedup.png"), ("html", "index.html"))}  # fmt: skip
    _atomic_write(paths["csv"], results.to_csv(index=False).encode())
    markdown = summary_markdown(results)
    _atomic_write(paths["md"], markdown.encode())
    figure = speedup_figure(results)
    figure.savefig(paths["png"], dpi=110)
    plt.close(figure)
    image = base64.b64encode(paths["png"].read_bytes()).decode()
    tables = "".join(
        f"<h2>{html.escape(w)}</h2>{summary_table(results, w).to_html(border=0)}"
        for w in results["workload"].dropna().unique()
    )
    notes_html = "".join(f"<li>{html.escape(line)}</li>" for line in notes(results))
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>accelbench report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{padding:4px 10px;
border-bottom:1px solid #ddd;text-align:right}}</style></head><body>
<h1>accelbench report</h1><p>{html.escape(_machine_line(results))}</p><p>{html.escape(LEGEND)}</p>
<img alt="speedup versus {BASELINE}" src="data:image/png;base64,{image}">{tables}
{f"<h2>Not measured</h2><ul>{notes_html}</ul>" if notes_html else ""}</body></html>"""
    _atomic_write(paths["html"], page.encode())
    return paths
