"""A training recipe: a frozen set of choices (optimizer, micro-batches, checkpointing, precision, compile)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import torch
from torch import nn

from accelbench.train import TrainStep, cross_entropy, on_outputs
from training.base import TrainContext, TrainingTechnique
from training.checkpointing import Checkpointed
from training.optimizers import OPTIMIZERS, optimizer_spec

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Recipe(TrainingTechnique):
    """How to train. `name` is the registry name; the other fields, with defaults, are the baseline's: float32,
    SGD with momentum, one micro-batch, eager.

    - `micro_batches`: gradient accumulation: each step runs that many equal slices of the batch, each loss
      scaled by 1/micro_batches (with BatchNorm the statistics are per slice, so not the full batch's).
    - `checkpointing`: `torch.utils.checkpoint` (use_reentrant=False) over the first half of the model.
    - `amp`: "bf16" or "fp16" autocast with float32 weights; fp16 scales the loss with `torch.amp.GradScaler`
      and needs CUDA.
    - `compile`: `torch.compile` of forward and loss (AOTAutograd compiles their backward too).
    """

    name: str
    optimizer: str = "sgd-momentum"
    micro_batches: int = 1
    checkpointing: bool = False
    amp: str | None = None
    compile: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"recipe {self.name}: unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}"
            )
        if not isinstance(self.micro_batches, int) or self.micro_batches < 1:
            raise ValueError(
                f"recipe {self.name}: micro_batches must be a whole number >= 1; got {self.micro_batches!r}"
            )
        if self.amp is not None and self.amp not in AMP_DTYPES:
            raise ValueError(
                f"recipe {self.name}: unknown amp dtype {self.amp!r}; valid: None, {', '.join(AMP_DTYPES)}"
            )

    def prepare(self, model: nn.Module, context: TrainContext) -> TrainStep:
        device = context.device
        if self.amp == "fp16" and device.type != "cuda":
            raise NotImplementedError(
                f"amp-fp16 needs CUDA (fp16 training with torch.amp.GradScaler); {device.type} trains in reduced "
                "precision with amp-bf16"
            )
        if self.amp is not None and not torch.amp.is_autocast_available(device.type):
            raise NotImplementedError(f"torch.autocast does not support device type {device.type!r}")
        model = copy.deepcopy(model).to(device).train()
        if self.amp is not None:
            self._probe(model, context)
        trained = Checkpointed(model) if self.checkpointing else model
        return TrainStep(
            trained,
            optimizer_spec(self.optimizer),
            on_outputs(context.loss) if context.loss else cross_entropy,
            device,
            micro_batches=self.micro_batches,
            autocast_dtype=AMP_DTYPES[self.amp] if self.amp else None,
            scaler=torch.amp.GradScaler(device.type) if self.amp == "fp16" else None,
            compiled=self.compile,
        )

    def stand_in(self) -> tuple[Recipe, dict[str, str]] | None:
        """amp-fp16 where the host cannot train in fp16 (a CPU): the same step under bf16 autocast, whose captured
        graph differs only in the 16-bit type (same operators, same bytes), re-typed to fp16 for the device."""
        if self.amp != "fp16":
            return None
        return replace(self, name=f"{self.name}, as amp-bf16 on the host", amp="bf16"), {"bf16": "fp16"}

    def _probe(self, model: nn.Module, context: TrainContext) -> None:
        """A kernel missing for this dtype on this device (forward or backward) becomes the reason the case is
        skipped, rather than an error at its first timed step. Runs on a copy: the model is left untouched."""
        if context.sample is None:
            return
        probe = copy.deepcopy(model)
        x, y = context.sample.x.to(context.device), context.sample.y.to(context.device)
        try:
            with torch.autocast(context.device.type, AMP_DTYPES[self.amp]):
                outputs = probe(x)
            (context.loss or cross_entropy)(outputs.float(), y).backward()
        except RuntimeError as exc:
            raise NotImplementedError(f"autocast to {self.amp} has no kernel here: {str(exc).splitlines()[0]}") from exc
