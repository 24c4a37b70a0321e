"""The workloads' trained fp32 weights, cached on disk: trained on first use (accelbench/train.py), with fixed seeds."""

from __future__ import annotations

import hashlib
import inspect
import sys
from pathlib import Path
from typing import Callable

import torch
from torch import nn

import accelbench.train
from accelbench.kept import load_or_make


class CacheRebuiltWarning(UserWarning):
    """A cached weights file could not be loaded and the model was retrained."""


def weights_key(workload: object, *extra: object) -> str:
    """Hash of what determines the trained weights: the workload's fields and the source of its class's modules and
    its bases' (its architecture),
    this module's and the training loop's source, `extra` (e.g. the data split seed) and the torch version."""
    # the modules of the workload's class and its bases here: the layers may come from helpers beside them
    modules = {
        inspect.getmodule(klass) for klass in type(workload).__mro__ if klass.__module__.startswith("workloads.")
    }
    parts = [
        repr(workload),
        *sorted(inspect.getsource(module) for module in modules),
        inspect.getsource(sys.modules[__name__]),
        inspect.getsource(accelbench.train),
        torch.__version__,
        *map(repr, extra),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def load_or_train(
    build: Callable[[], nn.Module], train: Callable[[nn.Module], nn.Module], path: Path, seed: int
) -> nn.Module:
    """Loads weights from `path` into `build()`; if they are missing or unreadable, trains a model initialised
    from `seed` (the caller's random state is left as it was) and saves its weights atomically. Processes that
    need the same file at once train it once (`accelbench.kept.load_or_make`)."""

    def load(state: object) -> nn.Module:
        model = build()
        model.load_state_dict(state)
        return model.eval()

    def make() -> tuple[nn.Module, object]:
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # initial weights too, not only the training order
            model = train(build()).eval()
        return model, model.state_dict()

    return load_or_make(path, load, make, CacheRebuiltWarning, "trained weights")
