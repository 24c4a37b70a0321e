"""Short fine-tuning after a technique changed the weights (pruning, binarisation, QAT, distillation)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import inspect
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

import torch
from torch import nn

import accelbench.train
from accelbench.kept import load_or_make
from accelbench.train import TrainingRecipe, fit, on_outputs
from techniques.base import Context, Technique

# A few epochs at a tenth of the training rate: enough to recover on digits, seconds on 2 cores.
DEFAULT_FINETUNE = TrainingRecipe(epochs=8, lr=3e-4, weight_decay=0.0, seed=0)


class FineTuneCacheWarning(UserWarning):
    """A kept fine-tuned model could not be read or written: it was trained again (or not kept)."""


def fine_tune(
    model: nn.Module,
    context: Context,
    recipe: TrainingRecipe = DEFAULT_FINETUNE,
    loss_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    after_step: Callable[[nn.Module], None] | None = None,
    loss_key: tuple = (),
) -> tuple[nn.Module, float]:
    """Trains `model` in place (callers pass their own copy) on `context.train` and returns it in eval mode with
    the seconds the training took. The loss is `loss_fn(outputs, targets, inputs)`, else the workload's
    `context.loss`, else cross-entropy. An `epochs=0` recipe is a no-op, so fine-tuning can be switched off per
    technique. The caller's random state is left as it was.

    With `context.cache_dir`, the trained weights are kept in its `finetuned/` folder, named by everything the
    training depends on (`finetune_key`): a later run loads them, and the seconds returned are those the training
    took when it ran. A `loss_fn` is named by its code, settings and `loss_key` (what else it reads: a teacher's
    weights; a None in it, something that could not be named, keeps nothing); an `after_step` hook is never kept
    (its effect is not named)."""
    if recipe.epochs > 0 and len(context.train) == 0:
        raise NotImplementedError(
            "fine-tunes, and this workload has no training data (its quality is fidelity to fp32)"
        )
    if recipe.epochs == 0:
        model.eval()
        return model, 0.0
    loss = loss_fn if loss_fn is not None else context.loss
    key = None
    if context.cache_dir is not None and after_step is None and None not in loss_key:
        key = finetune_key(model, context, recipe, loss, loss_key)
    if key is None:
        return _train(model, context, recipe, loss_fn, after_step)

    def load(kept: object) -> tuple[nn.Module, float]:
        model.load_state_dict(kept["state"])
        model.eval()
        return model, float(kept["seconds"])

    def make() -> tuple[tuple[nn.Module, float], object]:
        trained, seconds = _train(model, context, recipe, loss_fn, after_step)
        return (trained, seconds), {"state": trained.state_dict(), "seconds": seconds}

    path = Path(context.cache_dir) / "finetuned" / f"{key}.pt"
    return load_or_make(path, load, make, FineTuneCacheWarning, "fine-tuned weights")


def _train(
    model: nn.Module,
    context: Context,
    recipe: TrainingRecipe,
    loss_fn: Callable | None,
    after_step: Callable[[nn.Module], None] | None,
) -> tuple[nn.Module, float]:
    start = time.perf_counter()
    if loss_fn is None and context.loss is not None:
        loss_fn = on_outputs(context.loss)
    with seeded_here(context.device):  # fit seeds the generators: the caller's state is left as it was
        fit(model, context.train, recipe, loss_fn=loss_fn, after_step=after_step)
    model.eval()  # not `return model.eval()`: an exported graph's eval() returns None
    return model, time.perf_counter() - start


def seeded_here(device: torch.device):
    """`torch.random.fork_rng` over the CPU generator and, on a CUDA device, that device's: torch.manual_seed inside
    reseeds both, and the caller's state comes back as it was."""
    return torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])


def _digest(hasher, tensor: torch.Tensor) -> None:
    # a copy: numpy() would make the tensor's own storage unresizable (an observer's min_val grows on first use)
    value = tensor.detach().to("cpu", copy=True).contiguous()
    hasher.update(f"{value.dtype}{tuple(value.shape)}".encode())
    hasher.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())


SCALARS = (bool, int, float, str, type(None), torch.dtype, torch.qscheme)


def _setting(value: object) -> bool:
    return isinstance(value, SCALARS) or (isinstance(value, tuple) and all(isinstance(v, SCALARS) for v in value))


def structure(model: nn.Module) -> str:
    """Each submodule's name, type and plain settings (a convolution's stride, a fake-quantizer's quant_min and
    qscheme: every scalar attribute), and the source of every class that is not torch's own (a technique's
    parametrization, its quantizer's modules). Not `repr(model)`: the repr of a torchao observer that has not seen
    data crashes the process."""
    lines, sources = [], {}
    for name, module in model.named_modules():
        kind = type(module)
        settings = sorted((k, repr(v)) for k, v in vars(module).items() if not k.startswith("_") and _setting(v))
        lines.append(f"{name}: {kind.__module__}.{kind.__qualname__}{settings}")
        if not kind.__module__.startswith("torch."):
            defining = inspect.getmodule(kind)
            if defining is not None and defining.__name__ not in sources:
                with contextlib.suppress(OSError, TypeError):
                    sources[defining.__name__] = inspect.getsource(defining)
    return "\n".join([*lines, *(sources[k] for k in sorted(sources))])


def state_digest(model: nn.Module) -> str | None:
    """A hash of the model's weights and buffers, by name; None where one cannot be read as bytes (packed
    parameters, a tensor subclass)."""
    hasher = hashlib.sha256()
    try:
        for name, tensor in model.state_dict().items():
            hasher.update(name.encode())
            _digest(hasher, tensor)
    except (AttributeError, RuntimeError, TypeError, ValueError):
        return None
    return hasher.hexdigest()


def _versions() -> str:
    """The versions of the libraries a fine-tune runs through besides torch (torchao's quantizers)."""
    found = []
    for name in ("torchao",):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


def finetune_key(
    model: nn.Module, context: Context, recipe: TrainingRecipe, loss: Callable | None, loss_key: tuple = ()
) -> str | None:
    """The name of a fine-tuning's result: a hash of the model's weights, buffers and structure (`structure`; its
    code, for an exported graph), the recipe, the loss (`_loss_name` and `loss_key`), the training split, the
    device's kind, this module's and the training loop's source and the versions of torch and torchao. None where a
    tensor cannot be read as bytes (a tensor subclass): then nothing is kept."""
    hasher = hashlib.sha256()
    digest = state_digest(model)
    if digest is None:
        return None
    hasher.update(digest.encode())
    try:
        _digest(hasher, context.train.x)
        _digest(hasher, context.train.y)
        loss_name = "" if loss is None else _loss_name(loss)
    except (AttributeError, RuntimeError, TypeError, ValueError, OSError):
        return None
    parts = [
        structure(model),
        str(getattr(model, "code", "")),
        repr(recipe),
        loss_name,
        repr(loss_key),
        context.device.type,
        inspect.getsource(sys.modules[__name__]),
        inspect.getsource(accelbench.train),
        torch.__version__,
        _versions(),
    ]
    hasher.update("\n".join(parts).encode())
    return hasher.hexdigest()[:16]


def _loss_name(fn: Callable) -> str:
    """What names a loss: its qualified name, its module's source, and its settings: a loss module's attributes, a
    partial's repr, a function's defaults, the plain values its closure captured and the object a bound method belongs to
    (anything else it reads goes in loss_key)."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    module = inspect.getmodule(target) or inspect.getmodule(type(target))
    parts = [getattr(target, "__qualname__", type(target).__qualname__), inspect.getsource(module) if module else ""]
    if isinstance(fn, nn.Module):  # its settings (label_smoothing is not in its repr)
        parts.append(structure(fn))
    if isinstance(fn, functools.partial):
        parts.append(repr(fn))
    parts.append(repr(getattr(target, "__defaults__", None)))
    cells = getattr(target, "__closure__", None) or ()
    parts.append(repr([cell.cell_contents for cell in cells if _setting(cell.cell_contents)]))
    owner = getattr(target, "__self__", None)
    if owner is not None:
        parts.append(repr(owner))
    return "\n".join(parts)


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
