"""`python -m devices.simulated predict`: what one model costs on one simulated device, without running it.

    python -m devices.simulated predict --device sim-a100 --model resnet-50 --batch 2048 --dtype int8 [--seq 384]
        [--phase prefill|decode] [--input-size 299] [--runtime eager|compiled|deployed] [--json]

The model's operator graph is captured on fake tensors (shapes and dtypes only: no weight is allocated, so a
7B-parameter decoder captures on a 2-core laptop) and priced by the device's cost model (devices/simulated/cost.py).
`--model` is a standard model (workloads/standard.py), a registered workload, or your own model as
`package.module:factory` or a `.pt2` file (workloads/user.py); those are captured on the host from the real model,
the example's first row repeated to the batch. Number formats: fp32, bf16 and fp16 run the whole model in that
dtype; int8 and fp8 run the weighted matrix operators (linear layers, convolutions) with 8-bit weights and
activations, as a deployed runtime's int8/fp8 kernels do; int4 stores their weights in 4 bits and computes in bf16
(weight-only). Exit status 2, with the valid names, for an unknown
device, model, dtype, phase or runtime.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import torch

import devices
import workloads
from accelbench.registry import Unavailable
from devices.simulated.cost import does_not_fit
from devices.simulated.graph import Graph, as_format, capture, fake_capture
from workloads.standard import PHASES, STANDARD
from workloads.user import UserModelError, load

DTYPES = ("fp32", "bf16", "fp16", "fp8", "int8", "int4")
RUNTIMES = ("eager", "compiled", "deployed")
TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class UsageError(ValueError):
    """A bad argument; the message names it and what is valid."""


# --dtype -> (the dtype the model is built in, the format its matrix operators are then priced in)
FORMAT_OF = {
    "fp32": ("fp32", None),
    "bf16": ("bf16", None),
    "fp16": ("fp16", None),
    "fp8": ("bf16", "fp8"),  # quantized formats start from a 16-bit model, as deployed runtimes do
    "int8": ("bf16", "int8"),
    "int4": ("bf16", "int4-weight"),
}


def as_dtype(graph: Graph, dtype: str) -> Graph:
    fmt = FORMAT_OF[dtype][1]
    return graph if fmt is None else as_format(graph, fmt)


def graph_of(model: str, batch: int, dtype: str, seq: int | None, phase: str, input_size: int | None) -> Graph:
    """The operator graph of one call of `model` at `batch`, in `dtype`."""
    base = FORMAT_OF[dtype][0]
    if ":" in model or model.endswith(".pt2"):  # the user's own: its example inputs, repeated or cut to the batch
        try:
            loaded = load(model)
        except UserModelError as exc:
            raise UsageError(f"--model: {exc}") from None
        net, example = loaded.model, loaded.example
        x = example[:1].repeat(batch, *([1] * (example.dim() - 1))) if example.dim() else example
        net = net.eval() if base == "fp32" else net.eval().to(TORCH_DTYPES[base])
        return as_dtype(capture(net, x.to(net_dtype(net)) if x.is_floating_point() else x), dtype)
    if model in STANDARD:
        build = STANDARD[model].builder(batch, TORCH_DTYPES[base], seq, phase, input_size)
        stacked = STANDARD[model].stacked(batch, TORCH_DTYPES[base], seq, phase, input_size)
        return as_dtype(fake_capture(build, stacked), dtype)
    workload = workloads.REGISTRY.get(model)
    net = workload.build() if dtype == "fp32" else workload.build().to(TORCH_DTYPES[base])
    x = workload.data().test.x[:batch]
    if len(x) < batch:  # more rows than the test split holds: repeat them (the shapes are what is priced)
        x = x.repeat(math.ceil(batch / len(x)), *([1] * (x.dim() - 1)))[:batch]
    if x.is_floating_point():
        x = x.to(net_dtype(net))
    return as_dtype(capture(net.eval(), x), dtype)


def net_dtype(net: torch.nn.Module) -> torch.dtype:
    return next((p.dtype for p in net.parameters() if p.is_floating_point()), torch.float32)


def predict(args: argparse.Namespace) -> dict:
    """The figures of one prediction, or UsageError naming a bad argument and what is valid."""
    simulated = [d.name for d in devices.REGISTRY if d.simulated]
    if args.device not in simulated:
        raise UsageError(f"unknown simulated device {args.device!r}; valid: {', '.join(simulated)}")
    models = list(dict.fromkeys([*STANDARD, *(w.name for w in workloads.REGISTRY)]))  # standard ones are workloads too
    if args.model not in models and ":" not in args.model and not args.model.endswith(".pt2"):
        raise UsageError(
            f"unknown model {args.model!r}; valid: {', '.join(models)}, package.module:factory or a .pt2 file"
        )
    if (
        args.batch < 1
        or (args.seq is not None and args.seq < 1)
        or (args.input_size is not None and args.input_size < 8)
    ):
        raise UsageError("--batch and --seq must be at least 1, --input-size at least 8")
    device = devices.REGISTRY.get(args.device)
    graph = graph_of(args.model, args.batch, args.dtype, args.seq, args.phase, args.input_size)
    prediction = device.predict(graph, args.runtime)  # deployed: the vendor's runtime (devices/simulated/cost.py)
    profile = device.profile
    spec = STANDARD.get(args.model)
    state = spec.state_bytes(args.batch, TORCH_DTYPES[FORMAT_OF[args.dtype][0]], args.seq, args.phase) if spec else 0
    too_big = does_not_fit(graph, profile, state)
    return {
        "device": args.device,
        "model": args.model,
        "batch": args.batch,
        "dtype": args.dtype,
        "phase": args.phase if args.model in STANDARD and STANDARD[args.model].family == "decoder" else None,
        "runtime": args.runtime,
        "latency_s": prediction.latency_s,
        "throughput_per_s": args.batch / prediction.latency_s,
        "energy_j": prediction.energy_j,
        "bound": prediction.bound,
        "upcast_ops": prediction.upcast_ops,
        "host_ops": prediction.host_ops,
        "flops": graph.flops,
        "weight_bytes": graph.weight_bytes,
        "fits": too_big is None,
        "note": too_big,
        "profile": profile.name,
        "profile_version": profile.version,
        "simulated": True,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m devices.simulated predict", description=__doc__.splitlines()[0])
    p.add_argument("--device", required=True, help="a simulated device (sim-a100, sim-tpu-v4, ...)")
    p.add_argument(
        "--model", required=True, help="a standard model (resnet-50, llama-7b, ...), a workload, or pkg.mod:factory"
    )
    p.add_argument("--batch", type=int, default=1, help="inputs per call (default 1)")
    p.add_argument("--dtype", choices=DTYPES, default="fp32", help="number format (default fp32)")
    p.add_argument("--seq", type=int, help="tokens: sequence, prompt (prefill) or cache (decode)")
    p.add_argument("--phase", choices=PHASES, default="prefill", help="decoders: prefill or decode")
    p.add_argument("--input-size", type=int, help="image side in pixels (default: the model's, 224)")
    p.add_argument("--runtime", choices=RUNTIMES, default="deployed", help="how the device runs it (default deployed)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        figures = predict(args)
    except (UsageError, Unavailable, NotImplementedError) as exc:  # a bad name, a missing extra, no build()
        print(f"predict: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(figures))
        return 0
    print(
        f"{figures['model']} on {figures['device']} (simulated, profile {figures['profile']} "
        f"{figures['profile_version']}), batch {figures['batch']}, {figures['dtype']}, {figures['runtime']}:\n"
        f"  latency {figures['latency_s']:.4g} s per batch, throughput {figures['throughput_per_s']:.4g}/s, "
        f"energy {figures['energy_j']:.4g} J per batch, bound by {figures['bound']}"
        + (f"\n  warning: {figures['note']}" if figures["note"] else "")
    )
    return 0
