"""Several runs in one report, and what each run was measured on.

Runs are combined by stacking their rows. A case (device, workload, technique, batch size) that appears in more
than one run keeps every copy: its device is renamed `device@run` (the run's file name) so that no row is dropped
and no two machines' figures are averaged. When the runs' machine fingerprints differ, the report warns: comparing
their latencies compares machines.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.load.fingerprint import FIELDS, mismatches

CASE = ["device", "workload", "technique", "batch_size"]


def combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of every run (frames from reports.load.run.load_run), devices renamed `device@run` where a case appears
    in more than one run."""
    if len(frames) == 1:
        return frames[0]
    stacked = pd.concat(frames, ignore_index=True)
    stacked["run"] = [Path(str(f)).stem for f in stacked["run_file"]]
    repeated = stacked.groupby(CASE, dropna=False)["run"].transform("nunique") > 1
    clash = set(stacked.loc[repeated, "device"])
    rename = stacked["device"].isin(clash)
    stacked.loc[rename, "device"] = stacked.loc[rename, "device"].astype(str) + "@" + stacked.loc[rename, "run"]
    stacked["case"] = stacked["case"].where(~rename, stacked["case"] + "@" + stacked["run"])
    return stacked


def _fingerprints(results: pd.DataFrame) -> pd.DataFrame:
    columns = [f"fingerprint_{f}" for f in FIELDS]
    for column in columns + ["machine_id", "commit_id", "run_datetime"]:
        if column not in results:
            results = results.assign(**{column: None})
    return results.drop_duplicates("run_file")[["run_file", "run_datetime", "commit_id", "machine_id", *columns]]


def runs_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per run: file, date, commit, machine id and every fingerprint field (CPU model and flags, threads,
    GPU, architecture, torch, torchao, Python)."""
    runs = _fingerprints(results)
    runs = runs.assign(commit_id=runs["commit_id"].fillna("").astype(str).str[:10])
    return runs.rename(columns=lambda c: c.removeprefix("fingerprint_").replace("_", " ")).set_index("run file")


def machine_warnings(results: pd.DataFrame) -> list[str]:
    """One warning per run whose machine or software differs from the first run's, naming each difference."""
    runs = _fingerprints(results)
    if runs["machine_id"].nunique(dropna=False) <= 1:
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
