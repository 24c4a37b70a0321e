"""The paired bootstrap (accelbench/stats.py) on synthetic samples with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from accelbench.stats import FASTER, MIN_PAIRS, SAME, SLOWER, paired_speedup, quiet_pairs, verdict

PAIRS = MIN_PAIRS  # the fewest pairs a benchmark records: the hardest case for the interval
NOISE = 0.1  # lognormal sigma of one round's time: a 10% spread, typical of a busy 2-core machine


def _rounds(seed: int, baseline_s: float, candidate_s: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.lognormal(np.log(baseline_s), NOISE, PAIRS), rng.lognormal(np.log(candidate_s), NOISE, PAIRS)


def test_a_known_1_2x_speedup_is_detected_and_its_interval_holds_it() -> None:
    found = [paired_speedup(*_rounds(seed, 1.2e-3, 1e-3)) for seed in range(100)]
    assert sum(r.verdict == FASTER for r in found) >= 95
    assert sum(r.ci_low <= 1.2 <= r.ci_high for r in found) >= 90  # the true ratio is inside most intervals
    assert np.median([r.median for r in found]) == pytest.approx(1.2, rel=0.03)


def test_a_known_1_2x_slowdown_is_a_loss() -> None:
    found = [paired_speedup(*_rounds(seed, 1e-3, 1.2e-3)) for seed in range(100)]
    assert sum(r.verdict == SLOWER for r in found) >= 95
    assert not any(r.verdict == FASTER for r in found)


def test_a_comparison_of_a_thing_with_itself_is_no_significant_difference_in_95_of_100_trials() -> None:
    found = [paired_speedup(*_rounds(seed, 1e-3, 1e-3)) for seed in range(100)]
    same = sum(r.verdict == SAME for r in found)
    assert same >= 95, f"A/A: only {same} of 100 trials found no significant difference"
    assert all((r.verdict == SAME) == (r.ci_low <= 1 <= r.ci_high) for r in found)


def test_pairing_cancels_drift_that_unpaired_medians_would_mistake_for_a_difference() -> None:
    rng = np.random.default_rng(7)
    drift = np.linspace(1.0, 3.0, 40)  # the machine slows down threefold during the measurement
    baseline = 1e-3 * drift * rng.lognormal(0, 0.02, 40)
    candidate = 1e-3 / 1.1 * drift * rng.lognormal(0, 0.02, 40)  # truly 1.1x faster, in every pair
    result = paired_speedup(baseline, candidate)
    assert result.verdict == FASTER and result.ci_low > 1.05 and result.median == pytest.approx(1.1, rel=0.02)


def test_the_interval_always_holds_its_median_even_for_bimodal_rounds() -> None:
    for seed in range(20):  # a busy machine: nearly half the pairs at 1.5x, the rest at 6x (seeds 1, 5, 6, 17 left
        rng = np.random.default_rng(seed)  # the plain smoothed interval below the median)
        ratios = np.exp(
            np.where(rng.random(26) < 0.45, rng.normal(np.log(1.5), 0.3, 26), rng.normal(np.log(6), 0.05, 26))
        )
        found = paired_speedup(1e-3 * ratios, np.full(26, 1e-3))
        assert found.ci_low <= found.median <= found.ci_high


def test_the_same_rounds_always_give_the_same_interval() -> None:
    a, b = _rounds(3, 1.1e-3, 1e-3)
    assert paired_speedup(a, b) == paired_speedup(a.copy(), b.copy())


@pytest.mark.parametrize(
    "baseline, candidate, problem",
    [
        ([1.0] * 5, [1.0] * 5, "at least"),
        ([1.0] * 30, [1.0] * 29, "equal length"),
        ([1.0] * 29 + [0.0], [1.0] * 30, "positive, finite"),
        ([1.0] * 29 + [float("nan")], [1.0] * 30, "positive, finite"),
    ],
    ids=["too-few", "unequal", "zero", "nan"],
)
def test_bad_rounds_are_refused_with_the_reason(baseline, candidate, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        paired_speedup(baseline, candidate)


def test_verdict_reads_only_the_interval() -> None:
    assert verdict(1.01, 1.3) == FASTER and verdict(0.7, 0.99) == SLOWER
    assert verdict(0.98, 1.5) == SAME and verdict(1.0, 1.0) == SAME
    extra = paired_speedup(*_rounds(1, 2e-3, 1e-3)).as_extra_info()
    assert set(extra) == {
        "paired_speedup_median",
        "paired_speedup_ci_low",
        "paired_speedup_ci_high",
        "paired_rounds",
        "paired_rounds_quiet",
        "paired_verdict",
    }
    assert extra["paired_rounds"] == PAIRS and extra["paired_verdict"] == FASTER


def _spells(seed: int, pairs: int, speedup: float, share: float, slow_a: float, slow_b: float):
    """Rounds on a machine that spends `share` of the pairs in slow spells, which slow the baseline `slow_a` times and
    the candidate `slow_b` times (kernels suffer unlike: fp32 1.5x, int8-static 1.9x on the project's VM)."""
    rng = np.random.default_rng(seed)
    spell = rng.random(pairs) < share
    a = 1e-3 * np.where(spell, slow_a, 1.0) * rng.lognormal(0, 0.02, pairs)
    b = 1e-3 / speedup * np.where(spell, slow_b, 1.0) * rng.lognormal(0, 0.02, pairs)
    return a, b


def test_slow_spells_that_slow_the_candidate_more_do_not_move_the_speedup() -> None:
    # the speedup on the machine at its usual speed, whatever share of the run the spells took
    for share in (0.1, 0.3, 0.45):
        a, b = _spells(11, 60, 1.2, share, 1.5, 1.9)
        quiet, every = paired_speedup(a, b), paired_speedup(a, b, quiet=False)
        assert quiet.median == pytest.approx(1.2, rel=0.02), share
        assert quiet.pairs == 60 and MIN_PAIRS <= quiet.quiet_pairs < 60
        assert every.quiet_pairs == 60
    assert every.median < 1.2 * 0.9  # the median of every pair moved with the spells (45% of the run)


def test_a_comparison_of_a_thing_with_itself_through_slow_spells_is_still_no_significant_difference() -> None:
    found = [paired_speedup(*_spells(seed, 60, 1.0, 0.3, 1.6, 1.6)) for seed in range(100)]
    assert sum(r.verdict == SAME for r in found) >= 95


def test_quiet_pairs_keep_the_usual_ones_in_order_and_never_fewer_than_min_pairs() -> None:
    a = np.full(40, 1e-3)
    b = np.full(40, 1e-3)
    b[::2] *= 2  # every other candidate round slowed: 20 usual pairs, exactly the minimum
    assert list(quiet_pairs(a, b)) == list(range(1, 40, 2))
    b[1] *= 2  # 19 usual: the 20 least slowed (smallest product), still in order
    kept = quiet_pairs(a * np.linspace(1, 1.01, 40), b)
    assert list(kept) == [0, *range(3, 40, 2)]  # pair 0 the least slowed of the others (the fastest baseline)
    assert list(quiet_pairs(a[:MIN_PAIRS], b[:MIN_PAIRS])) == list(range(MIN_PAIRS))  # no more than the minimum
