"""int8-dynamic-legacy: torch.ao.quantization.quantize_dynamic, the deprecated API users still compare against."""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from techniques.base import Context, Technique


@dataclass(frozen=True)
class Int8DynamicLegacy(Technique):
    """Eager dynamic int8 of every nn.Linear through the FBGEMM/oneDNN quantized engine, no compile."""

    name: str = "int8-dynamic-legacy"
    dtype: ClassVar[str] = "int8"
    changes: ClassVar[str] = "linear"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        if context.device.type != "cpu":
            raise NotImplementedError("torch.ao dynamic quantization runs on the CPU quantized engine only")
        try:
            from torch.ao.quantization import quantize_dynamic
        except ImportError as exc:
            raise NotImplementedError(
                f"torch.ao.quantization.quantize_dynamic is gone from this torch ({exc})"
            ) from None
        with warnings.catch_warnings():
            # deprecated on purpose: users compare the two APIs
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*deprecated")
            return quantize_dynamic(copy.deepcopy(model).eval(), {nn.Linear}, dtype=torch.qint8)
