"""int8-qat: quantization-aware training through PT2E (torchao.quantization.pt2e), then int8-static's lowering."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from accelbench.train import TrainingRecipe
from techniques.base import Context, Technique, annotate
from techniques.finetune import fine_tune
from techniques.int8_static import _export, _lowered, _quantizer, _require_cpu


@dataclass(frozen=True)
class Int8Qat(Technique):
    """Quantization-aware training: fake-quantize during a short fine-tune so the weights adapt to int8, then
    convert and compile as int8-static does."""

    finetune: TrainingRecipe = TrainingRecipe(epochs=4, lr=1e-4, weight_decay=0.0, seed=0)
    name: str = "int8-qat"
    dtype: ClassVar[str] = "int8"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        _require_cpu(context)
        import torchao.quantization.pt2e as pt2e
        from torchao.quantization.pt2e.quantize_pt2e import prepare_qat_pt2e

        quantizer = _quantizer(is_qat=True)
        prepared = prepare_qat_pt2e(_export(copy.deepcopy(model).train(), context.train.x[:2]), quantizer)
        # exported graphs refuse .train()/.eval(); this maps them to PT2E's switch of batch norm and observers
        pt2e.allow_exported_model_train_eval(prepared)
        prepared, seconds = fine_tune(prepared, context, self.finetune)
        return annotate(_lowered(prepared), finetune_s=seconds)
