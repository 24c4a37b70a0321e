"""CPU energy: Intel/AMD RAPL package counters where readable, else TDP x utilisation, labelled an estimate.

RAPL (`/sys/class/powercap/intel-rapl:N/energy_uj`, also on AMD Zen) counts the energy of the whole package in
microjoules: other processes' work is included, so it is a measured upper bound on the case's energy. The counter
wraps at `max_energy_range_uj`. Since Linux 5.10 it is readable by root only (CVE-2020-8694), and virtual machines
rarely expose it: then the energy is estimated from this process's CPU time (all its threads) x the TDP share of one
logical CPU.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from accelbench.energy import ESTIMATED, MEASURED, EnergyMeter, EnergyReading

POWERCAP = Path("/sys/class/powercap")
# TDP share of one busy logical CPU when no calibrated figure applies (assumed): TDP / threads of current parts spans
# about 2 W (AMD EPYC 9654: 360 W / 192 threads) to 10 W (Ryzen 9 7950X: 170 W / 32 threads; a one-thread-per-core
# VM of a desktop part); 10 W is the same assumption as the shipped sim-cpu profile, so both agree.
DEFAULT_WATTS_PER_THREAD = 10.0
RAPL_WINDOW_S = 0.1  # the counters update about every millisecond: 0.1 s resolves well under 1%
CPU_TIME_WINDOW_S = 0.05  # process CPU time is read in nanoseconds (CLOCK_PROCESS_CPUTIME_ID)


@dataclass(frozen=True)
class RaplZone:
    """One top-level RAPL zone (a package): its directory and the counter's wrap-around in microjoules."""

    path: Path
    max_energy_range_uj: int

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text())


def rapl_zones(root: Path = POWERCAP) -> tuple[list[RaplZone], str]:
    """The readable package zones (`intel-rapl:N`, not their `intel-rapl:N:M` subzones) and, when there are none,
    why (no powercap, no RAPL zone, or a counter that cannot be read)."""
    if not root.is_dir():
        return [], f"{root} does not exist (no powercap driver, or a virtual machine)"
    zones = []
    for path in sorted(root.glob("intel-rapl:*")):
        if path.name.count(":") != 1:
            continue  # subzones (core, uncore, dram) are parts of their package: counting them would count twice
        try:
            zone = RaplZone(path, int((path / "max_energy_range_uj").read_text()))
            zone.read_uj()
        except (OSError, ValueError) as exc:
            return [], f"{path}/energy_uj cannot be read ({type(exc).__name__}: {exc}; root only since Linux 5.10)"
        zones.append(zone)
    if not zones:
        return [], f"no intel-rapl:N zone in {root}"
    return zones, ""


def wrapped_delta_uj(before: int, after: int, max_energy_range_uj: int) -> int:
    """Counter increase from `before` to `after`, across one wrap-around at `max_energy_range_uj`."""
    return after - before if after >= before else after + max_energy_range_uj - before


@dataclass(frozen=True)
class RaplMeter:
    """Package energy from RAPL over the run: measured, whole packages (other processes included)."""

    zones: tuple[RaplZone, ...]
    window_s: float = RAPL_WINDOW_S

    def measure(self, fn: Callable[[], object]) -> EnergyReading:
        before = [zone.read_uj() for zone in self.zones]
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        after = [zone.read_uj() for zone in self.zones]
        uj = sum(wrapped_delta_uj(b, a, z.max_energy_range_uj) for b, a, z in zip(before, after, self.zones))
        names = ", ".join(z.path.name for z in self.zones)
        return EnergyReading(
            uj * 1e-6, seconds, MEASURED, f"RAPL package counters ({names}): whole package, other processes included"
        )


@dataclass(frozen=True)
class CpuTimeEstimate:
    """Energy estimated as this process's CPU time (every thread) x `watts_per_thread`, the TDP share of one busy
    logical CPU: TDP x utilisation. Idle and uncore power of the rest of the machine are not counted."""

    watts_per_thread: float
    basis: str  # where watts_per_thread comes from
    why_not_measured: str
    window_s: float = CPU_TIME_WINDOW_S

    def measure(self, fn: Callable[[], object]) -> EnergyReading:
        cpu_start, start = time.process_time(), time.perf_counter()
        fn()
        cpu_s, seconds = time.process_time() - cpu_start, time.perf_counter() - start
        source = (
            f"TDP x utilisation: {cpu_s:.3g} s of process CPU time x {self.watts_per_thread:.3g} W per "
            f"thread ({self.basis}); not measured: {self.why_not_measured}"
        )
        return EnergyReading(cpu_s * self.watts_per_thread, seconds, ESTIMATED, source)


@functools.lru_cache(maxsize=4)
def watts_per_thread(cpu_model: str) -> tuple[float, str]:
    """The TDP share of one logical CPU: the sim-cpu profile's TDP / its threads when `make calibrate` wrote it on
    this CPU model, else DEFAULT_WATTS_PER_THREAD (assumed)."""
    from devices.simulated.profile import load_profiles, profile_dirs

    profile = load_profiles(profile_dirs())[0].get("sim-cpu")
    threads = profile.matrix.get("units") if profile is not None else None
    if profile is not None and profile.measured_on == cpu_model and isinstance(threads, (int, float)) and threads > 0:
        figure = profile.figures.get("power.tdp")
        why = f"{figure.confidence}: {figure.source}" if figure else "its figure"
        return profile.tdp / threads, f"sim-cpu profile TDP {profile.tdp:g} W / {threads:g} threads ({why})"
    return DEFAULT_WATTS_PER_THREAD, "assumed default: DEFAULT_WATTS_PER_THREAD in devices/rapl.py"


def cpu_energy_meter(cpu_model: str, root: Path = POWERCAP) -> EnergyMeter:
    """RAPL where readable, else the CPU-time estimate saying why RAPL was not used."""
    zones, why = rapl_zones(root)
    if zones:
        return RaplMeter(tuple(zones))
    watts, basis = watts_per_thread(cpu_model)
    return CpuTimeEstimate(watts, basis, why)
