"""Paired speedups with a bootstrap confidence interval. numpy only: the benchmark and the tests both use it.

A paired measurement alternates baseline and candidate rounds (ABAB...), so each pair saw the same state of a noisy
machine; the ratio within a pair cancels slow drift (another process starting, the CPU clocking down). The speedup is
the median of the per-pair ratios baseline time / candidate time (above 1: the candidate is faster), and its 95%
confidence interval is a smoothed percentile bootstrap of that median: pairs are resampled with replacement and a
little Gaussian noise (Silverman's bandwidth) is added to each resampled log-ratio, with a fixed seed, so the same
samples always give the same interval. An interval that contains 1 is "no significant difference": never reported
as a win or a loss.

Why smoothed: the plain bootstrap distribution of a median takes only a few distinct values, and its percentile
interval is too narrow at 10 to 30 pairs (it excludes 1 more often than its nominal 5% on A/A samples). Smoothing
(Hall, DiCiccio and Romano, "On smoothing and the bootstrap", Ann. Statist. 1989) removes that at about the same
power; tests/test_stats.py holds the rates.

Which pairs: those taken while the machine ran at its usual speed (`quiet_pairs`). A shared machine has slow spells
of seconds (another tenant on the core's sibling), and they do not slow every kernel alike: on the project's VM a
spell made digits-mlp's fp32 calls at batch 64 1.5x slower and its int8-static calls 1.9x slower (128 against 83 us,
370 against 195 us, 2026-12-04), so a pair inside a spell reads a different speedup, and the median
of all pairs moved with the share of the run the spells took: between two runs of `make bench`, 81-88% of paired
speedups agreed within 5%. The same runs' rounds, kept to their quiet pairs, agreed for 92-97%
(docs/reports.md#repeatability-do-two-runs-agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FASTER, SLOWER, SAME = "faster", "slower", "no significant difference"
VERDICTS = (FASTER, SLOWER, SAME)
CONFIDENCE = 0.95  # two-sided level of the interval
RESAMPLES = 2000  # bootstrap resamples: the interval's ends move by well under 1% between seeds at this count
SEED = 0  # fixed: the same rounds always give the same interval
MIN_PAIRS = 20  # below this the interval of a median is unreliable (A/A at 10 pairs: up to 7% false "significant")
# a pair is quiet when both its rounds are within QUIET_WITHIN of their model's QUIET_QUANTILE round (a low quantile,
# not the fastest: one lucky round must not decide what usual speed is)
QUIET_WITHIN = 0.10
QUIET_QUANTILE = 0.10


@dataclass(frozen=True)
class PairedSpeedup:
    """Speedup of a candidate over its baseline from paired rounds: `median` of the per-pair ratios (baseline
    seconds / candidate seconds, dimensionless), its bootstrap interval [`ci_low`, `ci_high`] at `confidence`,
    the number of `pairs`, and the `verdict` (faster, slower, or no significant difference)."""

    median: float
    ci_low: float
    ci_high: float
    pairs: int  # every pair taken
    confidence: float
    verdict: str
    quiet_pairs: int  # the pairs the median and interval are computed from (`quiet_pairs`)

    def as_extra_info(self) -> dict[str, float | int | str]:
        """The flat scalars a benchmark records (the report's column names)."""
        return {
            "paired_speedup_median": self.median,
            "paired_speedup_ci_low": self.ci_low,
            "paired_speedup_ci_high": self.ci_high,
            "paired_rounds": self.pairs,
            "paired_rounds_quiet": self.quiet_pairs,
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


def bootstrap_median_ci(
    values: np.ndarray, confidence: float = CONFIDENCE, resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float, float]:
    """Smoothed percentile bootstrap interval of the median of `values`: `resamples` resamples with replacement,
    each value plus Gaussian noise of Silverman's bandwidth."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    picks = values[rng.integers(0, len(values), size=(resamples, len(values)))]
    picks += rng.normal(0.0, silverman_bandwidth(values), size=picks.shape)
    medians = np.median(picks, axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(medians, [tail, 1.0 - tail])
    return float(low), float(high)


def quiet_pairs(baseline_s: np.ndarray, candidate_s: np.ndarray) -> np.ndarray:
    """The indices, in order, of the pairs taken at the machine's usual speed: both rounds within QUIET_WITHIN of
    their model's QUIET_QUANTILE round. Where fewer than MIN_PAIRS are, the MIN_PAIRS pairs whose rounds' product is
    smallest (the least slowed, weighing both models alike); where there are no more, every pair. The rule is
    symmetric in the two models, so a comparison of a model with itself keeps its 50:50 chance either way."""
    a, b = np.asarray(baseline_s, dtype=float), np.asarray(candidate_s, dtype=float)
    if len(a) <= MIN_PAIRS:
        return np.arange(len(a))
    usual = (a <= (1 + QUIET_WITHIN) * np.quantile(a, QUIET_QUANTILE)) & (
        b <= (1 + QUIET_WITHIN) * np.quantile(b, QUIET_QUANTILE)
    )
    if usual.sum() >= MIN_PAIRS:
        return np.flatnonzero(usual)
    return np.sort(np.argsort(a * b, kind="stable")[:MIN_PAIRS])


def paired_speedup(
    baseline_s,
    candidate_s,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    quiet: bool = True,
) -> PairedSpeedup:
    """The paired speedup of candidate over baseline from the seconds of each pair's two rounds (same length,
    pair i is baseline_s[i] and candidate_s[i]): the median and interval of the quiet pairs (`quiet_pairs`; every
    pair with quiet=False). Raises ValueError on fewer than MIN_PAIRS pairs, unequal lengths, or a time that is not
    a positive finite number."""
    a = np.asarray(baseline_s, dtype=float)
    b = np.asarray(candidate_s, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired rounds need two 1-D sequences of equal length, got shapes {a.shape} and {b.shape}")
    if len(a) < MIN_PAIRS:
        raise ValueError(f"{len(a)} pairs: at least {MIN_PAIRS} are needed for a bootstrap interval of the median")
    if not (np.isfinite(a).all() and np.isfinite(b).all() and (a > 0).all() and (b > 0).all()):
        raise ValueError("every round's time must be a positive, finite number of seconds")
    pairs = len(a)
    if quiet:
        kept = quiet_pairs(a, b)
        a, b = a[kept], b[kept]
    log_ratios = np.log(a) - np.log(b)  # smoothed on the log scale: a ratio's noise is multiplicative
    low, high = np.exp(bootstrap_median_ci(log_ratios, confidence, resamples, seed))
    median = float(np.median(a / b))
    # very uneven rounds (a bimodal busy machine) can leave the smoothed interval beside the sample median: widen
    # it to hold the median (only ever wider, so never a more confident verdict)
    low, high = min(float(low), median), max(float(high), median)
    return PairedSpeedup(median, low, high, pairs, confidence, verdict(low, high), len(a))
