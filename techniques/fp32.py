"""fp32: the baseline every speedup is measured against."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

from techniques.base import Context, Technique


@dataclass(frozen=True)
class Fp32(Technique):
    """The trained model as is, in float32 eager mode."""

    name: str = "fp32"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        return copy.deepcopy(model).eval().to(context.device)
