"""`make validate`'s join of measured cpu cases with their sim-cpu predictions (tools/validate.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from tools.validate import compare, summary


def _row(device: str, benchmark: str, technique: str, seconds: float) -> dict:
    return dict(
        device=device,
        benchmark=benchmark,
        workload="digits-mlp",
        technique=technique,
        batch_size=64,
        status="ok",
        latency_median_s=seconds,
        bound="compute" if device == "sim-cpu" else None,
    )


def test_training_rows_with_the_same_keys_do_not_break_the_join() -> None:
    rows = [
        _row("cpu", "inference", "fp32", 2e-3),
        _row("sim-cpu", "inference", "fp32", 3e-3),
        _row("cpu", "inference", "bf16", 4e-3),
        _row("sim-cpu", "inference", "bf16", 2e-3),
        # a training recipe named like a technique, on both devices: same workload, technique and batch size
        _row("cpu", "training", "fp32", 9e-3),
        _row("sim-cpu", "training", "fp32", 1e-3),
    ]
    table = compare(pd.DataFrame(rows))
    assert len(table) == 2
    by_technique = table.set_index("technique")["error"]
    assert by_technique["fp32"] == pytest.approx(0.5) and by_technique["bf16"] == pytest.approx(-0.5)
    assert summary(table)["median_ape"] == pytest.approx(0.5)


def test_the_published_summary_counts_errors_and_ranks_devices_per_model() -> None:
    from tools.validate import published_summary

    scores = pd.DataFrame(
        dict(
            profile=["a", "b", "c", "a"],
            model=["m", "m", "m", "n"],
            batch=[1, 1, 2, 1],
            published_s=[1.0, 2.0, 8.0, 1.0],
            predicted_s=[1.1, 1.5, 20.0, 1.0],
        )
    ).assign(error=lambda f: f["predicted_s"] / f["published_s"] - 1)
    stats = published_summary(scores)
    assert stats["median_ape"] == pytest.approx((0.1 + 0.25) / 2) and stats["within_2x"] == 0.75
    assert stats["within_25"] == 0.75 and stats["spearman"] == {"m": pytest.approx(1.0)}  # n: one device only


def test_the_committed_published_scores_are_what_the_profiles_predict_now() -> None:
    """devices/reference/published-scores.csv (the report's trust section) is recomputed here: a profile changed
    without `python -m tools.validate --published-only` fails this test."""
    from devices.simulated.device import SCORES
    from tools.validate import score_published, trust_by_device

    fresh = trust_by_device(score_published())
    committed = pd.read_csv(SCORES, dtype={"profile_version": str})
    pd.testing.assert_frame_equal(committed, fresh.astype(committed.dtypes.to_dict()), check_exact=False, rtol=1e-6)


def test_the_trust_section_shows_each_simulated_devices_published_error() -> None:
    from reports.render.sections import trust_section

    results = pd.DataFrame(
        dict(
            device=["cpu", "sim-a", "sim-b"],
            simulated=[False, True, True],
            published_rows=[None, 3, 0],
            published_median_abs_error=[None, 0.12, None],
            published_worst=[None, "+40% on P01 x int8 b=1", None],
            published_scored_version=[None, "1", None],
            profile_version=[None, "2", "1"],
        )
    )
    table = trust_section(results).tables[0][1]
    assert list(table.index) == ["sim-a †", "sim-b †"]
    assert table.iloc[0, 0].startswith("3 published row(s): median error 12%, worst +40% on P01")
    assert "scored on profile version 1; now 2: run make validate" in table.iloc[0, 0]
    assert table.iloc[1, 0] == "not checked against any published measurement"
