"""Energy meters: what a device's `energy_meter()` returns, and the readings the benchmark records.

A device's `energy_meter()` (devices/base.py; by default none, so its cases record no energy, with the reason)
returns one. The meter runs a function (a fixed number of the case's calls) and says how much energy it took and
how that figure was obtained: `measured` (a hardware counter: RAPL, NVML), or `estimated` (a model such as TDP x
utilisation). Simulated devices do not meter: their energy is the cost model's, labelled `simulated`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

MEASURED, ESTIMATED, SIMULATED = "measured", "estimated", "simulated"
ENERGY_METHODS = (MEASURED, ESTIMATED, SIMULATED)


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one metered run: `joules` (None where nothing could be read), the run's wall `seconds`, the
    `method` (measured, estimated, or None when unavailable) and the `source` (what was read, or why nothing was)."""

    joules: float | None
    seconds: float
    method: str | None
    source: str

    @property
    def average_power_w(self) -> float | None:
        return self.joules / self.seconds if self.joules is not None and self.seconds > 0 else None


@runtime_checkable
class EnergyMeter(Protocol):
    """Measures the energy of running `fn`. `window_s` is the shortest run the meter resolves well (a counter
    updated every few milliseconds needs a run many times longer): the harness repeats calls to fill it."""

    window_s: float

    def measure(self, fn: Callable[[], object]) -> EnergyReading:
        """Runs `fn` once and returns the energy it took."""
        ...


@dataclass(frozen=True)
class Unmetered:
    """A device that cannot tell its energy: runs `fn` and returns no figure, with `reason`."""

    reason: str
    window_s: float = 0.0

    def measure(self, fn: Callable[[], object]) -> EnergyReading:
        start = time.perf_counter()
        fn()
        return EnergyReading(None, time.perf_counter() - start, None, self.reason)


def energy_meter_of(device) -> EnergyMeter:
    """The device's energy meter, or an Unmetered one saying why it could not start."""
    try:
        return device.energy_meter()
    except Exception as exc:  # a third-party meter that cannot start must not cost the case its latency
        return Unmetered(f"energy_meter() of {device.name} failed: {type(exc).__name__}: {exc}")


def metered(
    meter: EnergyMeter, call: Callable[[], object], per_call_s: float, max_calls: int = 100_000
) -> tuple[EnergyReading, int]:
    """The energy of enough calls to fill the meter's window (at least one), and the number of calls made."""
    calls = max(1, min(max_calls, math.ceil(meter.window_s / max(per_call_s, 1e-9))))

    def run() -> None:
        for _ in range(calls):
            call()

    return meter.measure(run), calls
