"""The Device protocol: where tensors live, how to wait for them, and what they cost.

One object owns everything device-specific: `torch.cuda` appears in `devices/cuda.py` and nowhere else.
"""

from __future__ import annotations

from typing import Callable, Protocol, TypeVar, runtime_checkable

import torch

from accelbench.energy import EnergyMeter, Unmetered
from accelbench.registry import Unavailable

R = TypeVar("R")
Fact = str | int | float | bool | None


class DeviceUnavailable(Unavailable):
    """This machine cannot run the device (no GPU, missing driver...); the message is the skip reason."""


@runtime_checkable
class Device(Protocol):
    """A place to run a model. Real devices are timed by the harness; simulated ones (devices/simulated/base.py)
    are priced by a cost model.

    Subclass it to inherit the optional members' defaults. Example (a third-party device, registered through the
    `accelbench.devices` entry-point group):

        @dataclass(frozen=True)
        class MyDevice(Device):
            name: str = "my-npu"
            def open(self) -> torch.device: return torch.device("cpu")
            def synchronized(self, fn): return fn
            def peak_memory_bytes(self, fn): fn(); return None
            def facts(self): return {"npu_model": "demo"}

    `facts()` may carry `price_per_hour_usd` and `price_source`: the default price the report's cost per inference
    uses (a price file overrides it).
    """

    name: str
    simulated: bool = False  # True: figures come from a cost model, not from a clock; travels into every table
    tier: str = "default"  # "full": only in `make bench TIER=full`

    def open(self) -> torch.device:
        """Make the device ready for a case (threads, current GPU) and say where tensors go.
        Raises DeviceUnavailable(reason) when this machine cannot run it."""
        ...

    def synchronized(self, fn: Callable[[], R]) -> Callable[[], R]:
        """`fn` wrapped so that it returns only once the device has finished its work: the harness times it."""
        ...

    def peak_memory_bytes(self, fn: Callable[[], object]) -> int | None:
        """Run `fn` once and return its peak memory in bytes (what is measured is in `facts()['memory_metric']`),
        or None where this machine cannot tell."""
        ...

    def facts(self) -> dict[str, Fact]:
        """Facts about the hardware and its settings, flat scalars, recorded with every run's machine info."""
        ...

    def energy_meter(self) -> EnergyMeter:
        """What measures the energy of the device's calls (RAPL on the CPU, NVML on CUDA GPUs). Default: none, so
        the device's cases record no energy, with this reason."""
        return Unmetered(f"device {self.name} has no energy meter")
