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
