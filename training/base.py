"""The training-technique protocol: a recipe turns a model into a ready-to-run optimizer step (TrainStep)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol, runtime_checkable

import torch
from torch import nn

from accelbench.data import Split

if TYPE_CHECKING:
    from accelbench.train import TrainStep


@dataclass(frozen=True)
class TrainContext:
    """Where a recipe trains and on what objective.

    `loss(outputs, targets)` is the workload's (None: cross-entropy on class labels); `sample` holds a few training
    rows a recipe may run once to find out whether its kernels exist on this device.
    """

    device: torch.device
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    sample: Split | None = None


@runtime_checkable
class TrainingTechnique(Protocol):
    """A way to train: optimizer, micro-batching, precision, checkpointing, compilation.

    `prepare` returns a TrainStep over its own copy of `model` on `context.device` (the input is never mutated).
    A recipe that cannot run on a device raises `NotImplementedError` with the reason; the case is then skipped.
    Subclass it to inherit the optional members' defaults (`tier`, `optimizer`, `stand_in`).
    """

    name: str
    tier: str = "default"  # "full": heavy, only in `make bench TIER=full`
    optimizer: str | None = None  # the optimizer's name, recorded with each case (None: the recipe does not say)

    def prepare(self, model: nn.Module, context: TrainContext) -> TrainStep: ...

    def stand_in(self) -> tuple[TrainingTechnique, dict[str, str]] | None:
        """For a simulated device whose host cannot run this recipe: a recipe the host may run in its place, whose
        step has the same operators, and how to re-type the captured graph's dtypes into this recipe's (amp-fp16 on a
        CPU: amp-bf16, bf16 -> fp16). None: the case is skipped with the host's reason."""
        return None
