from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import devices
from devices import CpuDevice, CudaDevice, Device, DeviceUnavailable


@pytest.mark.parametrize("name", devices.REGISTRY.names())
def test_every_device_follows_the_protocol(name: str) -> None:
    device = devices.REGISTRY.get(name)
    assert isinstance(device, Device)
    assert isinstance(device.simulated, bool)


def test_cpu_fixes_and_records_its_thread_count() -> None:
    before = torch.get_num_threads()
    try:
        assert CpuDevice(threads=1).open() == torch.device("cpu")
        assert torch.get_num_threads() == 1
        assert CpuDevice(threads=1).facts()["threads"] == 1
        assert CpuDevice(threads=1).name == "cpu-1t"
    finally:
        torch.set_num_threads(before)


def _cpuinfo_flags() -> set[str] | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    return next((set(line.split(":", 1)[1].split()) for line in lines if line.startswith("flags")), set())


def test_cpu_facts_hold_the_flags_that_decide_technique_speed() -> None:
    facts = CpuDevice().facts()
    listed = _cpuinfo_flags()
    for flag in ("avx2", "avx512_vnni", "avx512_bf16", "amx_int8", "amx_bf16"):
        # what the OS lists, never assumed; None (unknown) where the OS gives no list
        assert facts[f"flag_{flag}"] is (None if listed is None else flag in listed), flag
    assert facts["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert facts["quantized_engine"] == torch.backends.quantized.engine
    assert facts["threads"] >= 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS is read from Linux /proc")
def test_cpu_peak_memory_sees_a_large_allocation() -> None:
    size = 64 * 2**20

    def allocate() -> None:
        block = torch.ones(size // 4, dtype=torch.float32)  # touched, so resident
        del block

    peak = CpuDevice().peak_memory_bytes(allocate)
    assert peak is not None and peak >= size // 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU; the no-GPU path is not taken")
def test_cuda_without_a_gpu_is_unavailable_with_a_reason() -> None:
    with pytest.raises(DeviceUnavailable, match="no CUDA GPU"):
        CudaDevice().open()
    assert CudaDevice().facts() == {}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
def test_cuda_times_to_completion_and_measures_peak_memory() -> None:
    device = CudaDevice()
    where = device.open()
    x = torch.randn(2048, 2048, device=where)
    done = device.synchronized(lambda: x @ x)()
    assert done.shape == (2048, 2048)
    assert device.peak_memory_bytes(lambda: x @ x) >= 2048 * 2048 * 4  # the product, not the resident input
    facts = device.facts()
    assert facts["gpu_name"] and facts["memory_metric"].startswith("torch.cuda.max_memory_allocated")


@pytest.mark.parametrize(
    "name, price",
    [
        ("NVIDIA H100 80GB HBM3", 2.99),
        ("NVIDIA A100-SXM4-80GB", 1.79),
        ("NVIDIA L4", 0.80),
        ("Tesla T4", 0.35),
        ("NVIDIA L40S", None),  # not an L4
        ("NVIDIA H200", None),
        ("NVIDIA GH200 480GB", None),
    ],
)
def test_a_gpu_is_priced_by_its_exact_model(name: str, price: float | None) -> None:
    from devices.cuda import gpu_price

    found, source = gpu_price(name)
    assert found == price
    assert ("H100, A100, L4, T4" in source) if price is None else ("assumed default for the" in source)


def test_the_cpu_leaves_one_core_to_the_machine_unless_told(monkeypatch) -> None:
    import os

    monkeypatch.delenv("ACCELBENCH_CPU_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert CpuDevice().thread_count == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert CpuDevice().thread_count == 1  # never below one
    monkeypatch.setenv("ACCELBENCH_CPU_THREADS", "2")
    assert CpuDevice().thread_count == 2 and CpuDevice(threads=4).thread_count == 4
    monkeypatch.setenv("ACCELBENCH_CPU_THREADS", "two")
    with pytest.raises(ValueError, match="ACCELBENCH_CPU_THREADS='two': a whole number of threads, at least 1"):
        CpuDevice().thread_count
