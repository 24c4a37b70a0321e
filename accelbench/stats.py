"""Paired speedups with a bootstrap confidence interval. numpy only: the benchmark and the tests both use it.

A paired measurement alternates baseline and candidate rounds (ABAB...), so both models run through the same states
of a noisy machine. The speedup compares each model at the machine's usual speed: the mean seconds of its FASTEST
fastest rounds, the baseline's over the candidate's (above 1: the candidate is faster). Its 95% confidence interval
is a smoothed percentile bootstrap of that ratio: pairs are resampled with replacement (a pair's two rounds stay
together), a little Gaussian noise is added to each resampled log-round, with a fixed seed, so the same rounds always
give the same interval. An interval that contains 1 is "no significant difference": never reported as a win or a
loss.

Why the fastest rounds, not the median of the per-pair ratios (what this module computed until 2026-12-04): a shared
machine has slow spells of seconds (another tenant on the host), and they do not slow every kernel alike. On the
project's VM a spell made digits-mlp's fp32 calls at batch 64 1.5x slower and its int8-static calls 1.9x slower (128
against 83 us, 370 against 195 us, in fresh processes; no process had a mode of its own), so a pair inside a spell reads
another speedup, and the median of every pair moved with the share of the run the spells took. Spells only ever slow a
round down, so each model's fastest rounds are those at its usual speed; the estimate itself does not read which rounds
were paired, but the ABAB order puts both models' rounds in the same stretches of time, so a quiet stretch that holds
five rounds of one holds five of the other, and a slow drift reaches both alike. Recomputed from the recorded rounds of
six `make bench` runs (two fresh clones, three runs each, one with a process spinning a core in bursts beside it), two
runs' speedups agreed within 5% for 77-100% of the 64 cases with the median of the per-pair ratios, 92-98% with the mean
of the 5 fastest rounds, as with the 3 fastest; keeping only the pairs whose two rounds were both near their fastest did
less (83-100%: in the busy run few pairs had both). Five rounds, not three: at 20 pairs of 10% noise a 1.2x speedup was
found in 98% of 300 trials against 95% (tests/test_stats.py holds at least 95 of 100).

What it does not do: where one model's rounds are much noisier than the other's, the noisier one's fastest five sit a
little above its usual speed, less so with more rounds (spells 2% against 10% on average, slowing only: about 1% at
20 pairs, 0.3% at 80; the interval can be narrower than that, so a verdict on a 1% difference between such models is
not to be leaned on). Cases take 20-41 pairs (`Pairing`), so that lean is about the same in every case of a run.

Why smoothed, and by what: the plain bootstrap distribution of an order statistic takes only a few distinct values, and
its percentile interval is at the edge of too narrow at 20 pairs (300 A/A trials: 5.0% called significant with the 5
fastest rounds, 6.0% with the 3 fastest, against the nominal 5%; smoothed, 3.0% and 2.3%). The noise added (Hall,
DiCiccio and Romano, "On smoothing and the bootstrap", Ann. Statist. 1989) has Silverman's bandwidth of the per-pair
log-ratios over sqrt(2): the noise of one round, without the drift the two rounds of a pair share (a bandwidth from each
model's own rounds would take a threefold drift for noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FASTER, SLOWER, SAME = "faster", "slower", "no significant difference"
VERDICTS = (FASTER, SLOWER, SAME)
CONFIDENCE = 0.95  # two-sided level of the interval
RESAMPLES = 2000  # bootstrap resamples: the interval's ends move by well under 1% between seeds at this count
SEED = 0  # fixed: the same rounds always give the same interval
MIN_PAIRS = 20  # below this the interval is unreliable (A/A at 10 pairs: up to 7% false "significant")
FASTEST = 5  # rounds of each model the speedup compares: the fastest alone could be one lucky round
WINDOW_QUANTILE = 0.10  # a timing window alone is read at this quantile of its rounds (accelbench/rounds.py)


@dataclass(frozen=True)
class PairedSpeedup:
    """Speedup of a candidate over its baseline from paired rounds: `estimate`, the ratio of the means of each
    model's FASTEST fastest rounds (baseline seconds / candidate seconds, dimensionless), its bootstrap interval
    [`ci_low`, `ci_high`] at `confidence`, the number of `pairs`, and the `verdict` (faster, slower, or no
    significant difference)."""

    estimate: float
    ci_low: float
    ci_high: float
    pairs: int
    confidence: float
    verdict: str

    def as_extra_info(self) -> dict[str, float | int | str]:
        """The flat scalars a benchmark records (the report's column names)."""
        return {
            "paired_speedup": self.estimate,
            "paired_speedup_ci_low": self.ci_low,
            "paired_speedup_ci_high": self.ci_high,
            "paired_rounds": self.pairs,
            "paired_verdict": self.verdict,
        }


def verdict(ci_low: float, ci_high: float) -> str:
    """'faster' when the whole interval is above 1, 'slower' when it is below 1, else 'no significant difference'."""
    if ci_low > 1.0:
        return FASTER
    if ci_high < 1.0:
        return SLOWER
    return SAME


def silverman_bandwidth(values: np.ndarray) -> float:
    """Silverman's rule of thumb, 0.9 min(sd, IQR / 1.34) n^(-1/5) (the sd alone where the IQR is 0)."""
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    q1, q3 = np.quantile(values, [0.25, 0.75])
    spread = min(sd, (q3 - q1) / 1.34) or sd
    return 0.9 * spread * len(values) ** -0.2


def low_quantile(seconds, quantile: float = WINDOW_QUANTILE) -> float:
    """A model's time at the machine's usual speed from one window of its rounds: their `quantile` (slow spells only
    ever slow a round down; a quantile, unlike the mean of a fixed number of fastest rounds, does not fall as a window
    holds more rounds). Raises ValueError on no rounds."""
    seconds = np.asarray(seconds, dtype=float)
    if seconds.size == 0:
        raise ValueError("a window needs at least one round")
    return float(np.quantile(seconds, quantile))


def log_fastest_mean(log_rounds: np.ndarray) -> np.ndarray:
    """The log of the mean seconds of the FASTEST fastest rounds (all, where there are fewer), along the last axis of
    log-seconds."""
    k = min(FASTEST, log_rounds.shape[-1])
    fastest = np.partition(log_rounds, k - 1, axis=-1)[..., :k]
    return np.log(np.exp(fastest).mean(axis=-1))


def paired_speedup(
    baseline_s, candidate_s, confidence: float = CONFIDENCE, resamples: int = RESAMPLES, seed: int = SEED
) -> PairedSpeedup:
    """The paired speedup of candidate over baseline from the seconds of each pair's two rounds (same length,
    pair i is baseline_s[i] and candidate_s[i]): each model's FASTEST fastest rounds, their means' ratio. Raises
    ValueError on fewer than MIN_PAIRS pairs, unequal lengths, or a time that is not a positive finite number."""
    a = np.asarray(baseline_s, dtype=float)
    b = np.asarray(candidate_s, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired rounds need two 1-D sequences of equal length, got shapes {a.shape} and {b.shape}")
    if len(a) < MIN_PAIRS:
        raise ValueError(f"{len(a)} pairs: at least {MIN_PAIRS} are needed for a bootstrap interval")
    if not (np.isfinite(a).all() and np.isfinite(b).all() and (a > 0).all() and (b > 0).all()):
        raise ValueError("every round's time must be a positive, finite number of seconds")
    log_a, log_b = np.log(a), np.log(b)  # on the log scale: a round's noise is multiplicative
    estimate = float(np.exp(log_fastest_mean(log_a) - log_fastest_mean(log_b)))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(a), size=(resamples, len(a)))  # whole pairs
    bandwidth = silverman_bandwidth(log_a - log_b) / np.sqrt(2)
    resampled = log_fastest_mean(log_a[picks] + rng.normal(0.0, bandwidth, picks.shape)) - log_fastest_mean(
        log_b[picks] + rng.normal(0.0, bandwidth, picks.shape)
    )
    tail = (1.0 - confidence) / 2.0
    low, high = np.exp(np.quantile(resampled, [tail, 1.0 - tail]))
    # the interval is the bootstrap's, the estimate the sample's: widen the interval to hold it where they part (only
    # ever wider, so never a more confident verdict)
    low, high = min(float(low), estimate), max(float(high), estimate)
    return PairedSpeedup(estimate, low, high, len(a), confidence, verdict(low, high))
