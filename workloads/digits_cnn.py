"""digits-cnn: a small LeNet-style CNN with BatchNorm on the 8x8 images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from workloads.classifier import DigitsClassifier, conv_bn_relu, pooled_head


@dataclass(frozen=True)
class DigitsCNN(DigitsClassifier):
    """Two 3x3 conv+BatchNorm+ReLU layers, a 2x2 max-pool, then two Linear layers. About 40k parameters."""

    channels: tuple[int, int] = (16, 32)
    hidden: int = 64

    name: ClassVar[str] = "digits-cnn"
    compute_in: ClassVar[str] = "conv"  # 608k of its 675k FLOPs per image are the two convolutions
    # at batch 1 in the full tier only, as digits-mlp: about 25 s of a first `make bench`, which then fits in three
    # minutes with a noisy neighbour too (issue 18; docs/techniques.md)
    default_batch_sizes: ClassVar[tuple[int, ...]] = (64,)

    def build(self) -> nn.Module:
        c1, c2 = self.channels
        return nn.Sequential(
            *conv_bn_relu(1, c1, 3, padding=1),  # 8x8
            *conv_bn_relu(c1, c2, 3, padding=1),
            *pooled_head(c2, self.hidden),
        )
