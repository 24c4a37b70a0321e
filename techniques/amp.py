"""amp-bf16, amp-fp16: automatic mixed precision, per operator through autocast."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from accelbench.precision import Autocast
from techniques.base import Context, Technique, probed

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class MixedPrecision(Technique):
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
