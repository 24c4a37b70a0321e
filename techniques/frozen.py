"""torch.compile with inductor freezing, one static graph per input shape."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch._dynamo.utils import counters

from techniques.base import annotate


def int8_kernels_made() -> int:
    """oneDNN int8 conv/linear lowerings inductor has made so far in this process (replayed on a cache hit)."""
    return sum(v for k, v in counters["inductor"].items() if k.startswith(("qconv", "qlinear")) and "lower" in k)


class FrozenCompiled(nn.Module):
    """`torch.compile` with inductor freezing: weights become constants folded into the graph, which also lets the
    oneDNN int8 patterns of a PT2E-quantized graph match (without it such a graph runs slower than fp32).

    Each input shape gets its own compiled copy, compiled with freezing switched on only then: a global flag would
    leak into other cases, an exported graph's batch size is symbolic so one compiled graph would serve every batch
    size with generic code, and freezing with dynamic shapes fails in torch 2.13's qconv lowering.
    With `expect_int8`, records `int8_kernels` and `fast_path` (whether any int8 kernel was made) per compile."""

    def __init__(self, module: nn.Module, mode: str | None = None, expect_int8: bool = False) -> None:
        super().__init__()
        self.module = module
        self.mode = mode
        self.expect_int8 = expect_int8
        self.by_shape: dict[torch.Size, nn.Module] = {}

    @property
    def eager_module(self) -> nn.Module:
        """The uncompiled module (FLOPs are counted on it)."""
        return self.module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        compiled = self.by_shape.get(x.shape)
        if compiled is not None:
            return compiled(x)
        before = int8_kernels_made()
        # a copy is a new graph class with its own code object, so dynamo's cache of earlier shapes (and the
        # automatic-dynamic step it takes on a second shape) does not reach it
        compiled = torch.compile(copy.deepcopy(self.module), mode=self.mode, dynamic=False)
        with torch._inductor.config.patch(freezing=True):
            out = compiled(x)
        self.by_shape[x.shape] = compiled
        if self.expect_int8:
            made = int8_kernels_made() - before
            annotate(self, int8_kernels=made, fast_path=made > 0)
        return out
