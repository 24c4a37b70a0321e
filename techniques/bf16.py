"""bf16: weights and activations in bfloat16."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from techniques.base import CastInputs, Context, Technique, probed


@dataclass(frozen=True)
class Bf16(Technique):
    """Every parameter and activation in bfloat16. Fast only where the hardware has bf16 units
    (AVX512-BF16 or AMX on x86, tensor cores on GPUs); elsewhere it can be many times slower than fp32."""

    name: str = "bf16"
    dtype: ClassVar[str] = "bf16"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        inner = copy.deepcopy(model).eval().to(context.device, torch.bfloat16)
        return probed(CastInputs(inner, torch.bfloat16), context, "bfloat16")
