"""An NVIDIA GPU through CUDA, measured for real. The only module that touches `torch.cuda`."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, ClassVar

import torch

from accelbench.energy import MEASURED, EnergyMeter, EnergyReading, Unmetered
from devices.base import Device, DeviceUnavailable, Fact, R

# Default prices of one GPU-hour by the name NVML/torch report (the same figures as the sim-* profiles: assumed,
# representative 2026 on-demand cloud rates); another GPU has no default: give it one in a price file.
GPU_PRICE_PER_HOUR_USD = {"H100": 2.99, "A100": 1.79, "L4": 0.80, "T4": 0.35}
NVML_WINDOW_S = 0.5  # the total-energy counter advances in steps of tens of milliseconds on some GPUs
POWER_SAMPLE_S = 0.01  # power sampling, where the GPU has no energy counter (before Volta)


def gpu_price(name: str) -> tuple[float | None, str]:
    """The default price of a GPU by its exact model, a whole word of its name ("NVIDIA A100-SXM4-80GB" is an A100;
    "NVIDIA L40S" is no L4), with where it comes from, or None with the models that have one."""
    words = re.split(r"[\s\-_/]+", name.upper())
    model = next((key for key in GPU_PRICE_PER_HOUR_USD if key.upper() in words), None)
    if model is None:
        known = ", ".join(GPU_PRICE_PER_HOUR_USD)
        return None, f"no default price for {name!r} (defaults by exact model: {known}); give it one in a price file"
    return GPU_PRICE_PER_HOUR_USD[model], f"assumed default for the {model} (devices/cuda.py)"


def first_gpu() -> tuple[str | None, dict[str, object]]:
    """The name of CUDA GPU 0 (None where torch sees none) and the versions that matter beside it."""
    import torch

    versions = {"torch": torch.__version__, "CUDA": torch.version.cuda, "cuDNN": torch.backends.cudnn.version()}
    return (torch.cuda.get_device_name(0) if torch.cuda.is_available() else None), versions


def cuda_uuid(index: int) -> str | None:
    """NVML's name ("GPU-<uuid>") of the GPU that torch calls `index`; None where torch does not say."""
    import torch

    try:
        uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    except (AssertionError, RuntimeError):  # a CPU build of torch, or no such GPU
        return None
    if not uuid:
        return None
    text = str(uuid)
    return text if text.startswith(("GPU-", "MIG-")) else f"GPU-{text}"


def nvml_handle(pynvml, index: int):
    """The NVML handle of torch's GPU `index`, by its UUID: NVML numbers every GPU of the machine while torch counts
    only those CUDA_VISIBLE_DEVICES shows, in its order, so the same index can name another GPU. By index only where
    torch gives no UUID (then without CUDA_VISIBLE_DEVICES the two agree)."""
    uuid = cuda_uuid(index)
    if uuid is not None:
        return pynvml.nvmlDeviceGetHandleByUUID(uuid)
    return pynvml.nvmlDeviceGetHandleByIndex(index)


def _nvml_facts(index: int) -> dict[str, Fact]:
    """Driver and power limit through NVML; empty where NVML cannot be read (facts are best effort)."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return {}
    try:
        handle = nvml_handle(pynvml, index)
        return {
            "gpu_driver": pynvml.nvmlSystemGetDriverVersion(),
            "gpu_power_limit_w": pynvml.nvmlDeviceGetPowerManagementLimit(handle) / 1000.0,  # NVML gives mW
            "gpu_nvml_name": pynvml.nvmlDeviceGetName(handle),
        }
    except Exception:
        return {}
    finally:
        pynvml.nvmlShutdown()


@dataclass(frozen=True)
class NvmlEnergyMeter:
    """GPU energy over the run through NVML: the total-energy counter (Volta and later, millijoules), else power
    samples every POWER_SAMPLE_S integrated over time. Measured; the whole GPU, other processes included."""

    index: int
    window_s: float = NVML_WINDOW_S

    def measure(self, fn: Callable[[], object]) -> EnergyReading:
        import pynvml

        pynvml.nvmlInit()
        try:
            handle = nvml_handle(pynvml, self.index)
            try:
                before_mj = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            except pynvml.NVMLError_NotSupported:
                return self._sampled(pynvml, handle, fn)
            start = time.perf_counter()
            fn()
            seconds = time.perf_counter() - start
            joules = (pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) - before_mj) / 1000.0
            return EnergyReading(
                joules,
                seconds,
                MEASURED,
                f"NVML total energy counter of GPU {self.index} (whole GPU, other processes included)",
            )
        finally:
            pynvml.nvmlShutdown()

    def _sampled(self, pynvml, handle, fn: Callable[[], object]) -> EnergyReading:
        samples: list[tuple[float, float]] = []  # (seconds, watts)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append((time.perf_counter(), pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0))  # mW
                done.wait(POWER_SAMPLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        start = time.perf_counter()
        sampler.start()
        try:
            fn()
        finally:
            done.set()
            sampler.join()
        seconds = time.perf_counter() - start
        joules = sum((t1 - t0) * (w0 + w1) / 2 for (t0, w0), (t1, w1) in zip(samples, samples[1:]))
        return EnergyReading(
            joules,
            seconds,
            MEASURED,
            f"NVML power samples of GPU {self.index} every "
            f"{POWER_SAMPLE_S * 1000:g} ms, integrated (no energy counter)",
        )


def _nvml_reason() -> str:
    """Why NVML cannot meter this machine's GPU, or "" where it can."""
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
    except Exception as exc:
        return f"NVML unavailable ({type(exc).__name__}: {exc})"
    return ""


@dataclass(frozen=True)
class CudaDevice(Device):
    """GPU `index` of this machine. Kernels launch asynchronously, so every timed call ends in a synchronize."""

    index: int = 0
    simulated: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return "cuda" if self.index == 0 else f"cuda-{self.index}"

    def open(self) -> torch.device:
        if not torch.cuda.is_available():
            raise DeviceUnavailable(
                f"no CUDA GPU: torch.cuda.is_available() is False (torch {torch.__version__}, "
                f"built with CUDA {torch.version.cuda or 'none'})"
            )
        if self.index >= torch.cuda.device_count():
            raise DeviceUnavailable(f"no GPU {self.index}: this machine has {torch.cuda.device_count()}")
        torch.cuda.set_device(self.index)
        return torch.device("cuda", self.index)

    def synchronized(self, fn: Callable[[], R]) -> Callable[[], R]:
        def run() -> R:
            out = fn()
            # kernels launch asynchronously; without this the timer measures the launch only
            torch.cuda.synchronize(self.index)
            return out

        return run

    def peak_memory_bytes(self, fn: Callable[[], object]) -> int | None:
        torch.cuda.synchronize(self.index)
        torch.cuda.reset_peak_memory_stats(self.index)
        before = torch.cuda.memory_allocated(self.index)  # weights and other cases' models already resident
        fn()
        torch.cuda.synchronize(self.index)
        return torch.cuda.max_memory_allocated(self.index) - before

    def energy_meter(self) -> EnergyMeter:
        """NVML's energy counter (or power samples) of this GPU; no figure, with the reason, without NVML."""
        reason = _nvml_reason()
        return Unmetered(reason) if reason else NvmlEnergyMeter(self.index)

    def facts(self) -> dict[str, Fact]:
        if not torch.cuda.is_available() or self.index >= torch.cuda.device_count():
            return {}
        props = torch.cuda.get_device_properties(self.index)
        price, source = gpu_price(props.name)
        return {
            "price_per_hour_usd": price,
            "price_source": source,
            "gpu_name": props.name,
            "gpu_compute_capability": f"{props.major}.{props.minor}",
            "gpu_memory_bytes": props.total_memory,
            "cuda_version": torch.version.cuda,
            "memory_metric": "torch.cuda.max_memory_allocated above the pre-call allocation",
            **_nvml_facts(self.index),
        }
