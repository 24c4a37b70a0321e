"""pytest-benchmark JSON -> tidy DataFrame, one row per case. The only module that knows those field names."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from accelbench import journal
from reports.load.fingerprint import fingerprint, machine_id

# Identity of a case, then what was measured. Later columns (device facts, versions) follow these.
KEY_COLUMNS = ["device", "workload", "technique", "batch_size"]
STATS = {
    "median": "latency_median_s",
    "mean": "latency_mean_s",
    "min": "latency_min_s",
    "stddev": "latency_stddev_s",
    "iqr": "latency_iqr_s",
    "rounds": "rounds",
}


class ResultsFileError(ValueError):
    """A results file that is missing, empty, not JSON or not a pytest-benchmark run; the message names it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


RESULTS_DIR = Path("results")
OUT_ROOT = Path("reports/out")


def newest_results(directory: Path = RESULTS_DIR) -> Path:
    """The newest run in `directory`: its JSON, or the journal of a run that did not finish (no JSON beside it)."""
    runs = [
        p
        for p in directory.glob("*.json*")
        if p.suffix == ".json" or (p.suffix == ".jsonl" and not p.with_suffix(".json").exists())
    ]
    if not runs:
        raise ResultsFileError(directory, "no results (*.json, or a *.jsonl journal) here; run `make bench` first")
    return max(runs, key=lambda p: p.stat().st_mtime)


def read_run(path: str | Path) -> dict:
    """The parsed JSON of one run, or ResultsFileError saying what is wrong with the file. A journal (`.jsonl`),
    or a results path whose JSON was never written but whose journal exists, reads as a partial run."""
    path = Path(path)
    if path.is_dir():
        raise ResultsFileError(path, "is a directory; pass a results file (results/<run>.json)")
    if path.suffix == ".jsonl" or (not path.exists() and path.with_suffix(".jsonl").is_file()):
        return read_journal(path.with_suffix(".jsonl"))
    if not path.is_file():
        raise ResultsFileError(path, "no such results file (run `make bench` first, or pass an existing file)")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise ResultsFileError(path, "the file is empty (was the run interrupted before it saved?)")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsFileError(path, f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("benchmarks"), list):
        raise ResultsFileError(path, "not a pytest-benchmark JSON file (no 'benchmarks' list)")
    return raw


def read_journal(path: Path) -> dict:
    """A run's journal (accelbench/journal.py) as the JSON of a run, with `accelbench_journal` saying how whole it is:
    `complete` (the run reached its end), `in_flight` (the case a killed run was in), `bad_lines` (torn or foreign)."""
    try:
        return journal.read(path)
    except (OSError, ValueError) as exc:
        raise ResultsFileError(path, str(exc)) from None


def benchmark_kind(name: str) -> str:
    """Which benchmark a case belongs to, from its name: `test_training[...]` -> "training", `ddp[...]` -> "ddp"
    (rows recorded before the `benchmark` field existed, and outcome rows, which have no extra_info)."""
    return name.split("[", 1)[0].removeprefix("test_").replace("_", "-")


def _params(params: dict | None) -> dict:
    """A case's parameters; the training benchmarks' `training_technique` fixture fills the `technique` column."""
    params = dict(params or {})
    if "training_technique" in params:
        params["technique"] = params.pop("training_technique")
    return params


def _benchmark_row(bench: dict, samples: bool) -> dict:
    row = {"case": bench["name"], "status": "ok", "message": "", "benchmark": benchmark_kind(bench["name"])}
    if samples:  # seconds per call, one per timed round
        row["latency_samples_s"] = list((bench.get("stats") or {}).get("data") or [])
    row.update(_params(bench.get("params")))
    row.update(bench.get("extra_info") or {})
    stats = bench.get("stats") or {}
    row.update({column: stats.get(key) for key, column in STATS.items()})
    if row.get("simulated_latency_s") is not None:
        # a simulated case: the clock timed the simulator; the latency is the cost model's, exact (no spread)
        row["simulator_s"] = row["latency_median_s"]
        row.update({column: None for column in STATS.values()})
        row.update(
            latency_median_s=row["simulated_latency_s"],
            latency_mean_s=row["simulated_latency_s"],
            latency_min_s=row["simulated_latency_s"],
            latency_iqr_s=0.0,
            rounds=0,
        )
        if samples:
            row["latency_samples_s"] = []  # the simulator's own run time is no sample of the device's latency
    return row


def _outcome_row(outcome: dict) -> dict:
    return {
        "case": outcome["name"],
        "status": outcome["status"],
        "message": outcome.get("message", ""),
        "benchmark": benchmark_kind(outcome["name"]),
        **_params(outcome.get("params")),
    }


def load_run(path: str | Path, samples: bool = False, raw: dict | None = None) -> pd.DataFrame:
    """One row per case of the run at `path`: timed cases (`status` 'ok') and the cases that errored or were
    skipped, with their message; `benchmark` says which benchmark ("inference", "training", "time-to-accuracy",
    "ddp", "pipeline"). Device facts and software versions of the run are joined onto every row.
    `samples`: add `latency_samples_s`, every timed round's seconds per call (a list; empty for simulated cases).
    `raw`: the already parsed run (read_run(path)), to parse a file once."""
    raw = read_run(path) if raw is None else raw
    rows = [_benchmark_row(b, samples) for b in raw["benchmarks"]]
    rows += [_outcome_row(o) for o in raw.get("accelbench_outcomes") or []]
    if not rows:
        raise ResultsFileError(Path(path), "the run holds no case (nothing was selected?)")
    # a case that was timed and then failed (e.g. in teardown) keeps its error row
    frame = pd.DataFrame(rows).drop_duplicates("case", keep="last").reset_index(drop=True)
    for column in KEY_COLUMNS + ["accuracy", "latency_median_s"]:
        if column not in frame:
            frame[column] = None
    frame["batch_size"] = pd.to_numeric(frame["batch_size"], errors="coerce").astype("Int64")
    frame["throughput_per_s"] = frame["batch_size"].astype(float) / frame["latency_median_s"].astype(float)

    info = (raw.get("machine_info") or {}).get("accelbench") or {}
    facts = pd.DataFrame.from_dict(info.get("devices") or {}, orient="index")
    if not facts.empty:
        facts = facts.drop(columns=[c for c in facts.columns if c in frame.columns and c != "simulated"])
        frame = frame.drop(columns=["simulated"], errors="ignore").join(facts, on="device")
    frame["simulated"] = frame.get("simulated", pd.Series(False, index=frame.index)).fillna(False).astype(bool)
    for package in ("torch", "torchao", "python"):
        frame[f"{package}_version"] = info.get(package)
    frame["run_datetime"] = raw.get("datetime")
    frame["run_file"] = str(path)
    frame["run_partial"] = partial_reason(raw) or ""
    return with_run_identity(frame, raw)


def partial_reason(raw: dict) -> str | None:
    """Why the run's results are incomplete, in a sentence, or None when the run finished."""
    journal = raw.get("accelbench_journal")
    if journal is not None and not journal["complete"]:
        flight = f"; it was killed during {journal['in_flight']}" if journal["in_flight"] else ""
        return f"the run did not finish: built from its journal {journal['path']}{flight}"
    if raw.get("accelbench_exitstatus") == 2:
        return "the run was interrupted (pytest exit status 2): cases after the interruption are missing"
    return None


def with_run_identity(frame: pd.DataFrame, raw: dict) -> pd.DataFrame:
    """Adds what identifies the run on every row: its machine and software fingerprint (`fingerprint_<field>`),
    `machine_id`, and the git commit pytest-benchmark recorded (`commit_id`, `commit_time`, `commit_dirty`)."""
    found = fingerprint(raw)
    commit = raw.get("commit_info") or {}
    columns = {f"fingerprint_{name}": value for name, value in found.items()}
    columns.update(
        machine_id=machine_id(found),
        commit_id=commit.get("id"),
        commit_time=commit.get("time"),
        commit_dirty=commit.get("dirty"),
    )
    return frame.assign(**columns)
