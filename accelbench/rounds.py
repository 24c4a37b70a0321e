"""Paired rounds, taken after pytest-benchmark's timing: the case's call and its baseline's in alternation.

Both calls are the case's synchronized ones (the device decides how to wait for them), timed with
time.perf_counter. The rounds are short (`Pairing.max_time_s` per case); energy is metered by accelbench/energy.py.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import accelbench.results as results
from accelbench.stats import MIN_PAIRS, PairedSpeedup, low_quantile, paired_speedup

ESTIMATE_CALLS = 3


@dataclass(frozen=True)
class Pairing:
    """Alternating rounds of baseline (A) and candidate (B): ABAB..., each round the model's calls once untimed, then
    the same back-to-back calls timed together, as many as make the round last at least `round_s` (timer resolution and
    call jitter stay small; A and B each get their own count, so a model 100x slower than the other does not stretch
    every round). At least `min_pairs` pairs; more while the case has spent less than `max_time_s` on them, up to
    `max_pairs`. A case whose minimum pairs would take longer than `limit_s` is not paired (the reason is recorded)."""

    min_pairs: int = MIN_PAIRS
    max_pairs: int = 200
    max_time_s: float = 0.2  # per case: what pairing adds to a run is about this times the real non-baseline cases
    limit_s: float = 5.0  # a model of a second per call (minilm at batch 64) would take 80 s for 20 pairs
    round_s: float = 0.002
    # the rounds are taken in this many passes spread over the run (the first after the case's timing, the others
    # at the end of the session, one pass of every case after another: LaterPasses): the machine's speed moves in
    # spells of seconds, and some speedups with it, so one short window speaks for one spell only
    # (docs/reports.md#repeatability-do-two-runs-agree)
    passes: int = 4
    # in each later pass, every timed model (the baseline, and each candidate before its rounds) is also timed alone
    # for this long (LaterWindows): its unpaired latency is then its fastest window, of several spells
    window_s: float = 0.02
    # windows per later pass, each in its own sweep over every case (seconds apart): the machine's speed has modes
    # held for seconds (digits-mlp fp32 at batch 1: 50 or 100-130 µs a call), and a baseline whose four windows all
    # fell in the slow one put every unpaired speedup of its group 1.7x too high (2026-12-03, AVX2 host)
    windows_per_pass: int = 2
    # sized by need: after its first later pass, a case takes another only while its figures are unsettled: the
    # bootstrap interval of its speedup (all passes' pairs) wider than this either side of the speedup, or its
    # (or a baseline's) two fastest windows further apart than this. Two runs' speedups each known to +-2.5% (95%)
    # agree within 5% about nine times in ten; a pass in another of the machine's spells widens the interval, and the
    # case goes on. (A rule on each pass's own median, 7 pairs, stopped 13-15 of 94 cases at 5-16% noise: too few
    # pairs.)
    settled_within: float = 0.025

    def calls_per_round(self, per_call_s: float) -> int:
        return max(1, math.ceil(self.round_s / max(per_call_s, 1e-9)))

    def one_pass(self) -> Pairing:
        """The first pass's share: the time and the maximum pairs divided between the passes; it still takes the
        minimum pairs, so the first pass alone gives an interval (a killed run keeps it)."""
        n = self.passes
        return replace(
            self, max_pairs=max(math.ceil(self.max_pairs / n), self.min_pairs), max_time_s=self.max_time_s / n, passes=1
        )

    def later_pass(self) -> Pairing:
        """A later pass's share: as the first's, but the minimum pairs divided between the later passes (they join
        the first pass's pairs, which already give an interval)."""
        first = self.one_pass()
        return replace(first, min_pairs=math.ceil(self.min_pairs / max(self.passes - 1, 1)))


@dataclass(frozen=True)
class PairedRounds:
    """Seconds per call of each round (pair i: baseline_s[i], candidate_s[i]) and the calls each model's round made."""

    baseline_s: list[float]
    candidate_s: list[float]
    baseline_calls: int
    candidate_calls: int

    def speedup(self) -> PairedSpeedup:
        return paired_speedup(self.baseline_s, self.candidate_s)

    def as_extra_info(self, speedup: PairedSpeedup | None = None) -> dict:
        """The speedup's figures (`speedup`, computed here if not given) and every pair's seconds per call ([baseline,
        case]), for a later look at a case."""
        return {
            **(speedup or self.speedup()).as_extra_info(),
            results.PAIRED_ROUNDS_S: [[a, b] for a, b in zip(self.baseline_s, self.candidate_s)],
        }

    def joined(self, later: PairedRounds) -> PairedRounds:
        """These rounds and a later pass's, as one set of pairs (each round is seconds per call, whatever its count)."""
        return PairedRounds(
            self.baseline_s + later.baseline_s,
            self.candidate_s + later.candidate_s,
            self.baseline_calls,
            self.candidate_calls,
        )


def _round(call: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def paired_rounds(
    baseline: Callable[[], object], candidate: Callable[[], object], pairing: Pairing = Pairing()
) -> PairedRounds | str:
    """ABAB rounds of `baseline` and `candidate` (both warmed up by the caller), or the reason they were not run."""
    # the fastest of three single calls: one call can be slow for reasons of its own (a page fault, a preemption)
    estimate_a = min(_round(baseline, 1) for _ in range(ESTIMATE_CALLS))
    estimate_b = min(_round(candidate, 1) for _ in range(ESTIMATE_CALLS))
    calls_a, calls_b = pairing.calls_per_round(estimate_a), pairing.calls_per_round(estimate_b)
    needed_s = pairing.min_pairs * 2 * (calls_a * estimate_a + calls_b * estimate_b)  # each round once untimed
    if needed_s > pairing.limit_s:
        return (
            f"not paired: {pairing.min_pairs} pairs would take about {needed_s:.3g} s "
            f"(limit {pairing.limit_s:g} s per case)"
        )
    a: list[float] = []
    b: list[float] = []
    start = time.perf_counter()
    while len(a) < pairing.max_pairs and (
        len(a) < pairing.min_pairs or time.perf_counter() - start < pairing.max_time_s
    ):
        a.append(_warm_round(baseline, calls_a))
        b.append(_warm_round(candidate, calls_b))
    return PairedRounds(a, b, calls_a, calls_b)


def _warm_round(call: Callable[[], object], calls: int) -> float:
    """A round after the same calls untimed: the other model's round left its data and code in the caches, and the
    calls after it pay to bring this model's back, which timing the model alone never does. One untimed call was not
    enough after a slow candidate (2026-12-03, AVX2 host, digits-mlp at batch 64, 7 fp32 calls a round): the paired
    speedup of bf16 read 0.157x, 0.157x and 0.130x in three trials against 0.151x, 0.124x and 0.121x timed alone, and
    int8-dynamic-eager 0.051-0.052x against 0.043-0.050x; after a whole round untimed, 0.151x, 0.127x and 0.125x
    against 0.151x, 0.131x and 0.126x, and 0.043-0.046x. In fresh-clone runs the slow candidates at batch 64 were most
    of the cases whose paired and unpaired speedups disagreed by over 10%, the paired one the higher."""
    for _ in range(calls):
        call()
    return _round(call, calls)


@dataclass
class LaterPasses:
    """A case's remaining passes of paired rounds, taken at the end of the session (the `later_passes` fixture),
    one per `run()`: the session runs every case's next pass before any case's one after it, so a case's passes are
    seconds apart. They join the first pass's rounds, and the case's recorded speedup and interval are those of all
    of them."""

    extra_info: dict
    baseline: Callable[[], object]
    candidate: Callable[[], object]
    rounds: PairedRounds
    pairing: Pairing  # one later pass's share
    remaining: int
    windows: LaterWindows | None = None  # the candidate timed alone, once per pass, before its rounds

    agreed: bool = False  # the interval of the speedup is within `pairing.settled_within` of the speedup
    settled: bool = False  # stopped before its last pass: its passes and windows agreed

    def run(self) -> None:
        """One more pass (none if none remain, the last could not pair, or the case has settled)."""
        if self.remaining <= 0:
            return
        if self.agreed and (self.windows is None or self.windows.fastest_agree()):
            self.remaining, self.settled = 0, True
            return
        self.remaining -= 1
        if self.windows is not None:
            self.windows.run()
        start = time.perf_counter()
        self.baseline()  # other cases ran since: one call each to bring their code and data back
        self.candidate()
        later = paired_rounds(self.baseline, self.candidate, self.pairing)
        self.extra_info["paired_s"] += time.perf_counter() - start
        if isinstance(later, str):
            self.remaining = 0
            return
        self.rounds = self.rounds.joined(later)
        self.extra_info["paired_passes"] += 1
        speedup = self.rounds.speedup()
        self.extra_info.update(self.rounds.as_extra_info(speedup))
        half_width = (speedup.ci_high - speedup.ci_low) / 2
        self.agreed = half_width <= self.pairing.settled_within * speedup.estimate

    def window(self) -> None:
        """The candidate timed alone once more in this pass (a later sweep: LaterWindows.window)."""
        if self.windows is not None and not self.settled:
            self.windows.window()


@dataclass
class LaterWindows:
    """A model's own timing again in each later pass, alone (no alternation), one window per `run()`: an unpaired
    speedup is the ratio of two single pytest-benchmark windows, and one slow spell of the machine in either moves it
    (the baseline's moves every speedup of its device, workload and batch size at once). A window's rounds are as
    pytest-benchmark's (`calls` per round, its calibrated iterations), at least `pairing.min_pairs` of them and more
    for up to `pairing.window_s`; its rounds' 10th percentile of seconds per call (accelbench/stats.py low_quantile:
    the machine's usual speed, as a paired speedup reads each model from its fastest rounds) joins `LATENCY_WINDOWS_S`
    (the first: pytest-benchmark's window's), and the fastest of them is `LATENCY_BEST_WINDOW_S`, what the report's
    unpaired speedups are computed from (reports/analysis/speedups.py)."""

    extra_info: dict
    call: Callable[[], object]
    calls: int
    pairing: Pairing  # one later pass's share: its minimum rounds and window_s
    remaining: int
    too_slow: bool = False  # one call would make a window last past pairing.limit_s: no more windows
    settled: bool = False  # stopped before its last pass: its two fastest windows agreed

    def run(self) -> None:
        """One more pass's window (none if none remain, the call is too slow for one, or the windows have settled)."""
        if self.remaining <= 0:
            return
        if self.fastest_agree():
            self.remaining, self.settled = 0, True
            return
        self.remaining -= 1
        self.window()

    def fastest_agree(self) -> bool:
        """Whether the two fastest windows so far are within `pairing.settled_within` of each other: the fastest is
        then no lone lucky window, nor the only one outside a slow spell of the machine."""
        found = sorted(self.extra_info.get(results.LATENCY_WINDOWS_S, []))
        return len(found) >= 2 and found[1] <= found[0] * (1 + self.pairing.settled_within)

    def window(self) -> None:
        """A window now: a pass's first (`run`), or a further one in a later sweep of the same pass."""
        if self.too_slow or self.settled:
            return
        start = time.perf_counter()
        self.call()  # other cases ran since: one call to bring its code and data back
        if self.pairing.min_pairs * self.calls * (time.perf_counter() - start) > self.pairing.limit_s:
            self.remaining, self.too_slow = 0, True
            return
        window: list[float] = []
        start = time.perf_counter()
        while len(window) < self.pairing.min_pairs or time.perf_counter() - start < self.pairing.window_s:
            window.append(_round(self.call, self.calls))
        found = self.extra_info.setdefault(results.LATENCY_WINDOWS_S, [])
        found.append(low_quantile(window))
        # the fastest: the machine's slow spells only ever slow a window down, and two of four windows in spells
        # would move a median of the four (seen on the project's VM)
        self.extra_info[results.LATENCY_BEST_WINDOW_S] = min(found)
