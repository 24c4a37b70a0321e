"""prune-l1-N: global unstructured L1 magnitude pruning (torch.nn.utils.prune), fine-tuned, masks removed."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

from torch import nn
from torch.nn.utils import prune

from techniques.base import Context, annotate
from techniques.finetune import Pruning, fine_tune


def prunable(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """The weights pruning acts on: every Linear and Conv weight."""
    return [(m, "weight") for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]


@dataclass(frozen=True)
class MagnitudePruning(Pruning):
    """Zeroes the smallest `fraction` of all Linear/Conv weights together, fine-tunes with the mask held, then makes
    the zeros permanent (`prune.remove`) so the model is plain again. Dense kernels still do the full work, so
    expect no speedup on dense hardware: that is worth measuring, not hiding."""

    prefix: ClassVar[str] = "prune-l1"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        model = copy.deepcopy(model).to(context.device)
        params = prunable(model)
        if not params:  # an exported program's GraphModule holds its weights as plain tensors, not layers
            raise NotImplementedError("no nn.Linear or nn.Conv layer to prune")
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=self.fraction)
        model, seconds = fine_tune(model, context, self.finetune)  # the mask's hook keeps zeros at zero
        for module, name in params:
            prune.remove(module, name)
        return annotate(model, finetune_s=seconds, sparse_kernel="none: dense kernels compute the zeros")
