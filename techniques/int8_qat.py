"""int8-qat: quantization-aware training through PT2E (torchao.quantization.pt2e), then int8-static's lowering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from accelbench.train import TrainingRecipe
from techniques.base import Context, Technique, annotate
from techniques.finetune import fine_tune
from techniques.int8_static import _lowered, prepared
from techniques.pt2e_patterns import exported_once


@dataclass(frozen=True)
class Int8Qat(Technique):
    """Quantization-aware training: fake-quantize during a short fine-tune so the weights adapt to int8, then
    convert and compile as int8-static does."""

    finetune: TrainingRecipe = TrainingRecipe(epochs=4, lr=1e-4, weight_decay=0.0, seed=0)
    name: str = "int8-qat"
    dtype: ClassVar[str] = "int8"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        import torchao.quantization.pt2e as pt2e

        with exported_once():  # PT2E's conv-bn passes, without exporting the same patterns again and again
            fake_quantized = prepared(model, context, qat=True)
            # exported graphs refuse .train()/.eval(); this maps them to PT2E's switch of batch norm and observers
            pt2e.allow_exported_model_train_eval(fake_quantized)
            trained, seconds = fine_tune(fake_quantized, context, self.finetune)
            return annotate(_lowered(trained), finetune_s=seconds)
