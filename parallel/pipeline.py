"""Pipeline (model) parallel training with torch.distributed.pipelining, one stage per rank, launched by torchrun:

    torchrun --nproc-per-node 2 -m parallel.pipeline --out results/pipeline.json

The workload's network (an nn.Sequential) is cut into as many stages as there are ranks, balanced by parameter
count; each rank holds one `PipelineStage`, and `ScheduleGPipe` runs every step's batch (`--batch-size` rows) as
`--microbatches` micro-batches: all forwards, then all backwards. Measured per micro-batch count: step time (the
slowest rank's), samples per second, and the bubble fraction: ideal, (stages - 1) / (micro-batches + stages - 1),
and measured, 1 - (a stage's own compute for all micro-batches, timed alone) / (the pipelined step time), averaged
over the stages (what the ideal leaves out, the stages' communication and imbalance, is in the measured one).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.distributed.pipelining import PipelineStage, ScheduleGPipe

from accelbench.measure import flops_per_call
from parallel.runtime import (
    World,
    checked_common,
    gather,
    join,
    machine,
    record_part,
    timed_steps,
    worker_arguments,
)
from workloads import Workload, untrained_model

LR, MOMENTUM = 0.05, 0.9  # as train-baseline


def ideal_bubble_fraction(stages: int, microbatches: int) -> float:
    """GPipe's idle fraction with equal stages and free communication: (S - 1) / (M + S - 1)."""
    if stages < 1 or microbatches < 1:
        raise ValueError(f"stages and micro-batches must be >= 1; got {stages} and {microbatches}")
    return (stages - 1) / (microbatches + stages - 1)


def module_flops(model: nn.Sequential, sample: torch.Tensor) -> list[int]:
    """FLOPs of each module of `model` on `sample` passed through the modules before it."""
    counts = []
    with torch.no_grad():
        for module in model:
            counts.append(flops_per_call(module, sample) or 0)
            sample = module(sample)
    return counts


def split_points(model: nn.Sequential, stages: int, sample: torch.Tensor) -> list[int]:
    """Module indices where stages 2..S begin: each cut where the FLOPs before it come closest to k/S of the whole
    forward's (on `sample`), so that the stages do about equal work."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"a pipeline split needs an nn.Sequential; this model is a {type(model).__name__}")
    if not 1 <= stages <= len(model):
        raise ValueError(f"cannot cut {len(model)} modules into {stages} stages")
    counts = module_flops(model, sample)
    before = [sum(counts[:i]) for i in range(len(model) + 1)]
    points: list[int] = []
    for k in range(1, stages):
        lowest = (points[-1] if points else 0) + 1
        highest = len(model) - (stages - k)  # leave at least one module to each later stage
        target = before[-1] * k / stages
        points.append(min(range(lowest, highest + 1), key=lambda i: (abs(before[i] - target), i)))
    return points


def stage_bounds(model: nn.Sequential, stages: int, rank: int, sample: torch.Tensor) -> tuple[int, int]:
    edges = [0, *split_points(model, stages, sample), len(model)]
    return edges[rank], edges[rank + 1]


def compute_s(world: World, module: nn.Module, x: torch.Tensor, y: torch.Tensor | None, reps: int) -> float:
    """Median seconds of one micro-batch's forward and backward through this stage alone (no communication)."""

    def once() -> None:
        inputs = x.detach().requires_grad_(x.is_floating_point() and world.rank > 0)
        out = module(inputs)
        if y is not None:
            nn.functional.cross_entropy(out, y).backward()
        else:
            out.backward(torch.ones_like(out))

    run = world.device.synchronized(once)
    run()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    module.zero_grad(set_to_none=True)
    return statistics.median(times)


def measure(world: World, args: argparse.Namespace, workload, microbatches: int) -> dict | None:
    model = untrained_model(workload, seed=0)
    data = workload.data().train
    lo, hi = stage_bounds(model, world.size, world.rank, data.x[: args.batch_size // microbatches])
    module = nn.Sequential(*list(model)[lo:hi]).to(world.where)
    last = world.rank == world.size - 1
    x, y = data.x[: args.batch_size].to(world.where), data.y[: args.batch_size].to(world.where)
    stage = PipelineStage(module, world.rank, world.size, world.where)
    schedule = ScheduleGPipe(stage, n_microbatches=microbatches, loss_fn=nn.functional.cross_entropy)
    optimizer = torch.optim.SGD(module.parameters(), lr=LR, momentum=MOMENTUM)
    losses: list[torch.Tensor] = []

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        losses.clear()
        if world.rank == 0:
            schedule.step(x)
        elif last:
            schedule.step(target=y, losses=losses)
        else:
            schedule.step()
        optimizer.step()

    world.log(f"pipeline {workload.name}, {microbatches} micro-batches: measuring {args.steps} steps")
    times = timed_steps(world, step, args.steps, args.warmup)
    micro = args.batch_size // microbatches
    with torch.no_grad():  # this stage's input, as the stages before it would send it
        stage_input = nn.Sequential(*list(model)[:lo])(data.x[:micro]).to(world.where) if lo else x[:micro]
    busy_s = microbatches * compute_s(world, module, stage_input, y[:micro] if last else None, reps=20)
    loss = float(torch.stack(losses).detach().mean()) if losses else None
    gathered = gather(world, (busy_s, loss))
    if world.rank != 0:
        return None
    median_s = statistics.median(times)
    busy = [b / median_s for b, _ in gathered]
    return dict(
        times=times,
        extra=dict(
            stages=world.size,
            microbatches=microbatches,
            micro_batch_size=micro,
            samples_per_s=args.batch_size / median_s,
            bubble_fraction_ideal=ideal_bubble_fraction(world.size, microbatches),
            bubble_fraction_measured=max(0.0, 1 - statistics.fmean(busy)),
            loss_last_step=gathered[-1][1],
            stage_modules=f"{lo}:{hi} of {len(model)} on rank 0",
            **{f"busy_fraction_rank{r}": min(1.0, b) for r, b in enumerate(busy)},
        ),
    )


def parse(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[int], Workload]:
    """The worker's options, its micro-batch counts and workload, every one checked (SystemExit 2 with the parser's
    message otherwise). `python -m parallel` calls it before starting torchrun, so bad input costs no run."""
    parser = worker_arguments(argparse.ArgumentParser(prog="parallel.pipeline", description=__doc__))
    parser.add_argument(
        "--batch-size", type=int, default=1024, help="rows per step, cut into micro-batches (default 1024)"
    )
    parser.add_argument("--microbatches", default="1,2,4,8", help="micro-batch counts to measure (default 1,2,4,8)")
    args = parser.parse_args(argv)
    try:
        counts = [int(m) for m in args.microbatches.split(",") if m]
    except ValueError:
        parser.error(f"--microbatches {args.microbatches!r}: comma-separated positive integers, e.g. 1,2,4,8")
    if not counts or any(m < 1 or args.batch_size % m for m in counts):
        parser.error(f"--batch-size {args.batch_size} must split evenly into every micro-batch count {counts}")
    return args, counts, checked_common(parser, args)


@record
def main(argv: list[str] | None = None) -> None:
    args, counts, workload = parse(argv)
    world = join(args.device, args.threads, args.timeout_s)
    if world.size < 2:
        dist.destroy_process_group()
        raise SystemExit("parallel.pipeline needs at least 2 processes, one per stage; got 1 (--nproc-per-node 2)")
    facts = machine(world)
    try:
        for microbatches in counts:
            name = f"pipeline[{world.device.name}-{workload.name}-{world.size}stages-{microbatches}mb]"
            params = world.part_params(workload.name, f"gpipe-{microbatches}mb", args.batch_size)
            common = world.common_figures("pipeline", args.threads)
            extra = record_part(
                world, args.out, facts, name, params, common, lambda: measure(world, args, workload, microbatches)
            )
            if extra is not None:
                world.log(
                    f"{microbatches} micro-batches: bubble {extra['bubble_fraction_measured']:.2f} measured, "
                    f"{extra['bubble_fraction_ideal']:.2f} ideal"
                )
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
