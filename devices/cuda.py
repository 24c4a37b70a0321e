"""An NVIDIA GPU through CUDA, measured for real. The only module that touches `torch.cuda`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import torch

from devices.base import DeviceUnavailable, Fact, R


def _nvml_facts(index: int) -> dict[str, Fact]:
    """Driver and power limit through NVML; empty where NVML cannot be read (facts are best effort)."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return {}
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
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
class CudaDevice:
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

    def facts(self) -> dict[str, Fact]:
        if not torch.cuda.is_available() or self.index >= torch.cuda.device_count():
            return {}
        props = torch.cuda.get_device_properties(self.index)
        return {
            "gpu_name": props.name,
            "gpu_compute_capability": f"{props.major}.{props.minor}",
            "gpu_memory_bytes": props.total_memory,
            "cuda_version": torch.version.cuda,
            "memory_metric": "torch.cuda.max_memory_allocated above the pre-call allocation",
            **_nvml_facts(self.index),
        }
