"""What the report reads besides one run: price files, several runs, the history of saved runs, the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from reports.__main__ import main as report_main
from reports.analysis.prices import PriceFileError, load_prices, with_costs
from reports.load.history import history_files, load_history
from reports.load.run import load_run
from reports.load.runs import combine, machine_warnings
from reports.load.synthetic import synthetic_results
from reports.render.history_trends import trend_cases

SAMPLE = Path(__file__).parent / "data" / "sample-run.json"


def _prices(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(text)
    return path


def test_a_price_file_overrides_the_defaults_and_costs_follow_without_a_rerun(tmp_path: Path) -> None:
    results = synthetic_results(rows=240, workloads=2, devices=4)
    before, _ = with_costs(results)
    prices = load_prices(_prices(tmp_path, '[prices]\ncpu = 0.18\nsim-d00 = { usd_per_hour = 9.0, source = "ours" }\n'))
    after, notes = with_costs(results, prices)
    cpu = (after["device"] == "cpu") & (after["status"] == "ok")
    assert (after.loc[cpu, "cost_per_million_usd"] / before.loc[cpu, "cost_per_million_usd"]).round(9).eq(2.0).all()
    assert after.loc[after["device"] == "sim-d00", "price_source"].eq("price file prices.toml: ours").all()
    ok = after[after["status"] == "ok"]
    expected = ok["price_per_hour_usd"] / 3600 * ok["latency_median_s"] / ok["batch_size"] * 1e6
    assert ok["cost_per_million_usd"].to_numpy() == pytest.approx(expected.to_numpy())
    assert notes == []
    _, notes = with_costs(results, load_prices(_prices(tmp_path, "[prices]\nsim-h10 = 1.0\n")))
    assert "'sim-h10' matches no device" in notes[0]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[prices\ncpu = 1", "not valid TOML"),
        ("[costs]\ncpu = 1\n", "unknown top-level key(s) costs"),
        ("cpu = 1\n", "unknown top-level key(s) cpu; expected a [prices] table"),
        ("# nothing priced\n", "no [prices] table"),
        ("[prices]\ncpu = -1\n", "prices.cpu: -1 is not a price"),
        ('[prices]\ncpu = "cheap"\n', "prices.cpu: 'cheap' is not a price"),
        ("[prices]\ncpu = { usd = 1 }\n", "prices.cpu: unknown key(s) usd"),
        ('[prices]\ncpu = { source = "x" }\n', "prices.cpu.usd_per_hour: missing"),
    ],
    ids=["toml", "top-level", "no-table", "empty", "negative", "text", "unknown-key", "missing"],
)
def test_a_bad_price_file_is_refused_naming_the_file_and_the_field(tmp_path: Path, text: str, problem: str) -> None:
    path = _prices(tmp_path, text)
    with pytest.raises(PriceFileError, match=re.escape(problem)) as caught:
        load_prices(path)
    assert str(path) in str(caught.value)


def test_several_runs_keep_every_row_and_warn_when_machines_differ(tmp_path: Path) -> None:
    raw = json.loads(SAMPLE.read_text())
    raw["machine_info"]["accelbench"]["torch"] = "2.14.0+cpu"  # the same cases, another torch
    other = tmp_path / "other-run.json"
    other.write_text(json.dumps(raw))
    first, second = load_run(SAMPLE), load_run(other)
    both = combine([first, second])
    assert len(both) == len(first) + len(second)
    assert {"cpu@sample-run", "cpu@other-run"} <= set(both["device"])
    (warning,) = machine_warnings(both)
    assert "other-run.json" in warning and "torch: '2.13.0+cpu' vs '2.14.0+cpu'" in warning
    assert machine_warnings(combine([first])) == []


def test_history_plots_the_cases_that_changed_most_and_counts_the_rest(tmp_path: Path) -> None:
    raw = json.loads(SAMPLE.read_text())
    for index, factor in enumerate((1.0, 1.5, 3.0)):
        for number, bench in enumerate(raw["benchmarks"]):  # case n changes by factor ** n across runs
            bench["stats"]["median"] = 1e-3 * factor**number
        raw["datetime"] = f"2026-01-0{index + 1}T00:00:00+00:00"
        (tmp_path / f"run-{index}.json").write_text(json.dumps(raw))
        os.utime(tmp_path / f"run-{index}.json", (index, index))
    (tmp_path / "broken.json").write_text("{")
    os.utime(tmp_path / "broken.json", (0, 0))
    odd = dict(raw, benchmarks=[dict(raw["benchmarks"][0], stats={"median": "fast"}, params=[1, 2])])
    (tmp_path / "odd.json").write_text(json.dumps(odd))  # JSON of the right shape, rows that are not
    os.utime(tmp_path / "odd.json", (0, 0))
    files, _ = history_files(tmp_path / "run-2.json")
    history, notes = load_history(files)
    assert history["run_file"].nunique() == 3 and len(notes) == 2
    assert any("not valid JSON" in n for n in notes) and any("odd.json" in n for n in notes)
    cases, more = trend_cases(history, limit=2)
    timed = [b["name"] for b in raw["benchmarks"]]
    assert cases == [timed[-1], timed[-2]] and more == len(timed) - 2


def test_the_command_line_takes_prices_from_the_environment_and_refuses_a_bad_file(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    good = _prices(tmp_path, "[prices]\ncpu = 0.5\n")
    monkeypatch.setenv("ACCELBENCH_PRICES", str(good))
    assert report_main([str(SAMPLE), "--out", str(tmp_path / "out"), "--no-history"]) == 0
    csv = pd.read_csv(tmp_path / "out" / "results.csv")
    assert csv.loc[csv["device"] == "cpu", "price_per_hour_usd"].eq(0.5).all()
    bad = _prices(tmp_path, "[prices]\ncpu = 0\n")
    assert report_main([str(SAMPLE), "--out", str(tmp_path / "bad"), "--prices", str(bad)]) == 2
    assert "prices.cpu: 0 is not a price" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_make_bench_refuses_a_bad_price_file_before_the_run(tmp_path: Path) -> None:
    bad = _prices(tmp_path, "[prices]\ncpu = -1\n")
    assert report_main(["--check-prices", "--prices", str(bad)]) == 2
    (tmp_path / "good").mkdir()
    assert report_main(["--check-prices", "--prices", str(_prices(tmp_path / "good", "[prices]\ncpu = 0.5\n"))]) == 0
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        ["make", "--no-print-directory", "bench", f"PRICES={bad}", f"RESULTS={tmp_path / 'run.json'}", "ARGS=-k none"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2 and "prices.cpu: -1" in out.stderr  # refused before a single case ran
    assert not (tmp_path / "run.json").exists()
