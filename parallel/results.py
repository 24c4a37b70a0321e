"""Distributed results in pytest-benchmark's JSON shape, merged into one results file, atomically.

The rows look like pytest-benchmark's (`name`, `params`, `extra_info`, `stats`) and failed parts like the harness's
`accelbench_outcomes`, so reports/load/run.py reads a distributed run, or a `make bench` run it was merged into, without
knowing where the rows came from. Every write replaces the file in one `os.replace`: a reader (or a crash) never
sees half a file, and rows already written are never lost.
"""

from __future__ import annotations

import json
import os
import statistics
from datetime import datetime, timezone
from pathlib import Path


def stats_of(times_s: list[float]) -> dict[str, float | int]:
    """pytest-benchmark's summary of per-round seconds (one round = one training step)."""
    if not times_s:
        raise ValueError("no timed rounds to summarise")
    ordered = sorted(times_s)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    mean = statistics.fmean(ordered)
    return {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": mean,
        "median": statistics.median(ordered),
        "stddev": statistics.stdev(ordered) if len(ordered) > 1 else 0.0,
        "q1": quartiles[0],
        "q3": quartiles[2],
        "iqr": quartiles[2] - quartiles[0],
        "rounds": len(ordered),
        "iterations": 1,
        "total": sum(ordered),
        "ops": 1 / mean if mean > 0 else 0.0,
    }


def benchmark_row(name: str, params: dict, extra_info: dict, times_s: list[float]) -> dict:
    return {
        "group": None,
        "name": name,
        "fullname": f"parallel::{name}",
        "params": params,
        "extra_info": extra_info,
        "options": {},
        "stats": stats_of(times_s),
    }


def outcome_row(name: str, params: dict, message: str) -> dict:
    """A part that failed: the report lists it under "Not measured" with its message."""
    return {
        "name": name,
        "fullname": f"parallel::{name}",
        "status": "error",
        "when": "call",
        "message": message,
        "params": params,
    }


def _read(path: Path) -> dict:
    if not path.exists() or path.stat().st_size == 0:
        return {
            "machine_info": {},
            "commit_info": {},
            "benchmarks": [],
            "version": "accelbench-parallel",
            "datetime": datetime.now(timezone.utc).isoformat(),
            "accelbench_outcomes": [],
        }
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg}); refusing to overwrite it, pass another --out") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("benchmarks"), list):
        raise ValueError(f"{path}: not a pytest-benchmark results file; refusing to overwrite it, pass another --out")
    return raw


def merge(path: str | Path, rows: list[dict] = (), outcomes: list[dict] = (), machine: dict | None = None) -> None:
    """Adds `rows` and `outcomes` to the results file at `path` (created if missing): an entry with the same name
    replaces the earlier one, so a rerun updates its rows and a success clears an earlier failure.
    `machine`: the harness's machine facts (`python`, `torch`, `devices`: facts per device name), each added to
    the run's where missing."""
    path = Path(path)
    raw = _read(path)
    names = {r["name"] for r in rows} | {o["name"] for o in outcomes}
    raw["benchmarks"] = [b for b in raw["benchmarks"] if b.get("name") not in names] + list(rows)
    kept = [o for o in raw.get("accelbench_outcomes") or [] if o.get("name") not in names]
    raw["accelbench_outcomes"] = kept + list(outcomes)
    info = raw.setdefault("machine_info", {}).setdefault("accelbench", {})
    for key, value in (machine or {}).items():
        if key == "devices":
            for name, facts in value.items():
                info.setdefault("devices", {}).setdefault(name, facts)
        else:
            info.setdefault(key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    os.replace(partial, path)
