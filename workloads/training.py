"""Training the workloads' fp32 models on first use, with fixed seeds, and caching the weights on disk."""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from workloads.base import Split


class CacheRebuiltWarning(UserWarning):
    """A cached weights file could not be loaded and the model was retrained."""


@dataclass(frozen=True)
class TrainingRecipe:
    """Supervised training with Adam and cross-entropy. Part of every cache key: a change retrains."""

    epochs: int = 40
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0


def train_classifier(
    model: nn.Module,
    train: Split,
    recipe: TrainingRecipe,
    loss_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    after_step: Callable[[nn.Module], None] | None = None,
) -> nn.Module:
    """Trains `model` in place on `train` and returns it in eval mode. `loss_fn(logits, labels, inputs)` defaults
    to cross-entropy; `after_step(model)` runs after every optimizer step (e.g. to re-apply a sparsity mask)."""
    torch.manual_seed(recipe.seed)
    order = torch.Generator().manual_seed(recipe.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    loss_fn = loss_fn or (lambda logits, labels, inputs: nn.functional.cross_entropy(logits, labels))
    x, y = train.x.to(_device_of(model)), train.y.to(_device_of(model))
    model.train()
    for _ in range(recipe.epochs):
        for batch in torch.randperm(len(y), generator=order).split(recipe.batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x[batch]), y[batch], x[batch]).backward()
            optimizer.step()
            if after_step is not None:
                after_step(model)
    model.eval()  # not `return model.eval()`: an exported graph's eval() returns None
    return model


def _device_of(model: nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def weights_key(workload: object, *extra: object) -> str:
    """Hash of what determines the trained weights: the workload's fields and source (its architecture),
    this module's source (the training loop), `extra` (e.g. the data split seed) and the torch version."""
    parts = [
        repr(workload),
        inspect.getsource(type(workload)),
        inspect.getsource(sys.modules[__name__]),
        torch.__version__,
        *map(repr, extra),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def load_or_train(
    build: Callable[[], nn.Module], train: Callable[[nn.Module], nn.Module], path: Path, seed: int
) -> nn.Module:
    """Loads weights from `path` into `build()`; if they are missing or unreadable, trains a model initialised
    from `seed` (the caller's random state is left as it was) and saves its weights atomically."""
    if path.exists():
        model = build()
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return model.eval()
        except Exception as exc:  # truncated, corrupt or from another architecture: retrain rather than crash
            warnings.warn(
                f"cached weights {path} could not be loaded ({type(exc).__name__}: {exc}); retraining",
                CacheRebuiltWarning,
                stacklevel=2,
            )
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # initial weights too, not only the training order
        model = train(build())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(model.state_dict(), partial)
    os.replace(partial, path)  # atomic: a reader never sees half a file
    return model.eval()
