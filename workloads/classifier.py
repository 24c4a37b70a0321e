"""Common shape of the digits classifiers: data, metric and cached training; subclasses give the architecture."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from accelbench.data import Dataset, top1_accuracy
from accelbench.train import TrainingRecipe, fit
from workloads.base import Workload
from workloads.cache import load_or_train, weights_key
from workloads.digits import SPLIT_SEED, digits_dataset


@dataclass(frozen=True)
class DigitsClassifier(Workload):
    """A classifier of the 8x8 digits; `build()` returns the untrained network for inputs (N, 1, 8, 8)."""

    recipe: TrainingRecipe = TrainingRecipe()
    name: ClassVar[str]
    metric: ClassVar[str] = "top-1 accuracy on the digits test split"

    def build(self) -> nn.Module:
        raise NotImplementedError

    def data(self) -> Dataset:
        return digits_dataset()

    def model(self, cache_dir: Path) -> nn.Module:
        path = Path(cache_dir) / f"{self.name}-{weights_key(self, SPLIT_SEED)}.pt"
        return load_or_train(self.build, lambda m: fit(m, self.data().train, self.recipe), path, self.recipe.seed)

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        return top1_accuracy(outputs, targets)


def conv_bn_relu(in_channels: int, out_channels: int, kernel: int, **conv: object) -> list[nn.Module]:
    """A convolution, its BatchNorm and a ReLU: the digits CNNs' building block."""
    return [nn.Conv2d(in_channels, out_channels, kernel, **conv), nn.BatchNorm2d(out_channels), nn.ReLU()]


def pooled_head(channels: int, hidden: int, classes: int = 10) -> list[nn.Module]:
    """2x2 max-pool of the 8x8 feature maps (to 4x4), then two Linear layers."""
    return [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(channels * 4 * 4, hidden), nn.ReLU(), nn.Linear(hidden, classes)]
