"""Test-only techniques that misbehave on purpose, installed through entry points (the .dist-info beside this file)
only when a test puts this directory on PYTHONPATH: a crash, a hang, a hard crash of the process, and a slowdown.
fault_timeouts.py beside it gives the hanging cases a timeout of their own."""

import ctypes
import os
import time
from dataclasses import dataclass

from torch import nn

from techniques import Technique


class _Wrapped(nn.Module):
    def __init__(self, inner: nn.Module, misbehave) -> None:
        super().__init__()
        self.inner, self.misbehave = inner, misbehave

    def forward(self, x):
        return self.misbehave(self.inner, x)


def _crash(inner, x):
    raise RuntimeError("crash: this case fails on purpose during its call")


def _hang(inner, x):
    time.sleep(3600)  # a per-case timeout must end this


def _segfault(inner, x):
    ctypes.string_at(0)  # reads address 0: SIGSEGV, the whole process dies (no Python exception)


def _slowed(inner, x):
    """The model's own call, then a busy wait of ACCELBENCH_TEST_SLOWDOWN (a fraction) of that call's time:
    a slowdown proportional to the baseline, with no sleep granularity in the way."""
    start = time.perf_counter()
    out = inner(x)
    end = time.perf_counter()
    deadline = end + float(os.environ.get("ACCELBENCH_TEST_SLOWDOWN", "0")) * (end - start)
    while time.perf_counter() < deadline:
        pass
    return out


@dataclass(frozen=True)
class Faulty(Technique):
    """The fp32 model, wrapped so that each call misbehaves as `kind` says."""

    kind: str

    @property
    def name(self) -> str:
        return f"test-{self.kind}"

    def apply(self, model, context):
        return _Wrapped(model, {"crash": _crash, "hang": _hang, "segfault": _segfault, "slowed": _slowed}[self.kind])


def crash():
    return Faulty("crash")


def hang():
    return Faulty("hang")


def segfault():
    return Faulty("segfault")


def slowed():
    return Faulty("slowed")
