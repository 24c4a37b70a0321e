"""depthwise-separable: each k x k convolution becomes a depthwise k x k plus a pointwise 1 x 1 (MobileNet)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from accelbench.train import TrainingRecipe
from techniques.base import Context, Technique, annotate
from techniques.finetune import fine_tune, seeded_here

# A stem conv on a 1- or 3-channel image stays ordinary, as in MobileNet: separated, its outputs would all be
# multiples of one or three filtered images (a rank-1 bottleneck that cost digits-dscnn 35 accuracy points).
MIN_IN_CHANNELS = 8


def separable(conv: nn.Conv2d) -> nn.Sequential:
    """Depthwise (one k x k filter per input channel) then pointwise (1 x 1 across channels): k*k*Cin + Cin*Cout
    multiply-adds per output pixel instead of k*k*Cin*Cout, about 8-9x fewer for 3x3 and wide layers."""
    depthwise = nn.Conv2d(
        conv.in_channels,
        conv.in_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        groups=conv.in_channels,
        bias=False,
    )
    pointwise = nn.Conv2d(conv.in_channels, conv.out_channels, 1, bias=conv.bias is not None)
    return nn.Sequential(depthwise, pointwise).to(conv.weight.device, conv.weight.dtype)


def _replace(module: nn.Module) -> int:
    count = 0
    for name, child in module.named_children():
        if (
            isinstance(child, nn.Conv2d)
            and child.groups == 1
            and max(child.kernel_size) > 1
            and (child.in_channels >= MIN_IN_CHANNELS)
        ):
            setattr(module, name, separable(child))
            count += 1
        else:
            count += _replace(child)
    return count


@dataclass(frozen=True)
class DepthwiseSeparable(Technique):
    """Swaps every ordinary k x k convolution for its depthwise-separable form and retrains the model (the new
    layers start from random weights). FLOPs fall several-fold, yet latency can rise in NCHW on CPUs, where
    depthwise kernels are memory-bound: the case records both, and that mismatch is the point."""

    recipe: TrainingRecipe = TrainingRecipe(epochs=15, lr=3e-3, weight_decay=1e-4, seed=0)
    name: str = "depthwise-separable"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        model = copy.deepcopy(model).to(context.device)
        with seeded_here(context.device):  # the new layers' weights seeded: the same model every run
            torch.manual_seed(self.recipe.seed)
            replaced = _replace(model)
        if replaced == 0:
            raise NotImplementedError(
                f"no ordinary k x k convolution with {MIN_IN_CHANNELS}+ input channels to separate"
            )
        model, seconds = fine_tune(model, context, self.recipe)
        return annotate(model, finetune_s=seconds, convs_separated=replaced)
