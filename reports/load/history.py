"""History: the timed cases of the saved runs beside the current one (results/*.json), by run date and commit.
reports/render/history_trends.py draws them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import accelbench.results as col
from accelbench.results import ResultsFileError
from reports.load.run import KEY_COLUMNS, load_run

HISTORY_RUNS = 20  # newest result files read (each can be tens of MB of JSON)
COLUMNS = [
    col.CASE,
    *KEY_COLUMNS,
    col.SIMULATED,
    col.LATENCY_MEDIAN_S,
    col.RUN_FILE,
    col.RUN_DATETIME,
    col.COMMIT_ID,
    col.MACHINE_ID,
]


def history_files(current: Path) -> tuple[list[Path], list[str]]:
    """The newest HISTORY_RUNS result files beside `current` (it included), oldest first, and a note on any left out."""
    found = sorted(current.parent.glob("*.json"), key=lambda p: p.stat().st_mtime)
    if current not in found and current.exists():
        found.append(current)
    notes = []
    if len(found) > HISTORY_RUNS:
        notes.append(
            f"history: read the newest {HISTORY_RUNS} of {len(found)} result files in {current.parent}; "
            f"{len(found) - HISTORY_RUNS} older ones left out (HISTORY_RUNS in reports/load/history.py)"
        )
    return found[-HISTORY_RUNS:], notes


def load_history(paths: list[Path]) -> tuple[pd.DataFrame, list[str]]:
    """The timed cases of each run in `paths` (COLUMNS) and a note per file that could not be read."""
    frames, notes = [], []
    for path in paths:
        try:
            frame = load_run(path)
        except ResultsFileError as exc:
            notes.append(f"history: {exc}")
            continue
        except Exception as exc:  # another run's malformed file must not cost the report of this one
            notes.append(f"history: {path}: left out, its rows cannot be read ({type(exc).__name__}: {exc})")
            continue
        frame = frame[frame[col.STATUS] == col.OK]
        frames.append(frame.reindex(columns=COLUMNS))
    if not frames:
        return pd.DataFrame(columns=COLUMNS), notes
    history = pd.concat(frames, ignore_index=True)
    history[col.RUN_DATETIME] = pd.to_datetime(history[col.RUN_DATETIME], utc=True, errors="coerce")
    return history.sort_values([col.RUN_DATETIME, col.RUN_FILE]).reset_index(drop=True), notes
