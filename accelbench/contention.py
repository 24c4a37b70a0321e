"""A busy machine, seen: how much of the machine's CPU time other processes (and the hypervisor) took while a case
was timed. The benchmarks record it on every measured case; the report and the gate mark a case measured under
contention instead of silently comparing it (docs/measurement.md).

Accounting, from the kernel's counters (psutil): over the timed window, the machine's busy CPU time (all cores,
steal excluded) minus the CPU time of this process and its children is what others used; steal is the time the
hypervisor gave this VM's virtual CPUs to someone else. Both are fractions of the window's CPU capacity
(wall time x logical cores)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import psutil

OTHERS_LIMIT = 0.20  # other processes used more than a fifth of the machine while the case was timed
STEAL_LIMIT = 0.10  # the hypervisor took more than a tenth of the CPU time


@dataclass(frozen=True)
class CpuClock:
    """The machine's and this process tree's CPU seconds at one instant."""

    wall_s: float
    busy_s: float  # every core, neither idle, nor waiting for I/O, nor stolen
    steal_s: float
    own_s: float  # this process and its live children (compile workers, ONNX Runtime's threads are in-process)

    @classmethod
    def now(cls) -> CpuClock:
        times = psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        steal = getattr(times, "steal", 0.0)
        busy = sum(times) - idle - steal - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
        me = psutil.Process()
        own = sum(me.cpu_times()[:2])
        for child in me.children(recursive=True):
            try:
                own += sum(child.cpu_times()[:2])
            except psutil.Error:  # it ended in between
                pass
        return cls(time.perf_counter(), busy, steal, own)


def contention(before: CpuClock, after: CpuClock, cores: int | None = None) -> dict[str, object]:
    """The recorded figures of the window between two clocks: `others_cpu_fraction`, `cpu_steal_fraction` and
    `contended` (either over its limit), with `contention` saying why in words ("" when not contended)."""
    capacity = max(after.wall_s - before.wall_s, 1e-9) * (cores or psutil.cpu_count() or 1)
    others = max(0.0, (after.busy_s - before.busy_s) - (after.own_s - before.own_s)) / capacity
    steal = max(0.0, after.steal_s - before.steal_s) / capacity
    reasons = []
    if others > OTHERS_LIMIT:
        reasons.append(f"other processes used {others:.0%} of the CPU")
    if steal > STEAL_LIMIT:
        reasons.append(f"the hypervisor stole {steal:.0%}")
    return {
        "others_cpu_fraction": round(min(others, 1.0), 4),
        "cpu_steal_fraction": round(min(steal, 1.0), 4),
        "contended": bool(reasons),
        "contention": "; ".join(reasons),
    }


@contextmanager
def watched() -> Iterator[dict[str, object]]:
    """`with watched() as seen:` fills `seen` with contention() of the block when it ends."""
    seen: dict[str, object] = {}
    before = CpuClock.now()
    try:
        yield seen
    finally:
        seen.update(contention(before, CpuClock.now()))
