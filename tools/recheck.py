"""Measuring latency suspects again, beside the baseline's own code, before a regression fails a build.

A stored baseline was measured minutes or weeks ago. On a shared machine the speed of one kernel drifts between runs
by tens of percent (another tenant's cache and memory traffic, a clock change), for stretches long enough that
measuring the new code again still shows it. What tells a regression of the code from a slower machine is measuring
the baseline's code at the same time: asv's `continuous` does this. So the cases whose latency regressed are run
again in fresh processes, PAIRS pairs in the order base, new, new, base, base, new, ... (a drift in one direction
favours neither side), the baseline's code from a git worktree of the commit the baseline records. A regression
counts only if every pair shows it (reports.regress.compare.confirmed).

Why several pairs: some cases are bimodal per process (a fresh process lands in a fast or a slow mode, about half
and half, and every case sharing that state moves with it). For such a case, "new slow, base fast" by chance is 1 in
4 with one pair of processes, 1 in 16 with 2 pairs, 1 in 256 with 4 (docs/regression.md).

When the baseline's commit is not in this clone (a shallow CI checkout: fetch it, or `fetch-depth: 0`), the cases
are measured again against the stored baseline alone, and regress.md says so.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

PAIRS = 4  # pairs of fresh processes (base code, new code); see above
BUDGET_S = 15 * 60  # the re-check stops starting pairs after this long (make regress RECHECK_S=...)
SIDE_BY_SIDE = f"measured again beside the baseline's code ({PAIRS} pairs of fresh processes, ABBA order)"
ALONE = "re-measured in a fresh process against the stored baseline"


@dataclass
class Recheck:
    """What was measured again: `pairs` of (base code, new code) result files, or, without the baseline's code,
    `alone` (the new code only); `note` says which, how long it took and why it stopped, for regress.md."""

    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    alone: Path | None = None
    note: str = ""
    elapsed_s: float = 0.0


# Which of the given cases a re-measured pair (base file or None for the stored baseline, new file) shows again:
# the gate's comparison, passed in so that a case already decided is not measured again.
Holds = Callable[[Path | None, Path, set[str]], set[str]]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


@contextmanager
def baseline_code(base_raw: dict, root: Path) -> Iterator[tuple[Path | None, str]]:
    """(a checkout of the commit the baseline was measured at, a note), or (None, why not). The checkout is a
    detached git worktree, removed afterwards."""
    commit = (base_raw.get("commit_info") or {}).get("id") or ""
    if not commit:
        yield None, "the baseline records no commit"
        return
    if _git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        yield (
            None,
            (
                f"the baseline's commit {commit[:12]} is not in this clone (fetch it, or check out with full "
                "history: actions/checkout `fetch-depth: 0`)"
            ),
        )
        return
    dirty = (base_raw.get("commit_info") or {}).get("dirty")
    note = f"baseline code: commit {commit[:12]}" + (
        " (the baseline was measured with uncommitted changes; the commit is what is re-measured)" if dirty else ""
    )
    with tempfile.TemporaryDirectory(prefix="accelbench-base-") as parent:
        tree = Path(parent) / "base"
        added = _git(root, "worktree", "add", "--detach", str(tree), commit)
        if added.returncode != 0:
            yield None, f"git could not check out the baseline's commit {commit[:12]}: {added.stderr.strip()}"
            return
        try:
            yield tree, note
        finally:
            _git(root, "worktree", "remove", "--force", str(tree))


# a case's node id as the benchmarks write it: benchmarks/<file>.py::<test>[<params>], nothing pytest reads as an option
NODE_ID = re.compile(r"^benchmarks/[A-Za-z0-9_/]+\.py::[A-Za-z0-9_]+(\[[A-Za-z0-9_.+\-]+\])?$")


class UnsafeCaseId(ValueError):
    """A case id from a results file that is not a benchmark node id (it could be read as a pytest option)."""


def checked(node_ids: list[str]) -> list[str]:
    bad = [node for node in node_ids if not NODE_ID.match(node)]
    if bad:
        raise UnsafeCaseId(
            f"case ids that are not benchmark node ids (benchmarks/<file>.py::<test>[<params>]): {bad[:5]}; "
            "the results file was changed by hand or by something else"
        )
    return node_ids


def measure(node_ids: list[str], pytest_args: list[str], cwd: Path, out: Path) -> Path:
    """Runs the cases `node_ids` in a fresh process (through accelbench.supervise, so a crash is an error row) in
    the checkout `cwd`, results to `out`, its output to `out` with .log; returns `out`. Raises UnsafeCaseId for an
    id that is not a benchmark node id (a crafted results file must not pass options to pytest)."""
    checked(node_ids)
    command = [
        sys.executable,
        "-m",
        "accelbench.supervise",
        "-p",
        "no:cacheprovider",
        "-q",
        *pytest_args,
        f"--benchmark-json={out.resolve()}",
        *node_ids,
    ]
    with out.with_suffix(".log").open("w", encoding="utf-8") as log:
        subprocess.run(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    return out


def recheck(
    node_ids: list[str],
    base_raw: dict,
    pytest_args: list[str],
    stem: Path,
    root: Path = Path("."),
    pairs: int = PAIRS,
    holds: Holds | None = None,
    budget_s: float = BUDGET_S,
) -> Recheck:
    """Measures `node_ids` again: beside the baseline's code when its commit can be checked out, else alone.
    Result files are `stem`-recheck-{base,new}-{1..pairs}.json (or `stem`-recheck.json).

    Bounded: all suspects are measured together, one process per side and pair; after each pair, `holds` says which
    cases it repeated, and only those are measured in the next (a case is decided `not confirmed` by the first pair
    that does not repeat it); after the first, no pair starts once `budget_s` has passed. The note says how long it took and why it
    stopped."""
    root = root.resolve()
    start = time.perf_counter()
    with baseline_code(base_raw, root) as (tree, note):
        if tree is None:
            alone = measure(node_ids, pytest_args, root, Path(f"{stem}-recheck.json"))
            took = time.perf_counter() - start
            return Recheck(
                alone=alone, note=f"{ALONE}: {note}; {len(node_ids)} case(s) in {took:.0f} s", elapsed_s=took
            )
        remaining = list(node_ids)
        done: list[tuple[Path, Path]] = []
        stopped = f"every case measured in all {pairs} pairs"
        for n in range(1, pairs + 1):
            if not remaining:
                stopped = f"every case decided after {n - 1} pair(s)"
                break
            if n > 1 and time.perf_counter() - start > budget_s:  # the first pair always runs
                stopped = (
                    f"the {budget_s:.0f} s budget was spent after {n - 1} pair(s); {len(remaining)} case(s) undecided"
                )
                break
            files = {side: Path(f"{stem}-recheck-{side}-{n}.json") for side in ("base", "new")}
            for side in ("base", "new") if n % 2 else ("new", "base"):
                measure(remaining, pytest_args, tree if side == "base" else root, files[side])
            done.append((files["base"], files["new"]))
            if holds is not None:
                names = {node.split("::", 1)[-1]: node for node in remaining}
                kept = holds(files["base"], files["new"], set(names))
                remaining = [names[name] for name in names if name in kept]
        took = time.perf_counter() - start
        return Recheck(
            pairs=done,
            note=f"{SIDE_BY_SIDE}; {note}; {len(node_ids)} case(s), {len(done)} pair(s), {took:.0f} s: {stopped}",
            elapsed_s=took,
        )
