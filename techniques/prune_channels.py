"""prune-channels-N: structured channel pruning with Torch-Pruning; the model is physically smaller."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from techniques.base import Context, annotate
from techniques.finetune import Pruning, fine_tune


def shrink_channels(model: nn.Module, example: torch.Tensor, ratio: float, importance: str = "l1") -> nn.Module:
    """Removes `fraction` of the channels of every layer but the classifier (the last Linear: its outputs are the
    classes), in place, with Torch-Pruning's dependency graph keeping shapes consistent. `importance` ranks them:
    "l1" (group L1 norm) or "random". A missing package or an unsupported architecture is a NotImplementedError."""
    try:
        import torch_pruning as tp
    except ImportError as exc:
        raise NotImplementedError(f"needs the torch-pruning package ({exc})") from None
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:  # an exported program's GraphModule holds its weights as plain tensors, not layers
        raise NotImplementedError("no nn.Linear classifier layer to keep: channel pruning needs the model's layers")
    classifier = linears[-1]
    rank = tp.importance.GroupMagnitudeImportance(p=1) if importance == "l1" else tp.importance.RandomImportance()
    try:
        tp.pruner.MetaPruner(model, example, importance=rank, pruning_ratio=ratio, ignored_layers=[classifier]).step()
    except Exception as exc:  # its dependency graph does not cover every layer type (LSTMs, for one)
        raise NotImplementedError(f"Torch-Pruning cannot prune this architecture ({type(exc).__name__}: {exc})")
    return model


@dataclass(frozen=True)
class ChannelPruning(Pruning):
    """Removes `fraction` of the channels (conv filters, hidden units) of every layer but the classifier, ranked by
    their group's L1 norm, with Torch-Pruning's dependency graph keeping shapes consistent (a conv's BatchNorm and
    the next layer's inputs shrink with it); then fine-tunes. Fewer FLOPs on any hardware."""

    prefix: ClassVar[str] = "prune-channels"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        model = copy.deepcopy(model).to(context.device).eval()
        shrink_channels(model, context.calibration.x[:1].to(context.device), self.fraction)
        model, seconds = fine_tune(model, context, self.finetune)
        return annotate(model, finetune_s=seconds)
