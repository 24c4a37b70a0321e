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
