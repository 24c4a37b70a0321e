"""A busy machine, seen: how much of the machine's CPU time other processes (and the hypervisor) took while a case
was timed. The benchmarks record it on every measured case; the report and the gate mark a case measured under
contention instead of silently comparing it (docs/measurement.md).

Accounting, from the kernel's counters (psutil): over the timed window, the machine's busy CPU time (all cores,
steal excluded) minus the CPU time of this process and its children is what others used; steal is the time the
hypervisor gave this VM's virtual CPUs to someone else. Both are fractions of the window's CPU capacity
(wall time x logical cores).

A slower machine, seen: neither counter sees a neighbour on the host's physical core (the hyperthread beside this
VM's virtual CPU, another tenant's), yet on this project's 2-vCPU VM the same call took 72 or 120 µs in episodes of
seconds, with no process or steal to show for it. So a fixed pure-Python probe is timed before and after each case:
`machine_slowdown` is the slower of the two against the run's usual speed (the median of the probes so far: on this
VM the slow mode was the usual one, and a reference of the fastest marked three quarters of a run), and a case timed
while the machine ran over 1.3x slower than usual is contended too, saying so."""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import psutil

OTHERS_LIMIT = 0.20  # other processes used more than a fifth of the machine while the case was timed
STEAL_LIMIT = 0.10  # the hypervisor took more than a tenth of the CPU time
SLOWDOWN_LIMIT = 1.3  # the probe ran over 1.3x slower than the median of its readings in this process
PROBE_REPEATS = 30  # timings of the probe, of which the median counts: about 2-4 ms in all


def _loop() -> float:
    start = time.perf_counter()
    total = 0
    for i in range(1500):  # about 40 µs on a 2020s x86 core
        total += i * i
    return time.perf_counter() - start


def speed_probe_s() -> float:
    """Median seconds of a fixed pure-Python loop: how fast this core runs just now (no torch, no I/O)."""
    return statistics.median(_loop() for _ in range(PROBE_REPEATS))


class SpeedProbe:
    """The probe's readings in this process; their median is the machine's usual speed in this run, the reference."""

    def __init__(self, probe: Callable[[], float] = speed_probe_s) -> None:
        self.probe = probe
        self.readings: list[float] = []

    def read(self) -> float:
        seconds = self.probe()
        self.readings.append(seconds)
        return seconds

    @property
    def usual_s(self) -> float:
        return statistics.median(self.readings)


PROBE = SpeedProbe()


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


def contention(
    before: CpuClock, after: CpuClock, cores: int | None = None, slowdown: float | None = None
) -> dict[str, object]:
    """The recorded figures of the window between two clocks: `others_cpu_fraction`, `cpu_steal_fraction`,
    `machine_slowdown` (the probe's, when given) and `contended` (any over its limit), with `contention` saying why
    in words ("" when not contended)."""
    capacity = max(after.wall_s - before.wall_s, 1e-9) * (cores or psutil.cpu_count() or 1)
    others = max(0.0, (after.busy_s - before.busy_s) - (after.own_s - before.own_s)) / capacity
    steal = max(0.0, after.steal_s - before.steal_s) / capacity
    reasons = []
    if others > OTHERS_LIMIT:
        reasons.append(f"other processes used {others:.0%} of the CPU")
    if steal > STEAL_LIMIT:
        reasons.append(f"the hypervisor stole {steal:.0%}")
    if slowdown is not None and slowdown > SLOWDOWN_LIMIT and not reasons:
        reasons.append(
            f"the machine ran {slowdown:.2g}x slower than usual in this run, with no process or steal to show for "
            "it (a neighbour on the host's core)"
        )
    return {
        "others_cpu_fraction": round(min(others, 1.0), 4),
        "cpu_steal_fraction": round(min(steal, 1.0), 4),
        "machine_slowdown": round(slowdown, 3) if slowdown is not None else None,
        "contended": bool(reasons),
        "contention": "; ".join(reasons),
    }


@contextmanager
def watched(probe: SpeedProbe = PROBE) -> Iterator[dict[str, object]]:
    """`with watched() as seen:` fills `seen` with contention() of the block when it ends, the speed probe read
    just before and just after it."""
    seen: dict[str, object] = {}
    probe_before = probe.read()
    before = CpuClock.now()
    try:
        yield seen
    finally:
        after = CpuClock.now()
        slowest = max(probe_before, probe.read())
        seen.update(contention(before, after, slowdown=slowest / probe.usual_s))
