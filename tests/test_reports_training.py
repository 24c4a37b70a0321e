"""The training part of the report, on a committed run: test_training (cpu and simulated devices) and
test_time_to_accuracy on digits-mlp, then `python -m parallel` (DDP 1 and 2 processes, the pipeline), per-round
samples trimmed, and one failed distributed run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reports.load.run import load_run
from reports.render.distributed_tables import ddp_table, pipeline_table, with_scaling_efficiency
from reports.render.report import write_report
from reports.render.training_tables import inference_rows, projection_table, time_to_accuracy_table, training_table
from reports.text import SIMULATED_MARK, format_seconds

DATA = Path(__file__).parent / "data"
RUN = DATA / "training-run.json"


@pytest.fixture(scope="module")
def run() -> pd.DataFrame:
    return load_run(RUN)


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads(RUN.read_text())


def test_every_row_says_which_benchmark_it_belongs_to(run: pd.DataFrame) -> None:
    assert set(run["benchmark"]) == {"training", "time-to-accuracy", "ddp", "pipeline"}
    skipped = run[run["status"] == "skipped"]  # outcome rows: told by their test's name
    assert set(skipped["benchmark"]) == {"training", "time-to-accuracy"}
    assert all(
        case.startswith(f"test_{kind.replace('-', '_')}[") for case, kind in zip(skipped["case"], skipped["benchmark"])
    )
    assert run.loc[run["case"] == "ddp[2proc]", "benchmark"].item() == "ddp"
    assert inference_rows(run).empty


def test_training_table_has_a_column_per_device_and_the_step_time(run: pd.DataFrame, raw: dict) -> None:
    table = training_table(run, "digits-mlp")
    assert {"cpu", f"sim-h100 {SIMULATED_MARK}"} <= set(table.columns)
    bench = next(b for b in raw["benchmarks"] if b["name"] == "test_training[cpu-digits-mlp-checkpointing-64]")
    cell = table.loc["checkpointing", "cpu"]
    assert cell.startswith(format_seconds(bench["stats"]["median"]))
    assert f"loss {bench['extra_info']['loss_after_steps']:.3f}" in cell
    assert table.loc["amp-fp16", "cpu"] == "skipped"


def test_projection_is_shown_for_8_and_64_devices_or_said_unavailable(run: pd.DataFrame, raw: dict) -> None:
    table = projection_table(run, "digits-mlp")
    extra = next(
        b["extra_info"]
        for b in raw["benchmarks"]
        if b["name"] == "test_training[sim-h100-digits-mlp-train-baseline-64]"
    )
    assert table.loc[f"sim-h100 {SIMULATED_MARK}", "8 devices"].startswith(f"{extra['projected_efficiency_8']:.0%}")
    assert "NVLink" in table.loc[f"sim-h100 {SIMULATED_MARK}", "link"]
    assert table.loc[f"sim-cpu {SIMULATED_MARK}", "64 devices"].startswith("unavailable")
    assert "cpu" not in table.index  # measured devices are not projected


def test_time_to_accuracy_shows_mean_and_spread_over_seeds(run: pd.DataFrame, raw: dict) -> None:
    table = time_to_accuracy_table(run)
    extra = next(b["extra_info"] for b in raw["benchmarks"] if b["name"] == "test_time_to_accuracy[cpu-digits-mlp-sgd]")
    cell = table.loc["sgd", "digits-mlp (cpu)"]
    assert cell.startswith(f"{format_seconds(extra['time_to_accuracy_s_mean'])} ± ")
    assert f"{extra['epochs_to_accuracy_mean']:.1f} ± {extra['epochs_to_accuracy_std']:.1f} epochs" in cell
    assert {"sgd", "adam", "rmsprop"} <= set(table.index)
    never = pd.DataFrame(
        [
            {
                **run[run["benchmark"] == "time-to-accuracy"].iloc[0].to_dict(),
                "reached_seeds": 0,
                "verdict": "not reached within 60 epochs (best 93.1%)",
                "technique": "slow",
            }
        ]
    )
    assert time_to_accuracy_table(never).loc["slow"].item() == "not reached within 60 epochs (best 93.1%)"


def test_scaling_efficiency_is_against_one_process_of_the_same_configuration(run: pd.DataFrame, raw: dict) -> None:
    rows = {b["name"]: b["extra_info"] for b in raw["benchmarks"] if b["extra_info"].get("benchmark") == "ddp"}
    one, two = rows["ddp[cpu-1t-digits-mlp-ddp-1proc]"], rows["ddp[cpu-1t-digits-mlp-ddp-2proc]"]
    efficiency = with_scaling_efficiency(run[(run["benchmark"] == "ddp") & (run["status"] == "ok")])
    found = efficiency.loc[(efficiency["technique"] == "ddp") & (efficiency["nproc"] == 2), "scaling_efficiency"].item()
    assert found == pytest.approx(two["samples_per_s"] / (2 * one["samples_per_s"]))
    table = ddp_table(run)
    assert table.loc["ddp (2 proc, cpu-1t, digits-mlp)", "scaling efficiency"] == f"{found:.0%}"
    assert table.loc["ddp (1 proc, cpu-1t, digits-mlp)", "scaling efficiency"] == "100%"


def test_pipeline_table_shows_ideal_and_measured_bubbles(run: pd.DataFrame) -> None:
    table = pipeline_table(run)
    assert table.loc["2 stages, 1 micro-batches (cpu-1t, digits-mlp)", "bubble ideal"] == "50%"
    assert table.loc["2 stages, 8 micro-batches (cpu-1t, digits-mlp)", "bubble ideal"] == "11%"


def test_the_report_has_the_training_sections_and_plot(run: pd.DataFrame, tmp_path: Path) -> None:
    paths = write_report(run, tmp_path)
    assert paths["training.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = paths["md"].read_text()
    for title in (
        "## Training step",
        "### digits-mlp",
        "Projected data-parallel scaling",
        "## Time to accuracy",
        "## Data-parallel training (DDP)",
        "## Pipeline-parallel training (GPipe)",
    ):
        assert title in summary, title
    assert "rank 1 (local rank 1) died with signal SIGKILL" in summary  # the failed run is listed
    assert 'alt="saved-for-backward memory versus training step time"' in paths["html"].read_text()
    assert "training.png" in summary


def test_training_rows_stay_out_of_the_inference_tables(run: pd.DataFrame, tmp_path: Path) -> None:
    both = pd.concat([load_run(DATA / "sample-run.json"), run], ignore_index=True)
    summary = write_report(both, tmp_path)["md"].read_text()
    inference = summary.split("## Summary per workload", 1)[1].split("\n## ", 1)[0]
    assert "fp32 (b=64)" in inference
    assert not any(t in inference for t in ("train-baseline", "grad-accum-4", "ddp"))
    assert "## Training step" in summary
