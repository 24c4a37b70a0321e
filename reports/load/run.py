"""A run file -> tidy DataFrame, one row per case, its columns the fields accelbench/results.py declares."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import accelbench.results as col
from accelbench.results import ResultsFileError, partial_reason, read_run
from reports.load.fingerprint import fingerprint, machine_id

# Identity of a case, then what was measured. Later columns (device facts, versions) follow these.
KEY_COLUMNS = [col.DEVICE, col.WORKLOAD, col.TECHNIQUE, col.BATCH_SIZE]
STATS = {  # pytest-benchmark's stats -> our columns
    "median": col.LATENCY_MEDIAN_S,
    "mean": col.LATENCY_MEAN_S,
    "min": col.LATENCY_MIN_S,
    "stddev": col.LATENCY_STDDEV_S,
    "iqr": col.LATENCY_IQR_S,
    "rounds": col.ROUNDS,
}
RESULTS_DIR = Path("results")
OUT_ROOT = Path("reports/out")


def newest_results(directory: Path = RESULTS_DIR) -> Path:
    """The newest run in `directory` (results/ by default): its JSON, or the journal of a run that did not finish."""
    return col.newest_run(directory)


def benchmark_kind(name: str) -> str:
    """Which benchmark a case belongs to, from its name: `test_training[...]` -> "training", `ddp[...]` -> "ddp"
    (rows recorded before the `benchmark` field existed, and outcome rows, which have no extra_info)."""
    return name.split("[", 1)[0].removeprefix("test_").replace("_", "-")


def _params(params: dict | None) -> dict:
    """A case's parameters; the training benchmarks' `training_technique` fixture fills the `technique` column."""
    params = dict(params or {})
    if "training_technique" in params:
        params[col.TECHNIQUE] = params.pop("training_technique")
    return params


# figures a run recorded under an earlier name (before 2026-12-04): read under today's, so an older run still shows
# its paired speedups and compares with a newer one (reports.repeat). Their values are the estimators of then: the
# median of the per-pair ratios, and each window's median round (docs/reports.md#paired-speedups).
RENAMED = {"paired_speedup_median": col.PAIRED_SPEEDUP, "latency_window_medians_s": col.LATENCY_WINDOWS_S}


def _renamed(extra_info: dict) -> dict:
    """`extra_info` with each earlier name read as today's, unless the run recorded today's too."""
    out = dict(extra_info)
    for old, new in RENAMED.items():
        if old in out and new not in out:
            out[new] = out.pop(old)
    return out


def _benchmark_row(bench: dict, samples: bool) -> dict:
    row = {col.CASE: bench["name"], col.STATUS: col.OK, col.MESSAGE: "", col.BENCHMARK: benchmark_kind(bench["name"])}
    if samples:  # seconds per call, one per timed round
        row[col.LATENCY_SAMPLES_S] = list((bench.get("stats") or {}).get("data") or [])
    row.update(_params(bench.get("params")))
    row.update(_renamed(bench.get("extra_info") or {}))
    stats = bench.get("stats") or {}
    row.update({column: stats.get(key) for key, column in STATS.items()})
    simulated_s = row.get(col.SIMULATED_LATENCY_S)
    if simulated_s is not None:
        # a simulated case: the clock timed the simulator; the latency is the cost model's, exact (no spread)
        row[col.SIMULATOR_S] = row[col.LATENCY_MEDIAN_S]
        row.update({column: None for column in STATS.values()})
        for column in (col.LATENCY_MEDIAN_S, col.LATENCY_MEAN_S, col.LATENCY_MIN_S):
            row[column] = simulated_s
        row.update({col.LATENCY_IQR_S: 0.0, col.ROUNDS: 0})
        if samples:
            row[col.LATENCY_SAMPLES_S] = []  # the simulator's own run time is no sample of the device's latency
    return row


def _outcome_row(outcome: dict) -> dict:
    return {
        col.CASE: outcome["name"],
        col.STATUS: outcome[col.STATUS],
        col.MESSAGE: outcome.get(col.MESSAGE, ""),
        col.BENCHMARK: benchmark_kind(outcome["name"]),
        **_params(outcome.get("params")),
    }


def load_run(path: str | Path, samples: bool = False, raw: dict | None = None) -> pd.DataFrame:
    """One row per case of the run at `path`: timed cases (`status` 'ok') and the cases that errored or were
    skipped, with their message; `benchmark` says which benchmark ("inference", "training", "time-to-accuracy",
    "ddp", "pipeline"). Device facts and software versions of the run are joined onto every row.
    `samples`: add `latency_samples_s`, every timed round's seconds per call (a list; empty for simulated cases).
    `raw`: the already parsed run (read_run(path)), to parse a file once."""
    raw = read_run(path) if raw is None else raw
    rows = [_benchmark_row(b, samples) for b in raw[col.BENCHMARKS]]
    rows += [_outcome_row(o) for o in raw.get(col.OUTCOMES) or []]
    if not rows:
        raise ResultsFileError(Path(path), "the run holds no case (nothing was selected?)")
    # a case that was timed and then failed (e.g. in teardown) keeps its error row
    frame = pd.DataFrame(rows).drop_duplicates(col.CASE, keep="last").reset_index(drop=True)
    for column in KEY_COLUMNS + [col.ACCURACY, col.LATENCY_MEDIAN_S]:
        if column not in frame:
            frame[column] = None
    frame[col.BATCH_SIZE] = pd.to_numeric(frame[col.BATCH_SIZE], errors="coerce").astype("Int64")
    frame[col.THROUGHPUT_PER_S] = frame[col.BATCH_SIZE].astype(float) / frame[col.LATENCY_MEDIAN_S].astype(float)

    info = (raw.get(col.MACHINE_INFO) or {}).get(col.HARNESS) or {}
    facts = pd.DataFrame.from_dict(info.get("devices") or {}, orient="index")
    if not facts.empty:
        facts = facts.drop(columns=[c for c in facts.columns if c in frame.columns and c != col.SIMULATED])
        frame = frame.drop(columns=[col.SIMULATED], errors="ignore").join(facts, on=col.DEVICE)
    frame[col.SIMULATED] = frame.get(col.SIMULATED, pd.Series(False, index=frame.index)).fillna(False).astype(bool)
    # the workloads run on a real device first, then those only simulated, each group in the order the run met them:
    # the report's order does not hang on the order the cases ran in (the standard models' run first: conftest.py)
    on_real = set(frame.loc[~frame[col.SIMULATED], col.WORKLOAD].dropna())
    frame = frame.sort_values(col.WORKLOAD, key=lambda w: ~w.isin(on_real), kind="stable").reset_index(drop=True)
    for column, package in (
        (col.TORCH_VERSION, "torch"),
        (col.TORCHAO_VERSION, "torchao"),
        (col.PYTHON_VERSION, "python"),
    ):
        frame[column] = info.get(package)
    frame[col.RUN_DATETIME] = raw.get("datetime")
    frame[col.RUN_FILE] = str(path)
    frame[col.RUN_PARTIAL] = partial_reason(raw) or ""
    return with_run_identity(frame, raw)


def with_run_identity(frame: pd.DataFrame, raw: dict) -> pd.DataFrame:
    """Adds what identifies the run on every row: its machine and software fingerprint (`fingerprint_<field>`),
    `machine_id`, and the git commit pytest-benchmark recorded (`commit_id`, `commit_time`, `commit_dirty`)."""
    found = fingerprint(raw)
    commit = raw.get(col.COMMIT_INFO) or {}
    columns = {col.FINGERPRINT.format(field=name): value for name, value in found.items()}
    columns.update(
        {
            col.MACHINE_ID: machine_id(found),
            col.COMMIT_ID: commit.get("id"),
            col.COMMIT_TIME: commit.get("time"),
            col.COMMIT_DIRTY: commit.get("dirty"),
        }
    )
    return frame.assign(**columns)
