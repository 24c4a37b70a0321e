"""Autocast as a module: the mixed-precision wrapper that inference techniques and training recipes share."""

from __future__ import annotations

import torch
from torch import nn


class Autocast(nn.Module):
    """Runs `inner` under `torch.autocast` for its device type: matmuls and convolutions in `dtype`, precision-
    sensitive ops (softmax, norms, reductions) in float32, as autocast's op lists decide. Outputs are float32."""

    def __init__(self, inner: nn.Module, device_type: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner, self.device_type, self.dtype = inner, device_type, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=self.device_type, dtype=self.dtype):
            return self.inner(x).float()
