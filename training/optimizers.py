"""The optimizers a recipe can use, with their hyperparameters and what one update costs (for the simulator)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from accelbench.train import OptimizerFactory


@dataclass(frozen=True)
class OptimizerSpec(OptimizerFactory):
    """A `torch.optim` class with its options. `flops_per_element` and `kernels_per_tensor` describe one update
    for the cost model (approximate counts of elementwise operations of PyTorch's for-loop implementation)."""

    flops_per_element: int = 2
    kernels_per_tensor: int = 1


# Learning rates: what trains digits-mlp to 95% in a few seconds with each optimizer; plain SGD keeps the
# baseline's rate so that the comparison isolates momentum.
OPTIMIZERS: dict[str, OptimizerSpec] = {
    # buf = 0.9 buf + g; p -= lr buf
    "sgd-momentum": OptimizerSpec(
        torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}, flops_per_element=4, kernels_per_tensor=2
    ),
    # p -= lr g
    "sgd": OptimizerSpec(torch.optim.SGD, {"lr": 0.05}, flops_per_element=2, kernels_per_tensor=1),
    # two moments, bias corrections, sqrt, divide, update
    "adam": OptimizerSpec(torch.optim.Adam, {"lr": 1e-3}, flops_per_element=12, kernels_per_tensor=6),
    # square average, sqrt, divide, update
    "rmsprop": OptimizerSpec(torch.optim.RMSprop, {"lr": 1e-3}, flops_per_element=7, kernels_per_tensor=4),
}


def optimizer_spec(name: str) -> OptimizerSpec:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}") from None


def state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of the optimizer's per-parameter state tensors (momentum buffers, moments); step counters excluded."""
    return sum(
        t.numel() * t.element_size()
        for state in optimizer.state.values()
        for key, t in state.items()
        if isinstance(t, torch.Tensor) and key != "step"
    )
