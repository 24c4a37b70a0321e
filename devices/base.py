"""The Device protocol: where tensors live, how to wait for them, and what they cost.

One object owns everything device-specific: `torch.cuda` appears in `devices/cuda.py` and nowhere else.
"""

from __future__ import annotations

from typing import Callable, Protocol, TypeVar, runtime_checkable

import torch

R = TypeVar("R")
Fact = str | int | float | bool | None


class DeviceUnavailable(RuntimeError):
    """This machine cannot run the device (no GPU, missing driver...); the message is the skip reason."""


@runtime_checkable
class Device(Protocol):
    """A place to run a model. Real devices are timed by the harness; simulated ones (later) are modelled.

    Example (a third-party device, registered through the `accelbench.devices` entry-point group):

        @dataclass(frozen=True)
        class MyDevice:
            name: str = "my-npu"
            simulated: bool = False
            def open(self) -> torch.device: return torch.device("cpu")
            def synchronized(self, fn): return fn
            def peak_memory_bytes(self, fn): fn(); return None
            def facts(self): return {"npu_model": "demo"}

    Optional: `energy_meter()` returning a `accelbench.energy.EnergyMeter` (RAPL on the CPU, NVML on CUDA GPUs);
    without it a device's cases record no energy, with that reason. `facts()` may carry `price_per_hour_usd` and
    `price_source`: the default price the report's cost per inference uses (a price file overrides it).
    """

    name: str
    simulated: bool  # True: figures come from a cost model, not from a clock; travels into every table and plot

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
