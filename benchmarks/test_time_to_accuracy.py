"""Time-to-accuracy (DAWNBench's metric): real device x digits workload x training technique.

Each round trains one seed from its own initial weights until the test accuracy first reaches the target
(`--accelbench-target-accuracy`, default 0.95) or the epoch budget runs out; the timed figure is that run's wall
time (training plus the evaluation after each epoch). Recorded: over the seeds, how many reached the target, the mean
and spread of seconds and epochs among those that did, and a verdict ("not reached within 60 epochs (best 93.1%)").
Simulated devices are left out: time-to-accuracy is measured, not modelled.
"""

from __future__ import annotations

import pytest

import devices
import training
from training.accuracy import summarize, train_to_accuracy

SEEDS = (0, 1, 2)
MAX_EPOCHS = 60  # enough for plain SGD on digits-mlp; a case that needs more says "not reached"
BATCH_SIZE = 64
REAL_DEVICES = [d.name for d in devices.REGISTRY if not d.simulated]
# digits-mlp in the default tier (seconds); the slower-training digits models join `make bench TIER=full`
WORKLOADS = [
    "digits-mlp",
    *(pytest.param(name, marks=pytest.mark.full) for name in ("digits-cnn", "digits-dscnn", "digits-lstm")),
]


# listed outermost first, so that ids read device-workload-technique as everywhere else
@pytest.mark.parametrize("training_technique", training.REGISTRY.names(), indirect=True)
@pytest.mark.parametrize("workload", WORKLOADS, indirect=True)
@pytest.mark.parametrize("device", REAL_DEVICES, indirect=True)
def test_time_to_accuracy(benchmark, training_case, pytestconfig: pytest.Config) -> None:
    case = training_case
    target = pytestconfig.getoption("accelbench_target_accuracy")
    data = case.workload.data()
    runs = []
    seeds = iter(SEEDS)

    def one_seed() -> None:
        seed = next(seeds)
        step = case.technique.prepare(case.model(seed), case.context)
        runs.append(train_to_accuracy(step, case.workload.score, data, BATCH_SIZE, target, MAX_EPOCHS, seed))

    benchmark.pedantic(one_seed, rounds=len(SEEDS), iterations=1)
    benchmark.extra_info.update(
        benchmark="time-to-accuracy",
        device=case.device.name,
        simulated=False,
        workload=case.workload.name,
        technique=case.technique.name,
        batch_size=BATCH_SIZE,
        metric=case.workload.metric,
        **summarize(runs),
    )
    for seed, run in zip(SEEDS, runs):
        benchmark.extra_info[f"seed_{seed}"] = run.summary
