"""`python -m tools.windows`: how far one case's paired speedup moves between pairings of the length a run takes.

A run pairs each case with its baseline once, for `Pairing.max_time_s` (accelbench/rounds.py). This takes that
pairing again and again on the same models in one process for `--seconds`, and reports: how often two consecutive
windows agree within 5% (what two runs can be expected to agree on), and how often one window's 95% interval holds
the median over all windows (whether the interval a run reports covers what a rerun finds).

    python -m tools.windows --workload digits-cnn --technique bf16 --batch 64 [--seconds 20] [--device cpu]

It uses the weights cache as `make bench` does (ACCELBENCH_CACHE, else ~/.cache/accelbench) and exits 2 on a name
it does not know, with the valid ones.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass

import torch

import devices
import techniques
import workloads
from accelbench.plugin import default_cache_dir
from accelbench.registry import UnknownNameError
from accelbench.rounds import Pairing, paired_rounds
from devices import DeviceUnavailable
from techniques import Context
from workloads import WorkloadUnavailable


@dataclass(frozen=True)
class Windows:
    """Paired speedups of consecutive windows of one case (each window's speedup and 95% interval)."""

    speedups: list[float]
    lows: list[float]
    highs: list[float]

    @property
    def consecutive_within_5(self) -> float:
        """Share of consecutive (disjoint) window pairs whose speedups agree within 5%."""
        pairs = list(zip(self.speedups[::2], self.speedups[1::2]))
        return sum(abs(a / b - 1) < 0.05 for a, b in pairs) / len(pairs) if pairs else float("nan")

    @property
    def coverage(self) -> float:
        """Share of windows whose interval holds the median over every window."""
        overall = statistics.median(self.speedups)
        return sum(lo <= overall <= hi for lo, hi in zip(self.lows, self.highs)) / len(self.speedups)


def windows(baseline, candidate, seconds: float, pairing: Pairing = Pairing()) -> Windows:
    """Pairs `candidate` with `baseline` (both warmed up by the caller) in windows of `pairing` for `seconds`."""
    speedups, lows, highs = [], [], []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(speedups) < 2:
        rounds = paired_rounds(baseline, candidate, pairing)
        if isinstance(rounds, str):
            raise ValueError(rounds)
        speedup = rounds.speedup()
        speedups.append(speedup.estimate)
        lows.append(speedup.ci_low)
        highs.append(speedup.ci_high)
    return Windows(speedups, lows, highs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.windows", description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True)
    parser.add_argument("--technique", required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    try:
        device = devices.REGISTRY.get(args.device)
        workload = workloads.REGISTRY.get(args.workload)
        technique = techniques.REGISTRY.get(args.technique)
    except UnknownNameError as exc:
        print(f"windows: {exc}", file=sys.stderr)
        return 2
    if device.simulated:
        print(f"windows: {device.name} is simulated: its figures are deterministic, nothing to pair", file=sys.stderr)
        return 2
    try:
        where = device.open()
        data = workload.data()
        cache = default_cache_dir()
        context = Context(device=where, calibration=data.val, train=data.train, loss=workload.loss, cache_dir=cache)
        base = workload.model(cache).to(where)
        model = technique.apply(base, context)
        x = data.test.x[: args.batch].to(where)
        baseline = device.synchronized(lambda: base(x))
        candidate = device.synchronized(lambda: model(x))
        with torch.no_grad():
            for _ in range(50):  # warm-up, as a run's timing precedes its pairing
                baseline(), candidate()
            found = windows(baseline, candidate, args.seconds)
    except (DeviceUnavailable, WorkloadUnavailable, NotImplementedError, ValueError) as exc:
        # the device is absent, the technique cannot run here, or one pairing would take too long
        print(f"windows: {device.name} {workload.name} {technique.name}: {exc}", file=sys.stderr)
        return 2
    print(
        f"{device.name} {workload.name} {technique.name} batch {args.batch}: {len(found.speedups)} windows of "
        f"{Pairing().max_time_s:g} s, median paired speedup {statistics.median(found.speedups):.3f} "
        f"(windows {min(found.speedups):.3f}-{max(found.speedups):.3f})\n"
        f"  consecutive windows within 5%: {found.consecutive_within_5:.0%}\n"
        f"  one window's 95% interval holds the median of all: {found.coverage:.0%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
