"""Operator graph capture: run a model once on the host under a TorchDispatchMode and record every aten operator
with its shapes, dtypes, weights, FLOPs and bytes, in the arithmetic the model really does.

- Views and metadata operators (view, t, expand, detach...) move no data and are not recorded; nor is arithmetic on
  integer scalars (a decode step's cache position): a deployed runtime keeps that on the host.
- An in-place scatter (a static key/value cache's update) reads and writes only the rows it puts.
- Quantize / dequantize operators (PT2E's reference graph) are not recorded either: deployed, they fuse into the
  neighbouring kernels. What they leave behind is the *effective dtype*: a tensor that came out of a dequantize is
  int8 data, and an operator whose float inputs are all such tensors computes in int8. So a PT2E int8 linear shows
  as an int8 matmul reading int8 weights, and a bf16 model shows as bf16.
- A weight is any tensor the model holds (parameters, buffers, constant attributes, the inner tensors of
  torchao's quantized tensor subclasses), or anything derived from one by views or dequantization.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode, is_fake
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry
from torch.utils.weak import WeakIdKeyDictionary

from accelbench.files import atomic_write
from accelbench.measure import unwrap  # registers the extra FLOP formulas (int8/int4 matmuls, LSTM layers)

DTYPE_NAMES = {
    torch.float32: "fp32",
    torch.float64: "fp32",
    torch.bfloat16: "bf16",
    torch.float16: "fp16",
    torch.float8_e4m3fn: "fp8",
    torch.float8_e5m2: "fp8",
    torch.int8: "int8",
    torch.uint8: "int8",
    torch.quint8: "int8",
    torch.qint8: "int8",
    # index and mask arithmetic (token ids, attention masks): integer work, sized by its real element size
    torch.int16: "int8",
    torch.int32: "int8",
    torch.int64: "int8",
    torch.bool: "int8",
}
GATHER_OPS = {"embedding", "index_select", "gather", "embedding_bag"}  # read only the rows they return
# in-place scatters (a static key/value cache's update): they read and write only the rows they put, not their
# destination, which they return whole
SCATTER_OPS = {"index_copy_", "index_put_", "_index_put_impl_", "scatter_"}
BITS = {"fp32": 32, "bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "int4": 4}

# operators that run on matrix units, with how to read their GEMMs
MATRIX_OPS = {
    "mm",
    "addmm",
    "bmm",
    "baddbmm",
    "_int_mm",
    "convolution",
    "_weight_int4pack_mm_for_cpu",
    "_weight_int4pack_mm",
    "linear_dynamic",
    "mkldnn_rnn_layer",
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
}
QUANT_OPS = {
    "quantize_per_tensor",
    "dequantize_per_tensor",
    "quantize_per_channel",
    "dequantize_per_channel",
    "choose_qparams",
    "quantize_affine",
    "dequantize_affine",
}
DEQUANT_OPS = {"dequantize_per_tensor", "dequantize_per_channel", "dequantize_affine"}
NO_DATA_OPS = {
    "detach",
    "lift_fresh",
    "_to_copy_view",
    "alias",
    "empty",
    "zeros",
    "ones",
    "full",
    "scalar_tensor",
    "arange",
    "empty_strided",
    "new_empty",
    "new_zeros",
    "new_ones",
    "zeros_like",
    "empty_like",
    "_local_scalar_dense",
    "sym_size",
    "sym_stride",
    "sym_numel",
    "is_same_size",
    "_has_compatible_shallow_copy_type",
}
# vector operators doing more than one operation per output element (approximate counts)
OPS_PER_ELEMENT = {
    "_softmax": 5,
    "softmax": 5,
    "_log_softmax": 5,
    "native_layer_norm": 8,
    "layer_norm": 8,
    "gelu": 8,
    "tanh": 4,
    "sigmoid": 4,
    "exp": 2,
    "erf": 4,
    "native_batch_norm": 4,
    "_native_batch_norm_legit_no_training": 4,
    "mean": 1,
    "sum": 1,
    "norm": 2,
    "linalg_vector_norm": 2,
    "avg_pool2d": 9,
    "max_pool2d_with_indices": 9,
    "max_pool2d": 9,
}


@dataclass(frozen=True)
class Gemm:
    """`batch` independent (m x k)(k x n) products (convolutions as im2col GEMMs, one per group)."""

    batch: int
    m: int
    n: int
    k: int
    depthwise: bool = False  # a depthwise convolution: each group is one channel
    width: int = 0  # output columns of a convolution (FPGA DPUs parallelise over them); 0 = not a convolution
    channels: int = 0  # input channels per group of a convolution (k = channels x kernel area); 0 = k


@dataclass(frozen=True)
class Op:
    index: int
    name: str  # aten.addmm.default
    kind: str  # "matrix" or "vector"
    dtype: str  # the dtype it computes in
    flops: int
    bytes_read: int  # activations
    weight_bytes: int
    bytes_written: int
    gemms: tuple[Gemm, ...] = ()
    weight_sparsity: float = 0.0  # fraction of zeros among its weight operands
    weight_2of4: bool = False  # every group of 4 along the reduction has at least 2 zeros
    inputs: tuple[int, ...] = ()  # indices of the ops that produced its inputs (-1: the graph's input)
    input_shapes: tuple[tuple[int, ...], ...] = ()
    output_shapes: tuple[tuple[int, ...], ...] = ()

    @property
    def bytes(self) -> int:
        return self.bytes_read + self.weight_bytes + self.bytes_written


@dataclass(frozen=True)
class Graph:
    ops: tuple[Op, ...]
    weight_bytes: int  # of the whole model, as stored
    input_bytes: int
    output_bytes: int
    module_calls: int = 0  # nn.Module calls in one eager forward (Python overhead of eager mode)
    io_elements: int = 0  # elements of the input and the outputs (what a host's pre- and post-processing touch)
    parameters: int = 0  # elements of the model's parameters (nn.Module.parameters)

    @property
    def flops(self) -> int:
        return sum(op.flops for op in self.ops)


@dataclass
class _Info:
    producer: int  # op index; -1 = graph input; -2 = a weight
    dtype: str  # effective dtype
    weight: bool
    source: torch.Tensor | None = None  # for weights: the stored tensor (sparsity)
    via_quant: bool = False  # the int8 copy a quantize made of the producer's output


def _name(func) -> str:
    return func._overloadpacket.__name__ if hasattr(func, "_overloadpacket") else str(func)


def _nbytes(t: torch.Tensor, dtype: str) -> int:
    if not t.is_floating_point() and dtype == "int8":  # integers and masks: their own element size
        return t.numel() * t.element_size()
    return math.ceil(t.numel() * BITS.get(dtype, 8 * t.element_size()) / 8)


def _held_tensors(model: nn.Module) -> list[torch.Tensor]:
    """Every tensor the model holds, including the inner tensors of tensor subclasses (torchao)."""
    found: list[torch.Tensor] = []

    def add(t: torch.Tensor) -> None:
        found.append(t)
        if hasattr(t, "__tensor_flatten__") and type(t) is not torch.Tensor and not isinstance(t, nn.Parameter):
            names, _ = t.__tensor_flatten__()
            for inner in names:
                add(getattr(t, inner))
        elif isinstance(t, nn.Parameter) and type(t.data) is not torch.Tensor:
            add(t.data)

    for module in model.modules():
        for t in list(module.parameters(recurse=False)) + list(module.buffers(recurse=False)):
            add(t)
        for value in vars(module).values():
            if isinstance(value, torch.Tensor):
                add(value)
    return found


def _storage_key(t: torch.Tensor) -> int | None:
    """What identifies the memory a tensor views: its storage (views of a weight share it). Fake and meta tensors have
    no memory (every data pointer is 0); the storage object's own address tells them apart."""
    try:
        storage = t.untyped_storage()
        return storage._cdata if not has_values(t) else storage.data_ptr()
    except (RuntimeError, NotImplementedError, TypeError):
        return None


def _gemms(name: str, args: tuple, out) -> tuple[Gemm, ...]:
    shape = lambda t: tuple(t.shape)  # noqa: E731
    if name in ("mm", "_int_mm"):
        (m, k), n = shape(args[0]), shape(args[1])[1]
        return (Gemm(1, m, n, k),)
    if name == "addmm":
        (m, k), n = shape(args[1]), shape(args[2])[1]
        return (Gemm(1, m, n, k),)
    if name in ("bmm", "baddbmm"):
        a, b = (args[0], args[1]) if name == "bmm" else (args[1], args[2])
        return (Gemm(a.shape[0], a.shape[1], b.shape[2], a.shape[2]),)
    if name in ("_weight_int4pack_mm_for_cpu", "_weight_int4pack_mm", "linear_dynamic"):
        x = args[0]
        return (Gemm(1, math.prod(x.shape[:-1]), out.shape[-1], x.shape[-1]),)
    if name == "convolution":
        x, w, groups = args[0], args[1], args[8]
        spatial = math.prod(out.shape[2:])
        return (
            Gemm(
                groups,
                x.shape[0] * spatial,
                w.shape[0] // groups,
                math.prod(w.shape[1:]),
                depthwise=groups > 1 and w.shape[1] == 1,
                width=out.shape[-1],
                channels=w.shape[1],
            ),
        )
    if name == "mkldnn_rnn_layer":  # (input [T, B, I] or batch-first, w_ih [4H, I], w_hh [4H, H], ...): T steps
        x, w_ih, w_hh = args[0], args[1], args[2]
        batch_first = bool(args[13]) if len(args) > 13 and isinstance(args[13], bool) else False
        steps, rows = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
        return (Gemm(steps, rows, w_ih.shape[0], w_ih.shape[1] + w_hh.shape[1]),)
    if "scaled_dot_product" in name:  # q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev]
        q, k, v = args[0], args[1], args[2]
        heads = math.prod(q.shape[:-2])
        return (Gemm(heads, q.shape[-2], k.shape[-2], q.shape[-1]), Gemm(heads, q.shape[-2], v.shape[-1], k.shape[-2]))
    return ()


def _is_2of4(t: torch.Tensor) -> bool:
    if t.dim() < 2 or t.shape[-1] % 4 or not t.is_floating_point():
        return False
    groups = (t.detach().reshape(-1, 4) == 0).sum(-1)
    return bool((groups >= 2).all())


class _Recorder(TorchDispatchMode):
    def __init__(self, held: list[torch.Tensor]) -> None:
        super().__init__()
        self.info = WeakIdKeyDictionary()  # by identity: freed temporaries drop out
        dense = (torch.Tensor, FakeTensor)  # plain tensors, real or fake (not tensor subclasses such as torchao's)
        plain = [t for t in held if type(t) in dense or (type(t) is nn.Parameter and type(t.data) in dense)]
        self.weights = {key: t for t in plain if (key := _storage_key(t)) is not None and key != 0}
        self.ops: list[Op] = []
        self.consumers: dict[int, list[str]] = {}
        self.block: int | None = None  # the index of the repeated block running now (`_capture`'s `blocks`)
        self.block_of: list[int | None] = []  # each op's block

    def describe(self, t: torch.Tensor) -> _Info:
        known = self.info.get(t)
        if known is not None:
            return known
        key = _storage_key(t)
        dtype = DTYPE_NAMES.get(t.dtype, "fp32")
        if key is not None and key in self.weights:
            stored = self.weights[key]
            return _Info(-2, DTYPE_NAMES.get(stored.dtype, dtype), True, stored)
        return _Info(-1, dtype, False)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = _name(func)
        ins = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        outs = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
        infos = [self.describe(t) for t in ins]
        schema = getattr(func, "_schema", None)
        # a view aliases its input without writing; an in-place op (relu_, add_) writes, so it is real work
        aliases = schema is not None and any(
            r.alias_info is not None and not r.alias_info.is_write for r in schema.returns
        )
        # integer scalars (a position counter, a cache length): bookkeeping a deployed runtime keeps on the host
        bookkeeping = all(t.dim() == 0 and not t.is_floating_point() for t in ins + outs)
        if aliases or name in NO_DATA_OPS or not outs or name.startswith("sym_") or bookkeeping:
            if infos and outs:  # a view keeps what its base was
                for o in outs:
                    self.info.setdefault(o, infos[0])
            return out
        if name in QUANT_OPS:
            base = infos[0] if infos else _Info(-1, "fp32", False)
            dtype = "int8" if name in DEQUANT_OPS or name.startswith("quantize") else base.dtype
            for o in outs:
                self.info[o] = _Info(base.producer, dtype, base.weight, base.source, via_quant=True)
            for info in infos[:1] if name.startswith("quantize") else ():  # a dequantize reads the int8 copy
                if info.producer >= 0:
                    self.consumers.setdefault(info.producer, []).append(name)
            return out
        index = len(self.ops)
        kind = "matrix" if name in MATRIX_OPS else "vector"
        acts = [(t, i) for t, i in zip(ins, infos) if not i.weight]
        weights = [(t, i) for t, i in zip(ins, infos) if i.weight]
        actual = DTYPE_NAMES.get(outs[0].dtype, "fp32")
        if kind == "vector" and infos and not acts:
            # weight preparation (dequantizing, transposing a copy): part of the consuming kernel, not an operator
            source = min(infos, key=lambda i: BITS[i.dtype])
            for o in outs:
                self.info[o] = _Info(-2, source.dtype, True, source.source)
            return out
        widest = lambda dtypes: max(dtypes, key=lambda d: BITS[d])  # noqa: E731
        if name == "linear_dynamic":  # torch.ao's packed int8 weight is opaque: int8 math on an (n x k) int8 matrix
            gemm = _gemms(name, args, outs[0])[0]
            weights = [(torch.empty(gemm.n, gemm.k, dtype=torch.int8), _Info(-2, "int8", True))]
            acts = [(t, _Info(i.producer, "int8", False)) for t, i in acts]
        if kind == "matrix":
            # int8 only when every operand is; weight-only quantization computes in the activations' dtype
            operand = [i.dtype for _, i in acts] or [i.dtype for _, i in weights]
            dtype = widest(operand) if operand else "fp32"
            if all(i.dtype == "int8" for _, i in acts + weights):
                dtype = "int8"
            out_dtype = actual
        else:
            # the float operands (token ids and masks index or select: they are not the arithmetic's dtype)
            floats = [i.dtype for t, i in acts if t.numel() > 1 and (t.is_floating_point() or t.is_quantized)]
            if floats and all(d == "int8" for d in floats) and outs[0].is_floating_point():
                dtype = out_dtype = "int8"  # float math on dequantized int8 data: fused into int8 kernels
            else:
                dtype, out_dtype = (widest(floats) if floats else actual), actual
        try:
            flops = int(flop_registry[func._overloadpacket](*args, **kwargs, out_val=out)) if kind == "matrix" else 0
        except (KeyError, AttributeError, TypeError):
            flops = 0
        gemms = _gemms(name, args, outs[0]) if kind == "matrix" else ()
        if kind == "matrix" and not flops:
            flops = sum(2 * g.batch * g.m * g.n * g.k for g in gemms)
        if kind == "vector":
            flops = sum(o.numel() for o in outs) * OPS_PER_ELEMENT.get(name, 1)
        # weight values (zeros, the 2:4 pattern) where they exist: a meta-device capture has shapes only
        sources = [i.source for _, i in weights if i.source is not None and i.source.is_floating_point()]
        sources = [s for s in sources if has_values(s)]
        numel = sum(s.numel() for s in sources)
        zeros = sum(int((s == 0).sum()) for s in sources)
        read = [(t, i) for t, i in acts if not (name in SCATTER_OPS and t is args[0])]
        written = (
            sum(_nbytes(t, out_dtype) for t, _ in read if t.is_floating_point())  # the rows put
            if name in SCATTER_OPS
            else sum(_nbytes(o, out_dtype) for o in outs)
        )
        self.ops.append(
            Op(
                index=index,
                name=str(func),
                kind=kind,
                dtype=dtype,
                flops=flops,
                bytes_read=sum(_nbytes(t, i.dtype) for t, i in read),
                weight_bytes=(
                    sum(_nbytes(o, out_dtype) for o in outs)
                    if name in GATHER_OPS and weights
                    else sum(_nbytes(i.source if i.source is not None else t, i.dtype) for t, i in weights)
                ),
                bytes_written=written,
                gemms=gemms,
                weight_sparsity=zeros / numel if numel else 0.0,
                weight_2of4=any(s.dim() >= 2 for s in sources) and all(_is_2of4(s) for s in sources if s.dim() >= 2),
                inputs=tuple(sorted({i.producer for _, i in acts})),
                input_shapes=tuple(tuple(t.shape) for t in ins),
                output_shapes=tuple(tuple(o.shape) for o in outs),
            )
        )
        self.block_of.append(self.block)
        for info in infos:
            if info.producer >= 0 and not info.via_quant:
                self.consumers.setdefault(info.producer, []).append(name)
        for o in outs:
            self.info[o] = _Info(index, out_dtype, False)
        return out


def has_values(t: torch.Tensor) -> bool:
    """Whether a tensor holds data (fake and meta tensors have only shapes and dtypes)."""
    return not (t.is_meta or is_fake(t))


Build = Callable[[], tuple[nn.Module, torch.Tensor]]


def fake_capture(build: Build, stacked: tuple[Callable[[int], Build], int] | None = None) -> Graph:
    """The graph of `model(inputs)` where `(model, inputs) = build()` runs under a FakeTensorMode: every tensor is
    fake (shapes and dtypes, no memory), so nothing is allocated or computed, whatever the model's size.

    `stacked`, for a model whose middle is a stack of identical blocks (a transformer's layers, each doing the same
    whatever its index: a model that treats some layers differently by index, such as alternating attention kinds,
    can look like a stack in 3 layers and is not one, and must not pass it): `(with_blocks,
    blocks)`, `with_blocks(n)` a `build` of the same model with n blocks where `build`'s has `blocks`. The model is
    then captured with STACK_CAPTURED blocks and extended to `blocks` by repeating its last one (`stack`): the same
    graph as `build`'s, in a fraction of the time (Llama-2-7B: 32 layers of 46 operators). A model whose capture is
    not such a stack is captured whole from `build`."""
    if stacked is not None and stacked[1] > STACK_CAPTURED:
        with_blocks, blocks = stacked
        with FakeTensorMode(allow_non_fake_inputs=True):
            model, inputs = with_blocks(STACK_CAPTURED)()
            found = repeated_blocks(model)
            if found is not None:
                graph, spans = _capture(model, inputs, found)
                stacked_graph = stack(graph, spans, blocks) if spans is not None else None
                if stacked_graph is not None:
                    return stacked_graph
    with FakeTensorMode(allow_non_fake_inputs=True):
        model, inputs = build()
        return capture(model, inputs)


STACK_CAPTURED = 3  # blocks a stacked capture records: the first, and two to check that the others repeat the last


def repeated_blocks(model: nn.Module) -> nn.ModuleList | None:
    """The model's one nn.ModuleList of STACK_CAPTURED modules of one class (a transformer's layers); None if it has
    no such list or more than one."""
    found = [
        m
        for m in model.modules()
        if isinstance(m, nn.ModuleList) and len(m) == STACK_CAPTURED and len({type(b) for b in m}) == 1
    ]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Block:
    """Where one repeated block's operators are in a captured graph (`start` to `end`), and what it adds to the
    graph's totals."""

    start: int
    end: int
    weight_bytes: int
    parameters: int
    module_calls: int


def stack(graph: Graph, blocks: list[Block], count: int) -> Graph | None:
    """`graph`, captured with len(blocks) repeated blocks, extended to `count` blocks: copies of its last block go
    after it, each reading what the copy before it wrote (its operators' inputs inside the stack move by one block
    per copy; inputs before the stack, such as rotary tables or a mask, stay), and the operators after the stack read
    the last copy. None where the capture is not such a stack: blocks not one after another, the last block not the
    one before it moved by one block (operators, shapes, bytes, inputs, totals), or an operator after the stack
    reading a block before the last (which block it would read in a taller stack is not known)."""
    if count < len(blocks):
        raise ValueError(f"a stack of {count} blocks cannot be made from a capture of {len(blocks)}")
    ops = graph.ops
    first, before, last = blocks[0], blocks[-2], blocks[-1]
    size = last.end - last.start
    if any(b.end != a.start for b, a in zip(blocks, blocks[1:])) or before.end - before.start != size or size == 0:
        return None
    if (before.weight_bytes, before.parameters, before.module_calls) != (
        last.weight_bytes,
        last.parameters,
        last.module_calls,
    ):
        return None

    def moved(op: Op, by: int, start: int) -> Op:
        """`op` `by` operators later; its inputs from `start` on move with it."""
        inputs = tuple(sorted(i + by if i >= start else i for i in op.inputs))
        return replace(op, index=op.index + by, inputs=inputs)

    if any(moved(ops[before.start + q], size, first.start) != ops[last.start + q] for q in range(size)):
        return None
    tail = ops[last.end :]
    if any(first.start <= i < last.start for op in tail for i in op.inputs):
        return None
    extra = count - len(blocks)
    copies = [moved(op, k * size, first.start) for k in range(1, extra + 1) for op in ops[last.start : last.end]]
    return replace(
        graph,
        ops=(*ops[: last.end], *copies, *(moved(op, extra * size, last.start) for op in tail)),
        weight_bytes=graph.weight_bytes + extra * last.weight_bytes,
        parameters=graph.parameters + extra * last.parameters,
        module_calls=graph.module_calls + extra * last.module_calls,
    )


def graph_to_json(graph: Graph) -> str:
    return json.dumps(dataclasses.asdict(graph), separators=(",", ":"))


def graph_from_json(text: str) -> Graph:
    """The Graph `graph_to_json` wrote (lists back to the tuples the dataclasses hold)."""
    fields = json.loads(text)
    ops = []
    for op in fields.pop("ops"):
        op["gemms"] = tuple(Gemm(**g) for g in op["gemms"])
        op["inputs"] = tuple(op["inputs"])
        op["input_shapes"] = tuple(tuple(shape) for shape in op["input_shapes"])
        op["output_shapes"] = tuple(tuple(shape) for shape in op["output_shapes"])
        ops.append(Op(**op))
    return Graph(ops=tuple(ops), **fields)


# what the capture code is: this module and the FLOP formulas it registers, read once (a file edited during a run
# must not name graphs the code loaded before made)
CAPTURE_SOURCE = hashlib.sha256(
    Path(__file__).read_bytes() + Path(inspect.getfile(sys.modules["accelbench.measure"])).read_bytes()
).hexdigest()


class GraphCacheWarning(UserWarning):
    """A cached graph could not be read or written: the graph was captured again (or not kept)."""


def cached_fake_capture(
    build: Build, key: tuple, cache_dir: Path | None, stacked: tuple[Callable[[int], Build], int] | None = None
) -> tuple[Graph, bool]:
    """`fake_capture(build, stacked)`, kept as JSON in `cache_dir/graphs/`: (graph, whether it came from the cache). `key`
    names everything `build` depends on (the model's definition and source, dtype, batch...); the file's name also
    hashes the capture code (`CAPTURE_SOURCE`) and torch's version, so a change to either captures again. An
    unreadable file is captured again, with a warning; without `cache_dir`, nothing is kept."""
    if cache_dir is None:
        return fake_capture(build, stacked), False
    parts = [*map(repr, key), CAPTURE_SOURCE, torch.__version__]
    path = Path(cache_dir) / "graphs" / f"{hashlib.sha256(chr(10).join(parts).encode()).hexdigest()[:16]}.json"
    if path.exists():
        try:
            return graph_from_json(path.read_text()), True
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            warnings.warn(f"cached graph {path} could not be read ({exc}); capturing again", GraphCacheWarning)
    graph = fake_capture(build, stacked)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, graph_to_json(graph))
    except (OSError, TypeError, ValueError) as exc:
        warnings.warn(f"graph could not be cached at {path} ({exc}); used uncached", GraphCacheWarning)
    return graph, False


def capture(model: nn.Module, inputs: torch.Tensor) -> Graph:
    """The operator graph of one eager call of `model` (compiled wrappers are unwrapped: the eager module does the
    same arithmetic, and a dispatch mode around compiled code would recompile it). Fake or meta tensors give the same
    operators, shapes, FLOPs and bytes without computing or allocating anything (`fake_capture`); only the weights'
    zeros are unknown there."""
    return _capture(model, inputs)[0]


def _capture(
    model: nn.Module, inputs: torch.Tensor, blocks: nn.ModuleList | None = None
) -> tuple[Graph, list[Block] | None]:
    """`capture`, and where each of `blocks` (modules of the model called once each) ran in its graph: None where a
    block's operators are not one run (an operator of another block, or none, inside its span), or it holds a module
    or tensor that another block or the model around the blocks holds too (the graph's totals count it once; a
    repeated block would add it again)."""
    eager = unwrap(model)
    recorder = _Recorder(_held_tensors(eager))
    calls = [0]
    index = {id(b): i for i, b in enumerate(blocks or ())}
    per_block = [0] * len(index)

    def count(module: nn.Module, args: object) -> None:
        calls[0] += 1
        recorder.block = index.get(id(module), recorder.block)  # a block's own call and every call inside it
        if recorder.block is not None:
            per_block[recorder.block] += 1

    def leave(module: nn.Module, args: object, out: object) -> None:
        recorder.block = None

    hooks = []
    try:
        hooks.append(nn.modules.module.register_module_forward_pre_hook(count))
        hooks += [b.register_forward_hook(leave, always_call=True) for b in blocks or ()]
        with torch.no_grad(), recorder:
            out = eager(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    ops = list(recorder.ops)
    # an output that only feeds quantize ops is stored as int8 (the quantize fuses into its producer)
    for i, op in enumerate(ops):
        users = recorder.consumers.get(op.index, [])
        if users and all(u.startswith("quantize") for u in users) and op.dtype != "int8":
            written = sum(math.prod(s) for s in op.output_shapes)
            ops[i] = replace(op, bytes_written=written, dtype="int8" if op.kind == "vector" else op.dtype)
    outs = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
    stored = lambda held: sum(_nbytes(t, DTYPE_NAMES.get(t.dtype, "fp32")) for t in held.values())  # noqa: E731
    graph = Graph(
        ops=tuple(ops),
        weight_bytes=stored(recorder.weights),
        input_bytes=inputs.numel() * inputs.element_size(),
        module_calls=calls[0],
        output_bytes=sum(o.numel() * o.element_size() for o in outs),
        io_elements=inputs.numel() + sum(o.numel() for o in outs),
        parameters=sum(p.numel() for p in eager.parameters()),
    )
    everywhere = held_in(eager) if blocks else Counter()
    if any(not _held_alone(everywhere, block) for block in blocks or ()):
        return graph, None
    spans = []
    for i, block in enumerate(blocks or ()):
        where = [j for j, b in enumerate(recorder.block_of) if b == i]
        held = {k: t for t in _held_tensors(block) if (k := _storage_key(t)) in recorder.weights}
        spans.append(
            Block(
                start=where[0] if where else 0,
                end=where[-1] + 1 if where else 0,
                weight_bytes=stored(held),
                parameters=sum(p.numel() for p in block.parameters()),
                module_calls=per_block[i],
            )
        )
    runs = all(all(b == i for b in recorder.block_of[s.start : s.end]) for i, s in enumerate(spans))
    return graph, spans if runs else None


def held_in(module: nn.Module) -> Counter:
    """The tensors `module` holds, by storage, each once per module that holds it (a shared module every time)."""
    return Counter(
        _storage_key(t)
        for _, sub in module.named_modules(remove_duplicate=False)
        for t in [*sub.parameters(recurse=False), *sub.buffers(recurse=False)]
    )


def _held_alone(everywhere: Counter, block: nn.Module) -> bool:
    """Whether every tensor `block` holds is held nowhere else in the model that holds `everywhere`."""
    return all(everywhere[key] == count for key, count in held_in(block).items() if key is not None)


# Number formats a captured graph can be priced in without running the technique (models captured on fake tensors
# have no values to quantize): the matrix operators' operands re-typed as a deployed runtime's kernels read them.
FORMATS = {
    "fp8": ("fp8", "fp8"),  # (weights, activations) of the matrix operators
    "int8": ("int8", "int8"),
    # ONNX Runtime's dynamic quantization: int8 weights, activations quantized at run time (MatMulInteger,
    # ConvInteger); the other operators stay in float
    "int8-dynamic": ("int8", "int8"),
    "int8-weight": ("int8", None),  # weight-only: the arithmetic stays in the graph's own dtype
    "int4-weight": ("int4", None),
    "2:4": (None, None),  # 2:4 structured sparse weights (every group of 4 along the reduction has 2 zeros)
}


def as_format(graph: Graph, fmt: str) -> Graph:
    """`graph` with its weighted matrix operators (those that read a weight: linear layers, convolutions; not
    attention's activation x activation products) in format `fmt` (FORMATS): 8-bit formats read 8-bit weights and
    activations and compute in that format; weight-only formats store the weights in fewer bits; "2:4" marks the
    weights 2:4 sparse. "int8" is full-integer quantization (as TFLite, the Edge TPU and Vitis AI run a model): every
    floating-point operator computes in int8, as a captured PT2E graph shows them (int8 in, int8 out, fused)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    weights, activations = FORMATS[fmt]
    scale = lambda n, to, frm: math.ceil(n * BITS[to] / BITS[frm])  # noqa: E731
    ops = []
    for op in graph.ops:
        if op.kind == "matrix" and op.weight_bytes > 0 and fmt == "2:4":
            ops.append(replace(op, weight_2of4=True, weight_sparsity=max(op.weight_sparsity, 0.5)))
        elif op.kind == "matrix" and op.weight_bytes > 0:
            changes = dict(weight_bytes=scale(op.weight_bytes, weights, op.dtype))
            if activations is not None:
                changes.update(dtype=activations, bytes_read=scale(op.bytes_read, activations, op.dtype))
            ops.append(replace(op, **changes))
        elif fmt == "int8" and op.dtype in ("fp32", "bf16", "fp16"):
            ops.append(
                replace(
                    op,
                    dtype="int8",
                    bytes_read=scale(op.bytes_read, "int8", op.dtype),
                    weight_bytes=scale(op.weight_bytes, "int8", op.dtype),
                    bytes_written=scale(op.bytes_written, "int8", op.dtype),
                )
            )
        else:
            ops.append(op)
    saved = sum(a.weight_bytes - b.weight_bytes for a, b in zip(graph.ops, ops))
    return replace(graph, ops=tuple(ops), weight_bytes=max(0, graph.weight_bytes - saved))


def retyped(graph: Graph, dtypes: dict[str, str]) -> Graph:
    """`graph` with each operator's dtype renamed by `dtypes` ({"bf16": "fp16"}), between types of one width only:
    the same operators on the same bytes, computed in the other type (a step the host ran under bf16 autocast,
    priced as the fp16 step a GPU would run)."""
    for frm, to in dtypes.items():
        if frm not in BITS or to not in BITS or BITS[frm] != BITS[to]:
            widths = ", ".join(f"{d} ({b} bits)" for d, b in BITS.items())
            raise ValueError(f"cannot re-type {frm!r} as {to!r}: both must be dtypes of one width; valid: {widths}")
    return replace(graph, ops=tuple(replace(op, dtype=dtypes.get(op.dtype, op.dtype)) for op in graph.ops))
