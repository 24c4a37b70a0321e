"""The run's journal: one JSON line per event, appended and flushed as the run goes, so a killed run keeps its cases.

pytest-benchmark writes its JSON once, at the end; a run killed after an hour (SIGKILL, the OOM killer, a CI timeout)
would lose everything. accelbench.plugin appends here instead, as each case finishes:

    {"event": "run", "version": 1, "datetime": ..., "machine_info": {...}, "commit_info": {...}}   first
    {"event": "start", "name": "test_inference[cpu-digits-mlp-fp32-1]"}                            a case begins
    {"event": "case", "benchmark": {... one entry of the JSON's "benchmarks" ...}}                 a timed case
    {"event": "case", "outcome": {... one entry of "accelbench_outcomes" ...}}                     errored / skipped
    {"event": "end", "exitstatus": 0}                                                              last

A killed run loses at most the case in flight (its "start" without a "case" says which); a line torn by the kill is
skipped by the reader (reports.load.run.read_journal). The journal is removed once the complete JSON is written.
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


def read(path: str | Path) -> dict:
    """The journal as the JSON of a run (its "benchmarks", "accelbench_outcomes", "machine_info"...), with
    `accelbench_journal` saying how whole it is: `complete` (the run reached its end), `in_flight` (the case a killed
    run was in, with `in_flight_params`), `bad_lines` (torn by a kill, or foreign). ValueError if it is no journal."""
    path = Path(path)
    if not path.is_file():
        raise ValueError("no such journal")
    run: dict = {"benchmarks": [], "accelbench_outcomes": []}
    state = {"complete": False, "in_flight": None, "in_flight_params": {}, "bad_lines": 0, "path": str(path)}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
            kind = event["event"]
        except (json.JSONDecodeError, TypeError, KeyError):
            state["bad_lines"] += 1  # the line a kill tore in half, most likely
            continue
        if kind == "run":
            run.setdefault("machine_info", event.get("machine_info"))
            run.setdefault("commit_info", event.get("commit_info"))
            run.setdefault("datetime", event.get("datetime"))
        elif kind == "start":
            state.update(in_flight=event.get("name"), in_flight_params=event.get("params") or {}, complete=False)
        elif kind == "case":
            if event.get("benchmark"):
                run["benchmarks"].append(event["benchmark"])
            elif event.get("outcome"):
                run["accelbench_outcomes"].append(event["outcome"])
            state.update(in_flight=None, in_flight_params={})
        elif kind == "end":
            state["complete"] = True
    if "machine_info" not in run:
        raise ValueError("not an accelbench journal (no run line; was it killed before its first case?)")
    run["accelbench_journal"] = state
    return run


def recorded(run: dict) -> set[str]:
    """Names of the cases a journal's run has a result for (timed, errored or skipped)."""
    return {b["name"] for b in run["benchmarks"]} | {o["name"] for o in run["accelbench_outcomes"]}
