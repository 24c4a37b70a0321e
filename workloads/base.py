"""The Workload protocol: a model factory, its data and its quality metric."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import torch
from torch import nn

from accelbench.data import Dataset
from accelbench.registry import Unavailable


class WorkloadUnavailable(Unavailable):
    """This machine cannot run the workload (an optional package is missing); the message says how to get it."""


COMPUTE_IN = ("any", "conv", "linear")  # the valid values of Workload.compute_in


@runtime_checkable
class Workload(Protocol):
    """A model to accelerate, the data it runs on, and how its quality is scored.

    `model(cache_dir)` returns the trained fp32 model in eval mode; it may train it on first use and cache the
    weights under `cache_dir`. `score(outputs, targets)` turns the model's outputs on the whole test split into
    one number where higher is better (its meaning is `metric`).

    Subclass it to inherit the optional members' defaults (`tier`, `compute_in`, `default_batch_sizes`, `loss`,
    `quality`, `build`). `data()` or
    `model()` raise `WorkloadUnavailable` when an optional package is missing.
    """

    name: str
    metric: str  # what score() means, e.g. "top-1 accuracy on the test split"
    tier: str = "default"  # "full": heavy, left out of the default `make bench` (run by `make bench TIER=full`)
    # where most of its FLOPs are: "any", "conv" or "linear" (a technique that changes only Linear layers runs on a
    # "conv" workload in the full tier only: Technique.changes)
    compute_in: str = "any"
    # the batch sizes of the inference benchmark it runs in the default tier (None: every one); the others join
    # `make bench TIER=full` (digits-mlp: 64 only, so that a first `make bench` fits in three minutes)
    default_batch_sizes: tuple[int, ...] | None = None
    # the objective techniques fine-tune with, `loss(outputs, targets)`; None: cross-entropy on class labels
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def data(self) -> Dataset: ...

    def model(self, cache_dir: Path) -> nn.Module: ...

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> float: ...

    def quality(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Further quality figures recorded beside the score (each declared in accelbench/results.py)."""
        return {}

    def build(self) -> nn.Module:
        """The untrained network (for the training benchmarks); raises NotImplementedError where there is none."""
        raise NotImplementedError(
            f"workload {self.name} has no build() giving an untrained model; training benchmarks need one "
            "(the digits workloads have it)"
        )


def untrained_model(workload: Workload, seed: int) -> nn.Module:
    """The workload's network with weights initialised from `seed` (the caller's random state is left as it was).
    Raises NotImplementedError for a workload with no untrained-model factory (`build()`)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return workload.build()
