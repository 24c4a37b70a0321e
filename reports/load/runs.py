"""Several runs in one report, and what each run was measured on.

Runs are combined by stacking their rows. A case (device, workload, technique, batch size) that appears in more
than one run keeps every copy: its device is renamed `device@run` (the run's file name, with its folders where two
runs share a name) so that no row is dropped
and no two machines' figures are averaged. When the runs' machine fingerprints differ, the report warns: comparing
their latencies compares machines.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import accelbench.results as col
from reports.load.fingerprint import FIELDS, mismatches

CASE = [col.DEVICE, col.WORKLOAD, col.TECHNIQUE, col.BATCH_SIZE]


def combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of every run (frames from reports.load.run.load_run), devices renamed `device@run` where a case appears
    in more than one run."""
    if len(frames) == 1:
        return frames[0]
    stacked = pd.concat(frames, ignore_index=True)
    labels = run_labels([str(f) for f in dict.fromkeys(stacked[col.RUN_FILE])])
    stacked["run"] = stacked[col.RUN_FILE].astype(str).map(labels)
    repeated = stacked.groupby(CASE, dropna=False)["run"].transform("nunique") > 1
    clash = set(stacked.loc[repeated, col.DEVICE])
    rename = stacked[col.DEVICE].isin(clash)
    stacked.loc[rename, col.DEVICE] = stacked.loc[rename, col.DEVICE].astype(str) + "@" + stacked.loc[rename, "run"]
    stacked[col.CASE] = stacked[col.CASE].where(~rename, stacked[col.CASE] + "@" + stacked["run"])
    return stacked


def run_labels(files: list[str]) -> dict[str, str]:
    """A short label per run file, unique among `files`: its name without `.json`, with as many parent folders as
    tell it apart (`a/run.json` and `b/run.json` -> `a/run`, `b/run`)."""
    paths = {f: Path(f).with_suffix("") for f in files}
    depth = 1
    while True:
        labels = {f: "/".join(p.parts[-depth:]) for f, p in paths.items()}
        if len(set(labels.values())) == len(labels) or depth > max(len(p.parts) for p in paths.values()):
            return labels
        depth += 1


def _fingerprints(results: pd.DataFrame) -> pd.DataFrame:
    columns = [f"fingerprint_{f}" for f in FIELDS]
    for column in columns + [col.MACHINE_ID, col.COMMIT_ID, col.RUN_DATETIME]:
        if column not in results:
            results = results.assign(**{column: None})
    return results.drop_duplicates(col.RUN_FILE)[
        [col.RUN_FILE, col.RUN_DATETIME, col.COMMIT_ID, col.MACHINE_ID, *columns]
    ]


def runs_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per run: file, date, commit, machine id and every fingerprint field (CPU model and flags, threads,
    GPU, architecture, torch, torchao, Python)."""
    runs = _fingerprints(results)
    runs = runs.assign(commit_id=runs[col.COMMIT_ID].fillna("").astype(str).str[:10])
    return runs.rename(columns=lambda c: c.removeprefix("fingerprint_").replace("_", " ")).set_index("run file")


def machine_warnings(results: pd.DataFrame) -> list[str]:
    """One warning per run whose machine or software differs from the first run's, naming each difference."""
    runs = _fingerprints(results)
    if runs[col.MACHINE_ID].nunique(dropna=False) <= 1:
        return []
    first = {f: str(runs.iloc[0][f"fingerprint_{f}"] or "") for f in FIELDS}
    warnings = []
    for row in runs.iloc[1:].itertuples(index=False):
        other = {f: str(getattr(row, f"fingerprint_{f}") or "") for f in FIELDS}
        differences = mismatches(first, other)
        if differences:
            warnings.append(
                f"{row.run_file} was measured on a different machine or software than "
                f"{runs.iloc[0]['run_file']}: " + "; ".join(differences)
            )
    return warnings
