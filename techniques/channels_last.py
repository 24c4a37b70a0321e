"""channels-last: NHWC memory format for convolutional models."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from techniques.base import Context, Technique


class ChannelsLastInputs(nn.Module):
    """Converts 4-d inputs to channels-last before `inner`; the conversion is part of the timed call."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.contiguous(memory_format=torch.channels_last))


@dataclass(frozen=True)
class ChannelsLast(Technique):
    """Weights and activations in channels-last (NHWC) layout, which oneDNN and cuDNN prefer for convolutions."""

    name: str = "channels-last"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
            raise NotImplementedError("no 2-d convolution: memory format does not apply")
        inner = copy.deepcopy(model).eval().to(context.device, memory_format=torch.channels_last)
        return ChannelsLastInputs(inner)
