"""A third-party plug-in as tests see it: installed only through entry points (see the .dist-info beside it)."""

from dataclasses import dataclass

import torch

from devices import Device
from techniques import Technique


@dataclass(frozen=True)
class PluginDevice(Device):
    """The README's ten-line device: the host CPU under another name."""

    name: str = "plugin-dev"

    def open(self):
        return torch.device("cpu")

    def synchronized(self, fn):
        return fn

    def peak_memory_bytes(self, fn):
        fn()
        return None

    def facts(self):
        return {"plugin_facts": "demo"}


@dataclass(frozen=True)
class Broken(Technique):
    """A technique that throws: its case must show as an error and the others must still run."""

    name: str = "broken"

    def apply(self, model, context):
        raise RuntimeError("boom: this technique is broken on purpose")


@dataclass(frozen=True)
class Unsupported(Technique):
    """A technique a device cannot run: its case must be skipped with this reason."""

    name: str = "unsupported"

    def apply(self, model, context):
        raise NotImplementedError("no kernel for this on purpose")
