"""The host CPU, measured for real."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

import psutil
import torch

from accelbench.energy import EnergyMeter
from devices.base import Device, Fact, R
from devices.rapl import cpu_energy_meter

# CPU features that decide which kernels a technique reaches (VNNI/AMX for int8, AVX512-BF16/AMX for bf16,
# AVX512-FP16/AMX-FP16 for fp16: without them fp16 is emulated).
SPEED_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "amx_int8",
    "amx_bf16",
    "amx_tile",
    "avx512_fp16",
    "amx_fp16",
)
# Default price of one thread for an hour (assumed: on-demand cloud prices of general-purpose x86 instances run about
# 0.04-0.05 USD per vCPU-hour in 2024-2026, e.g. a 2-vCPU AMD EPYC instance at about 0.09 USD/h). facts()
# multiplies it by the thread count; a price file overrides it (README: "Prices").
PRICE_PER_THREAD_HOUR_USD = 0.045
THREADS_ENV = "ACCELBENCH_CPU_THREADS"  # the `cpu` device's thread count (default: every core but one)


def _cpuinfo() -> tuple[str, set[str] | None]:
    """CPU model name and feature flags from /proc/cpuinfo; flags are None (unknown) off Linux."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), None
    model, flags = platform.processor() or platform.machine(), set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name":
            model = value.strip()
        elif key == "flags":
            flags = set(value.split())
            break
    return model, flags


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


@dataclass(frozen=True)
class CpuDevice(Device):
    """The host CPU with a fixed thread count (None: every core this process may use but one, or
    $ACCELBENCH_CPU_THREADS), recorded with results."""

    threads: int | None = None
    simulated: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return "cpu" if self.threads is None else f"cpu-{self.threads}t"

    @property
    def thread_count(self) -> int:
        """`threads`, else $ACCELBENCH_CPU_THREADS, else every core this process may use but one (at least 1).

        One core is left to the rest of the machine: an intra-op pool as wide as the machine waits at every barrier
        for its slowest thread, so one other busy process stalls every call by a scheduler time slice. Measured on
        the 2-core VM (an MLP 64-256-256-10, batch 64, 3 x 2,000 calls; docs/measurement.md): idle, 1 thread
        138 us median, 2 threads 92 us; beside a 2-thread torch process, 1 thread 140 us median and p90 <= 161 us,
        2 threads a median of 91-96 us but p90 up to 24 ms and p99 8-24 ms."""
        if self.threads is not None:
            return self.threads
        chosen = os.environ.get(THREADS_ENV, "").strip()
        if chosen:
            if not chosen.isdigit() or int(chosen) < 1:
                raise ValueError(f"{THREADS_ENV}={chosen!r}: a whole number of threads, at least 1")
            return int(chosen)
        # cores this process may run on (a container or taskset can allow fewer than the machine has)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return max(1, cores - 1)

    def open(self) -> torch.device:
        torch.set_num_threads(self.thread_count)
        return torch.device("cpu")

    def synchronized(self, fn: Callable[[], R]) -> Callable[[], R]:
        return fn  # eager CPU kernels have finished when the call returns

    def peak_memory_bytes(self, fn: Callable[[], object]) -> int | None:
        """Peak resident memory above the level before the call (Linux VmHWM, reset through clear_refs)."""
        try:
            Path("/proc/self/clear_refs").write_text("5")  # "5" resets the peak-RSS counter (Linux >= 4.0)
            before_kib = _proc_status_kib("VmRSS")
        except OSError:
            fn()
            return None
        fn()
        return max(0, _proc_status_kib("VmHWM") - before_kib) * 1024

    def energy_meter(self) -> EnergyMeter:
        """RAPL package counters where readable (measured), else process CPU time x TDP share (estimated)."""
        return cpu_energy_meter(_cpuinfo()[0])

    def facts(self) -> dict[str, Fact]:
        model, flags = _cpuinfo()
        facts: dict[str, Fact] = {
            "cpu_model": model,
            "cpu_cores_logical": psutil.cpu_count(logical=True),
            "cpu_cores_physical": psutil.cpu_count(logical=False),
            "threads": self.thread_count,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "quantized_engine": torch.backends.quantized.engine,
            "memory_metric": "peak RSS above the pre-call level (VmHWM)",
            "price_per_hour_usd": PRICE_PER_THREAD_HOUR_USD * self.thread_count,
            "price_source": f"assumed default: {PRICE_PER_THREAD_HOUR_USD} USD per thread-hour (devices/cpu.py)",
        }
        for flag in SPEED_FLAGS:
            facts[f"flag_{flag}"] = None if flags is None else flag in flags
        return facts
