"""The run's journal: one JSON line per event, appended and flushed as the run goes, so a killed run keeps its cases.

pytest-benchmark writes its JSON once, at the end; a run killed after an hour (SIGKILL, the OOM killer, a CI timeout)
would lose everything. accelbench.plugin appends here instead, as each case finishes:

    {"event": "run", "version": 1, "datetime": ..., "machine_info": {...}, "commit_info": {...}}   first
    {"event": "start", "name": "test_inference[cpu-digits-mlp-fp32-1]"}                            a case begins
    {"event": "case", "benchmark": {... one entry of the JSON's "benchmarks" ...}}                 a timed case
    {"event": "case", "outcome": {... one entry of "accelbench_outcomes" ...}}                     errored / skipped
    {"event": "end", "exitstatus": 0}                                                              last

A killed run loses at most the case in flight (its "start" without a "case" says which); a line torn by the kill is
skipped by the reader (accelbench.results.read_journal). The journal is removed once the complete JSON is written.
"""

from __future__ import annotations

import json
from pathlib import Path

VERSION = 1


class Journal:
    """Appends events to a JSON Lines file; each line reaches the OS before `write` returns (a killed process
    keeps it; only a power cut could lose the last lines)."""

    def __init__(self, path: str | Path, resume: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.resume = resume and self.path.is_file() and self.path.stat().st_size > 0
        self._handle = None

    def write(self, event: str, **fields) -> None:
        if self._handle is None:  # a new run starts a new journal; a resumed one goes on with its own
            self._handle = self.path.open("a" if self.resume else "w", encoding="utf-8")
        line = json.dumps({"event": event, **fields}, default=str, ensure_ascii=True)  # one line: no raw newlines
        self._handle.write(line + "\n")
        self._handle.flush()

    @property
    def started(self) -> bool:
        """Whether the run's first line is written (by this process, or by the run it resumes)."""
        return self._handle is not None or self.resume

    def close(self, remove: bool = False) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if remove:
            self.path.unlink(missing_ok=True)
