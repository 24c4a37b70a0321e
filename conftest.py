"""The benchmark matrix as pytest fixtures: device x workload x technique, by registry name.

A device this machine lacks, or a technique a device cannot run, becomes pytest.skip(reason) in `case`,
never a pass with no data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import devices
import techniques
import workloads
from devices import Device, DeviceUnavailable
from techniques import Context, Technique
from workloads import Workload

pytest_plugins = ["accelbench.plugin"]  # hooks and the `cache_dir` fixture


@dataclass(frozen=True)
class Case:
    """One cell of the matrix, ready to run: the technique's model placed on the device."""

    device: Device
    workload: Workload
    technique: Technique
    model: nn.Module
    where: torch.device


@pytest.fixture(params=devices.REGISTRY.names())
def device(request: pytest.FixtureRequest) -> Device:
    return devices.REGISTRY.get(request.param)


@pytest.fixture(params=workloads.REGISTRY.names())
def workload(request: pytest.FixtureRequest) -> Workload:
    return workloads.REGISTRY.get(request.param)


@pytest.fixture(params=techniques.REGISTRY.names())
def technique(request: pytest.FixtureRequest) -> Technique:
    return techniques.REGISTRY.get(request.param)


@pytest.fixture
def case(device: Device, workload: Workload, technique: Technique, cache_dir: Path) -> Case:
    try:
        where = device.open()
    except DeviceUnavailable as exc:
        pytest.skip(f"device {device.name} unavailable: {exc}")
    data = workload.data()
    context = Context(device=where, calibration=data.val, train=data.train)
    try:
        model = technique.apply(workload.model(cache_dir).to(where), context)
    except NotImplementedError as exc:
        pytest.skip(f"{technique.name} cannot run on {device.name}: {exc}")
    return Case(device, workload, technique, model, where)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Warnings are errors in the harness's own tests, but a library's new warning must not cost a user the
    # result of a benchmark case: there they are shown, not raised.
    for item in items:
        if "benchmark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.filterwarnings("default"))
