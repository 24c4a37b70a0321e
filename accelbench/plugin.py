"""pytest glue: every case's outcome in the results, and a journal that survives a killed run.

Loaded by the root conftest.py (which adds the hooks that need the axes: machine facts, the empty-selection message). pytest-benchmark writes only the cases that were timed; a case that errored or was
skipped would vanish from the results, so its outcome is recorded here and written beside the benchmarks under
`accelbench_outcomes` (accelbench/results.py names every field and key). With `--benchmark-json=PATH`, every finished case is
also appended to PATH's journal (PATH with `.jsonl`, accelbench/journal.py) as the run goes, and PATH itself is
written here, atomically, once the run ends (pytest-benchmark's own writer is turned off: it writes in place).
"""

from __future__ import annotations

import os
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pytest

import accelbench.results as results
from accelbench.files import CacheDirWarning
from accelbench.journal import VERSION, Journal

OUTCOMES = pytest.StashKey[list]()
JOURNAL = pytest.StashKey["Journal | None"]()
CASE = pytest.StashKey[dict]()  # per item: its outcome so far and, once timed, its benchmark entry
# accelbench.rounds.LaterPasses (paired cases) and LaterWindows (their baselines), run before the results are saved
LATER = pytest.StashKey[list]()
MESSAGE_LIMIT = 2000  # characters of an error kept in the results; the full traceback is in pytest's output


def default_cache_dir() -> Path:
    """Where trained weights are cached: $ACCELBENCH_CACHE, else $XDG_CACHE_HOME/accelbench, else ~/.cache."""
    if os.environ.get("ACCELBENCH_CACHE"):
        return Path(os.environ["ACCELBENCH_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "accelbench"


def accuracy_target(text: str) -> float:
    """An accuracy in (0, 1], for `--accelbench-target-accuracy`."""
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError(f"{text} is not a fraction in (0, 1], e.g. 0.95")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--accelbench-cache",
        type=Path,
        default=None,
        help="directory for trained weights (default: $ACCELBENCH_CACHE or ~/.cache/accelbench)",
    )
    parser.addoption(
        "--accelbench-journal",
        type=Path,
        default=None,
        help="JSON Lines journal of finished cases, written as the run goes (default: --benchmark-json's path "
        "with .jsonl; none without it)",
    )
    parser.addoption(
        "--accelbench-resume",
        action="store_true",
        help="go on with the journal's run: skip the cases it already holds, append to it, and write the results "
        "of the whole run (python -m accelbench.supervise uses it after a case crashed the process)",
    )
    parser.addoption(
        "--accelbench-target-accuracy",
        type=accuracy_target,
        default=0.95,
        help="test accuracy that benchmarks/test_time_to_accuracy.py trains to (default 0.95)",
    )


@pytest.fixture(scope="session")
def later_passes(pytestconfig: pytest.Config) -> list:
    """Where a case leaves the later passes of its paired rounds (accelbench.rounds.LaterPasses), and a baseline the
    later windows of its own timing (LaterWindows). They run after the last case, outside every case's timeout, before
    the results are written (pytest_sessionfinish): each real case pairs once after its timing and in each later pass
    at the end of the session (Pairing.passes in all), so its speedup speaks for more than one of the machine's
    spells. A resumed run (its results come from the journal, written case by case) and an interrupted one
    skip them: their cases keep the first pass's figures."""
    return pytestconfig.stash.setdefault(LATER, [])


def run_later_passes(pending: list, windows_per_pass: int | None = None) -> None:
    """Pass by pass over every case: each case's pass (LaterPasses: a window of the candidate, then its rounds;
    LaterWindows: a window of a baseline), then `windows_per_pass - 1` more sweeps of one window of each."""
    import torch  # here: the plugin loads before the cases, and only a run with paired cases needs torch

    from accelbench.rounds import Pairing

    sweeps = Pairing().windows_per_pass if windows_per_pass is None else windows_per_pass
    while pending := [later for later in pending if later.remaining > 0]:
        for step in ["run"] + ["window"] * (sweeps - 1):
            for later in pending:
                try:
                    with torch.no_grad():
                        getattr(later, step)()
                except Exception as exc:  # noqa: BLE001 - the case keeps the passes it has; no other case is lost
                    later.remaining = 0
                    warnings.warn(
                        f"a later pass of paired rounds failed, the earlier passes' figures stand: {exc!r}",
                        stacklevel=1,
                    )


@pytest.fixture(scope="session")
def cache_dir(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of cached trained weights; where it cannot be written (read-only, or a file), a temporary directory
    for this run, with a warning naming the directory and how it was chosen."""
    chosen = pytestconfig.getoption("accelbench_cache")
    path = chosen or default_cache_dir()
    problem = writable_problem(path)
    if problem is None:
        return path
    how = (
        "--accelbench-cache"
        if chosen
        else ("$ACCELBENCH_CACHE" if os.environ.get("ACCELBENCH_CACHE") else "the default (~/.cache/accelbench)")
    )
    fallback = tmp_path_factory.mktemp("accelbench-cache")
    warnings.warn(
        f"the weights cache {path} (from {how}) cannot be written: {problem}; using {fallback} for this run "
        "(models train again next run). Point ACCELBENCH_CACHE at a writable directory.",
        CacheDirWarning,
        stacklevel=1,
    )
    return fallback


def writable_problem(path: Path) -> str | None:
    """Why `path` cannot serve as a writable directory, or None."""
    if path.exists() and not path.is_dir():
        return "it is a file, not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".accelbench-write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.stash[OUTCOMES] = []
    results = config.getoption("benchmark_json", None)
    journal = config.getoption("accelbench_journal", None) or (Path(results).with_suffix(".jsonl") if results else None)
    resume = bool(config.getoption("accelbench_resume", False))
    if resume and not journal:
        raise pytest.UsageError("--accelbench-resume needs a journal: pass --benchmark-json or --accelbench-journal")
    config.stash[JOURNAL] = Journal(journal, resume=resume) if journal else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    journal = config.stash.get(JOURNAL, None)
    if journal is None or not journal.resume:
        return
    done = results.recorded(results.read_journal(journal.path))
    finished = [item for item in items if item.name in done]
    if finished:
        config.hook.pytest_deselected(items=finished)
        items[:] = [item for item in items if item.name not in done]


def _journal_open(config: pytest.Config) -> Journal | None:
    """The journal, its first line (the run's machine and commit) written on first use: only runs with a case pay
    for collecting machine facts."""
    journal = config.stash.get(JOURNAL, None)
    bench = getattr(config, "_benchmarksession", None)
    if journal is not None and not journal.started and bench is not None:
        commit_info = config.hook.pytest_benchmark_generate_commit_info(config=config)
        journal.write(
            "run",
            version=VERSION,
            datetime=datetime.now(timezone.utc).isoformat(),
            machine_info=bench.get_machine_info(),
            commit_info=commit_info,
        )
    return journal


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if "benchmark" in getattr(item, "fixturenames", ()):
        item.stash[CASE] = {"status": results.OK, "message": "", "when": "", "benchmark": None}
        journal = _journal_open(item.config)
        if journal is not None:
            journal.write("start", name=item.name, fullname=item.nodeid, params=_params(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    case = item.stash.get(CASE, None)
    if case is None:
        return report
    if case["status"] == results.OK and (report.failed or report.skipped):  # the first failure is the one to keep
        if report.skipped and isinstance(report.longrepr, tuple):
            message = report.longrepr[2].removeprefix("Skipped: ")
        elif call.excinfo is not None:
            message = call.excinfo.exconly()
        else:
            message = report.longreprtext
        if message.startswith("Failed: Timeout"):
            message += " The case ran past the per-case timeout (make bench CASE_TIMEOUT=seconds; pytest --timeout)."
        status = results.SKIPPED if report.skipped else results.ERROR
        case.update(status=status, when=report.when, message=message[:MESSAGE_LIMIT])
    if report.when == "call":
        fixture = getattr(item, "funcargs", {}).get("benchmark")
        if fixture is not None and getattr(fixture, "stats", None) is not None:
            case["benchmark"] = fixture.stats.as_dict(include_data=True)  # the entry pytest-benchmark will save
    if report.when == "teardown":
        _finish_case(item, case)
    return report


def _params(item: pytest.Item) -> dict:
    callspec = getattr(item, "callspec", None)
    return {k: v for k, v in (callspec.params.items() if callspec else ())}


def _finish_case(item: pytest.Item, case: dict) -> None:
    journal = _journal_open(item.config)
    if case["status"] == results.OK:
        if journal is not None and case["benchmark"] is not None:
            journal.write("case", benchmark=case["benchmark"])
        return
    outcome = results.outcome_entry(
        item.name, item.nodeid, case["status"], case["message"], _params(item), when=case["when"]
    )
    item.config.stash[OUTCOMES].append(outcome)
    if journal is not None:
        journal.write("case", outcome=outcome)


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list, output_json: dict) -> None:
    output_json[results.OUTCOMES] = config.stash[OUTCOMES]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int):
    """Writes --benchmark-json here, atomically, and also when no case was timed (errors and skips are results
    too); pytest-benchmark's own writer, which writes in place, is turned off for the duration."""
    config = session.config
    journal = config.stash.get(JOURNAL, None)
    if not (journal is not None and journal.resume) and exitstatus != pytest.ExitCode.INTERRUPTED:
        run_later_passes(config.stash.get(LATER, []))
    bench = getattr(config, "_benchmarksession", None)
    path = getattr(bench, "json", None)
    if bench is not None:
        bench.json = None
    try:
        return (yield)
    finally:
        if bench is not None:
            bench.json = path
        journal = config.stash.get(JOURNAL, None)
        resumed = journal is not None and journal.resume
        if path is not None and (bench.benchmarks or config.stash[OUTCOMES] or resumed):
            _save(config, bench, Path(path), exitstatus, journal.path if resumed else None)
        if journal is not None:
            if journal.started:
                journal.write("end", exitstatus=int(exitstatus))
            journal.close(remove=path is not None and Path(path).is_file())  # the JSON now holds every case


def _save(config: pytest.Config, bench, path: Path, exitstatus: int, resumed: Path | None) -> None:
    """The run's JSON; a resumed run's is the whole run's, from its journal (this process ran only the rest)."""
    output = config.hook.pytest_benchmark_generate_json(
        config=config,
        benchmarks=bench.benchmarks,
        include_data=True,
        machine_info=bench.get_machine_info(),
        commit_info=config.hook.pytest_benchmark_generate_commit_info(config=config),
    )
    config.hook.pytest_benchmark_update_json(config=config, benchmarks=bench.benchmarks, output_json=output)
    if resumed is not None:
        whole = results.read_journal(resumed)
        output.update({results.BENCHMARKS: whole[results.BENCHMARKS], results.OUTCOMES: whole[results.OUTCOMES]})
    output[results.EXITSTATUS] = int(exitstatus)  # 2: interrupted, the run is partial
    results.write_run(path, output)
