"""digits-lstm: an LSTM reading each digit image as a sequence of 8 rows of 8 pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from accelbench.train import TrainingRecipe
from workloads.classifier import DigitsClassifier


class RowLSTM(nn.Module):
    """(N, 1, 8, 8) images -> 8 time steps of 8 pixels -> LSTM -> last hidden state -> 10 logits."""

    def __init__(self, hidden: int, layers: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x.flatten(1, 2))  # (N, 8 rows, 8 pixels)
        return self.head(out[:, -1])


@dataclass(frozen=True)
class DigitsLSTM(DigitsClassifier):
    """One LSTM layer of 64 units over the rows, then a Linear head. Recurrent nets learn digits more slowly than
    convolutions: twice the default epochs reach 95%."""

    recipe: TrainingRecipe = TrainingRecipe(epochs=80)
    hidden: int = 64
    layers: int = 1

    name: ClassVar[str] = "digits-lstm"
    tier: ClassVar[str] = "full"  # the full tier: 80 epochs of training, and the default run stays within 3 minutes

    def build(self) -> nn.Module:
        return RowLSTM(self.hidden, self.layers)
