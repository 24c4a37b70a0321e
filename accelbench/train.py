"""The one training loop: an optimizer step (TrainStep) and `fit`, which workloads train their models with,
techniques fine-tune with, and training recipes (training/) configure and time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn

from accelbench.data import Split
from accelbench.precision import Autocast

Loss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (outputs, targets, inputs) -> loss


def cross_entropy(outputs: torch.Tensor, targets: torch.Tensor, inputs: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy on class labels: the default objective."""
    return nn.functional.cross_entropy(outputs, targets)


def on_outputs(loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Loss:
    """A `loss(outputs, targets)` as a Loss (which is also given the inputs)."""
    return lambda outputs, targets, inputs: loss(outputs, targets)


@dataclass(frozen=True)
class OptimizerFactory:
    """A `torch.optim` class with its options."""

    kind: type[torch.optim.Optimizer]
    options: dict[str, float] = field(default_factory=dict)

    def make(self, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        return self.kind(params, **self.options)


@dataclass(frozen=True)
class TrainingRecipe:
    """Supervised training with Adam and cross-entropy. Part of every cache key: a change retrains."""

    epochs: int = 40
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0


class ModelLoss(nn.Module):
    """`loss(model(x), y, x)` as one module, so that `torch.compile` sees forward and loss together (and compiles
    the backward of both). The model's outputs are cast to float32 before the loss, as autocast recipes need."""

    def __init__(self, forward_module: nn.Module, loss_fn: Loss) -> None:
        super().__init__()
        self.forward_module = forward_module
        self.loss_fn = loss_fn

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(self.forward_module(x).float(), y, x)


class TrainStep:
    """`step(x, y)`: forward and backward over `micro_batches` equal slices of the batch, each slice's mean loss
    divided by `micro_batches` so that the accumulated gradients are the whole batch's mean, then one optimizer
    update. Returns the batch's mean loss (a detached tensor: reading it would wait for the device).
    `loss_fn(outputs, targets, inputs)`: the objective (`on_outputs` adapts one that needs no inputs).

    `model` is what is trained (a `Checkpointed` wrapper under checkpointing); `forward_module` is what one forward
    runs (under `Autocast` for mixed precision), the graph a simulated device prices."""

    def __init__(
        self,
        model: nn.Module,
        optimizer_spec: OptimizerFactory,
        loss_fn: Loss,
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
                return float(self.loss_fn(self.model(x).float(), y, x))
        finally:
            self.model.train()


def fit(
    model: nn.Module,
    train: Split,
    recipe: TrainingRecipe,
    loss_fn: Loss | None = None,
    after_step: Callable[[nn.Module], None] | None = None,
) -> nn.Module:
    """Trains `model` in place on `train` with Adam (`recipe`) in shuffled batches, one TrainStep per batch, and
    returns it in eval mode: how workloads train their fp32 models and techniques fine-tune. `loss_fn(outputs,
    targets, inputs)` defaults to cross-entropy; `after_step(model)` runs after every optimizer step (e.g. to
    re-apply a sparsity mask)."""
    torch.manual_seed(recipe.seed)
    order = torch.Generator().manual_seed(recipe.seed)
    where = next((p.device for p in model.parameters()), torch.device("cpu"))
    adam = OptimizerFactory(torch.optim.Adam, {"lr": recipe.lr, "weight_decay": recipe.weight_decay})
    step = TrainStep(model, adam, loss_fn or cross_entropy, where)
    x, y = train.x.to(where), train.y.to(where)
    model.train()
    for _ in range(recipe.epochs):
        for batch in torch.randperm(len(y), generator=order).split(recipe.batch_size):
            step(x[batch], y[batch])
            if after_step is not None:
                after_step(model)
    model.eval()  # not `return model.eval()`: an exported graph's eval() returns None
    return model
