"""`python -m reports [RESULTS.json ...] [--out DIR] [--prices prices.toml] [--no-history]`: the report of one run
(default: the newest in results/), or of several runs side by side.

Prices: `--prices`, else $ACCELBENCH_PRICES (a path), else the devices' defaults. History: the other result files
beside the (first) run, unless --no-history.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import accelbench.results as col
from accelbench.results import ResultsFileError
from reports.analysis.prices import PriceFileError, load_prices
from reports.load.history import history_files, load_history
from reports.load.run import OUT_ROOT, RESULTS_DIR, load_run, newest_results
from reports.load.runs import combine
from reports.render.report import figure_workers, write_report

PRICES_ENV = "ACCELBENCH_PRICES"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "results", nargs="*", type=Path, help="pytest-benchmark JSON files (default: newest in results/)"
    )
    parser.add_argument("--out", type=Path, help="output directory (default: reports/out/<first results file stem>)")
    parser.add_argument("--prices", type=Path, help=f"price file (TOML; default: ${PRICES_ENV}, else device defaults)")
    parser.add_argument("--no-history", action="store_true", help="leave out the trend over the other saved runs")
    parser.add_argument(
        "--check-prices", action="store_true", help="only check the price file (make bench runs it before the matrix)"
    )
    args = parser.parse_args(argv)
    if args.check_prices:
        price_file = args.prices or (Path(os.environ[PRICES_ENV]) if os.environ.get(PRICES_ENV) else None)
        try:
            load_prices(price_file) if price_file else None
        except PriceFileError as exc:
            print(f"accelbench report: {exc}", file=sys.stderr)
            return 2
        return 0
    twice = sorted({str(p) for p in args.results if sum(q.resolve() == p.resolve() for q in args.results) > 1})
    if twice:  # its cases would be counted twice
        print(f"accelbench report: {', '.join(twice)} given more than once: give each run once", file=sys.stderr)
        return 2
    try:
        paths = args.results or [newest_results(RESULTS_DIR)]
        results = combine([load_run(path) for path in paths])
        price_file = args.prices or (Path(os.environ[PRICES_ENV]) if os.environ.get(PRICES_ENV) else None)
        prices = load_prices(price_file) if price_file else None
    except (ResultsFileError, PriceFileError) as exc:
        print(f"accelbench report: {exc}", file=sys.stderr)
        return 2
    history, notes = None, []
    if not args.no_history:
        files, notes = history_files(paths[0])
        if len(files) > 1:
            history, more = load_history(files)
            notes += more
    out = args.out or OUT_ROOT / paths[0].stem
    written = write_report(results, out, prices, history, notes, workers=figure_workers())
    counts = results[col.STATUS].value_counts()
    partial = "; ".join(reason for reason in results[col.RUN_PARTIAL].dropna().unique() if reason)
    print(
        f"accelbench report of {', '.join(map(str, paths))} ({', '.join(f'{n} {s}' for s, n in counts.items())})"
        f"{f'; PARTIAL: {partial}' if partial else ''}:"
    )
    for kind in ("html", "md", "csv", "parquet", "recommendations", "history"):
        if kind in written:
            print(f"  {written[kind]}")
    print(f"  and {sum(1 for k in written if k.endswith('.png'))} figure(s) beside summary.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
