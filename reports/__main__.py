"""`python -m reports [RESULTS.json] [--out DIR]`: the report of one run (default: the newest in results/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reports.load import OUT_ROOT, RESULTS_DIR, ResultsFileError, load_run, newest_results
from reports.render import write_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__)
    parser.add_argument("results", nargs="?", type=Path, help="pytest-benchmark JSON (default: newest in results/)")
    parser.add_argument("--out", type=Path, help="output directory (default: reports/out/<results file stem>)")
    args = parser.parse_args(argv)
    try:
        path = args.results or newest_results(RESULTS_DIR)
        results = load_run(path)
    except ResultsFileError as exc:
        print(f"accelbench report: {exc}", file=sys.stderr)
        return 2
    paths = write_report(results, args.out or OUT_ROOT / path.stem)
    counts = results["status"].value_counts()
    partial = results["run_partial"].iloc[0]
    print(f"accelbench report of {path} ({', '.join(f'{n} {s}' for s, n in counts.items())})"
          f"{f'; PARTIAL: {partial}' if partial else ''}:")  # fmt: skip
    for path in paths.values():
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
