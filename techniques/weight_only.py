"""int8-weight-only and int4-weight-only: torchao weight-only quantization (activations stay in float)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from techniques.base import CastInputs, Context, Technique, annotate
from techniques.compiled import QUANTIZED_INDUCTOR_CONFIG, CompiledPerShape


def _config(bits: int, device: torch.device, group_size: int):
    if bits == 8:
        from torchao.quantization import Int8WeightOnlyConfig

        return Int8WeightOnlyConfig(set_inductor_config=False)  # its settings are applied per compilation
    if device.type == "cuda":
        from torchao.quantization import Int4WeightOnlyConfig

        return Int4WeightOnlyConfig(group_size=group_size, set_inductor_config=False)
    try:  # the CPU int4 path lives in torchao's prototype namespace
        from torchao.prototype.quantization.int4 import PrototypeInt4WeightOnlyConfig
    except ImportError as exc:
        raise NotImplementedError(f"no CPU int4 path in this torchao ({exc})") from None
    return PrototypeInt4WeightOnlyConfig(group_size=group_size, set_inductor_config=False)


@dataclass(frozen=True)
class WeightOnly(Technique):
    """Linear weights stored in `bits` bits (int4: groups of `group_size` input weights share a scale), dequantized
    inside the matmul; compiled. Saves memory and bandwidth; gains speed only where matmuls are bandwidth-bound
    (large models, small batches). Layers whose input size is not a multiple of the group size stay in float."""

    bits: int = 8
    group_size: int = 32

    @property
    def name(self) -> str:
        return f"int{self.bits}-weight-only"

    @property
    def changes(self) -> str:
        """int8 changes the Linear layers only; int4 runs the whole model in bfloat16, convolutions included."""
        return "linear" if self.bits == 8 else "any"

    @property
    def dtype(self) -> str:
        return f"int{self.bits}"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        from torchao.quantization import quantize_

        model = copy.deepcopy(model).eval().to(context.device)
        config = _config(self.bits, context.device, self.group_size)

        # torchao's CPU int4 packing needs the output size divisible by 16 too
        def eligible(m: nn.Module, fqn: str) -> bool:
            return isinstance(m, nn.Linear) and (
                self.bits == 8 or (m.in_features % self.group_size == 0 and m.out_features % 16 == 0)
            )

        if self.bits == 4:
            model = model.to(torch.bfloat16)  # torchao's int4 kernels take bfloat16 activations
        quantize_(model, config, filter_fn=eligible)
        quantized = sum(1 for m in model.modules() if isinstance(m, nn.Linear) and eligible(m, ""))
        if quantized == 0:
            raise NotImplementedError(f"no Linear layer of input size divisible by {self.group_size} and output by 16")
        if self.bits == 4:
            model = CastInputs(model, torch.bfloat16)
        return annotate(
            CompiledPerShape(model, inductor_config=QUANTIZED_INDUCTOR_CONFIG),
            quantized_layers=quantized,
            # torchao's int4 kernels take bfloat16 activations, so the whole int4 model runs in bfloat16
            activation_dtype="bfloat16" if self.bits == 4 else "float32",
        )
