"""compile: graph capture and code generation with torch.compile (inductor)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from techniques.base import Context


@dataclass(frozen=True)
class Compile:
    """`torch.compile` of the fp32 model. Compilation happens on the first call, which the benchmark
    records separately (`first_call_s`) from the steady-state latency."""

    mode: str | None = None  # None: inductor's default mode; "max-autotune", "reduce-overhead", ...

    @property
    def name(self) -> str:
        return "compile" if self.mode is None else f"compile-{self.mode}"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        return torch.compile(copy.deepcopy(model).eval().to(context.device), mode=self.mode)
