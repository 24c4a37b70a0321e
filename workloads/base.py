"""The Workload protocol: a model factory, its data and its quality metric."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from accelbench.data import Dataset


class WorkloadUnavailable(RuntimeError):
    """This machine cannot run the workload (an optional package is missing); the message says how to get it."""


@runtime_checkable
class Workload(Protocol):
    """A model to accelerate, the data it runs on, and how its quality is scored.

    `model(cache_dir)` returns the trained fp32 model in eval mode; it may train it on first use and cache the
    weights under `cache_dir`. `score(outputs, targets)` turns the model's outputs on the whole test split into
    one number where higher is better (its meaning is `metric`).

    Optional: `profile = "full"` (heavy: left out of the default `make bench`); `quality(outputs, targets)`, a dict
    of further figures recorded beside the score; `loss(outputs, targets)`, the objective techniques fine-tune
    with when the targets are not class labels (default: cross-entropy). `data()` or `model()` raise
    `WorkloadUnavailable` when an optional package is missing.
    """

    name: str
    metric: str  # what score() means, e.g. "top-1 accuracy on the test split"

    def data(self) -> Dataset: ...

    def model(self, cache_dir: Path) -> nn.Module: ...

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> float: ...


def untrained_model(workload: Workload, seed: int) -> nn.Module:
    """The workload's network with weights initialised from `seed` (the caller's random state is left as it was).
    Raises NotImplementedError for a workload with no untrained-model factory (`build()`)."""
    build = getattr(workload, "build", None)
    if not callable(build):
        raise NotImplementedError(
            f"workload {workload.name} has no build() giving an untrained model; training benchmarks need one "
            "(the digits workloads have it)"
        )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build()
