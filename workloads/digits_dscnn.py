"""digits-dscnn: a depthwise-separable CNN on the 8x8 images, to compare against digits-cnn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from workloads.classifier import DigitsClassifier


@dataclass(frozen=True)
class DigitsDSCNN(DigitsClassifier):
    """digits-cnn's shape with its second convolution depthwise-separable (MobileNet style): a standard 3x3 stem,
    a depthwise 3x3 and a pointwise 1x1, each with BatchNorm+ReLU, max-pool, then two Linear layers."""

    channels: tuple[int, int] = (16, 32)
    hidden: int = 64

    name: ClassVar[str] = "digits-dscnn"

    def build(self) -> nn.Module:
        c1, c2 = self.channels
        return nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.Conv2d(c1, c1, 3, padding=1, groups=c1, bias=False),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 1, bias=False),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c2 * 4 * 4, self.hidden),
            nn.ReLU(),
            nn.Linear(self.hidden, 10),
        )
