"""What every distributed worker shares: joining the process group torchrun set up, the device of this rank,
timing a step across ranks, and rank 0's gathering of every rank's figures.

torchrun's contract is environment variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); they are read
here, once, and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import torch
import torch.distributed as dist

import accelbench.results as results
import workloads
from accelbench.machine import machine_facts
from accelbench.registry import UnknownNameError
from devices import REGISTRY, CpuDevice, CudaDevice, Device
from workloads import Workload

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class World:
    """This process's place in the run."""

    rank: int
    size: int
    local_rank: int
    device: Device
    where: torch.device
    backend: str

    def log(self, message: str) -> None:
        """A progress line on stderr, naming the rank and its process (torchrun passes it through). One write of the
        whole line: ranks share the pipe, and print()'s separate write of the newline let two ranks' lines run together."""
        sys.stderr.flush()
        os.write(sys.stderr.fileno(), f"[rank {self.rank} pid {os.getpid()}] {message}\n".encode())

    def part_params(self, workload: str, technique: str, batch_size: int) -> dict:
        """The parameters that identify one part of a distributed run (a row of the results)."""
        return {
            results.DEVICE: self.device.name,
            results.WORKLOAD: workload,
            results.TECHNIQUE: technique,
            results.BATCH_SIZE: batch_size,
            results.NPROC: self.size,
        }

    def common_figures(self, benchmark: str, threads: int, **more: object) -> dict:
        """What every row of a distributed benchmark records besides its own figures."""
        return {
            results.BENCHMARK: benchmark,
            results.SIMULATED: False,
            results.BACKEND: self.backend,
            results.THREADS_PER_PROCESS: threads,
            **more,
        }


def worker_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every worker takes."""
    parser.add_argument("--out", required=True, help="results file (JSON) rank 0 writes; merged into if it exists")
    parser.add_argument("--workload", default="digits-mlp", help="registry name of the workload (default digits-mlp)")
    parser.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (NCCL, one GPU per local rank)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per process (default 1)")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before timing")
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=60.0,
        help="process-group timeout: a collective waiting longer for a rank fails (default 60)",
    )
    return parser


def checked_common(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Workload:
    """The options every worker shares, checked before any process group is joined: the workload (returned), the
    device, and the counts. Errors go through `parser.error` (exit 2, naming what is valid)."""
    try:
        workload = workloads.REGISTRY.get(args.workload)
    except UnknownNameError as exc:
        parser.error(str(exc))
    real = ["cpu", "cuda", *(d.name for d in REGISTRY if not d.simulated and d.name not in ("cpu", "cuda"))]
    if args.device not in real:
        parser.error(f"--device {args.device!r}: distributed benchmarks run on a real device, one of {', '.join(real)}")
    for option in ("threads", "steps", "batch_size"):
        if getattr(args, option, 1) < 1:
            parser.error(f"--{option.replace('_', '-')} {getattr(args, option)} must be at least 1")
    if args.warmup < 0 or args.timeout_s <= 0:
        parser.error("--warmup must be 0 or more and --timeout-s more than 0")
    return workload


def device_for(name: str, local_rank: int, threads: int) -> Device:
    """The device of this rank: the CPU with `threads` threads, or GPU `local_rank`."""
    if name == "cpu":
        return CpuDevice(threads=threads)
    if name == "cuda":
        return CudaDevice(index=local_rank)
    device = REGISTRY.get(name)
    if device.simulated:
        raise ValueError(
            f"{name} is simulated: distributed benchmarks run on real devices (cpu, cuda); "
            "benchmarks/test_training.py projects data-parallel scaling for simulated ones"
        )
    return device


def join(device_name: str, threads: int, timeout_s: float) -> World:
    """Joins the process group torchrun prepared: gloo on CPUs, NCCL on GPUs, with `timeout_s` on every collective
    so that a rank that stops answering ends the run with an error instead of a hang."""
    missing = [v for v in TORCHRUN_VARIABLES if v not in os.environ]
    if missing:
        raise SystemExit(
            f"{sys.argv[0]}: {', '.join(missing)} not set; launch this worker with torchrun, e.g. "
            "`torchrun --nproc-per-node 2 -m parallel.ddp --out results/ddp.json`, or `make bench-distributed`"
        )
    rank, size, local_rank = (int(os.environ[v]) for v in TORCHRUN_VARIABLES[:3])
    device = device_for(device_name, local_rank, threads)
    where = device.open()
    backend = "nccl" if where.type == "cuda" else "gloo"
    dist.init_process_group(
        backend, timeout=timedelta(seconds=timeout_s), device_id=where if where.type == "cuda" else None
    )
    return World(rank, size, local_rank, device, where, backend)


def timed_steps(world: World, step: Callable[[], object], steps: int, warmup: int) -> list[float]:
    """Seconds of each of `steps` calls of `step` (after `warmup` untimed ones), per step the slowest rank's: a
    synchronous step is done when its last rank is. Collective: every rank must call it; rank 0 gets the times."""
    run = world.device.synchronized(step)
    for _ in range(warmup):
        run()
    dist.barrier()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    gathered = gather(world, times)
    return [max(per_rank) for per_rank in zip(*gathered)] if gathered else []


def gather(world: World, value: object) -> list | None:
    """Every rank's `value` on rank 0 (None elsewhere)."""
    out = [None] * world.size if world.rank == 0 else None
    dist.gather_object(value, out, dst=0)
    return out


def machine(world: World) -> dict:
    """The harness's machine facts, as pytest runs record them, for a results file written by rank 0."""
    hosts = len(set(gather(world, socket.gethostname()) or [socket.gethostname()]))
    return machine_facts([world.device], hosts=hosts)


def record_part(
    world: World, out: str, facts: dict, name: str, params: dict, common: dict, measure: Callable[[], dict | None]
) -> dict | None:
    """Runs one part of a distributed benchmark; rank 0 merges its row into `out`, or, when it raised, an error row
    naming it (and re-raises, so torchrun ends the run). Returns the row's extra_info on rank 0, None elsewhere."""
    try:
        figures = measure()
    except Exception as exc:  # rank 0 records what failed before the run ends
        if world.rank == 0:
            message = f"rank 0: {type(exc).__name__}: {exc}"
            outcome = results.outcome_entry(name, f"parallel::{name}", results.ERROR, message, params)
            results.merge_into(out, outcomes=[outcome])
        raise
    if figures is None:
        return None
    extra = dict(**common, **params, **figures["extra"])
    entry = results.timed_entry(name, f"parallel::{name}", params, extra, figures["times"])
    results.merge_into(out, entries=[entry], harness=facts)
    return extra
