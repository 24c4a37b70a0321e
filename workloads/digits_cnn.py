"""digits-cnn: a small LeNet-style CNN with BatchNorm on the 8x8 images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from workloads.classifier import DigitsClassifier


@dataclass(frozen=True)
class DigitsCNN(DigitsClassifier):
    """Two 3x3 conv+BatchNorm+ReLU layers, a 2x2 max-pool, then two Linear layers. About 40k parameters."""

    channels: tuple[int, int] = (16, 32)
    hidden: int = 64

    name: ClassVar[str] = "digits-cnn"

    def build(self) -> nn.Module:
        c1, c2 = self.channels
        return nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),  # 8x8
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 4x4
            nn.Flatten(),
            nn.Linear(c2 * 4 * 4, self.hidden),
            nn.ReLU(),
            nn.Linear(self.hidden, 10),
        )
