"""What a run was measured with, as the results record it (`machine_info["accelbench"]`): software versions and
each device's facts. One builder for every writer: the pytest plug-in and the distributed workers."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Iterable


def package_version(package: str) -> str | None:
    """The installed version of `package`, or None when it is not installed."""
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def machine_facts(devices: Iterable, **extra: object) -> dict:
    """Software versions and, per device (name -> flat facts, `simulated` first), what `device.facts()` says; a
    device whose facts fail records the error instead (a third-party device must not lose a run's results)."""
    facts = {}
    for device in devices:
        found: dict = {"simulated": bool(device.simulated)}
        try:
            found.update(device.facts())
        except Exception as exc:
            found["facts_error"] = f"{type(exc).__name__}: {exc}"
        facts[device.name] = found
    return {
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "torchao": package_version("torchao"),
        "onnxruntime": package_version("onnxruntime") or package_version("onnxruntime-gpu"),
        **cuda_versions(),
        "accelbench": package_version("accelbench"),
        "devices": facts,
        **extra,
    }


def cuda_versions() -> dict[str, str | None]:
    """The CUDA and cuDNN versions torch was built with (None on a CPU build); the driver is the cuda device's fact."""
    import torch

    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {"cuda": torch.version.cuda, "cudnn": str(cudnn) if cudnn else None}
