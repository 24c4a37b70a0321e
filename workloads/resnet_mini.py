"""resnet-mini: a small ResNet at CIFAR-like 3x32x32 input, latency-focused, on synthetic seeded inputs."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from accelbench.data import Dataset, Split, top1_accuracy
from workloads.base import Workload


class Block(nn.Module):
    """Two 3x3 conv+BatchNorm layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet(widths: tuple[int, ...], blocks: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
    cin = widths[0]
    for stage, width in enumerate(widths):
        for index in range(blocks):
            layers.append(Block(cin, width, 2 if stage > 0 and index == 0 else 1))
            cin = width
    # BatchNorm1d on the pooled features: a random net's pooled features barely vary between inputs, so without
    # standardising them every input gets the same class and "agreement" would measure nothing
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.BatchNorm1d(cin), nn.Linear(cin, 10))


@dataclass(frozen=True)
class ResNetMini(Workload):
    """A ResNet-14-like net (widths 16/32/64, two blocks a stage) with seeded random weights and BatchNorm
    statistics gathered on synthetic inputs. No image data set is available offline, so it measures speed and
    fidelity, not accuracy: every split's labels are the fp32 model's own predictions."""

    widths: tuple[int, ...] = (16, 32, 64)
    blocks: int = 2
    samples: int = 256  # per split
    seed: int = 0

    name: ClassVar[str] = "resnet-mini"
    metric: ClassVar[str] = (
        "top-1 agreement with the fp32 model's predictions on synthetic seeded inputs (not accuracy)"
    )
    tier: ClassVar[str] = "full"  # 32x32 convolutions: seconds per case at batch 64 on 2 cores

    def model(self, cache_dir: Path) -> nn.Module:
        return copy.deepcopy(_seeded_model(self))  # callers may move it; the cached one labels the data

    def data(self) -> Dataset:
        return _synthetic_data(self)

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        return top1_accuracy(outputs, targets)


@lru_cache(maxsize=4)
def _seeded_model(workload: ResNetMini) -> nn.Module:
    """Deterministic from the seed, so nothing is cached on disk. BatchNorm statistics come from a few forward
    passes in train mode: with identity statistics, logits of a random net are degenerate."""
    with torch.random.fork_rng():
        torch.manual_seed(workload.seed)
        model = resnet(workload.widths, workload.blocks)
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.momentum = None  # a plain average over the calibration passes, not a slow moving one
        model.train()
        with torch.no_grad():
            for _ in range(4):
                model(torch.randn(64, 3, 32, 32))
    return model.eval()


@lru_cache(maxsize=4)
def _synthetic_data(workload: ResNetMini) -> Dataset:
    generator = torch.Generator().manual_seed(workload.seed + 1)
    model = _seeded_model(workload)

    def split() -> Split:
        x = torch.randn(workload.samples, 3, 32, 32, generator=generator)
        with torch.no_grad():
            return Split(x, model(x).argmax(1))

    return Dataset(train=split(), val=split(), test=split())
