"""regress.md: the comparison as Markdown fit for a CI job summary or a pull-request comment."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

import accelbench.results as col
from reports.regress.compare import VERDICTS
from reports.regress.rules import LATENCY
from reports.text import format_seconds

TITLES = {
    "regression": "Regressions",
    "error": "Errors: ran in the baseline, fail now",
    "vanished": "Vanished: a device of the baseline with no case in this run (same selection)",
    "improvement": "Improvements",
    "missing": "Missing: in the baseline only",
    "new": "New: in this run only",
    "skipped": "Skipped now: ran in the baseline",
    "untested": "Untested: too few rounds for a significance test",
    "not confirmed": "Not confirmed: slower or faster in the run, not when measured again (beside the baseline's code)",
    "not run": "Not run in either",
    "unchanged": "Unchanged",
}
FOLDED = ("untested", "not run", "unchanged")
OPEN = tuple(v for v in VERDICTS if v not in FOLDED)  # shown as tables; the rest folded


def _value(metric: str, value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ""
    if metric in (LATENCY, col.SIMULATED_LATENCY_S):
        return format_seconds(value) if metric == LATENCY else f"{value:.17g} s"  # deterministic: every digit
    return f"{value:.17g}"


def _table(rows: pd.DataFrame) -> str:
    if rows["metric"].eq("").all():
        shown = rows[[col.CASE, "message"]]
    else:
        shown = pd.DataFrame(
            {
                col.CASE: rows[col.CASE],
                "metric": rows["metric"],
                "base": [_value(m, v) for m, v in zip(rows["metric"], rows["base"])],
                "new": [_value(m, v) for m, v in zip(rows["metric"], rows["new"])],
                "ratio": rows["ratio"].map(lambda r: "" if math.isnan(r) else f"{r:.3f}x"),
                "p": rows["p_value"].map(lambda p: "" if math.isnan(p) else "<1e-300" if p == 0 else f"{p:.2g}"),
                "rule": rows["rule"],
                "note": rows["message"],
            }
        )
    return shown.to_markdown(index=False)


def summary_line(comparison: pd.DataFrame, failed: bool) -> str:
    counts = comparison.drop_duplicates([col.CASE, "verdict"])["verdict"].value_counts()
    parts = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if v in counts)
    return f"{'❌ regression' if failed else '✅ no regression'} ({parts}; cases counted once per verdict)"


def to_markdown(comparison: pd.DataFrame, base: Path, new: Path, failed: bool, notes: list[str]) -> str:
    lines = [
        "## accelbench regression check",
        "",
        summary_line(comparison, failed),
        "",
        f"Baseline `{base}` · new run `{new}`.",
        "",
    ]
    lines += [f"> **{note}**\n" for note in notes]
    for verdict in VERDICTS:
        rows = comparison[comparison["verdict"] == verdict]
        if rows.empty:
            continue
        count = rows[col.CASE].nunique()
        title = f"{TITLES[verdict]} ({count} case{'s' if count != 1 else ''})"
        if verdict in OPEN:
            lines += [f"### {title}", "", _table(rows), ""]
        else:
            lines += [f"<details><summary>{title}</summary>", "", _table(rows), "", "</details>", ""]
    lines.append(
        "Rules: measured latency is a regression when Mann-Whitney U on the per-round samples gives p "
        "below the threshold, the new/baseline ratio (Hodges-Lehmann, shown) reaches the factor within its "
        "95% confidence interval, and the medians differ by more than the floor; deterministic metrics (simulated latency and energy, FLOPs, sizes, "
        "parameters, accuracy) must match exactly or within the stated tolerance. Set in pyproject.toml "
        "[tool.accelbench.regress]."
    )
    return "\n".join(lines) + "\n"
