"""One optimizer step, as a recipe configured it: micro-batches, autocast, loss scaling, compilation."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from techniques.precision import Autocast
from training.optimizers import OptimizerSpec


class ModelLoss(nn.Module):
    """`loss(model(x), y)` as one module, so that `torch.compile` sees forward and loss together (and compiles the
    backward of both). The model's outputs are cast to float32 before the loss, as autocast recipes need."""

    def __init__(
        self, forward_module: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    ) -> None:
        super().__init__()
        self.forward_module = forward_module
        self.loss_fn = loss_fn

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(self.forward_module(x).float(), y)


class TrainStep:
    """`step(x, y)`: forward and backward over `micro_batches` equal slices of the batch, each slice's mean loss
    divided by `micro_batches` so that the accumulated gradients are the whole batch's mean, then one optimizer
    update. Returns the batch's mean loss (a detached tensor: reading it would wait for the device).

    `model` is what is trained (a `Checkpointed` wrapper under checkpointing); `forward_module` is what one forward
    runs (under `Autocast` for mixed precision), the graph a simulated device prices."""

    def __init__(
        self,
        model: nn.Module,
        optimizer_spec: OptimizerSpec,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        device: torch.device,
        micro_batches: int = 1,
        autocast_dtype: torch.dtype | None = None,
        scaler: torch.amp.GradScaler | None = None,
        compiled: bool = False,
    ) -> None:
        self.model = model
        self.optimizer_spec = optimizer_spec
        self.optimizer = optimizer_spec.make(model.parameters())
        self.loss_fn = loss_fn
        self.micro_batches = micro_batches
        self.scaler = scaler
        self.compiled = compiled
        self.forward_module = Autocast(model, device.type, autocast_dtype) if autocast_dtype is not None else model
        model_loss = ModelLoss(self.forward_module, loss_fn)
        # static shapes: a step always sees the same batch shape, and a dynamic graph would be slower
        self.model_loss = torch.compile(model_loss, dynamic=False) if compiled else model_loss

    def backward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Accumulates the gradients of the batch's mean loss into `.grad`; returns that loss, detached."""
        if len(x) % self.micro_batches:
            raise ValueError(
                f"a batch of {len(x)} rows cannot be cut into {self.micro_batches} equal micro-batches; "
                f"use a batch size divisible by {self.micro_batches}"
            )
        total = torch.zeros((), device=x.device)
        for xs, ys in zip(x.chunk(self.micro_batches), y.chunk(self.micro_batches)):
            loss = self.model_loss(xs, ys) / self.micro_batches
            (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
            total += loss.detach()
        return total

    def update(self) -> None:
        if self.scaler is not None:
            self.scaler.step(self.optimizer)  # unscales first; skips the step on inf/nan gradients
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = self.backward(x, y)
        self.update()
        return loss

    def recomputed_module(self) -> nn.Module | None:
        """What backward runs a second time (activation checkpointing), as a forward would run it; else None."""
        recomputed = getattr(self.model, "recomputed", None)
        if recomputed is None:
            return None
        part = recomputed()
        autocast = self.forward_module if isinstance(self.forward_module, Autocast) else None
        return Autocast(part, autocast.device_type, autocast.dtype) if autocast else part

    def evaluate_loss(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Mean loss of the current weights on (x, y), in eval mode, float32, no autocast."""
        self.model.eval()
        try:
            with torch.no_grad():
                return float(self.loss_fn(self.model(x).float(), y))
        finally:
            self.model.train()
