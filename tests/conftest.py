"""Tests of the harness itself: fast, untimed, no network. Trained weights go to one temporary cache per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = Path(__file__).resolve().parent / "data" / "plugin"
# under pytest-xdist (`make test` runs two workers), this worker's name. The variables xdist set are then removed: a
# subprocess a test starts (`python -m pytest benchmarks ...`) inherits the environment, and pytest-benchmark, seeing
# PYTEST_XDIST_WORKER, would disable its timing there as if that run were parallel too.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
for _name in [n for n in os.environ if n.startswith("PYTEST_XDIST_")]:
    del os.environ[_name]
if XDIST_WORKER:
    # One thread per worker, and inductor compiling in the worker's own process: the tests time nothing, and two
    # workers of two OpenMP threads each (plus inductor's pool of compile processes) on two cores spin against each
    # other. The subprocesses the tests start inherit the same (a `make bench` run's cpu device sets its own).
    import torch._inductor.config

    torch.set_num_threads(1)
    torch._inductor.config.compile_threads = 1
    os.environ.update(OMP_NUM_THREADS="1", TORCHINDUCTOR_COMPILE_THREADS="1")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Overrides the user cache: tests train their own models once per session. Under pytest-xdist (`make test`
    runs two workers) the workers share one: the first to need a model trains it, the other waits and loads it
    (accelbench/files.py `exclusive`)."""
    if XDIST_WORKER:
        shared = tmp_path_factory.getbasetemp().parent / "weights"  # the session's directory, above each worker's
        shared.mkdir(exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("weights")


@pytest.fixture(scope="session")
def run_python(cache_dir: Path):
    """Runs `python -m ...` from the project root in a subprocess, as `make` would, and returns the result."""

    def run(
        *args: str,
        plugin: bool = False,
        extra_path: Path | None = None,
        timeout: float = 600,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        env = {**os.environ, "ACCELBENCH_CACHE": str(cache_dir), **(env or {})}
        paths = [str(PLUGIN_DIR)] if plugin else []
        paths += [str(extra_path)] if extra_path else []
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [*paths, env.get("PYTHONPATH")]))
        return subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )

    return run
