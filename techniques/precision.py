"""fp16, amp-bf16, amp-fp16: lower precision, either the whole model or per operator through autocast."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from accelbench.precision import Autocast
from techniques.base import CastInputs, Context

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def probed(model: nn.Module, context: Context, what: str) -> nn.Module:
    """`model` if it runs on two calibration inputs; a kernel missing for this dtype on this device becomes the
    reason the case is skipped, rather than an error at its first timed call."""
    try:
        with torch.no_grad():
            model(context.calibration.x[:2].to(context.device))
    except RuntimeError as exc:
        raise NotImplementedError(f"{what} has no kernel here: {str(exc).splitlines()[0]}") from exc
    return model


@dataclass(frozen=True)
class Half:
    """Every parameter and activation in float16. CPUs without AVX512-FP16/AMX-FP16 emulate it: expect it slower
    than fp32 there; GPUs run it on tensor cores."""

    name: str = "fp16"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        half = CastInputs(copy.deepcopy(model).eval().to(context.device, torch.float16), torch.float16)
        return probed(half, context, "float16")


@dataclass(frozen=True)
class MixedPrecision:
    """Automatic mixed precision (`torch.autocast`, not the deprecated per-device amp modules) with float32
    weights. bf16 is fast only on CPUs with AVX512-BF16 or AMX (see the flags recorded with the run)."""

    dtype: str = "bf16"

    @property
    def name(self) -> str:
        return f"amp-{self.dtype}"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        dtype = DTYPES[self.dtype]
        if not torch.amp.is_autocast_available(context.device.type):
            raise NotImplementedError(f"torch.autocast does not support device type {context.device.type!r}")
        wrapped = Autocast(copy.deepcopy(model).eval().to(context.device), context.device.type, dtype)
        return probed(wrapped, context, f"autocast to {self.dtype}")
