"""PT2E's conv + batch-norm QAT passes without the redundant work: measured, it was most of int8-qat's apply time.

torchao's `prepare_qat_pt2e` and `convert_pt2e` fuse and fold conv + batch norm by matching patterns, and each
pattern is first made into a graph by `torch.export` (about 0.3 s each on a 2-core machine). The passes make 24
and 96 such graphs per call, for every convolution kind (conv1d, conv2d, conv_transpose1d, conv_transpose2d) whatever
the model holds, and make them again on the next call. `exported_once()` changes neither what is matched nor what
replaces it; it skips the passes of convolution kinds the graph does not contain (they could not match) and exports
each distinct pattern once per process (the graphs depend only on the pattern's code, its flags and the example
shapes, not on the model), without resetting dynamo (`non_strict_pattern`). torchao 0.18.0's private names are
checked: another version runs the passes unchanged.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.fx import GraphModule

_PATTERNS: dict[tuple, GraphModule] = {}


def _shape_key(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), value.dtype)
    return ("value", value)


def pattern_key(pattern: Callable, example_inputs: tuple, is_cuda: bool, kwargs: dict) -> tuple | None:
    """What the exported pattern depends on, or None where it cannot be told (then it is exported as before)."""
    fn = getattr(pattern, "fn", pattern)  # torchao wraps each pattern function in a WrapperModule
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    cells = tuple(cell.cell_contents for cell in (fn.__closure__ or ()))
    try:
        key = (
            code,
            cells,
            bool(is_cuda),
            tuple(_shape_key(x) for x in example_inputs),
            tuple(sorted((k, _shape_key(v)) for k, v in kwargs.items())),
        )
        hash(key)
    except TypeError:  # an unhashable closure value: not a pattern this cache knows
        return None
    return key


def non_strict_pattern(pattern: Callable, example_inputs: tuple, is_cuda: bool = False, **kwargs) -> GraphModule:
    """torchao 0.18.0's `_get_aten_graph_module_for_pattern` with a non-strict `torch.export`. A strict export
    resets dynamo's caches, so every model compiled before it in the process compiled again at its next call (with
    the process's inductor settings: techniques/compiled.py). A pattern is a plain function of tensors, and the two
    exports give it the same graph (tests/test_pt2e_patterns.py compares them for every pattern QAT makes)."""
    if is_cuda:
        example_inputs = tuple(x.cuda() if isinstance(x, torch.Tensor) else x for x in example_inputs)
    # no guard-checking node: a strict export's module has none, and a pattern graph is matched node for node
    graph_module = torch.export.export(pattern, example_inputs, kwargs, strict=False).module(check_guards=False)
    graph_module.graph.eliminate_dead_code()
    # the exported module copies mutated inputs back: for a pattern that does not matter (as torchao does)
    for node in list(graph_module.graph.nodes):
        if node.op == "call_function" and node.target == torch.ops.aten.copy_.default and not node.users:
            graph_module.graph.erase_node(node)
    graph_module.graph.eliminate_dead_code()
    graph_module.recompile()
    return graph_module


def exported_pattern(original: Callable = non_strict_pattern) -> Callable:
    """`_get_aten_graph_module_for_pattern`, exporting each distinct pattern once; callers get their own copy."""

    def get(pattern: Callable, example_inputs: tuple, is_cuda: bool = False, **kwargs) -> GraphModule:
        key = pattern_key(pattern, example_inputs, is_cuda, kwargs)
        if key is None:
            return original(pattern, example_inputs, is_cuda, **kwargs)
        if key not in _PATTERNS:
            _PATTERNS[key] = original(pattern, example_inputs, is_cuda, **kwargs)
        return copy.deepcopy(_PATTERNS[key])

    return get


def op_names(graph_module: GraphModule) -> set[str]:
    """The aten operators a graph calls, by name without overload (conv2d, conv_transpose1d...)."""
    names = set()
    for node in graph_module.graph.nodes:
        packet = getattr(node.target, "overloadpacket", node.target) if node.op == "call_function" else None
        if packet is not None:
            names.add(getattr(packet, "__name__", "").split(".")[-1])
    return names


def for_present_convolutions(helper: Callable) -> Callable:
    """A conv-bn pass (`helper(m, conv_fn, example_inputs, is_cuda)`) run only when `m` calls that convolution."""

    def run(m: GraphModule, conv_fn: Callable, example_inputs: tuple, is_cuda: bool) -> GraphModule:
        if conv_fn.__name__ not in op_names(m):
            return m
        return helper(m, conv_fn, example_inputs, is_cuda=is_cuda)

    return run


@contextlib.contextmanager
def exported_once() -> Iterator[None]:
    """Within the block, PT2E's QAT conv-bn passes skip absent convolution kinds and reuse exported patterns."""
    try:
        import torchao
        import torchao.quantization.pt2e.qat_utils as qat_utils
        import torchao.quantization.pt2e.utils as utils
    except ImportError:
        yield
        return
    names = ("_get_aten_graph_module_for_pattern", "_fuse_conv_bn_qat_helper", "_fold_conv_bn_qat_helper")
    if torchao.__version__ != "0.18.0" or not all(hasattr(qat_utils, n) for n in names):
        yield  # the private names this relies on may differ: run torchao's passes as they are
        return
    saved = {n: getattr(qat_utils, n) for n in names}
    export = exported_pattern()
    # qat_utils imported the function; the train/eval switch of an exported model imports it from utils per call
    qat_utils._get_aten_graph_module_for_pattern = utils._get_aten_graph_module_for_pattern = export
    qat_utils._fuse_conv_bn_qat_helper = for_present_convolutions(saved[names[1]])
    qat_utils._fold_conv_bn_qat_helper = for_present_convolutions(saved[names[2]])
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(qat_utils, name, value)
        utils._get_aten_graph_module_for_pattern = saved[names[0]]
