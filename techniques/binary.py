"""binary: binary weights with a per-output-channel scale (XNOR-Net's binary-weight network), fine-tuned."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from accelbench.train import TrainingRecipe
from techniques.base import Context, Technique, annotate
from techniques.finetune import fine_tune


class _SignWithScale(torch.autograd.Function):
    """Forward: exactly ±mean(|W|) per output channel. Backward: the straight-through estimator passes the
    gradient to the latent float weights unchanged, so fine-tuning can move them across zero."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor) -> torch.Tensor:
        scale = weight.abs().flatten(1).mean(dim=1).view(-1, *([1] * (weight.dim() - 1)))
        return torch.where(weight >= 0, scale, -scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


class Binarize(nn.Module):
    """W -> sign(W) * mean(|W|) per output channel (XNOR-Net's binary-weight network), as a parametrization."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return _SignWithScale.apply(weight)


@dataclass(frozen=True)
class BinaryWeights(Technique):
    """Every Linear/Conv weight but the first and last layers (kept in full precision, as the paper does) becomes
    ±scale. Accuracy is real; the arithmetic is still float here, since no device of the suite has 1-bit kernels."""

    finetune: TrainingRecipe = TrainingRecipe(epochs=10, lr=1e-3, weight_decay=0.0, seed=0)
    name: str = "binary"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        model = copy.deepcopy(model).to(context.device)
        layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        inner = layers[1:-1]
        if not inner:
            raise NotImplementedError("fewer than three weight layers: nothing between the first and last to binarize")
        for module in inner:
            parametrize.register_parametrization(module, "weight", Binarize())
        model, seconds = fine_tune(model, context, self.finetune)
        for module in inner:
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
        binary_params = sum(m.weight.numel() for m in inner)
        return annotate(
            model,
            finetune_s=seconds,
            binary_weight_fraction=binary_params / sum(p.numel() for p in model.parameters()),
            binary_kernel="none: ±scale weights are computed as float",
        )
