"""techniques/pt2e_patterns.py: PT2E's QAT conv-bn passes export each pattern once and skip absent convolutions.

(That the int8-qat graph, outputs and weights are unchanged by it was checked on digits-cnn and digits-dscnn against
torchao's own passes; those take about 30 s per model, so the check is not repeated here.)"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from techniques import pt2e_patterns
from techniques.pt2e_patterns import (
    exported_once,
    exported_pattern,
    for_present_convolutions,
    non_strict_pattern,
    op_names,
    pattern_key,
)


def _factory(flag: bool, conv_fn=F.conv2d):
    def pattern(x, w):
        return conv_fn(x, w) if flag else conv_fn(x, w) * 2

    return pattern


EXAMPLE = (torch.randn(1, 1, 3, 3), torch.randn(1, 1, 1, 1))


def test_equal_patterns_share_a_key_and_different_flags_or_shapes_do_not() -> None:
    key = pattern_key(_factory(True), EXAMPLE, False, {})
    assert key == pattern_key(_factory(True), (torch.randn(1, 1, 3, 3), torch.randn(1, 1, 1, 1)), False, {})
    assert key != pattern_key(_factory(False), EXAMPLE, False, {})
    assert key != pattern_key(_factory(True, F.conv1d), EXAMPLE, False, {})
    assert key != pattern_key(_factory(True), (torch.randn(1, 1, 4, 4), EXAMPLE[1]), False, {})
    assert key != pattern_key(_factory(True), EXAMPLE, True, {})
    unhashable = {"a": 1}
    assert pattern_key(lambda x: x + unhashable["a"], EXAMPLE, False, {}) is None


def test_a_pattern_is_exported_once_and_every_caller_gets_its_own_graph(monkeypatch) -> None:
    monkeypatch.setattr(pt2e_patterns, "_PATTERNS", {})
    calls = []

    def export(pattern, example_inputs, is_cuda=False, **kwargs):
        calls.append(pattern)
        return torch.fx.symbolic_trace(nn.Sequential(nn.ReLU()))

    get = exported_pattern(export)
    first, second = get(_factory(True), EXAMPLE), get(_factory(True), EXAMPLE)
    assert len(calls) == 1 and first is not second
    assert [n.op for n in first.graph.nodes] == [n.op for n in second.graph.nodes]
    get(_factory(False), EXAMPLE)
    assert len(calls) == 2


def test_a_conv_bn_pass_runs_only_where_the_graph_has_that_convolution() -> None:
    class Conv2d(nn.Module):
        def forward(self, x, w):
            return torch.ops.aten.conv2d.default(x, w)

    graph = torch.fx.symbolic_trace(Conv2d())
    assert "conv2d" in op_names(graph)
    ran = []
    run = for_present_convolutions(lambda m, conv_fn, example_inputs, is_cuda: ran.append(conv_fn.__name__) or m)
    for conv_fn in (F.conv1d, F.conv2d, F.conv_transpose1d, F.conv_transpose2d):
        assert run(graph, conv_fn, EXAMPLE, is_cuda=False) is graph
    assert ran == ["conv2d"]


def test_torchaos_functions_are_restored_after_the_block() -> None:
    import torchao.quantization.pt2e.qat_utils as qat_utils
    import torchao.quantization.pt2e.utils as utils

    names = ("_get_aten_graph_module_for_pattern", "_fuse_conv_bn_qat_helper", "_fold_conv_bn_qat_helper")
    before = {n: getattr(qat_utils, n) for n in names}
    original = utils._get_aten_graph_module_for_pattern
    with exported_once():
        changed = [n for n in names if getattr(qat_utils, n) is not before[n]]
    assert changed == list(names)  # torchao 0.18.0, pinned: the block did take effect
    assert {n: getattr(qat_utils, n) for n in names} == before
    assert utils._get_aten_graph_module_for_pattern is original


def _qat_patterns(monkeypatch) -> list[tuple]:
    """Every pattern PT2E's QAT flow (prepare, train/eval switches, convert) asks for, on a model with the layers
    the digits models hold: convolution, depthwise convolution, batch norm, ReLU, dropout, linear."""
    import torchao.quantization.pt2e as pt2e
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_qat_pt2e

    from techniques.int8_static import _export, _quantizer

    asked = []

    def record(pattern, example_inputs, is_cuda=False, **kwargs):
        asked.append((pattern, example_inputs, is_cuda, kwargs))
        return non_strict_pattern(pattern, example_inputs, is_cuda, **kwargs)

    monkeypatch.setattr(pt2e_patterns, "_PATTERNS", {})
    monkeypatch.setattr(pt2e_patterns.exported_pattern, "__defaults__", (record,))
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3, groups=4), nn.BatchNorm2d(4),
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * 6 * 6, 3),
    )  # fmt: skip
    x = torch.randn(4, 1, 10, 10)
    with exported_once():
        graph = prepare_qat_pt2e(_export(model.train(), x[:2]), _quantizer(is_qat=True))
        pt2e.allow_exported_model_train_eval(graph)
        graph.train()
        graph(x)
        graph.eval()
        convert_pt2e(graph)
    return asked


@pytest.mark.slow
def test_qat_patterns_exported_non_strict_are_torchaos_strict_graphs(monkeypatch) -> None:
    import torchao.quantization.pt2e.utils as utils

    asked = _qat_patterns(monkeypatch)
    assert len(asked) >= 10  # batch norm train/eval, dropout train/eval, conv-bn fuse and fold...
    for pattern, example_inputs, is_cuda, kwargs in asked:
        strict = utils._get_aten_graph_module_for_pattern(pattern, example_inputs, is_cuda, **kwargs)
        assert non_strict_pattern(pattern, example_inputs, is_cuda, **kwargs).code == strict.code


def test_qat_leaves_dynamos_compiled_models_compiled(monkeypatch) -> None:
    """A strict export resets dynamo: a model compiled before QAT's patterns were made compiled again after."""
    from torch._dynamo.utils import counters

    compiled = torch.compile(nn.Sequential(nn.Linear(4, 4), nn.ReLU()), dynamic=False)
    x = torch.randn(2, 4)
    compiled(x)
    _qat_patterns(monkeypatch)
    before = counters["frames"]["total"]
    compiled(x)
    assert counters["frames"]["total"] == before
