from __future__ import annotations

import copy

import torch
from torch import nn
from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

from accelbench.measure import fixed_batches, flops_per_call, model_size_bytes, param_count, predict
from techniques import Context
from techniques.int8_dynamic_legacy import Int8DynamicLegacy
from workloads import Split


def test_flops_count_a_linear_layer() -> None:
    layer = nn.Linear(64, 10)
    assert flops_per_call(layer, torch.randn(4, 64)) == 2 * 4 * 64 * 10


def test_int8_matmuls_are_counted_like_fp32_ones() -> None:
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).eval()
    quantized = copy.deepcopy(model)
    quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
    x = torch.randn(16, 64)
    assert flops_per_call(quantized, x) == flops_per_call(model, x) == 2 * 16 * (64 * 32 + 32 * 10)


def test_packed_int4_and_legacy_int8_matmuls_are_counted() -> None:
    from torchao.prototype.quantization.int4 import PrototypeInt4WeightOnlyConfig

    model = nn.Sequential(nn.Linear(64, 32)).eval()
    x = torch.randn(4, 64)
    split = Split(x, torch.zeros(4, dtype=torch.int64))
    legacy = Int8DynamicLegacy().apply(model, Context(torch.device("cpu"), split, split))  # it silences the deprecation
    assert flops_per_call(legacy, x) == 2 * 4 * 64 * 32
    int4 = copy.deepcopy(model).bfloat16()
    quantize_(int4, PrototypeInt4WeightOnlyConfig(group_size=32))
    assert flops_per_call(int4, x.bfloat16()) == 2 * 4 * 64 * 32


def test_lstm_matmuls_are_counted() -> None:
    lstm = nn.LSTM(8, 16, batch_first=True).eval()
    steps, batch = 5, 3
    assert flops_per_call(lstm, torch.randn(batch, steps, 8)) == 2 * steps * batch * 4 * 16 * (8 + 16)


def test_sizes_follow_the_dtype() -> None:
    model = nn.Linear(256, 256)
    fp32, bf16 = model_size_bytes(model), model_size_bytes(copy.deepcopy(model).bfloat16())
    assert fp32 > 256 * 256 * 4 and 0.45 < bf16 / fp32 < 0.6
    assert param_count(model) == 256 * 256 + 256
    assert param_count(torch.compile(model)) == param_count(model)


def test_fixed_batches_pad_and_predict_drops_the_padding() -> None:
    x = torch.arange(7.0).unsqueeze(1)
    batches, pad = fixed_batches(x, 3)
    assert [b.shape[0] for b in batches] == [3, 3, 3] and pad == 2
    seen = []
    out = predict(lambda b: (seen.append(b.shape[0]), b * 2)[1], x, 3)
    assert seen == [3, 3, 3]
    assert torch.equal(out, x * 2)
