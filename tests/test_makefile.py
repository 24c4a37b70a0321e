"""The Makefile's set-up stamp: a different TORCH_SPEC or EXTRAS installs again (a GPU user's first command)."""

from __future__ import annotations

import shutil
import subprocess
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
def test_the_gpu_extra_replaces_the_cpu_onnxruntime_after_installing_the_project() -> None:
    commands = dry_run("EXTRAS=dev,gpu")
    project = next(i for i, c in enumerate(commands) if "install --quiet -e '.[dev,gpu]'" in c)
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
