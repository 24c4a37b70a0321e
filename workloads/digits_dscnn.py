"""digits-dscnn: a depthwise-separable CNN on the 8x8 images, to compare against digits-cnn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from workloads.classifier import conv_bn_relu, pooled_head
from workloads.digits_cnn import DigitsCNN


@dataclass(frozen=True)
class DigitsDSCNN(DigitsCNN):
    """digits-cnn's shape (and fields) with its second convolution depthwise-separable (MobileNet style): a standard
    3x3 stem, a depthwise 3x3 and a pointwise 1x1, each with BatchNorm+ReLU, max-pool, then two Linear layers."""

    name: ClassVar[str] = "digits-dscnn"
    # the full tier: the default matrix's convolutions are digits-cnn's (`make bench` stays within its 3 minutes)
    tier: ClassVar[str] = "full"

    def build(self) -> nn.Module:
        c1, c2 = self.channels
        return nn.Sequential(
            *conv_bn_relu(1, c1, 3, padding=1),
            *conv_bn_relu(c1, c1, 3, padding=1, groups=c1, bias=False),  # depthwise
            *conv_bn_relu(c1, c2, 1, bias=False),  # pointwise
            *pooled_head(c2, self.hidden),
        )
