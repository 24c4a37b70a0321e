"""Devices, by registry name. Third parties add theirs through the `accelbench.devices` entry-point group.

Simulated devices come from the profiles in devices/profiles/ and in each directory of $ACCELBENCH_PROFILES.
A profile that cannot be loaded is reported (ProfileLoadWarning: file, field, what is expected) and left out;
the other devices still run."""

import warnings

from accelbench.registry import ProfileLoadWarning, Registry
from devices.base import Device, DeviceUnavailable
from devices.cpu import CpuDevice
from devices.cuda import CudaDevice
from devices.simulated.base import SimulatedDevice
from devices.simulated.device import ProfileDevice
from devices.simulated.profile import load_profiles, profile_dirs

REGISTRY: Registry[Device] = Registry(
    "device",
    group="accelbench.devices",
    protocol=lambda device: SimulatedDevice if getattr(device, "simulated", False) else Device,
)
REGISTRY.add(CpuDevice())
REGISTRY.add(CudaDevice())
_profiles, _errors = load_profiles(profile_dirs())
for _error in _errors:
    warnings.warn(str(_error), ProfileLoadWarning, stacklevel=1)
for _name in sorted(_profiles):
    REGISTRY.add(ProfileDevice(_profiles[_name]))

__all__ = [
    "REGISTRY",
    "CpuDevice",
    "CudaDevice",
    "Device",
    "DeviceUnavailable",
    "ProfileLoadWarning",
    "ProfileDevice",
    "SimulatedDevice",
]
