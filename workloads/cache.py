"""The workloads' trained fp32 weights, cached on disk: trained on first use (accelbench/train.py), with fixed seeds."""

from __future__ import annotations

import hashlib
import inspect
import io
import sys
import warnings
from pathlib import Path
from typing import Callable

import torch
from torch import nn

import accelbench.train
from accelbench.files import atomic_write, exclusive


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
    need the same file at once train it once (`accelbench.files.exclusive`)."""
    with exclusive(path):
        return _load_or_train(build, train, path, seed)


def _load_or_train(
    build: Callable[[], nn.Module], train: Callable[[nn.Module], nn.Module], path: Path, seed: int
) -> nn.Module:
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
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    try:
        atomic_write(path, buffer.getvalue())
    except OSError as exc:  # the model is good; only the cache is lost (the next run trains again)
        warnings.warn(
            f"trained weights could not be cached at {path} ({exc}); the model is used uncached",
            CacheRebuiltWarning,
            stacklevel=2,
        )
    return model.eval()
