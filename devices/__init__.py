"""Devices, by registry name. Third parties add theirs through the `accelbench.devices` entry-point group."""

from accelbench.registry import Registry
from devices.base import Device, DeviceUnavailable
from devices.cpu import CpuDevice
from devices.cuda import CudaDevice

REGISTRY: Registry[Device] = Registry("device", group="accelbench.devices")
REGISTRY.add(CpuDevice())
REGISTRY.add(CudaDevice())

__all__ = ["REGISTRY", "CpuDevice", "CudaDevice", "Device", "DeviceUnavailable"]
