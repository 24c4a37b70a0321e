"""`python -m reports.repeat`: how far two runs agree (reports/repeat.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from reports.repeat import compare, main


def _run(speedups: dict[str, tuple[float, float]], iqr: float) -> pd.DataFrame:
    """fp32 at 1 ms; each technique at 1 ms / its unpaired speedup, with its paired speedup."""
    rows = [dict(technique="fp32", latency_median_s=1e-3, paired_speedup=None)]
    for technique, (paired, unpaired) in speedups.items():
        rows.append(dict(technique=technique, latency_median_s=1e-3 / unpaired, paired_speedup=paired))
    rows = [dict(row, accuracy=0.9) for row in rows]
    frame = pd.DataFrame(rows).assign(
        device="cpu", workload="w", batch_size=1, status="ok", simulated=False, benchmark="inference"
    )
    return frame.assign(latency_iqr_s=frame["latency_median_s"] * iqr)


def test_the_share_of_cases_that_agree_and_each_runs_noise() -> None:
    a = _run({"int8": (2.0, 2.0), "bf16": (1.0, 1.0), "ort": (3.0, 1.5)}, iqr=0.02)
    b = _run({"int8": (2.16, 2.3), "bf16": (1.0, 0.5), "ort": (3.0, 1.5)}, iqr=0.10)
    b = pd.concat([b, _run({"sim": (1.0, 1.0)}, 0.0).iloc[1:].assign(simulated=True)])  # simulated: left out
    table, figures = compare(a, b)
    assert figures["cases"] == 3
    assert figures["paired_within_5"] == pytest.approx(2 / 3) and figures["paired_within_10"] == 1.0
    assert figures["unpaired_within_5"] == pytest.approx(1 / 3) and figures["unpaired_within_10"] == pytest.approx(
        1 / 3
    )
    assert figures["noise_a"] == pytest.approx(0.02) and figures["noise_b"] == pytest.approx(0.10)
    assert figures["consistent_a"] == pytest.approx(2 / 3)  # ort: paired 3x, unpaired 1.5x
    assert table.index[0][2] == "bf16" and math.isclose(table.iloc[0]["unpaired_change"], -0.5)


def test_the_command_writes_markdown_and_refuses_a_bad_file(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main([str(bad), str(bad)]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_a_run_recorded_under_the_earlier_names_still_shows_its_paired_speedups(tmp_path) -> None:
    """Runs before 2026-12-04 recorded `paired_speedup_median` and `latency_window_medians_s` (reports/load/run.py)."""
    import json

    from reports.load.run import load_run

    run = json.loads((Path(__file__).parent / "data" / "sample-run.json").read_text())
    bench = run["benchmarks"][0]
    bench["extra_info"].update(paired_speedup_median=1.7, latency_window_medians_s=[1e-3, 2e-3])
    old = tmp_path / "old.json"
    old.write_text(json.dumps(run))
    row = load_run(old).set_index("case").loc[bench["name"]]
    assert row["paired_speedup"] == 1.7 and row["latency_windows_s"] == [1e-3, 2e-3]
    # a run that has both names keeps today's
    bench["extra_info"]["paired_speedup"] = 2.0
    old.write_text(json.dumps(run))
    assert load_run(old).set_index("case").loc[bench["name"]]["paired_speedup"] == 2.0
