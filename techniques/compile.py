"""compile: graph capture and code generation with torch.compile (inductor)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

from techniques.base import Context, Technique
from techniques.compiled import FREEZING, CompiledPerShape


@dataclass(frozen=True)
class Compile(Technique):
    """`torch.compile` of the fp32 model, one static graph per batch size (`CompiledPerShape`). Compilation happens
    on the first call at each batch size, which the benchmark records separately (`first_call_s`)."""

    mode: str | None = None  # None: inductor's default mode; "max-autotune", "reduce-overhead", ...
    freezing: bool = False  # inductor freezing: weights become constants folded into the graph (inference only)
    tier: str = "default"  # "full": only in `make bench TIER=full` (max-autotune compiles for minutes)

    @property
    def name(self) -> str:
        return "-".join(["compile", *([self.mode] if self.mode else []), *(["freezing"] if self.freezing else [])])

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        model = copy.deepcopy(model).eval().to(context.device)
        return CompiledPerShape(model, mode=self.mode, inductor_config=FREEZING if self.freezing else None)
