"""No lost results: the journal of a killed run, and error rows for a crashing or a hanging case."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accelbench.results import read_journal, read_run
from reports.load.run import load_run, newest_results

ROOT = Path(__file__).resolve().parent.parent
FAULTS = Path(__file__).parent / "data" / "faults"
QUICK = ["--benchmark-max-time=0.01", "--benchmark-min-rounds=3", "--benchmark-warmup=off", "-p", "no:cacheprovider"]


def _events(journal: Path) -> list[dict]:
    return [json.loads(line) for line in journal.read_text().splitlines()]


def test_a_torn_last_line_is_skipped_and_the_cases_before_it_kept(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    lines = [
        {"event": "run", "version": 1, "datetime": "2026-11-23T00:00:00", "machine_info": {}, "commit_info": {}},
        {"event": "start", "name": "a"},
        {"event": "case", "outcome": {"name": "a", "status": "error", "message": "boom", "params": {}}},
        {"event": "start", "name": "b"},
    ]
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"event": "case", "bench')
    raw = read_run(tmp_path / "run.json")  # the JSON was never written: its journal stands in
    assert raw["accelbench_journal"] == {
        "complete": False,
        "in_flight": "b",
        "in_flight_params": {},
        "bad_lines": 1,
        "path": str(journal),
    }
    frame = load_run(journal)
    assert list(frame["case"]) == ["a"] and "killed during b" in frame["run_partial"].iloc[0]
    assert newest_results(tmp_path) == journal


def test_a_journal_without_its_first_line_is_refused_by_name(tmp_path: Path) -> None:
    journal = tmp_path / "x.jsonl"
    journal.write_text('{"event": "start", "name": "a"}\n')
    with pytest.raises(ValueError, match=f"{journal}: not an accelbench journal"):
        read_journal(journal)


@pytest.mark.slow
def test_sigkill_keeps_finished_cases_and_the_report_builds_from_them(tmp_path: Path, cache_dir: Path) -> None:
    results = tmp_path / "killed.json"
    journal = results.with_suffix(".jsonl")
    selection = "cpu and not sim and (digits-mlp or digits-cnn)"
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "benchmarks", "-k", selection, f"--benchmark-json={results}", *QUICK],
        cwd=ROOT,
        env={**os.environ, "ACCELBENCH_CACHE": str(cache_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            if journal.exists() and sum(e["event"] == "case" for e in _events_complete(journal)) >= 5:
                break
            time.sleep(0.2)
        assert process.poll() is None, "the run ended before it could be killed; select more cases"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL and not results.exists()
    cases = [e for e in _events_complete(journal) if e["event"] == "case"]
    assert len(cases) >= 5
    report = subprocess.run(
        [sys.executable, "-m", "reports", str(results), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    assert "PARTIAL" in report.stdout and str(journal) in report.stdout
    assert "PARTIAL RESULTS" in (tmp_path / "out" / "summary.md").read_text()
    rows = load_run(journal)
    assert len(rows) >= len(cases) and rows["run_partial"].str.contains("did not finish").all()


def _events_complete(journal: Path) -> list[dict]:
    """The journal's whole lines (a live writer may be half-way through the last one)."""
    text = journal.read_text()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]


@pytest.mark.slow
def test_a_crashing_and_a_hanging_case_become_error_rows_and_the_run_goes_on(run_python, tmp_path: Path) -> None:
    results = tmp_path / "faults.json"
    selection = "cpu and not sim and digits-mlp and (fp32 or test-crash or test-hang or bf16) and 64 and not amp"
    command = ["-m", "pytest", "benchmarks", "-k", selection, f"--benchmark-json={results}", *QUICK]
    # the hanging case gets fault_timeouts' HANG_TIMEOUT (5 s); the others a timeout that a loaded machine cannot
    # reach (the first case pays the session's set-up: 3 s idle, and 5 s was not enough in CI's slow tier)
    run = run_python(*command, "--timeout=300", "-p", "fault_timeouts", extra_path=FAULTS)
    assert run.returncode == 1, run.stdout[-3000:]
    frame = load_run(results).set_index("case")
    status = frame["status"].to_dict()
    assert status == {
        "test_inference[cpu-digits-mlp-fp32-64]": "ok",
        "test_inference[cpu-digits-mlp-bf16-64]": "ok",
        "test_inference[cpu-digits-mlp-test-crash-64]": "error",
        "test_inference[cpu-digits-mlp-test-hang-64]": "error",
    }
    assert "crash: this case fails on purpose" in frame.loc["test_inference[cpu-digits-mlp-test-crash-64]", "message"]
    hang = frame.loc["test_inference[cpu-digits-mlp-test-hang-64]", "message"]
    assert "Timeout (>5.0s)" in hang and "CASE_TIMEOUT" in hang
    assert not results.with_suffix(".jsonl").exists()  # the finished JSON replaced the journal


@pytest.mark.slow
def test_a_case_that_kills_the_process_is_an_error_row_and_the_run_goes_on(run_python, tmp_path: Path) -> None:
    results = tmp_path / "crash.json"
    # cpu-fp32, cpu-segfault (the process dies), sim-tpu-v4-fp32 (after a restart), sim-tpu-v4-segfault (dies again)
    selection = "(cpu or sim-tpu-v4) and not sim-cpu and digits-mlp and (fp32 or test-segfault) and 64"
    command = ["-m", "accelbench.supervise", "benchmarks", "-k", selection, f"--benchmark-json={results}", *QUICK]
    run = run_python(*command, extra_path=FAULTS)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "2 case(s) crashed the process" in run.stderr
    frame = load_run(results).set_index("case")
    assert frame["status"].to_dict() == {
        "test_inference[cpu-digits-mlp-fp32-64]": "ok",
        "test_inference[sim-tpu-v4-digits-mlp-fp32-64]": "ok",
        "test_inference[cpu-digits-mlp-test-segfault-64]": "error",
        "test_inference[sim-tpu-v4-digits-mlp-test-segfault-64]": "error",
    }
    message = frame.loc["test_inference[cpu-digits-mlp-test-segfault-64]", "message"]
    assert "died of SIGSEGV" in message and "went on" in message
    assert frame.loc["test_inference[cpu-digits-mlp-test-segfault-64]", "technique"] == "test-segfault"  # params kept
    assert frame["run_partial"].eq("").all() and not results.with_suffix(".jsonl").exists()
