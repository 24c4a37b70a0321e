"""Untimed measurements of a model that every benchmark records: size, parameters, FLOPs, quality."""

from __future__ import annotations

import io
import math
from typing import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, mm_flop, register_flop_formula


def _linear_flop(x_shape, *args, out_shape=None, **kwargs) -> int:
    """2 * rows * in_features * out_features, for matmul kernels whose weight is packed (its shape hidden)."""
    return 2 * math.prod(x_shape[:-1]) * x_shape[-1] * out_shape[-1]


def _rnn_layer_flop(x_shape, w_ih_shape, w_hh_shape, *args, out_shape=None, **kwargs) -> int:
    """One recurrent layer over all steps: input and hidden projections of every gate (elementwise gate math is
    not counted, as the counter counts no elementwise op)."""
    return 2 * math.prod(x_shape[:-1]) * w_ih_shape[0] * (w_ih_shape[1] + w_hh_shape[1])


# Matmuls that FlopCounterMode does not count by itself: without these an int8 or int4 model would look as if
# its matmuls had vanished. torchao's dynamic int8 linear runs as aten._int_mm, its CPU int4 path as
# aten._weight_int4pack_mm_for_cpu (CUDA: aten._weight_int4pack_mm), torch.ao's as quantized.linear_dynamic,
# and a CPU LSTM as one fused aten.mkldnn_rnn_layer per layer.
_EXTRA_FORMULAS = {
    "_int_mm": (torch.ops.aten, mm_flop),  # already shape-wrapped
    "_weight_int4pack_mm_for_cpu": (torch.ops.aten, _linear_flop),
    "_weight_int4pack_mm": (torch.ops.aten, _linear_flop),
    "linear_dynamic": (torch.ops.quantized, _linear_flop),
    "mkldnn_rnn_layer": (torch.ops.aten, _rnn_layer_flop),  # CPU nn.LSTM
}
for _name, (_namespace, _formula) in _EXTRA_FORMULAS.items():
    _op = getattr(_namespace, _name, None)
    if _op is not None and _op not in torch.utils.flop_counter.flop_registry:
        register_flop_formula(_op, get_raw=_formula is mm_flop)(_formula)


def unwrap(model: nn.Module) -> nn.Module:
    """The eager module behind a compiling wrapper: torch.compile's `_orig_mod`, or `eager_module` for wrappers of
    the project's own. FLOPs are counted in eager mode: a dispatch mode around compiled code would recompile it."""
    for attribute in ("_orig_mod", "eager_module"):
        inner = getattr(model, attribute, None)
        if isinstance(inner, nn.Module):
            return unwrap(inner)
    return model


def model_size_bytes(model: nn.Module) -> int:
    """Bytes of the serialised state dict: what shipping the model costs (for an ONNX Runtime model, its file)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def param_count(model: nn.Module) -> int:
    """Parameters, counted as weights whatever their storage (torch.ao's quantized modules keep theirs packed)."""
    count = sum(p.numel() for p in unwrap(model).parameters())
    for module in unwrap(model).modules():
        if type(module).__module__.startswith("torch.ao.nn.quantized") and callable(getattr(module, "weight", None)):
            count += module.weight().numel() + (module.bias().numel() if module.bias() is not None else 0)
    return count


def flops_per_call(model: nn.Module, inputs: torch.Tensor) -> int | None:
    """FLOPs of one call on `inputs`, by torch.utils.flop_counter (a multiply-add counts 2); None where the model's
    matmuls run in operators the counter does not know (torch.ao's packed quantized ops), rather than a false 0."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        unwrap(model)(inputs)
    total = counter.get_total_flops()
    return None if total == 0 and param_count(model) > 0 else total


def _plain_weights(model: nn.Module) -> list[torch.Tensor]:
    """Float weight matrices and kernels stored as ordinary dense tensors (quantized storage is left out)."""
    return [
        p.detach()
        for p in unwrap(model).parameters()
        if p.dim() >= 2 and p.is_floating_point() and type(p.data) is torch.Tensor
    ]


def weight_sparsity(model: nn.Module) -> float | None:
    """Fraction of exact zeros among the dense float weights; None if the model has none (all quantized)."""
    weights = _plain_weights(model)
    total = sum(w.numel() for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / total if total else None


def compressed_size_bytes(model: nn.Module) -> int:
    """Serialised size with each dense float weight stored as a sparse format would: its non-zeros plus a
    one-bit-per-element mask, where that is smaller than dense (Han et al.'s bitmask; CSR is larger for 8-bit
    indices on these shapes). Equal to `model_size_bytes` for a model without zeros."""
    saved = 0
    for w in _plain_weights(model):
        dense = w.numel() * w.element_size()
        bitmask = int((w != 0).sum()) * w.element_size() + (w.numel() + 7) // 8
        saved += max(0, dense - bitmask)
    return model_size_bytes(model) - saved


def fixed_batches(x: torch.Tensor, batch_size: int) -> tuple[list[torch.Tensor], int]:
    """`x` cut into batches of exactly `batch_size` rows, the last one padded by repeating its first row,
    so a model only ever sees the shape it is benchmarked with (a compiled model is not recompiled).
    Returns the batches and the number of padding rows to drop from the joined outputs."""
    pad = (-len(x)) % batch_size
    if pad:
        x = torch.cat([x, x[-1:].expand(pad, *x.shape[1:])])
    return list(x.split(batch_size)), pad


def predict(run: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Outputs of `run` on every row of `x`, called in fixed-size batches."""
    batches, pad = fixed_batches(x, batch_size)
    with torch.no_grad():
        out = torch.cat([run(batch).float().cpu() for batch in batches])
    return out[: len(out) - pad]
