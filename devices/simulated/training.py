"""A training step on a simulated device, and data-parallel scaling over the profile's interconnect.

One optimizer step = micro_batches x (forward + backward [+ recompute]) + optimizer update:
- forward: the captured graph of one micro-batch, priced by `cost.predict`;
- backward: the same operators run backwards, each matrix operator as two GEMMs of its forward's size (the gradient
  of its input and of its weight: twice the forward's matrix work), each vector operator reading its saved input
  and the incoming gradient and writing the outgoing one;
- recompute (activation checkpointing): the graph of the part run again during backward;
- optimizer update: parameters, gradients and optimizer state read, parameters and state written, from DRAM/HBM.
Data parallel adds a ring all-reduce of the gradients per step, not overlapped with backward (conservative:
DDP overlaps its buckets with backward), over the first link of the profile's interconnect that joins that many
devices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from devices.simulated.cost import predict
from devices.simulated.graph import Graph, Op
from devices.simulated.profile import Link, Profile

PROJECTED_DEVICES = (8, 64)  # the scaling the report shows, labelled projection


@dataclass(frozen=True)
class TrainingStep:
    """What the benchmark knows of one optimizer step, measured on the host. Bytes are as stored."""

    forward: Graph  # one micro-batch's forward, as the step runs it (autocast dtypes included)
    micro_batches: int = 1  # forward+backward passes per optimizer step (gradient accumulation)
    recompute: Graph | None = None  # forward work run again during backward (activation checkpointing)
    param_bytes: int = 0  # parameters (float32 master weights under autocast)
    param_tensors: int = 0  # optimizer kernels run per tensor in eager mode
    state_bytes: int = 0  # optimizer state: momentum, Adam's two moments...
    update_flops: int = 0  # optimizer arithmetic per step
    update_ops_per_tensor: int = 1  # elementwise kernels per parameter tensor (for-loop optimizer)

    @property
    def grad_bytes(self) -> int:
        """Gradients, one per parameter, in the parameters' dtype: what data parallel all-reduces."""
        return self.param_bytes


@dataclass(frozen=True)
class TrainingPrediction:
    """Seconds of one optimizer step and its parts, and its energy in joules."""

    step_s: float
    forward_s: float
    backward_s: float
    recompute_s: float
    optimizer_s: float
    energy_j: float


def backward_graph(forward: Graph) -> Graph:
    """The backward pass of `forward`: its operators in reverse order, each matrix operator as two GEMMs (gradient of
    the input: (m x n)(n x k); of the weight: (k x m)(m x n)), so twice the forward's matrix FLOPs."""
    ops: list[Op] = []
    for index, op in enumerate(reversed(forward.ops)):
        gemms = tuple(
            g
            for gemm in op.gemms
            for g in (replace(gemm, n=gemm.k, k=gemm.n), replace(gemm, m=gemm.k, k=gemm.m, width=0))
        )
        ops.append(
            Op(
                index=index,
                name=f"{op.name}.backward",
                kind=op.kind,
                dtype=op.dtype,
                flops=2 * op.flops if op.kind == "matrix" else op.flops,
                bytes_read=op.bytes_written + op.bytes_read,  # the incoming gradient and the saved input
                weight_bytes=2 * op.weight_bytes,  # the weight read, its gradient written
                bytes_written=op.bytes_read,  # the gradient of the input
                gemms=gemms,
                inputs=(index - 1,),  # a chain: compiled runtimes fuse consecutive vector operators
            )
        )
    return Graph(tuple(ops), forward.weight_bytes, forward.output_bytes, forward.input_bytes, module_calls=0)


def optimizer_s(step: TrainingStep, profile: Profile, fused: bool) -> float:
    """The update: max(arithmetic on the vector unit, traffic from the last memory level) plus one overhead per
    kernel (per tensor in eager mode; one multi-tensor kernel per operation when fused)."""
    traffic_bytes = 2 * step.param_bytes + step.grad_bytes + 2 * step.state_bytes
    kernels = step.update_ops_per_tensor * (1 if fused else max(step.param_tensors, 1))
    compute_s = step.update_flops / profile.vector_rate
    return max(compute_s, traffic_bytes / profile.memory[-1].bandwidth) + kernels * profile.op_overhead


def predict_step(step: TrainingStep, profile: Profile, runtime: str = "eager") -> TrainingPrediction:
    """The modelled optimizer step on `profile`; `runtime` as for `cost.predict`."""
    forward = predict(step.forward, profile, runtime)
    backward = predict(backward_graph(step.forward), profile, runtime)
    recompute = predict(step.recompute, profile, runtime) if step.recompute is not None else None
    recompute_s = recompute.latency_s if recompute else 0.0
    update_s = optimizer_s(step, profile, fused=runtime != "eager" or profile.graph_compiler)
    passes = step.micro_batches
    energy_j = passes * (forward.energy_j + backward.energy_j + (recompute.energy_j if recompute else 0.0))
    update_bytes = 2 * step.param_bytes + step.grad_bytes + 2 * step.state_bytes
    energy_j += profile.idle_power * update_s + update_bytes * profile.memory[-1].energy_pj_per_byte * 1e-12
    return TrainingPrediction(
        step_s=passes * (forward.latency_s + backward.latency_s + recompute_s) + update_s,
        forward_s=passes * forward.latency_s,
        backward_s=passes * backward.latency_s,
        recompute_s=passes * recompute_s,
        optimizer_s=update_s,
        energy_j=energy_j,
    )


def ring_allreduce_s(nbytes: float, devices: int, link: Link) -> float:
    """Seconds of a ring all-reduce of `nbytes` over `devices`: 2(N-1) steps, each sending nbytes/N over the link
    (the alpha-beta model: 2(N-1)/N x bytes / bandwidth + 2(N-1) x latency). Zero on one device."""
    if devices < 1:
        raise ValueError(f"an all-reduce needs at least 1 device; got {devices}")
    if devices == 1:
        return 0.0
    return 2 * (devices - 1) / devices * nbytes / link.bandwidth + 2 * (devices - 1) * link.latency


def link_for(profile: Profile, devices: int) -> Link | None:
    """The first (fastest) link of the profile that joins `devices` devices; None when none does."""
    return next((lk for lk in profile.interconnect if lk.devices is None or lk.devices >= devices), None)


@dataclass(frozen=True)
class Projection:
    """Data-parallel training on `devices` devices, each with the measured per-device batch (weak scaling)."""

    devices: int
    link: str
    step_s: float
    allreduce_s: float
    scaling_efficiency: float  # one device's step time / this step time: 1.0 is perfect scaling


def project_data_parallel(step_s: float, grad_bytes: int, profile: Profile, devices: int) -> Projection | None:
    """`step_s` (one device) plus the ring all-reduce of `grad_bytes` on `devices` devices; None when the profile
    has no link that joins that many (a projection is unavailable, not guessed)."""
    link = link_for(profile, devices)
    if link is None:
        return None
    allreduce_s = ring_allreduce_s(grad_bytes, devices, link)
    total_s = step_s + allreduce_s
    return Projection(devices, link.name, total_s, allreduce_s, step_s / total_s)
