"""The data every axis shares: a split of inputs and targets, a workload's fixed splits, and top-1 accuracy."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Split:
    """Inputs `x` (float32 features, or int64 token ids) and targets `y` of one split: integer class labels, or
    reference outputs for a workload scored by fidelity to its fp32 model."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    """Fixed train / val / test splits. `val` doubles as the calibration set for techniques that need one."""

    train: Split
    val: Split
    test: Split


def top1_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max class is the label."""
    return (logits.float().argmax(dim=1) == labels.to(logits.device)).float().mean().item()
