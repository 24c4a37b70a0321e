"""digits-mlp: a multi-layer perceptron on the 64 pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from workloads.classifier import DigitsClassifier


@dataclass(frozen=True)
class DigitsMLP(DigitsClassifier):
    """Flatten, then Linear+ReLU layers of `hidden` widths, then 10 logits. About 50k parameters."""

    hidden: tuple[int, ...] = (256, 128)

    name: ClassVar[str] = "digits-mlp"
    compute_in: ClassVar[str] = "linear"
    # at batch 1 in the full tier only, as digits-cnn (a first `make bench` within three minutes, issue 18)
    default_batch_sizes: ClassVar[tuple[int, ...]] = (64,)

    def build(self) -> nn.Module:
        layers: list[nn.Module] = [nn.Flatten()]
        width = 64
        for size in self.hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 10))
        return nn.Sequential(*layers)
