"""The Workload protocol: a model factory, its data and its quality metric."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import nn


class WorkloadUnavailable(RuntimeError):
    """This machine cannot run the workload (an optional package is missing); the message says how to get it."""


@dataclass(frozen=True)
class Split:
    """Inputs `x` (float32 features, or int64 token ids) and targets `y` of one split: integer class labels, or
    reference outputs for a workload scored by fidelity to its fp32 model."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    """Fixed train / val / test splits. `val` doubles as the calibration set for techniques that need one."""

    train: Split
    val: Split
    test: Split


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


def top1_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max class is the label."""
    return (logits.float().argmax(dim=1) == labels.to(logits.device)).float().mean().item()
