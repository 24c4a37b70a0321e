"""A user's own model, as `predict --model my_model:factory` loads it (tests/test_standard_models.py)."""

import torch
from torch import nn


def factory():
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)), torch.randn(1, 16)


def wrong_type():
    return "not a model"


def raises():
    raise RuntimeError("no weights here")
