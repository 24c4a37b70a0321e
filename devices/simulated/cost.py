"""The analytical cost model: a captured operator graph on a device profile -> latency, energy and what bounds it.

Per operator: time = max(compute, memory) + overhead, and the model's time is the sum in graph order.
- Matrix operators: systolic arrays by SCALE-Sim's fold model (`systolic.gemm_cycles`), FPGA DPUs by their
  PP/ICP/OCP efficiency, GPUs and CPUs by peak throughput with tile and wave quantization. Each dtype runs at its
  peak relative to the array's native rate.
- Vector operators: FLOPs over the vector unit's rate.
- Memory: weights from on-chip memory when the profile keeps them resident and they all fit, else from the last
  (DRAM/HBM) level; activations from the first level their working set fits in.
- Compiled graphs (the technique compiled, or the profile's toolchain always does) fuse each elementwise chain into
  its producer: one overhead, no round trip to memory for the intermediate results.
- Deployed (the vendor's graph compiler and runtime, as published measurements run: TensorRT engines and CUDA
  graphs, the Edge TPU compiler, Vitis AI, Ascend ATC): fused as compiled, with the profile's own per-kernel and
  per-call overheads (`deployed_op_overhead`, `deployed_call_overhead`), a batch norm after a convolution folded
  into its weights at build time (no work left), on profiles whose runtime does it (`deployed_merges_siblings`,
  TensorRT) consecutive linear layers reading one tensor merged into one GEMM (`merge_siblings`), and, where the
  profile says its deployment includes it, the host's pre- and post-processing of the input and output
  (`deployed_host_rate`).
- A dtype the device lacks is up-cast to the next wider supported one (fallback "upcast"), or runs on the host
  with its activations sent over the host link: that operator alone ("host", as Vitis AI partitions a graph into
  DPU and CPU subgraphs) or it and everything after it ("host-tail", as the Edge TPU compiler does).
- Sparsity: unstructured zeros help only where the profile says so; 2:4 weights halve the matrix work (at most 2x)
  on profiles that support it, for GEMMs whose every dimension reaches the profile's minimum.
- Measured kernels (a profile with a kernel table, written by `make calibrate` for this CPU): an operator whose
  runtime, name, dtype and place (fused into the group before it or not) the table has costs fixed + per FLOP x
  FLOPs + per byte x bytes, fitted on measured blocks; a group (a fused chain) with an operator the table lacks
  keeps the roofline's cost, and the call is the table's only where the table priced the whole graph.
- Energy = idle power x time + energy per op x ops performed (sparsity's skipped products cost none) + energy per
  byte x bytes. If the average power would exceed
  the TDP, the time stretches until it does not, and the result is flagged power-limited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from devices.simulated.graph import Gemm, Graph, Op
from devices.simulated.profile import DTYPES, Profile
from devices.simulated.systolic import depthwise_cycles, dpu_efficiency, gemm_cycles

BOUNDS = ("compute", "memory", "overhead", "host")  # per operator; a model can also be bound by "power"
WIDER = {"int4": "int8", "int8": "bf16", "fp8": "bf16", "fp16": "fp32", "bf16": "fp32"}  # the up-cast path


@dataclass(frozen=True)
class OpCost:
    index: int  # first op of its (fused) group
    name: str
    dtype: str
    where: str  # "device" or "host"
    flops: int
    bytes: int
    compute_s: float
    memory_s: float
    overhead_s: float
    time_s: float
    bound: str
    fused: int  # ops folded into this one


@dataclass(frozen=True)
class Prediction:
    latency_s: float
    energy_j: float
    bound: str  # the bound holding most of the time
    power_limited: bool
    ops: tuple[OpCost, ...]
    time_by_bound: dict[str, float]
    flops: int
    bytes: int
    host_ops: int
    upcast_ops: int

    @property
    def average_power_w(self) -> float:
        return self.energy_j / self.latency_s if self.latency_s > 0 else 0.0


def run_dtype(profile: Profile, dtype: str, kind: str) -> str | None:
    """The dtype the device runs `dtype` in: itself, an up-cast one, or None (the host must run it)."""
    supported = profile.peak if kind == "matrix" else {d: 1.0 if d in profile.vector_dtypes else None for d in DTYPES}
    current: str | None = dtype
    while current is not None:
        if supported.get(current) is not None:
            return current
        if profile.fallback != "upcast":
            return None
        current = WIDER.get(current)
    return None


def matrix_time(profile: Profile, gemm: Gemm, dtype: str, flops: float, runtime: str = "eager") -> float:
    """Seconds of one GEMM batch on the matrix units, dense. ONNX Runtime brings its own kernels: where the
    profile has their rate (`onnxruntime_peak`, calibrated on CPUs), it replaces the peak."""
    m = profile.matrix
    peak = profile.peak[dtype]
    if runtime == "onnxruntime" and dtype in profile.onnxruntime_peak:
        peak = profile.onnxruntime_peak[dtype]
    if m["kind"] == "systolic":
        rows, cols, count = m["rows"], m["cols"], m["count"]
        native = 2 * rows * cols * count * profile.clock  # FLOP/s with every PE busy, at the array's base rate
        if gemm.depthwise:  # channels side by side across the columns (systolic.depthwise_cycles)
            cycles = depthwise_cycles(
                rows, cols, m["dataflow"], gemm.m, gemm.batch, gemm.k, gemm.n, m["overlap"], count
            )
        else:
            cycles = gemm_cycles(rows, cols, m["dataflow"], gemm.m, gemm.n, gemm.k, m["overlap"], count, gemm.batch)
        return cycles / profile.clock * native / peak / m["efficiency"]
    if m["kind"] == "dpu":
        peak /= m["count"]  # the cores run separate inferences: one operator has one core
        cin, cout, width = (gemm.channels or gemm.k, gemm.n, gemm.width or gemm.m)
        efficiency = dpu_efficiency(cin, cout, width, m["pp"], m["icp"], m["ocp"])
        if gemm.depthwise:  # PG338: depthwise convolution runs at half the pixel parallelism
            efficiency = dpu_efficiency(1, 1, width, m["pp"], 1, 1) * 0.5 * min(1.0, gemm.batch / m["ocp"])
        return flops / (peak * m["efficiency"] * max(efficiency, 1e-6))
    if gemm.depthwise:  # GPUs and CPUs run depthwise convolutions as vector code, not on matrix units
        return flops / profile.vector_rate
    tile, units = m["tile"], m["units"]
    tiles = gemm.batch * math.ceil(gemm.m / tile) * math.ceil(gemm.n / tile)
    waves = math.ceil(tiles / units)
    useful = gemm.batch * gemm.m * gemm.n / (waves * units * tile * tile)
    return flops / (peak * m["efficiency"] * useful)


def _energy_pj(profile: Profile, dtype: str) -> float:
    current: str | None = dtype
    while current is not None:
        if current in profile.op_energy_pj:
            return profile.op_energy_pj[current]
        current = WIDER.get(current)
    return max(profile.op_energy_pj.values())


def _sibling_key(op: Op) -> tuple | None:
    """What a linear layer shares with the siblings a deployed GPU runtime merges with it: one GEMM reading the output
    of the same operator (not the graph's inputs, which may be several tensors) with the same rows and reduction;
    None: not mergeable (convolutions among them: their kernel shapes are not in the graph)."""
    if op.kind != "matrix" or len(op.gemms) != 1 or "convolution" in op.name or not op.inputs or min(op.inputs) < 0:
        return None
    g = op.gemms[0]
    return (op.name, op.dtype, op.inputs, g.batch, g.m, g.k, op.weight_2of4)


def merge_siblings(graph: Graph) -> tuple[Graph, frozenset[int]]:
    """TensorRT's horizontal layer fusion: consecutive linear layers that read the same tensor with the same rows and
    reduction become one GEMM whose columns are theirs side by side (BERT's query, key and value projections). NVIDIA
    Developer Blog, "Deploying Deep Neural Networks with NVIDIA TensorRT" (2017): horizontal fusion combines "layers
    that take the same source tensor and apply the same operations with similar parameters" into "a single larger
    layer". Returns the graph and the indices of the merged GEMMs (nothing fuses into them: their consumers read
    parts of their output, and every part is written). The graph knows producers, not tensors: two slices of one
    output read by two GEMMs would merge as if they were one tensor."""
    merged: list[Op] = []
    renamed: dict[int, int] = {}
    for op in graph.ops:
        op = replace(op, inputs=tuple(sorted({renamed.get(i, i) for i in op.inputs})))
        key = _sibling_key(op)
        last = merged[-1] if merged else None
        if key is not None and last is not None and _sibling_key(last) == key:
            total = last.weight_bytes + op.weight_bytes
            merged[-1] = replace(
                last,
                flops=last.flops + op.flops,
                weight_bytes=total,
                bytes_written=last.bytes_written + op.bytes_written,
                gemms=(replace(last.gemms[0], n=last.gemms[0].n + op.gemms[0].n),),
                weight_sparsity=(last.weight_sparsity * last.weight_bytes + op.weight_sparsity * op.weight_bytes)
                / max(total, 1),
            )  # the input is read once
            renamed[op.index] = last.index
            continue
        merged.append(op)
    return replace(graph, ops=tuple(merged)), frozenset(renamed.values())


def _groups(graph: Graph, fuse: bool, unfused: frozenset[int] = frozenset()) -> list[list[Op]]:
    """Each op alone, or (fused) each vector op joined to the group that produced one of its inputs, as long as
    that group is the one just before it (a chain, as inductor and XLA fuse them) and its head is not in `unfused`."""
    groups: list[list[Op]] = []
    for op in graph.ops:
        if (
            fuse
            and groups
            and op.kind == "vector"
            and groups[-1][0].index not in unfused
            and any(i in {g.index for g in groups[-1]} for i in op.inputs)
        ):
            groups[-1].append(op)
        else:
            groups.append([op])
    return groups


RUNTIMES = ("eager", "compiled", "onnxruntime", "deployed")  # deployed: tools/predict.py, published measurements

KernelKey = tuple[str, str, str, bool]  # runtime, operator name, dtype, fused into the group before it


def fuses(profile_compiles: bool, runtime: str) -> bool:
    """Whether elementwise chains fuse into their producers under `runtime`."""
    return runtime != "eager" or profile_compiles


def kernel_key(runtime: str, op: Op, position: int) -> KernelKey:
    """The kernel-table row of `op`, the `position`-th operator of its group (0: not fused into another)."""
    return (runtime, op.name, op.dtype, position > 0)


def kernel_terms(graph: Graph, runtime: str) -> tuple[dict[KernelKey, list[float]], int]:
    """Per kernel key, [operators, FLOPs, bytes] of `graph` under `runtime`; and the nn.Module calls an eager call
    makes (0 for other runtimes). What `make calibrate` fits and a kernel table prices (only on profiles that are not
    graph compilers: the loader refuses a table elsewhere)."""
    terms: dict[KernelKey, list[float]] = {}
    for group in _groups(graph, fuses(False, runtime)):
        for position, op in enumerate(group):
            row = terms.setdefault(kernel_key(runtime, op, position), [0.0, 0.0, 0.0])
            row[0] += 1
            row[1] += op.flops
            row[2] += op.bytes
    return terms, graph.module_calls if runtime == "eager" else 0


def _overheads(profile: Profile, runtime: str) -> tuple[float, float]:
    """(per operator, per call) for the runtime that executes the graph; a graph-compiling profile has one, and
    its vendor runtime (deployed) its own figures (without them, the compiled ones: devices/simulated/profile.py)."""
    if runtime == "deployed":
        return profile.deployed_op_overhead, profile.deployed_call_overhead
    if profile.graph_compiler or runtime == "eager":
        return profile.op_overhead, profile.call_overhead
    if runtime == "onnxruntime":
        return profile.onnxruntime_op_overhead, profile.onnxruntime_call_overhead
    return profile.compiled_op_overhead, profile.compiled_call_overhead


def folded(op: Op, head: Op, runtime: str) -> bool:
    """A batch norm the deployed runtime folds into the convolution that produced it (TensorRT, TFLite, Vitis AI and
    ATC rescale the convolution's weights and bias at build time): nothing of it runs."""
    return runtime == "deployed" and "batch_norm" in op.name and op is not head and "convolution" in head.name


def host_stage_s(graph: Graph, profile: Profile, runtime: str) -> float:
    """Seconds of the host's pre- and post-processing per call, where the profile's deployment includes them."""
    if runtime != "deployed" or profile.deployed_host_rate is None:
        return 0.0
    return graph.io_elements / profile.deployed_host_rate


def does_not_fit(graph: Graph, profile: Profile, state_bytes: int = 0) -> str | None:
    """Why one call of `graph` cannot run from the device's largest memory (its last level): the weights, the state
    a call keeps (a decoder's key/value cache) and the largest operator's operands must fit there; None if they do."""
    working = max((op.bytes_read + op.bytes_written for op in graph.ops), default=0)
    needed = graph.weight_bytes + state_bytes + working
    level = profile.memory[-1]
    if needed <= level.capacity:
        return None
    return (
        f"does not fit: {needed / 1e9:.3g} GB (weights {graph.weight_bytes / 1e9:.3g} GB"
        + (f", key/value cache {state_bytes / 1e9:.3g} GB" if state_bytes else "")
        + f", largest operator {working / 1e9:.3g} GB) > {level.capacity / 1e9:.3g} GB of {level.name} "
        f"in profile {profile.name}"
    )


def _measured_kernels(
    graph: Graph, profile: Profile, runtime: str, groups: list[list[Op]], roofline: list[OpCost], roofline_call: float
) -> tuple[list[OpCost], float]:
    """The groups' costs and the call's from the profile's kernel table: a group (an operator, or a fused chain)
    whose every operator the table has is priced by it (its bound: the largest of the fixed, FLOP and byte terms),
    another keeps its roofline cost. The call is the table's only where it priced every group (its fitted call terms
    hold what the fit could not tell from the operators' fixed costs); otherwise the roofline's `call` stands."""
    call, per_module = profile.kernel_calls[runtime]
    costs = []
    covered = True
    for group, cost in zip(groups, roofline):
        keys = [kernel_key(runtime, op, position) for position, op in enumerate(group)]
        if cost.where != "device" or any(key not in profile.kernels for key in keys):
            costs.append(cost)
            covered = False
            continue
        fixed = compute = memory = 0.0
        for op, key in zip(group, keys):
            kernel = profile.kernels[key]
            fixed += kernel.fixed
            compute += kernel.per_flop * op.flops
            memory += kernel.per_byte * op.bytes
        bound = max((("overhead", fixed), ("compute", compute), ("memory", memory)), key=lambda kv: kv[1])[0]
        costs.append(
            replace(
                cost, compute_s=compute, memory_s=memory, overhead_s=fixed, time_s=fixed + compute + memory, bound=bound
            )
        )
    return costs, (call + per_module * (graph.module_calls if runtime == "eager" else 0) if covered else roofline_call)


def predict(graph: Graph, profile: Profile, runtime: str = "eager") -> Prediction:
    """`runtime`: "eager" (PyTorch op by op), "compiled" (torch.compile: fused, lower overheads), "onnxruntime" or
    "deployed" (the vendor's runtime). A profile whose toolchain always compiles (`graph_compiler`) prices eager,
    compiled and onnxruntime alike."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}: expected one of {', '.join(RUNTIMES)}")
    fuse = fuses(profile.graph_compiler, runtime)
    eager = not fuse
    unfused: frozenset[int] = frozenset()
    if runtime == "deployed" and profile.deployed_merges_siblings:
        graph, unfused = merge_siblings(graph)
    op_overhead, call = _overheads(profile, runtime)
    memory = profile.memory
    resident = profile.weights_resident and graph.weight_bytes <= memory[0].capacity
    weight_level = memory[0] if resident else memory[-1]
    costs: list[OpCost] = []
    on_host = False
    dynamic_pj = 0.0
    upcast = 0
    for group in _groups(graph, fuse, unfused):
        head = group[0]
        run_as = [run_dtype(profile, op.dtype, op.kind) for op in group]
        if profile.fallback == "host-tail" and (on_host or any(d is None for d in run_as)):
            on_host = True  # the Edge TPU compiler's partitioning: from the first unsupported op on, the host
        upcast += sum(1 for op, d in zip(group, run_as) if d is not None and d != op.dtype)
        flops = sum(op.flops for op in group)
        # fused: only the group's first reads and last writes touch memory (plus every weight)
        act_bytes = (
            (head.bytes_read + group[-1].bytes_written)
            if fuse
            else sum(op.bytes_read + op.bytes_written for op in group)
        )
        weight_bytes = sum(op.weight_bytes for op in group)
        if on_host or any(d is None for d in run_as):
            # the graph's input is already on the host; activations cross the link when the previous op ran on the device
            crossing = bool(costs) and costs[-1].where == "device"
            transfer = head.bytes_read / profile.link_bandwidth + profile.link_latency if crossing else 0.0
            compute = flops / profile.host_rate
            total = compute + transfer
            costs.append(
                OpCost(
                    head.index,
                    head.name,
                    head.dtype,
                    "host",
                    flops,
                    act_bytes + weight_bytes,
                    compute,
                    transfer,
                    0.0,
                    total,
                    "host",
                    len(group) - 1,
                )
            )
            continue
        compute = 0.0
        for op, dtype in zip(group, run_as):
            if folded(op, head, runtime):
                flops -= op.flops
                continue
            executed = 1.0  # the share of the op's arithmetic the hardware performs (sparsity skips the rest)
            if op.kind == "matrix" and op.gemms:
                per_flop = op.flops / max(sum(2 * g.batch * g.m * g.n * g.k for g in op.gemms), 1)
                seconds = sum(
                    matrix_time(profile, g, dtype, 2 * g.batch * g.m * g.n * g.k * per_flop, runtime) for g in op.gemms
                )
                if (
                    op.weight_2of4
                    and profile.sparsity == "2:4"
                    and all(min(g.m, g.n, g.k) >= profile.sparse_min_dim for g in op.gemms)
                ):
                    executed = 0.5  # at most 2x, and only on hardware with 2:4 units
                elif profile.unstructured_sparsity and op.weight_sparsity > 0:
                    executed = 1 - op.weight_sparsity
                compute += seconds * executed
            elif op.kind == "matrix":  # a matrix op whose GEMM shape is unknown: peak rate
                compute += op.flops / profile.peak[dtype]
            else:
                compute += op.flops / profile.vector_rate
            dynamic_pj += op.flops * executed * _energy_pj(profile, dtype)  # the skipped products cost no energy
        if costs and costs[-1].where == "host":  # back from the host to the device
            memory_s_link = head.bytes_read / profile.link_bandwidth + profile.link_latency
        else:
            memory_s_link = 0.0
        working = act_bytes
        level = next((lv for lv in memory if working <= lv.capacity), memory[-1])
        memory_s = act_bytes / level.bandwidth + weight_bytes / weight_level.bandwidth
        dynamic_pj += act_bytes * level.energy_pj_per_byte + weight_bytes * weight_level.energy_pj_per_byte
        overhead = op_overhead
        if head.kind == "matrix" and not profile.graph_compiler and runtime in ("eager", "compiled"):
            # matmuls and convolutions have their own fixed costs, per dtype (oneDNN primitives, reorders)
            conv = "convolution" in head.name
            if eager:
                table = profile.conv_overhead if conv else profile.matmul_overhead
            else:
                table = profile.compiled_conv_overhead if conv else profile.compiled_matmul_overhead
            overhead = table.get(run_as[0] or head.dtype, op_overhead)
        total = max(compute, memory_s) + overhead + memory_s_link
        bound = max(
            (("compute", compute), ("memory", memory_s), ("overhead", overhead), ("host", memory_s_link)),
            key=lambda kv: kv[1],
        )[0]
        costs.append(
            OpCost(
                head.index,
                head.name,
                run_as[0] or head.dtype,
                "device",
                flops,
                act_bytes + weight_bytes,
                compute,
                memory_s,
                overhead,
                total,
                bound,
                len(group) - 1,
            )
        )
    if eager:
        call += graph.module_calls * profile.module_overhead
    measured = runtime in profile.kernel_calls
    if measured:
        costs, call = _measured_kernels(graph, profile, runtime, _groups(graph, fuse, unfused), costs, call)
    host = host_stage_s(graph, profile, runtime)
    latency = call + host + sum(c.time_s for c in costs)
    dynamic = dynamic_pj * 1e-12
    if measured:  # measured kernels already ran at whatever the power limit allowed: no stretch, power <= TDP
        dynamic = min(dynamic, (profile.tdp - profile.idle_power) * latency)
    power_limited = not measured and latency > 0 and dynamic / latency + profile.idle_power > profile.tdp
    by_bound = {b: sum(c.time_s for c in costs if c.bound == b) for b in BOUNDS}
    by_bound["overhead"] += call
    by_bound["host"] += host
    if power_limited:  # the device throttles: the extra time is the power limit's
        stretched = dynamic / (profile.tdp - profile.idle_power)
        by_bound["power"] = stretched - latency
        latency = stretched
    return Prediction(
        latency_s=latency,
        energy_j=profile.idle_power * latency + dynamic,
        bound=max(by_bound, key=by_bound.get),
        power_limited=power_limited,
        ops=tuple(costs),
        time_by_bound=by_bound,
        flops=sum(c.flops for c in costs),
        bytes=sum(c.bytes for c in costs),
        host_ops=sum(1 for c in costs if c.where == "host"),
        upcast_ops=upcast,
    )
