"""fp16: every parameter and activation in float16."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from techniques.base import CastInputs, Context, Technique, probed


@dataclass(frozen=True)
class Half(Technique):
    """Every parameter and activation in float16. CPUs without AVX512-FP16/AMX-FP16 emulate it: expect it slower
    than fp32 there; GPUs run it on tensor cores."""

    name: str = "fp16"
    dtype: ClassVar[str] = "fp16"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        half = CastInputs(copy.deepcopy(model).eval().to(context.device, torch.float16), torch.float16)
        return probed(half, context, "float16")
