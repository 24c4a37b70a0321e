"""torch.compile of one static graph per input shape, with inductor settings applied to that compilation only."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from techniques.base import annotate, facts_of


def int8_kernels_made() -> int:
    """oneDNN int8 conv/linear lowerings inductor has made so far in this process (replayed on a cache hit)."""
    from torch._dynamo.utils import counters  # here: torch._dynamo takes 1.7 s to import, and only compiling needs it

    return sum(v for k, v in counters["inductor"].items() if k.startswith(("qconv", "qlinear")) and "lower" in k)


# What a process runs to do inductor's one-time set-up, which it keeps in its on-disk cache for every later process:
# its probe of the CPU's vector instructions (six compiler runs of test programs, 9-12 s cold). Until 2026-12-04 it also
# compiled a two-operator function: 2-4 s more, which made the first real case of a fresh-clone run wait 2.0-3.3 s for
# it. Standalone, that compilation made no later one faster (a two-layer MLP's first compiled call, fp32 or int8-dynamic,
# after either: 2.7-3.0 s and 5.6-7.0 s, fresh inductor caches, files in the page cache). In fresh-clone runs without it
# the first compiled case's first call took 10.0 s and 11.8 s against 5.4-7.2 s in four runs with it (the compiler's
# headers read cold, most likely), and all first calls 37.4 s and 40.8 s against 34.8-39.4 s: about what the wait
# cost. The runs: 164 s and 166 s at run noise 6% without it, 169 s and 181 s at 7-8% with it.
WARM_UP_CODE = "import torch._inductor.cpu_vec_isa as isa; isa.pick_vec_isa()"
# settings of this process the warm-up does not take: logging that would fill its output with every graph
NOT_INHERITED = ("TORCH_LOGS", "TORCH_COMPILE_DEBUG")


@dataclass
class WarmUp:
    """A background process doing inductor's one-time set-up into its on-disk cache (TORCHINDUCTOR_CACHE_DIR, or
    inductor's default, as this process's), on one compile thread; a thread beside it reads its output as it comes
    (a full pipe would stop it) and notes when it ended. Measured on the 2-vCPU VM with a fresh cache: a two-layer
    MLP's first compilation took 21.0 s, and 4.7 s after this process (then a compilation, 14.4 s alone) had run; the
    probe alone takes 10.4-10.7 s (WARM_UP_CODE)."""

    process: subprocess.Popen
    started: float
    reader: threading.Thread | None = None
    ended: float | None = None  # when its output closed: it exited (or was stopped)
    output: str = ""

    @classmethod
    def start(cls, code: str | None = None) -> WarmUp:
        """Starts the process, running `code` (default WARM_UP_CODE, read at the call)."""
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env["TORCHINDUCTOR_COMPILE_THREADS"] = "1"
        process = subprocess.Popen(
            [sys.executable, "-c", code or WARM_UP_CODE],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        warm_up = cls(process, time.perf_counter())
        warm_up.reader = threading.Thread(target=warm_up._read, name="accelbench-warm-up", daemon=True)
        warm_up.reader.start()
        return warm_up

    def _read(self) -> None:
        try:
            self.output, _ = self.process.communicate()
        finally:  # the end is noted whatever happened to its output
            self.ended = time.perf_counter()

    def finish(self, wait_s: float) -> tuple[float, float, str | None]:
        """Waits for the process, at most `wait_s` (then stops it): its seconds from start to end, the seconds this
        waited, and why it did not do its work (None: it did)."""
        waiting = time.perf_counter()
        self.reader.join(wait_s)
        stopped = self.reader.is_alive()
        if stopped:
            self.stop()
        waited_s = time.perf_counter() - waiting
        seconds = self.ended - self.started
        if stopped:
            return seconds, waited_s, f"stopped after waiting {wait_s:g} s"
        if self.process.returncode != 0:
            last = self.output.strip().splitlines()[-1:] or ["no output"]
            return seconds, waited_s, f"exit {self.process.returncode}: {last[0]}"
        return seconds, waited_s, None

    def stop(self) -> None:
        """Stops the process if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
        self.reader.join()


# torchao's recommended settings for quantized models (torchao.quantization.utils.recommended_inductor_config_setter
# sets them for the whole process and never restores them; here they apply to one compilation).
QUANTIZED_INDUCTOR_CONFIG = {
    "coordinate_descent_tuning": True,
    "coordinate_descent_check_all_directions": True,
    "force_fuse_int_mm_with_mul": True,
}
FREEZING = {"freezing": True}  # weights become constants folded into the graph (inference only)
# Dynamo keeps every compiled graph of a process on one shared code object and, past `recompile_limit` (8) graphs,
# silently runs the model eager: a "compiled" case would time eager code. Measured: int8-dynamic on Linear(w, w)+ReLU
# for 8 widths (64-288) at batch 1 and 64 in one process, 35-97 us per call while compiled, 200-590 us once dynamo
# said "hit config.recompile_limit (8)"; with this patch all 16 graphs compiled (42-105 us). A compilation here may
# add to the cache past that limit, and if a limit is ever hit it fails instead of falling back. The limits are also
# raised for the process once a CompiledPerShape exists (the one setting here not patched around a compilation): a
# frame of a compiled module can recompile at a later call too (seen for CastInputs.forward under int4 weight-only,
# when make calibrate compiles hundreds of blocks), and it must not fall back to eager there either.
LIMIT = 1 << 20
_COUNTERS: dict = {}  # torch._dynamo.utils.counters, once a CompiledPerShape exists
COMPILE_LIMITS = {"recompile_limit": LIMIT, "accumulated_recompile_limit": LIMIT, "fail_on_recompile_limit_hit": True}
# Recompiles a process recovers from with a reset (CompiledPerShape.forward). A reset empties every model's caches,
# so each other model then compiles again at its next call and would reset in turn: after one ordinary recompile
# (a call with grad enabled), two models alternating reset at every call (8 resets in 4 rounds, 0.8 s a round,
# measured). Past this many, a model keeps what dynamo compiled and its record says its settings were lost.
RECOVERIES = 4
_recovered = [0]  # resets made so far in this process


def _of_its_own_class(module: nn.Module) -> nn.Module:
    """`module`, made an instance of a new subclass of its class (nothing else changes).

    Dynamo keeps graphs per code object and, with parameters as graph inputs, one graph serves every module of the
    same structure: a `compile-freezing` model compiled after a `compile` one of the same workload found that
    unfrozen graph and never compiled (first call 2-7 ms against 235-356 ms in fresh-clone runs). Its guards check
    the module's type, so a class per compilation keeps each compilation's graph, and its settings, to itself."""
    cls = type(module)
    module.__class__ = type(cls.__name__, (cls,), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
    return module


class CompiledPerShape(nn.Module):
    """`torch.compile` with one static graph per input shape, each compiled under `inductor_config` only.

    - Per shape: a model benchmarked at batch 1 then 64 would otherwise get a dynamic-shape graph the second time,
      so its latency would depend on which cases ran before; an exported graph's batch size is symbolic, so one
      compiled graph would serve every batch size with generic code.
    - Settings patched around the compilation (freezing, torchao's quantized-model settings), never set globally:
      a global flag would leak into every later case. Freezing is what lets the oneDNN int8 patterns of a
      PT2E-quantized graph match (without it such a graph runs slower than fp32); with dynamic shapes it fails in
      torch 2.13's qconv lowering, another reason for static shapes.
    With `expect_int8`, records `int8_kernels` and `fast_path` (whether any int8 kernel was made) per compile."""

    def __init__(
        self, module: nn.Module, mode: str | None = None, inductor_config: dict | None = None, expect_int8: bool = False
    ) -> None:
        super().__init__()
        self.module = module
        self.mode = mode
        self.inductor_config = dict(inductor_config or {})
        self.expect_int8 = expect_int8
        self.by_shape: dict[torch.Size, nn.Module] = {}
        global _COUNTERS
        import torch._dynamo.config as dynamo  # here: torch._dynamo takes 1.7 s to import (see int8_kernels_made)
        from torch._dynamo.utils import counters

        _COUNTERS = counters

        dynamo.recompile_limit = max(dynamo.recompile_limit, LIMIT)
        dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit, LIMIT)

    @property
    def eager_module(self) -> nn.Module:
        """The uncompiled module (FLOPs are counted on it)."""
        return self.module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        compiled = self.by_shape.get(x.shape)
        if compiled is None:
            return self._compile(x)
        frames = _COUNTERS["frames"]  # looked up per call: a reset may replace the entry
        before = frames["total"]
        out = compiled(x)
        if frames["total"] == before or not self.inductor_config:
            return out
        # Dynamo compiled this shape again: something reset its caches since (a strict `torch.export` does, and
        # torchao's PT2E passes export their patterns so). That compilation had the process's settings, not this
        # model's (an int8-static graph without freezing, which runs slower than fp32), and dynamo keeps it for the
        # next calls; it goes with a reset, and the model is compiled again with its settings (at most RECOVERIES
        # times a process: a reset makes every other model compile again too).
        if _recovered[0] >= RECOVERIES:
            if not facts_of(self).get("compile_settings_lost"):
                warnings.warn(
                    f"a compiled model was compiled again by dynamo without its inductor settings "
                    f"({self.inductor_config}) after {RECOVERIES} recoveries in this process; it keeps that graph "
                    "(recorded as compile_settings_lost)",
                    stacklevel=2,
                )
                annotate(self, compile_settings_lost=True)
            return out
        _recovered[0] += 1
        torch._dynamo.reset()
        return self._compile(x)

    def _compile(self, x: torch.Tensor) -> torch.Tensor:
        before = int8_kernels_made()
        # a copy of a class of its own: dynamo guards a module's type, so no graph of another compilation (another
        # shape, or another model of the same structure compiled with other settings) serves this one
        compiled = torch.compile(_of_its_own_class(copy.deepcopy(self.module)), mode=self.mode, dynamic=False)
        with torch._inductor.config.patch(self.inductor_config), torch._dynamo.config.patch(COMPILE_LIMITS):
            out = compiled(x)
        self.by_shape[x.shape] = compiled
        if self.expect_int8:
            made = int8_kernels_made() - before
            annotate(self, int8_kernels=made, fast_path=made > 0)
        return out
