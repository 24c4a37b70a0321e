"""Short fine-tuning after a technique changed the weights (pruning, binarisation, QAT, distillation)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, ClassVar

import torch
from torch import nn

from accelbench.train import TrainingRecipe, fit, on_outputs
from techniques.base import Context, Technique

# A few epochs at a tenth of the training rate: enough to recover on digits, seconds on 2 cores.
DEFAULT_FINETUNE = TrainingRecipe(epochs=8, lr=3e-4, weight_decay=0.0, seed=0)


def fine_tune(
    model: nn.Module,
    context: Context,
    recipe: TrainingRecipe = DEFAULT_FINETUNE,
    loss_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    after_step: Callable[[nn.Module], None] | None = None,
) -> tuple[nn.Module, float]:
    """Trains `model` in place (callers pass their own copy) on `context.train` and returns it in eval mode with
    the seconds spent. The loss is `loss_fn(outputs, targets, inputs)`, else the workload's `context.loss`, else
    cross-entropy. An `epochs=0` recipe is a no-op, so fine-tuning can be switched off per technique."""
    if recipe.epochs > 0 and len(context.train) == 0:
        raise NotImplementedError(
            "fine-tunes, and this workload has no training data (its quality is fidelity to fp32)"
        )
    start = time.perf_counter()
    if loss_fn is None and context.loss is not None:
        loss_fn = on_outputs(context.loss)
    if recipe.epochs > 0:
        fit(model, context.train, recipe, loss_fn=loss_fn, after_step=after_step)
    model.eval()  # not `return model.eval()`: an exported graph's eval() returns None
    return model, time.perf_counter() - start


@dataclass(frozen=True)
class Pruning(Technique):
    """What the pruning techniques share: `fraction` of the weights (or channels) removed, then a short fine-tune;
    named `<prefix>-<percent>` (prune-l1-50)."""

    fraction: float = 0.5
    finetune: TrainingRecipe = DEFAULT_FINETUNE
    prefix: ClassVar[str] = "prune"

    @property
    def name(self) -> str:
        return f"{self.prefix}-{round(self.fraction * 100)}"
