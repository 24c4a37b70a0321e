"""The Technique protocol: model -> new model, pure (the input is never mutated)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import torch
from torch import nn

from accelbench.data import Split


@dataclass(frozen=True)
class Context:
    """What a technique may use besides the model: where it will run and data it may learn from.

    `calibration` is held out from the test split (the validation split); `train` is for fine-tuning, with
    `loss(outputs, targets)` the workload's objective (None: cross-entropy on class labels). `cache_dir`: where
    fine-tuned weights are kept between runs (techniques/finetune.py; None: nothing is kept).
    """

    device: torch.device
    calibration: Split
    train: Split
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    cache_dir: Path | None = None


CHANGES = ("any", "linear")  # the valid values of Technique.changes


@runtime_checkable
class Technique(Protocol):
    """Turns a trained fp32 model into an accelerated one.

    `apply` returns a new model on `context.device` taking the same float32 inputs, and never mutates its input
    (a test over every registered technique holds this). A technique that cannot run on a device raises
    `NotImplementedError` with the reason; the case is then skipped with that reason.

    Subclass it to inherit the optional members' defaults (`tier`, `dtype`, `changes`).
    """

    name: str
    tier: str = "default"  # "full": heavy (minutes of compilation), only in `make bench TIER=full`
    dtype: str = "fp32"  # the number format its weights and matmuls run in: fp32, bf16, fp16, int8, int4
    # the layers it changes: "any", or "linear" (nn.Linear only). On a workload whose compute is in convolutions
    # (Workload.compute_in == "conv") a "linear" technique changes only the classifier's head: those cases are in
    # the full tier, and the default matrix runs it where its layers carry the work
    changes: str = "any"

    def apply(self, model: nn.Module, context: Context) -> nn.Module: ...


class CastInputs(nn.Module):
    """Runs `inner` in another dtype: float inputs are cast to `dtype` (integer inputs, such as token ids, are
    passed as they are), outputs back to float32. The casts are part of what a deployment pays, so they stay
    inside the timed call."""

    def __init__(self, inner: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner = inner
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.to(self.dtype) if x.is_floating_point() else x).float()


MAX_BATCH = 4096  # exported graphs accept any batch size from 1 to this


def dynamic_batch() -> tuple[dict, ...]:
    """`dynamic_shapes` for exporting a one-input model whose first dimension is the batch."""
    return ({0: torch.export.Dim("batch", min=1, max=MAX_BATCH)},)


FACTS_ATTRIBUTE = "accelbench_facts"


def annotate(model: nn.Module, **facts: object) -> nn.Module:
    """Attaches facts about how a technique was applied (flat scalars: `finetune_s`, `sparse_kernel`...) to the
    model it returns; the benchmark records them beside the case's figures. Returns `model`."""
    merged = {**facts_of(model), **facts}
    object.__setattr__(model, FACTS_ATTRIBUTE, merged)  # a plain attribute, not a submodule or buffer
    return model


def facts_of(model: nn.Module) -> dict[str, object]:
    return dict(getattr(model, FACTS_ATTRIBUTE, {}))


def probed(model: nn.Module, context: Context, what: str) -> nn.Module:
    """`model` if it runs on two calibration inputs; a kernel missing for this dtype on this device becomes the
    reason the case is skipped, rather than an error at its first timed call."""
    try:
        with torch.no_grad():
            model(context.calibration.x[:2].to(context.device))
    except RuntimeError as exc:
        raise NotImplementedError(f"{what} has no kernel here: {str(exc).splitlines()[0]}") from exc
    return model
