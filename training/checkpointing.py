"""Activation checkpointing: `torch.utils.checkpoint` (non-reentrant) around the body of a model."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


class Checkpointed(nn.Module):
    """Keeps only segment boundaries for backward and recomputes the rest during backward.

    An `nn.Sequential` is split into its body (every module but the last) and its head (the last module, usually
    the classifier): the body runs as `segments` checkpointed runs of modules, the head normally. Any other model
    is checkpointed whole. One segment saves the most and recomputes the whole body once more in backward.
    Caveat (PyTorch's own): a BatchNorm in the body updates its running statistics twice per step.
    """

    def __init__(self, inner: nn.Module, segments: int = 1) -> None:
        super().__init__()
        if not isinstance(segments, int) or segments < 1:
            raise ValueError(f"checkpointing needs a whole number of segments >= 1; got {segments!r}")
        self.inner = inner
        self.segments = segments

    def _runs(self) -> list[nn.Module] | None:
        """The checkpointed runs of a Sequential's body; None for a model checkpointed whole."""
        if not isinstance(self.inner, nn.Sequential) or len(self.inner) < 2:
            return None
        body = list(self.inner)[:-1]
        size = -(-len(body) // self.segments)  # ceil: at most `segments` runs
        return [nn.Sequential(*body[i : i + size]) for i in range(0, len(body), size)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():  # nothing is kept for backward, so nothing to checkpoint
            return self.inner(x)
        runs = self._runs()
        if runs is None:
            return checkpoint(self.inner, x, use_reentrant=False)
        for run in runs:
            x = checkpoint(run, x, use_reentrant=False)
        return self.inner[-1](x)

    def recomputed(self) -> nn.Module:
        """The modules run a second time during backward (for the cost model): the body, or the whole model."""
        runs = self._runs()
        return self.inner if runs is None else nn.Sequential(*runs)
