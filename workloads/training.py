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

from workloads.base import Dataset


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


def train_classifier(model: nn.Module, data: Dataset, recipe: TrainingRecipe) -> nn.Module:
    """Trains `model` in place on `data.train` and returns it in eval mode."""
    torch.manual_seed(recipe.seed)
    order = torch.Generator().manual_seed(recipe.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    x, y = data.train.x, data.train.y
    model.train()
    for _ in range(recipe.epochs):
        for batch in torch.randperm(len(y), generator=order).split(recipe.batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model.eval()


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
