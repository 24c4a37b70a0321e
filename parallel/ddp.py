"""Data-parallel training with DistributedDataParallel, one worker per rank, launched by torchrun:

    torchrun --nproc-per-node 2 -m parallel.ddp --out results/ddp.json

Every rank trains the workload's network (seeded; DDP broadcasts rank 0's weights) on its own shard of the training
split, `--batch-size` rows per rank per step, SGD with momentum as `train-baseline`. Three configurations:
- `ddp`: one forward/backward per step; gradients all-reduced in buckets during backward;
- `ddp-accum-4`: 4 micro-batches per step, all-reducing after each;
- `ddp-no-sync-accum-4`: the same with `no_sync()` on the first 3, so gradients are all-reduced once per step.
Measured per configuration: step time (the slowest rank's), samples per second over all ranks, a standalone all-reduce
of the gradients' bytes (median), and whether every replica holds identical weights afterwards. Rank 0 gathers the
figures and merges one row per configuration into `--out` as soon as it is measured (finished parts are kept).
"""

from __future__ import annotations

import argparse
import statistics
from contextlib import nullcontext

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel

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

CONFIGS = {"ddp": (1, False), "ddp-accum-4": (4, False), "ddp-no-sync-accum-4": (4, True)}  # micro-batches, no_sync
LR, MOMENTUM = 0.05, 0.9  # as train-baseline


def accumulate_gradients(
    ddp: DistributedDataParallel, x: torch.Tensor, y: torch.Tensor, micro_batches: int, no_sync: bool
) -> None:
    """Gradients of the mean cross-entropy over (x, y) into `.grad`, over `micro_batches` equal slices; with
    `no_sync`, the all-reduce runs only in the last slice's backward (DDP then reduces the accumulated sum)."""
    for index, (xs, ys) in enumerate(zip(x.chunk(micro_batches), y.chunk(micro_batches))):
        skip = no_sync and index < micro_batches - 1
        with ddp.no_sync() if skip else nullcontext():
            (nn.functional.cross_entropy(ddp(xs), ys) / micro_batches).backward()


def allreduce_s(world: World, numel: int, reps: int = 30) -> float | None:
    """Median seconds of an all-reduce of `numel` float32 values (the gradients' size), the slowest rank's, on
    rank 0 (None elsewhere). Collective."""
    flat = torch.zeros(numel, device=world.where)
    times = timed_steps(world, lambda: dist.all_reduce(flat), reps, warmup=3)
    return statistics.median(times) if times else None


def measure(world: World, args: argparse.Namespace, workload, config: str) -> dict | None:
    micro_batches, no_sync = CONFIGS[config]
    data = workload.data().train
    shard_x, shard_y = (
        data.x[world.rank :: world.size].to(world.where),
        data.y[world.rank :: world.size].to(world.where),
    )
    x, y = shard_x[: args.batch_size], shard_y[: args.batch_size]
    model = untrained_model(workload, seed=world.rank).to(world.where)  # different seeds: DDP must broadcast rank 0's
    ddp = DistributedDataParallel(model, device_ids=[world.where.index] if world.where.type == "cuda" else None)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=LR, momentum=MOMENTUM)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        accumulate_gradients(ddp, x, y, micro_batches, no_sync)
        optimizer.step()

    world.log(f"{config} {workload.name}: measuring {args.steps} steps")
    times = timed_steps(world, step, args.steps, args.warmup)
    numel = sum(p.numel() for p in model.parameters())
    reduce_s = allreduce_s(world, numel)
    checksum = torch.cat([p.detach().flatten() for p in model.parameters()]).double().sum().item()
    checksums = gather(world, checksum)
    if world.rank != 0:
        return None
    median_s = statistics.median(times)
    return dict(
        times=times,
        extra=dict(
            micro_batches=micro_batches,
            no_sync=no_sync,
            per_process_batch=args.batch_size,
            samples_per_s=world.size * args.batch_size / median_s,
            allreduce_s=reduce_s,
            grad_bytes=4 * numel,
            allreduce_share=min(1.0, reduce_s * (1 if no_sync else micro_batches) / median_s),
            replicas_identical=len(set(checksums)) == 1,
        ),
    )


def parse(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str], Workload]:
    """The worker's options, its configurations and workload, every one checked (SystemExit 2 with the parser's
    message otherwise). `python -m parallel` calls it before starting torchrun, so bad input costs no run."""
    parser = worker_arguments(argparse.ArgumentParser(prog="parallel.ddp", description=__doc__))
    parser.add_argument("--batch-size", type=int, default=64, help="rows per rank per step (default 64)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, among {', '.join(CONFIGS)}")
    args = parser.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration {unknown[0]!r}; valid: {', '.join(CONFIGS)}")
    return args, configs, checked_common(parser, args)


@record
def main(argv: list[str] | None = None) -> None:
    args, configs, workload = parse(argv)
    world = join(args.device, args.threads, args.timeout_s)
    facts = machine(world)
    try:
        for config in configs:
            name = f"ddp[{world.device.name}-{workload.name}-{config}-{world.size}proc]"
            params = world.part_params(workload.name, config, world.size * args.batch_size)
            common = world.common_figures("ddp", args.threads, hosts=facts["hosts"])
            extra = record_part(
                world, args.out, facts, name, params, common, lambda: measure(world, args, workload, config)
            )
            if extra is not None:
                world.log(
                    f"{config}: {extra['samples_per_s']:.0f} samples/s, all-reduce {extra['allreduce_s'] * 1e6:.0f} µs"
                )
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
