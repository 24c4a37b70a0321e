from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import reports.render.report as report_module
from accelbench.results import ResultsFileError
from reports.__main__ import main as report_main
from reports.analysis.speedups import with_baseline_ratios
from reports.load.run import load_run
from reports.render.report import write_report
from reports.render.tables import summary_table
from reports.text import SIMULATED_MARK

SAMPLE = Path(__file__).parent / "data" / "sample-run.json"  # a real run, its per-round samples trimmed


@pytest.fixture
def sample() -> pd.DataFrame:
    return load_run(SAMPLE)


def test_loader_gives_one_row_per_case_with_outcomes(sample: pd.DataFrame) -> None:
    raw = json.loads(SAMPLE.read_text())
    assert len(sample) == len(raw["benchmarks"]) + len(raw["accelbench_outcomes"])
    ok = sample[sample["status"] == "ok"].set_index("case")
    for bench in raw["benchmarks"]:
        row = ok.loc[bench["name"]]
        assert row["latency_median_s"] == bench["stats"]["median"]
        assert row["accuracy"] == bench["extra_info"]["accuracy"]
        assert row["throughput_per_s"] == pytest.approx(bench["params"]["batch_size"] / bench["stats"]["median"])
    errors = sample[sample["status"] == "error"]
    assert len(errors) == 2 and errors["message"].str.contains("boom").all()
    assert set(errors["technique"]) == {"broken"}
    skipped = sample[sample["status"] == "skipped"]
    assert skipped["message"].str.contains("no CUDA GPU|no kernel for this").all()


def test_loader_joins_device_facts_and_versions(sample: pd.DataFrame) -> None:
    cpu = sample[sample["device"] == "cpu"].iloc[0]
    raw = json.loads(SAMPLE.read_text())["machine_info"]["accelbench"]
    assert cpu["threads"] == raw["devices"]["cpu"]["threads"]
    assert cpu["torch_version"] == raw["torch"]
    assert not sample["simulated"].any()
    assert sample.loc[sample["device"] == "plugin-dev", "plugin_facts"].eq("demo").all()


def test_speedup_is_the_ratio_of_medians_on_the_same_device_and_batch(sample: pd.DataFrame) -> None:
    frame = sample.copy()
    fp32 = frame[(frame["technique"] == "fp32") & (frame["status"] == "ok")].iloc[0]
    candidate = fp32.copy()
    candidate["case"], candidate["technique"] = "made-up-candidate", "faster"
    candidate["latency_median_s"] = fp32["latency_median_s"] / 3
    candidate["accuracy"] = fp32["accuracy"] - 0.01
    frame = pd.concat([frame, candidate.to_frame().T], ignore_index=True)
    out = with_baseline_ratios(frame).set_index("case")
    assert out.loc["made-up-candidate", "speedup"] == pytest.approx(3.0)
    assert out.loc["made-up-candidate", "accuracy_delta"] == pytest.approx(-0.01)
    assert out.loc[fp32["case"], "speedup"] == pytest.approx(1.0)
    assert out.loc[out["status"] != "ok", "speedup"].isna().all()


def test_unpaired_speedups_are_ratios_of_the_fastest_windows(sample: pd.DataFrame) -> None:
    """The baseline is timed in one window per pass (accelbench.rounds.LaterWindows): a slow first window (here
    1.5x its later ones) must not move every speedup that divides by it."""
    frame = sample[sample["status"] == "ok"].copy()
    fp32 = frame[frame["technique"] == "fp32"].iloc[0]
    candidate = fp32.copy()
    candidate["case"], candidate["technique"] = "made-up-candidate", "faster"
    candidate["latency_median_s"] = fp32["latency_median_s"] / 3
    windowed = fp32["latency_median_s"] / 1.5  # its fastest window: the first was a slow spell
    frame.loc[frame["case"] == fp32["case"], "latency_best_window_s"] = windowed
    out = with_baseline_ratios(pd.concat([frame, candidate.to_frame().T], ignore_index=True)).set_index("case")
    assert out.loc["made-up-candidate", "speedup"] == pytest.approx(2.0)
    assert out.loc["made-up-candidate", "baseline_latency_s"] == pytest.approx(windowed)
    assert out.loc[fp32["case"], "speedup"] == pytest.approx(
        1.0
    )  # the baseline's own row: its windows over its windows
    # the candidate's own windows: its pytest-benchmark window was slow too, the later ones tell its latency
    candidate["latency_best_window_s"] = candidate["latency_median_s"] / 1.2
    both = with_baseline_ratios(pd.concat([frame, candidate.to_frame().T], ignore_index=True)).set_index("case")
    assert both.loc["made-up-candidate", "speedup"] == pytest.approx(2.0 * 1.2)
    # a baseline without windows (an older run's): its median, as before
    plain = with_baseline_ratios(frame.drop(columns="latency_best_window_s")).set_index("case")
    assert plain.loc[fp32["case"], "baseline_latency_s"] == pytest.approx(fp32["latency_median_s"])


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "no such results file"),
        ("", "empty"),
        ('{"benchmarks": [{"name": ', "not valid JSON"),
        ("[1, 2, 3]", "not a pytest-benchmark JSON file"),
        ('{"benchmarks": []}', "holds no case"),
    ],
    ids=["missing", "empty", "corrupt", "not-pytest-benchmark", "no-case"],
)
def test_bad_results_files_are_named_with_the_problem(tmp_path: Path, content, problem: str, capsys) -> None:
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ResultsFileError, match=problem) as caught:
        load_run(path)
    assert str(path) in str(caught.value)
    assert report_main([str(path), "--out", str(tmp_path / "out")]) == 2
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_report_writes_every_output_and_explains_what_did_not_run(sample: pd.DataFrame, tmp_path: Path) -> None:
    paths = write_report(sample, tmp_path)
    names = {p.name for p in paths.values()}
    assert {"results.csv", "results.parquet", "summary.md", "index.html", "recommendations.csv"} <= names
    figure = paths["pareto-latency-digits-mlp-1.png"]
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = paths["md"].read_text()
    assert "### digits-mlp" in summary and "boom" in summary and "no CUDA GPU" in summary
    assert f"]({figure.name})" in summary  # Markdown links the figure file beside it
    html = paths["html"].read_text()
    assert "data:image/png;base64," in html and "boom" in html
    assert len(pd.read_csv(paths["csv"])) == len(sample) == len(pd.read_parquet(paths["parquet"]))


def test_figures_drawn_in_two_processes_are_the_figures_drawn_in_one(sample: pd.DataFrame, tmp_path: Path) -> None:
    written = {}
    for workers in (1, 2):
        paths = write_report(sample, tmp_path / str(workers), workers=workers)
        written[workers] = {path.name: path.read_bytes() for path in paths.values()}
    assert any(name.endswith(".png") for name in written[2])
    assert written[2] == written[1]  # every file, figures included, byte for byte, in the same order of sections


def _no_figure() -> list:
    raise ValueError("this figure cannot be drawn")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_figure_that_fails_in_a_worker_fails_the_report_as_it_would_here(workers: int) -> None:
    with report_module._FigureJobs({"broken": (_no_figure, ())}, workers) as jobs:
        with pytest.raises(ValueError, match="this figure cannot be drawn"):
            jobs.sections()


def _dies_in_a_worker() -> list:
    import multiprocessing
    import os

    if multiprocessing.parent_process() is not None:  # a pool's worker, killed as the out-of-memory killer would
        os._exit(1)
    return ["drawn here"]


def test_a_killed_worker_leaves_its_figures_to_this_process() -> None:
    with report_module._FigureJobs({"killed": (_dies_in_a_worker, ()), "sum": (sum, ([1, 2],))}, 2) as jobs:
        assert jobs.sections() == {"killed": ["drawn here"], "sum": 3}


def test_where_no_process_can_start_the_figures_are_drawn_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args, **kwargs):
        raise PermissionError("no semaphores here")

    monkeypatch.setattr(report_module, "ProcessPoolExecutor", no_pool)
    with report_module._FigureJobs({"sum": (sum, ([1, 2],))}, 2) as jobs:
        assert jobs.pool is None and jobs.sections() == {"sum": 3}


def test_the_command_draws_on_up_to_two_cores_and_the_function_on_one(
    sample: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for cores, workers in (({0}, 1), ({0, 1}, 2), (set(range(8)), 2)):
        monkeypatch.setattr(report_module.os, "sched_getaffinity", lambda pid, c=cores: c, raising=False)
        assert report_module.figure_workers() == workers
    monkeypatch.setattr(report_module, "ProcessPoolExecutor", None)  # a pool would fail: write_report uses none
    assert write_report(sample, tmp_path)["html"].exists()


def test_simulated_devices_are_marked(sample: pd.DataFrame) -> None:
    simulated = sample[sample["device"] == "cpu"].assign(device="sim-demo", simulated=True)
    simulated["case"] = simulated["case"] + "-sim"
    table = summary_table(with_baseline_ratios(pd.concat([sample, simulated])), "digits-mlp")
    assert f"sim-demo {SIMULATED_MARK}" in table.columns and "cpu" in table.columns


def test_reports_never_import_torch() -> None:
    code = "import sys, reports.__main__, reports.render.report, reports.load.run; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_workloads_run_on_a_real_device_come_first_whatever_order_the_cases_ran_in(tmp_path: Path) -> None:
    import copy

    raw = json.loads(SAMPLE.read_text())
    simulated_only = copy.deepcopy(raw["benchmarks"][0])  # a standard model, priced first (as conftest.py runs them)
    simulated_only["name"] = "test_inference[sim-a100-resnet-50-fp32-1]"
    simulated_only["params"] = {**(simulated_only.get("params") or {}), "device": "sim-a100", "workload": "resnet-50"}
    simulated_only["extra_info"].update(
        device="sim-a100", workload="resnet-50", simulated=True, simulated_latency_s=1e-3
    )
    raw["benchmarks"].insert(0, simulated_only)
    raw["machine_info"]["accelbench"]["devices"]["sim-a100"] = {"simulated": True}  # as a run records every device
    path = tmp_path / "run.json"
    path.write_text(json.dumps(raw))
    frame = load_run(path)
    assert raw["benchmarks"][0]["extra_info"]["workload"] == "resnet-50"  # it ran first
    assert list(frame["workload"].dropna().unique()) == ["digits-mlp", "resnet-50"]  # the measured one leads
    assert len(frame) == len(load_run(SAMPLE)) + 1
