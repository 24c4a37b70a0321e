"""A user's own model, as `predict --model my_model:factory` loads it (tests/test_standard_models.py)."""

import torch
from torch import nn


def factory():
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)), torch.randn(1, 16)


def wrong_type():
    return "not a model"


def raises():
    raise RuntimeError("no weights here")


def embedder():
    """Not a classifier: (N, 3, 4) outputs, scored by cosine fidelity."""
    return nn.Sequential(nn.Linear(16, 12), nn.Unflatten(1, (3, 4))), torch.randn(2, 16)


def with_data():
    from accelbench.data import Split

    x = torch.randn(32, 16, generator=torch.Generator().manual_seed(0))
    model = nn.Sequential(nn.Linear(16, 4))
    return model, x[:1], Split(x, torch.zeros(32, dtype=torch.long)), lambda outputs, targets: 0.25
