"""The benchmark matrix as pytest fixtures: device x workload x technique (or training technique), by registry name.

A device this machine lacks, or a technique a device cannot run, becomes pytest.skip(reason) in `case`,
never a pass with no data.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import accelbench.results as results
import devices
import techniques
import training
import workloads
from accelbench.machine import machine_facts
from devices import Device, DeviceUnavailable
from devices.simulated.device import runtime_of
from techniques import Context, Technique
from techniques.base import CHANGES
from techniques.compiled import WarmUp
from training import TrainContext, TrainingTechnique
from workloads import Split, Workload, WorkloadUnavailable
from workloads.base import COMPUTE_IN
from workloads.standard import MATRIX as standard_matrix
from workloads.standard import StandardWorkload
from workloads.user import UserModel, UserModelError, load

pytest_plugins = ["accelbench.plugin"]  # hooks and the `cache_dir` fixture
# the cases deselected (by -k, -m or below), and those of them test_standard prices instead
DESELECTED = pytest.StashKey[list]()
PRICED_ELSEWHERE = pytest.StashKey[set]()  # simulated x standard cases of test_inference: test_standard prices them
WARM_UP = pytest.StashKey[dict]()  # inductor's one-time set-up in a background process (pytest_collection_finish)
SIMULATED_ONLY = "test_standard.py"  # its cases capture on fake tensors and price them: no real device runs
WARM_UP_WAIT_S = 300  # the most the first real case waits for the warm-up process before it is stopped

# `make bench MODEL=package.module:factory` (or a .pt2 file): the user's own model is the matrix's one workload
USER_MODEL = os.environ.get("ACCELBENCH_MODEL") or None


@dataclass(frozen=True)
class Case:
    """One cell of the matrix, ready to run: the technique's model placed on the device."""

    device: Device
    workload: Workload
    technique: Technique
    model: nn.Module
    where: torch.device
    model_setup_s: float  # workload.model(): training on first use, else loading cached weights
    apply_s: float  # technique.apply(): quantization, fine-tuning... (compilation happens at the first call)


def params(registry) -> list:
    """Registry names as fixture params; a plug-in whose `tier` is "full" (minutes of compilation, large
    models) is marked `full`, which the default `make bench` deselects with `-m "not full"`."""
    return [pytest.param(p.name, marks=pytest.mark.full) if p.tier == "full" else p.name for p in registry]


@pytest.fixture(params=params(devices.REGISTRY))
def device(request: pytest.FixtureRequest) -> Device:
    return devices.REGISTRY.get(request.param)


def workload_params() -> list:
    """The registered workloads, or only the user's model when ACCELBENCH_MODEL names one (workloads/user.py)."""
    if USER_MODEL is None:
        return params(workloads.REGISTRY)
    return [UserModel(USER_MODEL).name]


@pytest.fixture(params=workload_params())
def workload(request: pytest.FixtureRequest) -> Workload:
    return workloads.REGISTRY.get(request.param)


@pytest.fixture(params=params(techniques.REGISTRY))
def technique(request: pytest.FixtureRequest) -> Technique:
    return techniques.REGISTRY.get(request.param)


@pytest.fixture(scope="session")
def host_figures() -> dict:
    """Figures measured on the host once per (host device, workload, technique, batch size) and shared by the
    simulated devices: quality, sizes, FLOPs and the captured operator graph."""
    return {}


@pytest.fixture(scope="session")
def applied() -> dict:
    """Technique results shared by the batch sizes of one device x workload x technique: fine-tuning and
    distillation run once, and a compiled model compiles each new batch shape at its own first call."""
    return {}


def pytest_configure(config: pytest.Config) -> None:
    """The user's model (ACCELBENCH_MODEL) is loaded before any case runs: a wrong path, a factory that raises or
    returns the wrong thing stops the run with what is expected, instead of failing every case alike."""
    if USER_MODEL is None:
        return
    user = UserModel(USER_MODEL)
    try:
        load(USER_MODEL)
    except UserModelError as exc:
        raise pytest.UsageError(f"MODEL: {exc}") from None
    if user.name in workloads.REGISTRY.names():
        raise pytest.UsageError(
            f"MODEL={USER_MODEL}: its name {user.name!r} is a registered workload's; rename the factory (or the file)"
        )
    workloads.REGISTRY.add(user)


@pytest.fixture
def case(device: Device, workload: Workload, technique: Technique, cache_dir: Path, applied: dict) -> Case:
    try:
        where = device.open()
    except DeviceUnavailable as exc:
        pytest.skip(f"device {device.name} unavailable: {exc}")
    outcome = applied_once(applied, technique, workload, where, cache_dir)
    if isinstance(outcome, WorkloadUnavailable):
        pytest.skip(f"workload {workload.name} unavailable: {outcome}")
    if isinstance(outcome, NotImplementedError):
        host = f" (its host, {where.type})" if device.simulated else ""
        pytest.skip(f"{technique.name} cannot run on {device.name}{host}: {outcome}")
    model, model_setup_s, apply_s = outcome
    if device.simulated and (runtime := runtime_of(model)) not in device.profile.runtimes:
        pytest.skip(
            f"{technique.name} needs the {runtime} runtime, which {device.name}'s toolchain cannot run (its profile's runtimes: "
            f"{', '.join(device.profile.runtimes)})"
        )
    return Case(device, workload, technique, model, where, model_setup_s, apply_s)


@pytest.fixture
def baseline_model(case: Case, applied: dict, cache_dir: Path) -> nn.Module | str:
    """The baseline (fp32) model of the case's device and workload, for paired rounds, from the same `applied`
    cache (so it is applied once); or why there is none: the case is the baseline, or simulated (its figures are
    deterministic), or the baseline itself could not run."""
    if case.device.simulated:
        return "simulated: the cost model is deterministic, nothing to pair"
    if case.technique.name == techniques.BASELINE:
        return "the baseline itself"
    baseline = techniques.REGISTRY.get(techniques.BASELINE)
    outcome = applied_once(applied, baseline, case.workload, case.where, cache_dir)
    return outcome[0] if isinstance(outcome, tuple) else f"{techniques.BASELINE} could not run here: {outcome}"


def applied_once(applied: dict, technique: Technique, workload: Workload, where: torch.device, cache_dir: Path):
    """`technique` applied to `workload`'s model on `where`, once per session: (model, set-up s, apply s), or the
    WorkloadUnavailable / NotImplementedError that says why it cannot run."""
    key = (str(where), workload.name, technique.name)  # simulated devices share the host's models
    if key not in applied:
        try:
            applied[key] = _apply(technique, workload, where, cache_dir)
        except (WorkloadUnavailable, NotImplementedError) as exc:
            applied[key] = exc
    return applied[key]


def _apply(technique: Technique, workload: Workload, where: torch.device, cache_dir: Path):
    """(model, model set-up seconds, apply seconds); raises NotImplementedError where the technique cannot run."""
    data = workload.data()
    context = Context(device=where, calibration=data.val, train=data.train, loss=workload.loss, cache_dir=cache_dir)
    start = time.perf_counter()
    base = workload.model(cache_dir).to(where)
    model_setup_s = time.perf_counter() - start
    model = technique.apply(base, context)
    return model, model_setup_s, time.perf_counter() - start - model_setup_s


@pytest.fixture(params=params(training.REGISTRY))
def training_technique(request: pytest.FixtureRequest) -> TrainingTechnique:
    return training.REGISTRY.get(request.param)


@dataclass(frozen=True)
class TrainingCase:
    """One cell of the training matrix: a recipe that can run on the device, and seeded untrained models."""

    device: Device
    workload: Workload
    technique: TrainingTechnique
    where: torch.device
    context: TrainContext
    # for a simulated device whose host cannot run `technique`: the recipe the host runs in its place, and how its
    # captured graph is re-typed into the technique's (TrainingTechnique.stand_in); None: the technique itself
    host_technique: TrainingTechnique | None = None
    retype: dict[str, str] | None = None

    def model(self, seed: int) -> nn.Module:
        """The workload's network, initialised from `seed`."""
        return workloads.untrained_model(self.workload, seed)


@pytest.fixture
def training_case(
    device: Device, workload: Workload, training_technique: TrainingTechnique, applied: dict
) -> TrainingCase:
    try:
        where = device.open()
    except DeviceUnavailable as exc:
        pytest.skip(f"device {device.name} unavailable: {exc}")
    if device.simulated and device.profile.inference_only:
        pytest.skip(f"{device.name} models an inference-only accelerator (inference_only in its profile): no training")
    outcome = prepared_here(applied, training_technique, workload, where)
    if isinstance(outcome, WorkloadUnavailable):
        pytest.skip(f"workload {workload.name} unavailable: {outcome}")
    if isinstance(outcome, NotImplementedError) and device.simulated:
        # the host cannot run the recipe, but the simulated device could: a stand-in the host can run, re-typed
        stand_in = getattr(training_technique, "stand_in", lambda: None)()
        context = prepared_here(applied, stand_in[0], workload, where) if stand_in is not None else None
        if isinstance(context, TrainContext):
            return TrainingCase(device, workload, training_technique, where, context, *stand_in)
    if isinstance(outcome, NotImplementedError):
        host = f" (its host, {where.type})" if device.simulated else ""
        pytest.skip(f"{training_technique.name} cannot run on {device.name}{host}: {outcome}")
    return TrainingCase(device, workload, training_technique, where, outcome)


def prepared_here(applied: dict, technique: TrainingTechnique, workload: Workload, where: torch.device):
    """The TrainContext the recipe runs with here, or why it cannot run; found out once per recipe, workload and
    device (simulated devices share their host's)."""
    key = ("training", str(where), workload.name, technique.name)
    if key not in applied:
        try:
            data = workload.data()
            context = TrainContext(where, workload.loss, Split(data.train.x[:2], data.train.y[:2]))
            technique.prepare(workloads.untrained_model(workload, 0), context)
            applied[key] = context
        except (WorkloadUnavailable, NotImplementedError) as exc:
            applied[key] = exc
    return applied[key]


@pytest.hookimpl(tryfirst=True)  # the `full` marks below are set before `-m` deselects by them
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # a technique that changes only Linear layers, on a workload whose compute is in convolutions, changes only its
    # classifier's head (digits-cnn: 10% of the FLOPs): in the full tier (Technique.changes, Workload.compute_in)
    inference = [item for item in items if item.path.name == "test_inference.py" and hasattr(item, "callspec")]
    some_default_batch_size(sorted({item.callspec.params.get("batch_size") for item in inference} - {None}))
    for item in inference:
        if in_the_full_tier_here(item.callspec):
            item.add_marker(pytest.mark.full)
    # Warnings are errors in the harness's own tests, but a library's new warning must not cost a user the
    # result of a benchmark case: there it is shown, not raised. The known ones stay filtered (later args win).
    known = [spec for spec in config.getini("filterwarnings") if spec.strip() != "error"]
    for item in items:
        if "benchmark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.filterwarnings("default", *known))
    # a standard model on a simulated device is priced by benchmarks/test_standard.py from a fake capture (same case
    # id), not from the host's real model: test_inference.py's copy of that case is left out
    simulated = {d.name for d in devices.REGISTRY if d.simulated}
    standard = {w.name for w in workloads.REGISTRY if isinstance(w, StandardWorkload)}
    priced_elsewhere = [
        item
        for item in items
        if item.path.name == "test_inference.py"
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("device") in simulated
        and item.callspec.params.get("workload") in standard
    ]
    if priced_elsewhere:
        config.stash[PRICED_ELSEWHERE] = {item.nodeid for item in priced_elsewhere}
        config.hook.pytest_deselected(items=priced_elsewhere)
        left_out = set(priced_elsewhere)
        items[:] = [item for item in items if item not in left_out]


# pytest-benchmark's terminal table of every case took 5.2 s of a default run (1,809 cases; 2026-12-04): past this many
# benchmark cases it is left out of the terminal (the results file and the report hold every case), as the summary says
TABLE_MAX = 300
TABLE_LEFT_OUT = pytest.StashKey[int]()


def pytest_collection_finish(session: pytest.Session) -> None:
    quiet_table(session.config, session.items)
    warm_up_beside_the_standard_models(session)


def quiet_table(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leaves pytest-benchmark's terminal table out past TABLE_MAX benchmark cases: not with --benchmark-verbose, nor
    where the terminal has more than the table to show (--benchmark-compare, --benchmark-cprofile) or no results file
    holds the cases (no --benchmark-json)."""
    bench = getattr(config, "_benchmarksession", None)
    timed = sum("benchmark" in getattr(item, "fixturenames", ()) for item in items)
    shown = ("benchmark_compare", "benchmark_cprofile", "benchmark_skip")
    kept = config.getoption("benchmark_json", None) is not None
    elsewhere = kept and not any(config.getoption(option, None) for option in shown)
    if bench is not None and not bench.verbose and not bench.disabled and elsewhere and timed > TABLE_MAX:
        bench.quiet = True
        config.stash[TABLE_LEFT_OUT] = timed


def warm_up_beside_the_standard_models(session: pytest.Session) -> None:
    """The standard models' cases on the simulated devices (test_standard.py: fake captures priced by the cost model,
    single-threaded Python, nothing run on a real device) go first, and beside them a background process does
    inductor's one-time set-up into its on-disk cache (techniques.compiled.WarmUp) on a core they leave idle: started
    by the first of them, waited for before the first case after them (pytest_runtest_protocol), so it never runs
    beside a real device's case. Their `capture_s` is timed beside it. What it did is recorded in the run's
    machine_info (accelbench.results.warm_up). Only where real cases follow them, and not in a pytest-xdist worker
    (`make smoke`) or a collect-only."""
    config, items = session.config, session.items
    if config.option.collectonly or hasattr(config, "workerinput"):
        return
    first = [item for item in items if item.path.name == SIMULATED_ONLY]
    rest = [item for item in items if item.path.name != SIMULATED_ONLY]
    real = {d.name for d in devices.REGISTRY if not d.simulated}
    if not first or not any(
        getattr(item, "callspec", None) and item.callspec.params.get("device") in real for item in rest
    ):
        return
    items[:] = first + rest
    config.stash[WARM_UP] = {}


@pytest.hookimpl(tryfirst=True, wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Starts the warm-up at the first standard model's case, and waits for it before the first case after them:
    outside that case's timeout (pytest-timeout's own wrapper) and before its journal entry."""
    warm_up = item.config.stash.get(WARM_UP, None)
    if warm_up is not None and item.path.name == SIMULATED_ONLY and "process" not in warm_up:
        warm_up["process"] = WarmUp.start()
    elif warm_up is not None and item.path.name != SIMULATED_ONLY and "process" in warm_up and "record" not in warm_up:
        seconds, waited_s, why = warm_up["process"].finish(WARM_UP_WAIT_S)
        warm_up["record"] = results.warm_up(seconds, waited_s, warm_up["process"].process.returncode, why)
    return (yield)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A run that ended before any case after the standard models' (interrupted) does not leave the warm-up process
    behind."""
    warm_up = session.config.stash.get(WARM_UP, {})
    if "process" in warm_up:
        warm_up["process"].stop()


def in_the_full_tier_here(spec) -> bool:
    """Whether a test_inference case (its pytest callspec) is in the full tier: its batch size is not one of its
    workload's default ones (Workload.default_batch_sizes), or its technique changes only layers its workload has
    little compute in."""
    params = spec.params if spec is not None else {}
    if params.get("workload") not in workloads.REGISTRY.names():
        return False
    workload = workloads.REGISTRY.get(params["workload"])
    batches = getattr(workload, "default_batch_sizes", None)
    if batches is not None and not (
        isinstance(batches, tuple)
        and batches
        and all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in batches)
    ):
        raise pytest.UsageError(
            f"workload {workload.name}: default_batch_sizes={batches!r}; valid: None (every batch size) or a "
            "non-empty tuple of positive ints, such as (64,)"
        )
    if batches is not None and params.get("batch_size") not in batches:
        return True
    if params.get("technique") not in techniques.REGISTRY.names():
        return False
    technique = techniques.REGISTRY.get(params["technique"])
    changes, compute_in = getattr(technique, "changes", "any"), getattr(workload, "compute_in", "any")
    if changes not in CHANGES:
        raise pytest.UsageError(
            f"technique {technique.name}: changes={changes!r}; valid: {', '.join(map(repr, CHANGES))}"
        )
    if compute_in not in COMPUTE_IN:
        raise pytest.UsageError(
            f"workload {workload.name}: compute_in={compute_in!r}; valid: {', '.join(map(repr, COMPUTE_IN))}"
        )
    return changes == "linear" and compute_in == "conv"


def some_default_batch_size(sizes: list[int]) -> None:
    """Refuses a workload whose `default_batch_sizes` holds none of the batch sizes test_inference.py runs (`sizes`):
    every case of it would be in the full tier, and a default run would leave it out without a word."""
    for workload in workloads.REGISTRY:
        batches = getattr(workload, "default_batch_sizes", None)
        if sizes and isinstance(batches, tuple) and batches and not set(batches) & set(sizes):
            raise pytest.UsageError(
                f"workload {workload.name}: default_batch_sizes={batches!r} holds none of the batch sizes the "
                f"inference benchmark runs ({', '.join(map(str, sizes))}), so no case of it would be in the default "
                "tier; valid: None (every batch size) or a tuple holding some of them, such as (64,)"
            )


def workload_of(nodeid: str) -> str | None:
    """The workload a benchmark case's id names (`...::test_inference[cpu-digits-mlp-fp32-1]` -> digits-mlp), the
    longest registered name that the id holds between dashes; None for an id that names none."""
    names = [w.name for w in workloads.REGISTRY] + list(standard_matrix)  # test_standard.py's models too
    names += [UserModel(USER_MODEL).name] if USER_MODEL is not None else []
    params = "-" + nodeid.partition("[")[2].rstrip("]") + "-"
    found = [name for name in names if f"-{name}-" in params]
    return max(found, key=len) if found else None


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which the `dev` extra installs
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`make smoke` (-n 2 --dist loadscope): a worker takes whole workloads, the largest first. The cases of a workload
    share its trained weights, applied techniques and captures in one process, whichever benchmark file they are in;
    whole files (loadfile) had left one worker with all of test_inference.py while the other idled. (pytest-xdist's
    own loadgroup cannot do it under pytest 9: it renames items through a node attribute pytest 9 no longer reads.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkload(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return workload_of(nodeid) or super()._split_scope(nodeid)

    return ByWorkload(config, log)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    machine_info["accelbench"] = machine_facts(devices.REGISTRY)
    # what was asked for: the gate tells a case that vanished from one that was not selected
    machine_info["accelbench"]["selection"] = results.selection(
        config.args, config.option.keyword, config.option.markexpr
    )
    warm_up = config.stash.get(WARM_UP, {}).get("record")
    if warm_up is not None:
        machine_info["accelbench"]["warm_up"] = warm_up


def pytest_deselected(items: list) -> None:
    if items:
        items[0].config.stash.setdefault(DESELECTED, []).extend(items)


def left_to_the_full_tier(config: pytest.Config) -> list:
    """The cases a `-k` selection matched that the tier's marker expression (`not full`) then left out: the user
    asked for them and would not otherwise learn why they did not run."""
    keyword, markers = config.option.keyword, config.option.markexpr or ""
    if not keyword or "not full" not in markers:
        return []
    try:  # pytest's own -k matcher (not public API): without it, no hint rather than a wrong one
        from _pytest.mark import KeywordMatcher
        from _pytest.mark.expression import Expression

        expression = Expression.compile(keyword)
    except Exception:
        return []
    elsewhere = config.stash.get(PRICED_ELSEWHERE, set())
    return [
        item
        for item in config.stash.get(DESELECTED, [])
        if item.get_closest_marker("full")
        and item.nodeid not in elsewhere
        and expression.evaluate(KeywordMatcher.from_item(item))
    ]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """A selection is told which of its cases the tier left out; an empty one, which names it can select from."""
    from accelbench.plugin import JOURNAL  # loaded by pytest_plugins, not before (its asserts are rewritten)

    full = left_to_the_full_tier(config)
    if full:
        names = ", ".join(sorted({item.name for item in full})[:3]) + (", ..." if len(full) > 3 else "")
        terminalreporter.write_line(
            f"accelbench: {len(full)} case(s) matching -k {config.option.keyword!r} are in the full tier and did not "
            f"run ({names}): add TIER=full (make bench TIER=full ARGS=...) to run them.",
            yellow=True,
            bold=True,
        )
    if TABLE_LEFT_OUT in config.stash and not config.option.collectonly:
        terminalreporter.write_line(
            f"accelbench: pytest-benchmark's table of the {config.stash[TABLE_LEFT_OUT]} benchmark cases is left out "
            f"here (more than {TABLE_MAX}; --benchmark-verbose shows it): the --benchmark-json file and the report "
            "built from it hold them."
        )
    why = (config.stash.get(WARM_UP, {}).get("record") or {}).get("why")
    if why:
        terminalreporter.write_line(
            f"accelbench: inductor's warm-up process did not do its work ({why}); the first compiled case paid "
            "inductor's one-time set-up itself (its first_call_s).",
            yellow=True,
        )
    journal = config.stash.get(JOURNAL, None)
    if exitstatus != pytest.ExitCode.NO_TESTS_COLLECTED or (journal is not None and journal.resume):
        return  # a resumed run with nothing left to run is done, not empty
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
