"""`python -m reports.repeat A.json B.json [--out repeat.md]`: how far two runs of the same matrix agree.

For every measured (not simulated), non-baseline inference case in both runs: its speedup over fp32 in A and in B,
paired (from the ABAB rounds: accelbench/stats.py) and unpaired (the ratio of the two cases' fastest timing windows,
else of their medians), and the share of cases whose speedups agree within 5% and 10% (|B / A - 1|), each kind apart.
Within each run: the share of cases whose paired and unpaired speedups agree within 10% (a case where they do not is
measured under interference) and the run's noise, the median over its timed cases of the rounds' interquartile range /
median. Then the worst cases.
Exit status 0; 2 for a file that cannot be read or two runs with no case in common.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

import accelbench.results as col
from accelbench.files import atomic_write
from accelbench.results import ResultsFileError
from reports.analysis.speedups import BASELINE, with_baseline_ratios
from reports.load.run import load_run

KEYS = [col.DEVICE, col.WORKLOAD, col.TECHNIQUE, col.BATCH_SIZE]
TOLERANCES = (0.05, 0.10)
DISAGREE = 0.10  # paired and unpaired speedups of one case further apart than this: marked
WORST = 10


def speedups(results: pd.DataFrame) -> pd.DataFrame:
    """Paired and unpaired speedups of the measured non-baseline inference cases, indexed by case."""
    rows = with_baseline_ratios(results)
    real = ~rows[col.SIMULATED].fillna(False).astype(bool)
    inference = rows[col.BENCHMARK].fillna(col.INFERENCE) == col.INFERENCE if col.BENCHMARK in rows else True
    keep = rows[(rows[col.STATUS] == col.OK) & real & inference & (rows[col.TECHNIQUE] != BASELINE)]
    paired = keep[col.PAIRED_SPEEDUP] if col.PAIRED_SPEEDUP in keep else float("nan")
    out = keep[KEYS].assign(
        paired=pd.to_numeric(paired, errors="coerce"), unpaired=pd.to_numeric(keep[col.SPEEDUP], errors="coerce")
    )
    return out.drop_duplicates(KEYS).set_index(KEYS)


def noise(results: pd.DataFrame) -> float:
    """The run's timing noise: the median, over its measured cases, of the rounds' IQR / median."""
    ok = results[(results[col.STATUS] == col.OK) & ~results[col.SIMULATED].fillna(False).astype(bool)]
    relative = pd.to_numeric(ok[col.LATENCY_IQR_S], errors="coerce") / pd.to_numeric(
        ok[col.LATENCY_MEDIAN_S], errors="coerce"
    )
    return float(relative.median())


def self_consistency(cases: pd.DataFrame) -> float:
    """Share of a run's paired cases whose paired and unpaired speedups agree within DISAGREE."""
    both = cases.dropna(subset=["paired", "unpaired"])
    return float(((both["paired"] / both["unpaired"] - 1).abs() <= DISAGREE).mean()) if len(both) else float("nan")


def compare(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The cases of both runs side by side (`paired_a`, `paired_b`, `unpaired_a`, `unpaired_b`, their B / A - 1)
    and the figures of the summary."""
    sa, sb = speedups(a), speedups(b)
    both = sa.add_suffix("_a").join(sb.add_suffix("_b"), how="inner")
    for kind in ("paired", "unpaired"):
        both[f"{kind}_change"] = both[f"{kind}_b"] / both[f"{kind}_a"] - 1
    figures: dict = {"cases": len(both), "noise_a": noise(a), "noise_b": noise(b)}
    figures["consistent_a"], figures["consistent_b"] = self_consistency(sa), self_consistency(sb)
    for kind in ("paired", "unpaired"):
        change = both[f"{kind}_change"].dropna().abs()
        figures[f"{kind}_cases"] = len(change)
        for tolerance in TOLERANCES:
            figures[f"{kind}_within_{round(tolerance * 100)}"] = (
                float((change <= tolerance).mean()) if len(change) else float("nan")
            )
    order = both[["paired_change", "unpaired_change"]].abs().max(axis=1).sort_values(ascending=False)
    return both.loc[order.index], figures


def _share(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.0%}"


def markdown(a: Path, b: Path, table: pd.DataFrame, figures: dict) -> str:
    lines = [
        f"# Repeatability: {a.name} against {b.name}",
        "",
        f"{figures['cases']} measured non-baseline inference cases in both runs.",
        "",
        "| speedup | cases | within 5% | within 10% |",
        "|---|---|---|---|",
    ]
    for kind in ("paired", "unpaired"):
        lines.append(
            f"| {kind} | {figures[f'{kind}_cases']} | {_share(figures[f'{kind}_within_5'])} | "
            f"{_share(figures[f'{kind}_within_10'])} |"
        )
    lines += [
        "",
        "| run | noise (median IQR / median of the rounds) | paired and unpaired agree within 10% |",
        "|---|---|---|",
        f"| {a.name} | {_share(figures['noise_a'])} | {_share(figures['consistent_a'])} |",
        f"| {b.name} | {_share(figures['noise_b'])} | {_share(figures['consistent_b'])} |",
        "",
        f"## The {min(WORST, len(table))} cases that moved most",
        "",
        "| device | workload | technique | batch | paired A | paired B | unpaired A | unpaired B |",
        "|---|---|---|---|---|---|---|---|",
    ]
    fmt = lambda v: "-" if pd.isna(v) else f"{v:.3g}x"  # noqa: E731
    for (device, workload, technique, batch), row in table.head(WORST).iterrows():
        lines.append(
            f"| {device} | {workload} | {technique} | {batch} | {fmt(row['paired_a'])} | {fmt(row['paired_b'])} | "
            f"{fmt(row['unpaired_a'])} | {fmt(row['unpaired_b'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.repeat", description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="the first run's results (JSON)")
    parser.add_argument("b", type=Path, help="the second run's results (JSON)")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)
    try:
        a, b = load_run(args.a), load_run(args.b)
    except ResultsFileError as exc:
        print(f"repeat: {exc}", file=sys.stderr)
        return 2
    table, figures = compare(a, b)
    if table.empty:
        print(f"repeat: {args.a} and {args.b} have no measured non-baseline case in common", file=sys.stderr)
        return 2
    text = markdown(args.a, args.b, table, figures)
    if args.out:
        atomic_write(args.out, text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
