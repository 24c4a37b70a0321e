"""`python -m tools.gate`: save a baseline, or compare a run with one and write regress.md. Exit status 1 on a
regression, 2 on input it cannot use (a bad file, runs from different machines without --force).

    python -m tools.gate baseline results/<run>.json [--to benchmarks/baselines/<machine-id>.json]
    python -m tools.gate compare results/<run>.json [--base FILE] [--out DIR] [--force] [--config pyproject.toml]
                                  [--suspects FILE] [--recheck results/<run>-recheck.json]
    python -m tools.gate regress results/<run>.json [the same options] [--pytest-args "..."]

`regress` (what `make regress` runs) compares, and when latencies regressed measures those cases again beside the
baseline's own code (tools.recheck): a latency regression counts only if it repeats there
(reports.regress.compare.confirmed). `compare --suspects` writes the cases to measure again (pytest node ids, one per line);
`compare --recheck` takes a run that measured them again, compared with the stored baseline.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from accelbench.files import atomic_write
from accelbench.results import ResultsFileError, partial_reason, read_run, selection_of
from reports.load.fingerprint import fingerprint, machine_id, mismatches
from reports.load.run import OUT_ROOT, load_run
from reports.regress.compare import (
    compare_runs,
    confirmed,
    gate_fails,
    repeated,
    suspects,
    with_vanished_devices,
)
from reports.regress.markdown import to_markdown
from reports.regress.rules import RulesError, load_rules
from tools.recheck import ALONE, BUDGET_S, SIDE_BY_SIDE, Recheck, UnsafeCaseId, recheck

BASELINE_DIR = Path("benchmarks/baselines")
SHOWN_LINES = 60  # of regress.md, printed to the terminal


class GateError(ValueError):
    """Input the gate cannot use; the message says what and what to do."""


def default_baseline(raw: dict) -> Path:
    return BASELINE_DIR / f"{machine_id(fingerprint(raw))}.json"


def save_baseline(results: Path, to: Path | None = None) -> Path:
    """Copies a finished run (pytest-benchmark JSON with every round, and accelbench's fields) to `to`, atomically."""
    raw = read_run(results)
    reason = partial_reason(raw)
    if reason:
        raise GateError(f"{results}: not saved as a baseline: {reason}. Run `make baseline` to the end.")
    target = to or default_baseline(raw)
    atomic_write(target, Path(results).read_bytes())
    return target


def _rechecked(comparison, base_frame, again: Recheck, rules) -> tuple[object, list[str]]:
    """The comparison with its latency regressions confirmed or not by `again`; notes for regress.md."""
    notes, frames = [f"Re-check: {again.note}."], []
    for base_file, new_file in again.pairs or [(None, again.alone)]:
        try:
            before = base_frame if base_file is None else load_run(base_file, samples=True)
            frames.append(compare_runs(before, load_run(new_file, samples=True), rules))
        except ResultsFileError as exc:  # the re-check process wrote nothing usable: its regressions stand
            notes.append(f"a re-check run failed, its log is beside it: {exc}")
    return confirmed(comparison, frames, SIDE_BY_SIDE if again.pairs else ALONE), notes


def compare(
    new: Path,
    base: Path | None,
    out: Path,
    force: bool = False,
    config: Path | None = None,
    suspects_file: Path | None = None,
    again: Recheck | None = None,
):
    """(comparison DataFrame, regress.md path, failed) for the run `new` against `base` (default: this machine's
    stored baseline); `again`: the suspects measured again. Raises GateError, ResultsFileError or RulesError on
    input it cannot use."""
    new_raw = read_run(new)
    base = base_path(new_raw, base)
    base_raw = read_run(base)
    differ = mismatches(fingerprint(base_raw), fingerprint(new_raw))
    if differ and not force:
        raise GateError(
            f"{base} and {new} were measured on different machines or software, so their latencies "
            f"are not comparable ({'; '.join(differ)}). Compare runs of one machine, or pass --force "
            "(make regress FORCE=1) to compare anyway."
        )
    rules = load_rules(config or Path("pyproject.toml"), required=config is not None)
    base_frame = load_run(base, samples=True, raw=base_raw)
    comparison = compare_runs(base_frame, load_run(new, samples=True, raw=new_raw), rules)
    chosen = (selection_of(base_raw), selection_of(new_raw))
    comparison = with_vanished_devices(comparison, chosen[0] == chosen[1], f"baseline {chosen[0]}, new {chosen[1]}")
    notes = [f"PARTIAL RUN: {r}" for r in (partial_reason(base_raw), partial_reason(new_raw)) if r]
    notes += [f"FORCED across machines: {line}" for line in differ]
    if again is not None:
        comparison, more = _rechecked(comparison, base_frame, again, rules)
        notes += more
    if suspects_file is not None:
        ids = {b["name"]: b.get("fullname", b["name"]) for b in new_raw["benchmarks"]}
        atomic_write(suspects_file, "".join(f"{ids.get(case, case)}\n" for case in suspects(comparison)))
    failed = gate_fails(comparison)
    text = to_markdown(comparison, base, new, failed, notes)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "regress.csv", comparison.to_csv(index=False))
    return comparison, atomic_write(out / "regress.md", text), failed


def base_path(new_raw: dict, base: Path | None) -> Path:
    """`base`, or this machine's stored baseline; GateError when there is none."""
    base = base or default_baseline(new_raw)
    if not base.is_file():
        raise GateError(
            f"no baseline at {base} (the default for this run's machine: "
            f"{machine_id(fingerprint(new_raw))}); run `make baseline` first or pass BASE=<file>"
        )
    return base


def regress(
    new: Path, base: Path | None, out: Path, pytest_args: list[str] = (), budget_s: float = BUDGET_S, **options
):
    """`compare` (`options`: its `force` and `config`), then, when latencies changed, those cases measured again
    beside the baseline's code (tools.recheck, within `budget_s`) and compared once more: only regressions (and
    improvements) that repeat count."""
    suspects_file = out / "suspects.txt"
    comparison, path, failed = compare(new, base, out, suspects_file=suspects_file, **options)
    ids = suspects_file.read_text(encoding="utf-8").splitlines()
    if ids:
        base = base_path(read_run(new), base)
        print(
            f"accelbench regress: {len(ids)} case(s) changed in latency; measuring them again beside the "
            f"baseline's code (at most {budget_s:.0f} s)",
            file=sys.stderr,
        )
        base_frame = load_run(base, samples=True)
        rules = load_rules(options.get("config") or Path("pyproject.toml"), required=options.get("config") is not None)

        def holds(base_file: Path | None, new_file: Path, cases: set[str]) -> set[str]:
            try:
                before = base_frame if base_file is None else load_run(base_file, samples=True)
                return repeated(comparison, compare_runs(before, load_run(new_file, samples=True), rules), cases)
            except ResultsFileError:  # the pair wrote nothing usable: nothing is decided by it
                return cases

        again = recheck(
            ids, read_run(base), list(pytest_args), Path(new).with_suffix(""), holds=holds, budget_s=budget_s
        )
        comparison, path, failed = compare(new, base, out, again=again, **options)
    return comparison, path, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gate", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    save = commands.add_parser("baseline", help="save a run as the baseline")
    save.add_argument("results", type=Path)
    save.add_argument("--to", type=Path, help=f"default: {BASELINE_DIR}/<machine-id>.json")
    check = commands.add_parser("compare", help="compare a run with a baseline")
    full = commands.add_parser("regress", help="compare; measure latency regressions again beside the baseline's code")
    for command in (check, full):
        command.add_argument("results", type=Path, help="the new run")
        command.add_argument(
            "--base", type=Path, help=f"baseline (default: {BASELINE_DIR}/<machine-id of the run>.json)"
        )
        command.add_argument("--out", type=Path, help="where regress.md goes (default: reports/out/<run>/)")
        command.add_argument("--force", action="store_true", help="compare runs from different machines anyway")
        command.add_argument(
            "--config", type=Path, help="rules ([tool.accelbench.regress]; default: ./pyproject.toml where it exists)"
        )
    check.add_argument("--suspects", type=Path, help="write the node ids of cases whose latency regressed here")
    check.add_argument("--recheck", type=Path, help="a run re-measuring those cases: only regressions it repeats count")
    full.add_argument("--pytest-args", default="", help="pytest options for measuring again (make regress: BENCH_OPTS)")
    full.add_argument(
        "--recheck-budget-s",
        type=float,
        default=BUDGET_S,
        help=f"no re-check pair starts after this many seconds (default {BUDGET_S}; make regress RECHECK_S=...)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "baseline":
            print(f"accelbench: baseline saved to {save_baseline(args.results, args.to)}")
            return 0
        out = args.out or OUT_ROOT / args.results.with_suffix("").name
        if args.command == "regress":
            pytest_args = shlex.split(args.pytest_args)
            comparison, path, failed = regress(
                args.results,
                args.base,
                out,
                pytest_args,
                budget_s=args.recheck_budget_s,
                force=args.force,
                config=args.config,
            )
        else:
            again = Recheck(alone=args.recheck, note=f"{ALONE}: {args.recheck}") if args.recheck else None
            comparison, path, failed = compare(
                args.results, args.base, out, args.force, args.config, args.suspects, again
            )
    except (GateError, ResultsFileError, RulesError, UnsafeCaseId) as exc:
        print(f"accelbench regress: {exc}", file=sys.stderr)
        return 2
    shown = path.read_text(encoding="utf-8").split("<details>")[0].splitlines()  # the folded parts stay in the file
    print(
        "\n".join(
            shown[:SHOWN_LINES] + ([f"... ({len(shown) - SHOWN_LINES} more lines)"] if len(shown) > SHOWN_LINES else [])
        )
    )
    print(f"accelbench regress: {'REGRESSION' if failed else 'no regression'}; full table: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
