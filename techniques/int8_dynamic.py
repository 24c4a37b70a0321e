"""int8-dynamic: int8 weights, activations quantized per call (torchao), compiled."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from techniques.base import Context, Technique
from techniques.compiled import QUANTIZED_INDUCTOR_CONFIG, CompiledPerShape


@dataclass(frozen=True)
class Int8Dynamic(Technique):
    """torchao's `Int8DynamicActivationInt8WeightConfig` on every nn.Linear, then `torch.compile`.

    Without compile the per-call quantization runs as many small eager ops and is slower than fp32 on CPU
    (pytorch/ao#3157); compiled, inductor fuses it into the int8 matmul. Convolutions stay fp32.
    """

    compile: bool = True
    dtype: ClassVar[str] = "int8"
    changes: ClassVar[str] = "linear"

    @property
    def name(self) -> str:
        return "int8-dynamic" if self.compile else "int8-dynamic-eager"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        # imported here: torchao imports torch._dynamo (2 s), which a process that never quantizes need not pay
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

        quantized = copy.deepcopy(model).eval().to(context.device)
        # set_inductor_config=False: torchao would set its inductor settings for the whole process
        quantize_(quantized, Int8DynamicActivationInt8WeightConfig(set_inductor_config=False))
        if not self.compile:
            return quantized
        return CompiledPerShape(quantized, inductor_config=QUANTIZED_INDUCTOR_CONFIG)
