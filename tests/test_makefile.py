"""The Makefile's set-up stamp: a different TORCH_SPEC or EXTRAS installs again (a GPU user's first command); the
test tiers CI runs; `make smoke`'s workers, which take whole workloads."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def dry_run(*assignments: str) -> list[str]:
    """The commands `make setup` would run with these variables (a dry run: nothing is installed)."""
    out = subprocess.run(
        ["make", "-n", "-B", "setup", "VENV=/nonexistent-venv", *assignments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def stamp(*assignments: str) -> str:
    """The stamp file `make setup` would create with these variables."""
    (line,) = [line for line in dry_run(*assignments) if line.startswith("touch ")]
    return line.removeprefix("touch ")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_stamp_names_the_torch_spec_and_the_extras() -> None:
    default = stamp()
    gpu = stamp("TORCH_SPEC=torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128")
    models = stamp("EXTRAS=dev,models")
    assert len({default, gpu, models}) == 3
    assert stamp() == default  # the same settings find the same stamp: nothing is installed twice


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    "assignments, env, checked",
    [((), {}, False), (("PRICES=p.toml",), {}, True), ((), {"ACCELBENCH_PRICES": "p.toml"}, True)],
    ids=["no-price-file", "PRICES", "ACCELBENCH_PRICES"],
)
def test_make_bench_checks_a_price_file_before_the_run_and_only_when_there_is_one(assignments, env, checked) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("ACCELBENCH_PRICES", "PRICES")} | env
    out = subprocess.run(
        ["make", "-n", "bench", "RUN=dry", *assignments], cwd=ROOT, capture_output=True, text=True, env=environment
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    run = next(i for i, line in enumerate(lines) if "accelbench.supervise" in line)
    check = [i for i, line in enumerate(lines) if "--check-prices" in line]
    assert (check != [] and check[0] < run) is checked and (check == []) is not checked


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_gpu_extra_replaces_the_cpu_onnxruntime_after_installing_the_project() -> None:
    commands = dry_run("EXTRAS=dev,gpu")
    project = next(i for i, c in enumerate(commands) if "install --quiet --no-compile -e '.[dev,gpu]'" in c)
    (swap,) = [c for c in commands if "uninstall" in c]
    assert commands.index(swap) > project  # after the project's own install, which brings the CPU build
    assert "uninstall --quiet -y onnxruntime &&" in swap and swap.endswith(
        "--force-reinstall --no-deps onnxruntime-gpu"
    )
    assert not any("uninstall" in c for c in dry_run("EXTRAS=dev,models"))  # only where asked for


def make_test_command(*assignments: str) -> str:
    """The pytest command `make test` would run with these variables."""
    command = ["make", "-n", "--no-print-directory", "test", *assignments]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    (line,) = [line for line in out.stdout.splitlines() if " -m pytest" in line]  # (under make, others print too)
    return line


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_runs_two_xdist_workers_unless_told_otherwise() -> None:
    assert " -m pytest -n 2" in make_test_command()
    assert " -n 4 " in make_test_command("TEST_WORKERS=4", "ARGS=-q") + " "
    assert " -n " not in make_test_command("TEST_WORKERS=0")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_leaves_the_slow_tier_out_and_ci_runs_both_tiers() -> None:
    assert '-m "not slow"' in make_test_command()
    assert " -m slow" in make_test_command("TEST_TIER=slow") and "not slow" not in make_test_command("TEST_TIER=slow")
    assert "slow" not in make_test_command("TEST_TIER=all")
    wrong = subprocess.run(
        ["make", "-n", "test", "TEST_TIER=fast"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert wrong.returncode != 0 and "TEST_TIER is quick, slow or all" in wrong.stderr
    ci = (ROOT / ".ci" / "run").read_text()
    assert "for tier in quick slow" in ci and "make test TEST_TIER=$tier" in ci


@functools.cache
def _root_conftest() -> types.ModuleType:
    """The project's conftest.py as a module of its own (pytest has it loaded under a name of its choosing)."""
    spec = importlib.util.spec_from_file_location("accelbench_root_conftest", ROOT / "conftest.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # its dataclasses look themselves up
    spec.loader.exec_module(module)
    return module


def test_a_benchmark_case_id_names_its_workload_the_longest_name_winning() -> None:
    workload_of = _root_conftest().workload_of
    assert workload_of("benchmarks/test_inference.py::test_inference[cpu-digits-mlp-fp32-1]") == "digits-mlp"
    assert workload_of("benchmarks/test_training.py::test_training[sim-a100-digits-cnn-train-compile-64]") == (
        "digits-cnn"
    )
    standard = "benchmarks/test_standard.py::test_inference[sim-t4-llama-7b-decode-int8-weight-only-1]"
    assert workload_of(standard) == "llama-7b-decode"
    assert workload_of("tests/test_registry.py::test_bad_names_are_refused[Bad]") is None


@pytest.mark.parametrize(
    "timed, untimed, verbose, disabled, options, quiet",
    [
        (301, 0, False, False, {}, True),  # the default matrix: 1,809 cases, their table 5.2 s
        (300, 50, False, False, {}, False),  # a selection: its table as ever (untimed tests do not count)
        (301, 0, True, False, {}, False),  # --benchmark-verbose shows it
        (301, 0, False, True, {}, False),  # --benchmark-disable has no table to leave out
        (301, 0, False, False, {"benchmark_json": None}, False),  # no results file holds the cases
        (301, 0, False, False, {"benchmark_compare": "0001"}, False),  # the comparison is shown in the terminal
        (301, 0, False, False, {"benchmark_cprofile": "tottime"}, False),  # so is the profile
    ],
)
def test_the_benchmark_table_is_left_out_of_the_terminal_past_300_benchmark_cases(
    timed: int, untimed: int, verbose: bool, disabled: bool, options: dict, quiet: bool
) -> None:
    conftest = _root_conftest()
    bench = types.SimpleNamespace(verbose=verbose, disabled=disabled, quiet=False)
    given = {"benchmark_json": "run.json", **options}
    config = types.SimpleNamespace(
        _benchmarksession=bench, stash=pytest.Stash(), getoption=lambda name, default=None: given.get(name, default)
    )
    items = [types.SimpleNamespace(fixturenames=("benchmark", "case"))] * timed
    items += [types.SimpleNamespace(fixturenames=("tmp_path",))] * untimed
    conftest.quiet_table(config, items)
    assert bench.quiet is quiet and (conftest.TABLE_LEFT_OUT in config.stash) is quiet
    assert conftest.TABLE_MAX == 300


def test_make_smoke_workers_take_whole_workloads() -> None:
    pytest.importorskip("xdist")
    make_scheduler = _root_conftest().pytest_xdist_make_scheduler
    options = {"dist": "loadscope", "tx": ["2*popen"]}
    config = types.SimpleNamespace(getvalue=options.get, option=types.SimpleNamespace(loadscopereorder=True))
    scheduler = make_scheduler(config, None)
    ids = [
        "benchmarks/test_inference.py::test_inference[cpu-digits-mlp-fp32-1]",
        "benchmarks/test_training.py::test_training[cpu-digits-mlp-train-compile-64]",
        "benchmarks/test_inference.py::test_inference[sim-a100-digits-cnn-fp32-64]",
    ]
    assert [scheduler._split_scope(i) for i in ids] == ["digits-mlp", "digits-mlp", "digits-cnn"]
    assert make_scheduler(types.SimpleNamespace(getvalue={"dist": "load"}.get), None) is None  # xdist's own
    assert "--dist loadscope" in (ROOT / "Makefile").read_text()
