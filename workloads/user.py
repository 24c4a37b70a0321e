"""The user's own model as a workload: `package.module:factory` (importable from the current directory) or a
`torch.export` program saved as `.pt2`.

`factory()` returns `(model, example_inputs)`, or `(model, example_inputs, split, score)` where `split` is an
`accelbench.data.Split` of inputs and targets and `score(outputs, targets) -> float` its quality metric (higher is
better). Without a split, quality is fidelity to the fp32 model on inputs made like the example (seeded): top-1
agreement for (N, classes) outputs, else the mean cosine similarity of the outputs. A `.pt2` file is loaded with
`torch.export.load`; its example inputs are those it was exported with.

`make bench MODEL=...` runs it on every device with every technique (conftest.py reads ACCELBENCH_MODEL), and
`python -m devices.simulated predict --model ...` prices it on a simulated device.
"""

from __future__ import annotations

import copy
import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, ClassVar

import torch
from torch import nn

from accelbench.data import Dataset, Split, top1_accuracy
from workloads.base import Workload
from workloads.standard import cosine_fidelity, mse

EXPECTED = (
    "package.module:factory (importable from the current directory; factory() returns (model: torch.nn.Module, "
    "example inputs: torch.Tensor), optionally followed by (split: accelbench.data.Split, score(outputs, targets))), "
    "or a torch.export program saved as .pt2"
)
SAMPLES = 64  # rows per split made from the example inputs


class UserModelError(ValueError):
    """The user's model cannot be loaded; the message names the target and what is expected."""


@dataclass(frozen=True)
class Loaded:
    model: nn.Module
    example: torch.Tensor
    split: Split | None = None
    score: Callable[[torch.Tensor, torch.Tensor], float] | None = None


def name_of(target: str) -> str:
    """A kebab-case workload name for a target: the factory's name, or the .pt2 file's stem."""
    stem = Path(target).stem if target.endswith(".pt2") else target.rpartition(":")[2]
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "user-model"


@lru_cache(maxsize=8)
def load(target: str) -> Loaded:
    """The model, example inputs (and optional split and score) of `target`, or UserModelError."""
    if target.endswith(".pt2"):
        return _load_program(target)
    module_name, colon, attribute = target.partition(":")
    if not colon or not module_name or not attribute:
        raise UserModelError(f"model {target!r}: not a package.module:factory or a .pt2 file; expected {EXPECTED}")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserModelError(
            f"model {target!r}: cannot load {attribute!r} from {module_name!r} ({exc}); expected {EXPECTED}"
        ) from None
    try:
        made = factory()
    except Exception as exc:
        raise UserModelError(f"model {target!r}: the factory raised {type(exc).__name__}: {exc}") from None
    if not (
        isinstance(made, tuple)
        and len(made) in (2, 4)
        and isinstance(made[0], nn.Module)
        and isinstance(made[1], torch.Tensor)
        and (len(made) == 2 or (isinstance(made[2], Split) and callable(made[3])))
    ):
        got = (
            f"a tuple of {', '.join(type(m).__name__ for m in made)}"
            if isinstance(made, tuple)
            else type(made).__name__
        )
        raise UserModelError(f"model {target!r}: the factory returned {got}; expected {EXPECTED}")
    return Loaded(made[0].eval(), made[1], *made[2:])


def _load_program(target: str) -> Loaded:
    path = Path(target)
    if not path.is_file():
        raise UserModelError(f"model {target!r}: no such file; expected {EXPECTED}")
    try:
        program = torch.export.load(path)
    except Exception as exc:
        raise UserModelError(f"model {target!r}: not a torch.export program ({type(exc).__name__}: {exc})") from None
    args, _ = program.example_inputs or ((), {})
    if len(args) != 1 or not isinstance(args[0], torch.Tensor):
        raise UserModelError(
            f"model {target!r}: the program takes {len(args)} positional inputs; accelbench needs one tensor in"
        )
    module = program.module()
    try:  # accelbench runs batches of 1 and 64: the batch dimension must be dynamic
        with torch.no_grad():
            module(example_rows(args[0], 2, 0))
    except Exception as exc:
        raise UserModelError(
            f"model {target!r}: the program does not take a batch of 2 ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); export it with a dynamic batch dimension: "
            "torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim('batch')},))"
        ) from None
    return Loaded(module, args[0])


def example_rows(example: torch.Tensor, rows: int, seed: int) -> torch.Tensor:
    """`rows` inputs made like `example` (its first dimension is the batch): float inputs drawn around the example's
    mean and spread, integer inputs (token ids) drawn from its range. Seeded."""
    generator = torch.Generator().manual_seed(seed)
    shape = (rows, *example.shape[1:])
    if example.is_floating_point():
        spread = float(example.float().std()) if example.numel() > 1 else 1.0
        noise = torch.randn(shape, generator=generator) * (spread or 1.0)
        return (noise + float(example.float().mean())).to(example.dtype)
    low, high = int(example.min()), int(example.max())
    return torch.randint(low, high + 1, shape, generator=generator, dtype=example.dtype)


@dataclass(frozen=True)
class UserModel(Workload):
    """The model `target` names (see the module's docstring)."""

    target: str
    tier: ClassVar[str] = "default"

    @property
    def name(self) -> str:
        return name_of(self.target)

    @property
    def metric(self) -> str:
        score = load(self.target).score
        if score is not None:
            return f"the model's own metric, {getattr(score, '__name__', 'score')}, on its split"
        kind = "top-1 agreement" if self._classifier() else "mean cosine similarity of the outputs"
        return f"fidelity to the fp32 model: {kind}, on seeded inputs made like the example (not accuracy)"

    @property
    def loss(self):  # class labels for a classifier's fidelity, the fp32 outputs otherwise
        return None if self._classifier() else mse

    def _classifier(self) -> bool:
        loaded = load(self.target)
        if loaded.split is not None:
            return not loaded.split.y.is_floating_point()
        return _fp32_outputs(self.target).dim() == 2 and _fp32_outputs(self.target).shape[1] > 1

    def model(self, cache_dir: Path) -> nn.Module:
        return copy.deepcopy(load(self.target).model)

    def data(self) -> Dataset:
        return _dataset(self.target)

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        loaded = load(self.target)
        if loaded.score is not None:
            return float(loaded.score(outputs, targets))
        return top1_accuracy(outputs, targets) if self._classifier() else cosine_fidelity(outputs, targets)


@lru_cache(maxsize=8)
def _dataset(target: str) -> Dataset:
    """The user's split for every purpose, or three seeded splits labelled by the fp32 model."""
    loaded = load(target)
    if loaded.split is not None:
        return Dataset(train=loaded.split, val=loaded.split, test=loaded.split)
    classifier = UserModel(target)._classifier()
    splits = []
    for seed in (1, 2, 3):
        x = example_rows(loaded.example, SAMPLES, seed)
        with torch.no_grad():
            out = loaded.model(x)
        splits.append(Split(x, out.argmax(1) if classifier else out))
    return Dataset(*splits)


@lru_cache(maxsize=8)
def _fp32_outputs(target: str) -> torch.Tensor:
    loaded = load(target)
    with torch.no_grad():
        return loaded.model(example_rows(loaded.example, 2, 0))
