"""int8-static and int8-qat: PT2E quantization (torchao.quantization.pt2e) with the X86 inductor quantizer,
lowered by `torch.compile` with inductor freezing to oneDNN int8 kernels."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from techniques.base import Context, Technique, dynamic_batch
from techniques.compiled import FREEZING, CompiledPerShape


def _quantizer(is_qat: bool):
    try:
        import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
    except ImportError as exc:
        raise NotImplementedError(f"needs torchao's PT2E X86InductorQuantizer ({exc})") from None
    quantizer = xiq.X86InductorQuantizer()
    quantizer.set_global(xiq.get_default_x86_inductor_quantization_config(is_qat=is_qat))
    return quantizer


def _export(model: nn.Module, example: torch.Tensor) -> torch.fx.GraphModule:
    return torch.export.export(model, (example,), dynamic_shapes=dynamic_batch()).module()


def _lowered(prepared: nn.Module) -> nn.Module:
    """Calibrated or QAT-trained graph -> int8 graph, compiled with freezing so oneDNN's int8 kernels match."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

    return CompiledPerShape(convert_pt2e(prepared), inductor_config=FREEZING, expect_int8=True)


def _require_cpu(context: Context) -> None:
    if context.device.type != "cpu":
        raise NotImplementedError("the X86 inductor quantizer lowers to oneDNN CPU kernels only")


def prepared(model: nn.Module, context: Context, qat: bool) -> torch.fx.GraphModule:
    """A copy of `model` exported and prepared by PT2E with the X86 inductor quantizer: observers for calibration,
    or (`qat`) fake quantization for training."""
    _require_cpu(context)
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e, prepare_qat_pt2e

    copied = copy.deepcopy(model)
    example = (context.train if qat else context.calibration).x[:2]
    prepare = prepare_qat_pt2e if qat else prepare_pt2e
    return prepare(_export(copied.train() if qat else copied.eval(), example), _quantizer(is_qat=qat))


@dataclass(frozen=True)
class Int8Static(Technique):
    """Post-training static int8: export, insert observers, calibrate on the held-out calibration split, convert,
    compile with freezing. Activations use scales fixed at calibration, so no per-call quantization work."""

    calibration_batches: int = 8  # of 64 images: 512 images at most, from the validation split (never the test)
    name: str = "int8-static"
    dtype: ClassVar[str] = "int8"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        observed = prepared(model, context, qat=False)
        with torch.no_grad():
            for batch in context.calibration.x.split(64)[: self.calibration_batches]:
                observed(batch)
        return _lowered(observed)
