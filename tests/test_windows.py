"""tools/windows.py: one case's paired speedup over repeated windows (what a rerun can agree on)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from accelbench.rounds import Pairing
from tools.windows import Windows, main, windows


def test_the_shares_count_consecutive_pairs_and_intervals_that_hold_the_overall_median() -> None:
    found = Windows(
        speedups=[1.0, 1.02, 1.0, 1.2, 1.1], lows=[0.99, 1.0, 0.9, 1.15, 1.0], highs=[1.01, 1.05, 1.1, 1.3, 1.2]
    )
    assert found.consecutive_within_5 == 0.5  # (1.0, 1.02) agree, (1.0, 1.2) do not; the fifth has no partner
    assert found.coverage == 3 / 5  # the median of all is 1.02: held by windows 2, 3 and 5


def test_windows_pair_two_calls_until_the_time_is_spent() -> None:
    calls = {"a": 0, "b": 0}
    tick = lambda name: calls.__setitem__(name, calls[name] + 1)  # noqa: E731
    found = windows(lambda: tick("a"), lambda: tick("b"), seconds=0.05, pairing=Pairing(max_time_s=0.01))
    assert len(found.speedups) >= 2 and calls["a"] > 0 and calls["b"] > 0
    assert all(lo <= m <= hi for lo, m, hi in zip(found.lows, found.speedups, found.highs))


def test_a_name_it_does_not_know_exits_2_with_the_valid_ones(capsys) -> None:
    assert main(["--workload", "digits-mpl", "--technique", "bf16"]) == 2
    assert "digits-mlp" in capsys.readouterr().err
    assert main(["--workload", "digits-mlp", "--technique", "bf16", "--device", "sim-a100"]) == 2
    assert "simulated" in capsys.readouterr().err


@pytest.mark.slow
def test_it_reports_a_real_case(cache_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ACCELBENCH_CACHE", str(cache_dir))
    threads = torch.get_num_threads()  # the cpu device sets its thread count: put it back for the other tests
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    assert main(["--workload", "digits-mlp", "--technique", "bf16", "--batch", "1", "--seconds", "0.5"]) == 0
    out = capsys.readouterr().out
    assert torch.get_num_threads() == threads
    assert "cpu digits-mlp bf16 batch 1:" in out and "consecutive windows within 5%:" in out
