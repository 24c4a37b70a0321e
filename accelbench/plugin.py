"""pytest glue: machine facts, every case's outcome in the results JSON, and a clear word on an empty selection.

Loaded by the root conftest.py. pytest-benchmark writes only the cases that were timed; a case that errored or was
skipped would vanish from the results, so its outcome is recorded here and written beside the benchmarks under
`accelbench_outcomes` (reports/load.py turns them into rows).
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

OUTCOMES = pytest.StashKey[list]()
MESSAGE_LIMIT = 2000  # characters of an error kept in the results; the full traceback is in pytest's output


def default_cache_dir() -> Path:
    """Where trained weights are cached: $ACCELBENCH_CACHE, else $XDG_CACHE_HOME/accelbench, else ~/.cache."""
    if os.environ.get("ACCELBENCH_CACHE"):
        return Path(os.environ["ACCELBENCH_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "accelbench"


def accuracy_target(text: str) -> float:
    """An accuracy in (0, 1], for `--accelbench-target-accuracy`."""
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError(f"{text} is not a fraction in (0, 1], e.g. 0.95")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--accelbench-cache",
        type=Path,
        default=None,
        help="directory for trained weights (default: $ACCELBENCH_CACHE or ~/.cache/accelbench)",
    )
    parser.addoption(
        "--accelbench-target-accuracy",
        type=accuracy_target,
        default=0.95,
        help="test accuracy that benchmarks/test_time_to_accuracy.py trains to (default 0.95)",
    )


@pytest.fixture(scope="session")
def cache_dir(pytestconfig: pytest.Config) -> Path:
    """Directory of cached trained weights."""
    return pytestconfig.getoption("accelbench_cache") or default_cache_dir()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[OUTCOMES] = []


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    import devices  # imported here so that `make test` collection does not pay for torch twice

    facts = {}
    for device in devices.REGISTRY:
        found: dict = {"simulated": bool(device.simulated)}
        try:
            found.update(device.facts())
        except Exception as exc:  # a third-party device's facts must not lose the run's results
            found["facts_error"] = f"{type(exc).__name__}: {exc}"
        facts[device.name] = found
    machine_info["accelbench"] = {
        "python": platform.python_version(),
        "torch": _version("torch"),
        "torchao": _version("torchao"),
        "accelbench": _version("accelbench"),
        "devices": facts,
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if "benchmark" in getattr(item, "fixturenames", ()) and (report.failed or report.skipped):
        if report.skipped and isinstance(report.longrepr, tuple):
            message = report.longrepr[2].removeprefix("Skipped: ")
        elif call.excinfo is not None:
            message = call.excinfo.exconly()
        else:
            message = report.longreprtext
        callspec = getattr(item, "callspec", None)
        item.config.stash[OUTCOMES].append(
            {
                "name": item.name,
                "fullname": item.nodeid,
                "status": "skipped" if report.skipped else "error",
                "when": report.when,
                "message": message[:MESSAGE_LIMIT],
                "params": {k: v for k, v in (callspec.params.items() if callspec else ())},
            }
        )
    return report


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list, output_json: dict) -> None:
    output_json["accelbench_outcomes"] = config.stash[OUTCOMES]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """pytest-benchmark writes no JSON when no case was timed; errors and skips are results too, so write them.
    (pytest-benchmark's own sessionfinish is a wrapper that saves before this hook runs.)"""
    config = session.config
    bench = getattr(config, "_benchmarksession", None)
    path = config.getoption("benchmark_json", None)
    if bench is None or path is None or bench.benchmarks or not config.stash[OUTCOMES]:
        return
    output = config.hook.pytest_benchmark_generate_json(
        config=config, benchmarks=[], include_data=True, machine_info=bench.get_machine_info(), commit_info={}
    )
    config.hook.pytest_benchmark_update_json(config=config, benchmarks=[], output_json=output)
    bench.save_json(output)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if exitstatus != pytest.ExitCode.NO_TESTS_COLLECTED:
        return
    import devices
    import techniques
    import training
    import workloads

    selection = " ".join(
        f"{flag} {value!r}" for flag, value in (("-k", config.option.keyword), ("-m", config.option.markexpr)) if value
    )
    terminalreporter.write_line(
        f"accelbench: no case matched {selection or 'the selection'}. Case ids are "
        f"device-workload-technique-batch; devices: {', '.join(devices.REGISTRY.names())}; "
        f"workloads: {', '.join(workloads.REGISTRY.names())}; "
        f"techniques: {', '.join(techniques.REGISTRY.names())}; "
        f"training techniques (test_training, device-workload-technique-batch): {', '.join(training.REGISTRY.names())}.",
        red=True,
        bold=True,
    )
