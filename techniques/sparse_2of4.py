"""sparse-2of4: 2:4 semi-structured sparsity, fine-tuned; run with sparse kernels where the device has them."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import prune

from accelbench.train import TrainingRecipe
from techniques.base import Context, Technique, annotate
from techniques.finetune import DEFAULT_FINETUNE, fine_tune


def mask_2of4(weight: torch.Tensor) -> torch.Tensor | None:
    """Keeps the 2 largest |w| of every 4 consecutive input weights of each output; None if the input size
    (in_features, or in_channels * kernel area) is not a multiple of 4."""
    rows = weight.detach().reshape(weight.shape[0], -1)
    if rows.shape[1] % 4:
        return None
    groups = rows.abs().reshape(rows.shape[0], -1, 4)
    keep = groups.topk(2, dim=-1).indices
    mask = torch.zeros_like(groups).scatter_(-1, keep, 1.0)
    return mask.reshape(weight.shape)


@dataclass(frozen=True)
class SemiStructured24(Technique):
    """Applies a 2:4 mask to every Linear/Conv weight whose input size allows it, fine-tunes with the mask held
    (where the workload has training data), then makes it permanent. On CUDA (compute capability 8.0+) the Linear weights become
    `torch.sparse.to_sparse_semi_structured` tensors (sparse tensor cores); elsewhere the case is dense and says so."""

    finetune: TrainingRecipe = DEFAULT_FINETUNE
    name: str = "sparse-2of4"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        model = copy.deepcopy(model).to(context.device)
        masked = []
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)) and (mask := mask_2of4(module.weight)) is not None:
                prune.custom_from_mask(module, "weight", mask)
                masked.append(module)
        # a workload without training data (the standard models, scored by fidelity): the mask alone, not fine-tuned
        model, seconds = fine_tune(model, context, self.finetune) if len(context.train) else (model.eval(), 0.0)
        for module in masked:
            prune.remove(module, "weight")
        kernel = _to_semi_structured(model, context.device)
        return annotate(model, finetune_s=seconds, sparse_kernel=kernel, layers_2of4=len(masked))


def _to_semi_structured(model: nn.Module, device: torch.device) -> str:
    """Swaps eligible Linear weights for semi-structured sparse tensors; returns what happened, for the record."""
    if device.type != "cuda":
        return f"none on {device.type}: the 2:4 zeros are computed densely"
    from torch.sparse import to_sparse_semi_structured

    converted = 0
    for module in model.modules():
        # cuSPARSELt/CUTLASS kernels need both sides at least 64 and multiples of 64 (torch's documented minimum)
        if isinstance(module, nn.Linear) and all(d >= 64 and d % 64 == 0 for d in module.weight.shape):
            try:
                module.weight = nn.Parameter(to_sparse_semi_structured(module.weight.detach()), requires_grad=False)
                converted += 1
            except (RuntimeError, ValueError) as exc:  # e.g. compute capability below 8.0, fp32 not supported
                return f"none: to_sparse_semi_structured refused ({exc})"[:300]
    return f"semi-structured on {converted} Linear layer(s)" if converted else "none: no Linear layer of 64x64 or more"
