"""bn-fold: BatchNorm folded into the convolution or linear layer before it."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn
from torch.fx.experimental.optimization import fuse

from techniques.base import Context, Technique, annotate


@dataclass(frozen=True)
class BnFold(Technique):
    """`torch.fx.experimental.optimization.fuse`: each Conv+BatchNorm (and Linear+BatchNorm1d) pair becomes one
    layer with adjusted weights and bias, in eval mode. Same outputs (to float rounding), one op fewer per pair."""

    name: str = "bn-fold"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        before = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
        if before == 0:
            raise NotImplementedError("the model has no BatchNorm layer to fold")
        try:
            folded = fuse(copy.deepcopy(model).eval().to(context.device))
        except Exception as exc:  # fx cannot trace data-dependent control flow
            raise NotImplementedError(f"torch.fx could not trace the model to fold it ({type(exc).__name__}: {exc})")
        after = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in folded.modules())
        return annotate(folded, batchnorms_folded=before - after)
