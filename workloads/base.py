"""The Workload protocol: a model factory, its data and its quality metric."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import nn


@dataclass(frozen=True)
class Split:
    """Inputs `x` (float32) and integer class labels `y` of one split."""

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
    """

    name: str
    metric: str  # what score() means, e.g. "top-1 accuracy on the test split"

    def data(self) -> Dataset: ...

    def model(self, cache_dir: Path) -> nn.Module: ...

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> float: ...


def top1_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max class is the label."""
    return (logits.float().argmax(dim=1) == labels.to(logits.device)).float().mean().item()
