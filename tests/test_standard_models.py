"""Fake capture (no weight allocated) and `python -m devices.simulated predict` over the standard models."""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import pytest
import torch
from torch import nn

import devices
import techniques
import workloads
from devices.simulated.cost import does_not_fit
from devices.simulated.graph import (
    Graph,
    GraphCacheWarning,
    as_format,
    cached_fake_capture,
    capture,
    fake_capture,
    graph_from_json,
    graph_to_json,
    retyped,
)
from tools import predict
from workloads.resnet_mini import resnet
from workloads.standard import MATRIX, STANDARD, StandardModel

ROOT = Path(__file__).resolve().parents[1]
SIMULATED = [d for d in devices.REGISTRY if d.simulated]


def _ops(graph: Graph) -> list[tuple]:
    return [
        (op.name, op.kind, op.dtype, op.input_shapes, op.output_shapes, op.flops, op.bytes_read, op.weight_bytes)
        + (op.bytes_written, op.gemms)
        for op in graph.ops
    ]


@pytest.mark.parametrize("name", ["digits-cnn", "resnet-mini"])
def test_fake_capture_gives_the_real_operators_shapes_flops_and_bytes(name: str) -> None:
    if name == "digits-cnn":
        make = workloads.REGISTRY.get("digits-cnn").build
        shape = (64, 1, 8, 8)
    else:
        spec = workloads.REGISTRY.get("resnet-mini")
        make = lambda: resnet(spec.widths, spec.blocks)  # noqa: E731
        shape = (8, 3, 32, 32)
    real = capture(make().eval(), torch.randn(shape))
    fake = fake_capture(lambda: (make().eval(), torch.zeros(shape)))
    assert _ops(fake) == _ops(real) and len(real.ops) > 5
    assert (fake.weight_bytes, fake.input_bytes, fake.output_bytes) == (
        real.weight_bytes,
        real.input_bytes,
        real.output_bytes,
    )


def _predicted(model: str, device: str, **options) -> dict:
    args = predict.parser().parse_args(["--device", device, "--model", model, "--json"])
    for key, value in options.items():
        setattr(args, key, value)
    return predict.predict(args)


@pytest.fixture(scope="module")
def graphs() -> dict:
    return {name: predict.graph_of(name, 2, "bf16", None, "prefill", None) for name in STANDARD}


@pytest.mark.parametrize("name", list(STANDARD))
def test_every_standard_model_has_finite_positive_figures_on_every_simulated_device(graphs: dict, name: str) -> None:
    graph = graphs[name]
    assert graph.flops > 0 and graph.weight_bytes > 0
    for device in SIMULATED:
        prediction = device.predict(graph, "compiled")
        assert math.isfinite(prediction.latency_s) and prediction.latency_s > 0, device.name
        assert math.isfinite(prediction.energy_j) and prediction.energy_j > 0, device.name


def test_the_standard_shapes_are_the_published_ones(graphs: dict) -> None:
    """Parameters as published (ResNet-50 25.6M, BERT-base 110M, Llama-2-7B 6.74B), read from bf16 weight bytes."""
    params = {name: graphs[name].weight_bytes / 2 for name in ("resnet-50", "bert-base", "llama-7b")}
    assert params["resnet-50"] == pytest.approx(25.6e6, rel=0.03)
    assert params["bert-base"] == pytest.approx(109.5e6, rel=0.03)
    assert params["llama-7b"] == pytest.approx(6.74e9, rel=0.02)


@pytest.mark.parametrize("name", [*STANDARD, "llama-7b-decode"])
def test_more_work_is_never_faster_on_any_simulated_device(name: str) -> None:
    model = STANDARD[name.removesuffix("-decode")]
    if model.family == "decoder":  # the 7B's widths, two of its 32 layers: the same operators (a capture each 2.5 s)
        model = replace(model, config={**model.config, "num_hidden_layers": 2})
    phase = "decode" if name.endswith("-decode") else "prefill"
    capture = lambda batch, seq=None: fake_capture(model.builder(batch, torch.bfloat16, seq=seq, phase=phase))  # noqa: E731
    more = [(capture(1), capture(8))]  # a bigger batch
    if model.family != "image":  # a longer sequence, prompt or key/value cache
        more.append((capture(1, model.seq // 2), capture(1, model.seq)))
    for device in SIMULATED:
        for less, work in more:
            assert device.predict(less, "compiled").latency_s <= device.predict(work, "compiled").latency_s, device.name


def test_fp8_runs_on_a_device_that_has_it_and_is_up_cast_where_it_does_not() -> None:
    h100 = _predicted("bert-base", "sim-h100", dtype="fp8")
    t4 = _predicted("bert-base", "sim-t4", dtype="fp8")
    assert h100["upcast_ops"] == 0 and t4["upcast_ops"] > 0


def test_predict_prices_deployed_as_the_vendors_runtime_not_as_compiled() -> None:
    """resnet-50 at batch 1: TensorRT's launch costs on a GPU (below compiled PyTorch's), batch norms folded."""
    figures = {rt: _predicted("resnet-50", "sim-a100", dtype="int8", runtime=rt) for rt in ("compiled", "deployed")}
    assert figures["deployed"]["runtime"] == "deployed"
    assert figures["deployed"]["latency_s"] < figures["compiled"]["latency_s"]
    assert figures["deployed"]["flops"] == figures["compiled"]["flops"]  # the same graph, priced differently


@pytest.mark.slow
def test_the_command_prints_json_within_its_interface() -> None:
    command = [sys.executable, "-m", "devices.simulated", "predict", "--device", "sim-a100", "--model", "resnet-50"]
    out = subprocess.run(
        [*command, "--batch", "4", "--dtype", "int8", "--json"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    # transformers imports torchao, whose import prints lines of no concern to a priced model (ImportNoise)
    assert "Failed to load" not in out.stderr and "Enum subclass" not in out.stderr, out.stderr
    import json

    figures = json.loads(out.stdout)
    assert {"latency_s", "throughput_per_s", "energy_j", "bound", "profile_version"} <= set(figures)
    assert figures["throughput_per_s"] == pytest.approx(4 / figures["latency_s"])


def test_only_torchao_s_known_import_lines_are_quieted() -> None:
    from workloads.standard import QUIET, ImportNoise, _transformers

    def passes(logger: str, message: str) -> bool:
        return QUIET.filter(logging.LogRecord(logger, logging.WARNING, __file__, 1, message, None, None))

    so = "/venv/site-packages/torchao/_C_mxfp8.cpython-310-x86_64-linux-gnu.so"
    assert not passes("torchao", f"Failed to load {so}: Could not load this library: {so}")
    assert not passes(
        "torch.utils._pytree", "<enum 'KernelPreference'> is an Enum subclass and is now natively supported"
    )
    assert passes("torchao", "Failed to quantize layer 3: unsupported dtype")  # any other record is still shown
    assert passes("torch.utils._pytree", "something else")
    _transformers()
    assert all(QUIET in logging.getLogger(name).filters for name in ImportNoise.LOGGERS)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--device", "sim-nope", "--model", "resnet-50"], "unknown simulated device 'sim-nope'; valid: sim-a100"),
        (["--device", "cpu", "--model", "resnet-50"], "unknown simulated device 'cpu'"),
        (["--device", "sim-a100", "--model", "resnet-5"], "unknown model 'resnet-5'; valid: resnet-50"),
        (["--device", "sim-a100", "--model", "resnet-50", "--batch", "0"], "--batch and --seq must be at least 1"),
        (["--device", "sim-a100", "--model", "minilm"], "workload minilm has no build()"),
    ],
)
def test_a_bad_name_exits_2_with_the_valid_ones(argv: list[str], message: str, capsys) -> None:
    assert predict.main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flag, value", [("--dtype", "int3"), ("--phase", "train"), ("--runtime", "tensorrt")])
def test_a_bad_choice_exits_2_with_the_choices(flag: str, value: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        predict.main(["--device", "sim-a100", "--model", "resnet-50", flag, value])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err


USER_MODEL = ROOT / "tests" / "data" / "usermodel"


def test_the_users_own_model_is_priced_from_its_factory(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(USER_MODEL))
    small, large = (_predicted("my_model:factory", "sim-a100", batch=b) for b in (1, 256))
    matmuls, relu = 2 * (16 * 32 + 32 * 4), 32  # two Linear layers, one ReLU over 32 features
    assert small["flops"] == matmuls + relu and large["flops"] == 256 * small["flops"]
    assert 0 < small["latency_s"] <= large["latency_s"]


@pytest.mark.parametrize(
    "target, message",
    [
        ("no_such_module:factory", "cannot load 'factory' from 'no_such_module'"),
        ("my_model:missing", "cannot load 'missing' from 'my_model'"),
        (
            "my_model:wrong_type",
            "the factory returned str; expected package.module:factory (importable from the current directory; "
            "factory() returns (model: torch.nn.Module, example inputs: torch.Tensor)",
        ),
        ("my_model:raises", "the factory raised RuntimeError: no weights here"),
    ],
)
def test_a_bad_user_model_exits_2_saying_what_is_expected(target: str, message: str, monkeypatch, capsys) -> None:
    monkeypatch.syspath_prepend(str(USER_MODEL))
    assert predict.main(["--device", "sim-a100", "--model", target]) == 2
    assert message in capsys.readouterr().err


def test_formats_retype_the_weighted_matrix_operators_only() -> None:
    base = fake_capture(STANDARD["bert-base"].builder(2, torch.bfloat16))
    weighted = [i for i, op in enumerate(base.ops) if op.kind == "matrix" and op.weight_bytes > 0]
    attention = [i for i, op in enumerate(base.ops) if op.kind == "matrix" and op.weight_bytes == 0]
    assert weighted and attention
    # token ids index the embedding table: the model's arithmetic is bf16 from the first operator on, not int8
    assert {op.dtype for op in base.ops if op.kind == "matrix" or "embedding" in op.name} == {"bf16"}
    int8, int4, sparse = (as_format(base, f) for f in ("int8", "int4-weight", "2:4"))
    for i in weighted:
        assert (int8.ops[i].dtype, int8.ops[i].weight_bytes) == ("int8", base.ops[i].weight_bytes // 2)
        assert (int4.ops[i].dtype, int4.ops[i].weight_bytes) == ("bf16", base.ops[i].weight_bytes // 4)
        assert sparse.ops[i].weight_2of4 and sparse.ops[i].weight_bytes == base.ops[i].weight_bytes
    for i in attention:  # activation x activation: no weight to store in fewer bits or sparse
        assert int4.ops[i] == base.ops[i] and sparse.ops[i] == base.ops[i]
    assert all(a.dtype == "int8" for a, b in zip(int8.ops, base.ops) if b.weight_bytes or b.kind == "vector")
    assert int8.weight_bytes < base.weight_bytes and int4.weight_bytes < int8.weight_bytes
    with pytest.raises(ValueError, match="unknown format 'int3'; valid: fp8, int8"):
        as_format(base, "int3")


def test_a_model_that_does_not_fit_says_what_it_needs() -> None:
    llama = STANDARD["llama-7b"]
    profiles = {d.name: d.profile for d in SIMULATED}
    fp32 = fake_capture(llama.builder(1, torch.float32, phase="decode"))
    cache = llama.state_bytes(1, torch.float32, phase="decode")
    assert cache == 2 * 32 * 32 * 2048 * 128 * 4  # K and V, 32 layers, 32 heads, 2048 tokens, 128 dims, fp32
    assert does_not_fit(fp32, profiles["sim-h100"], cache) is None
    message = does_not_fit(fp32, profiles["sim-l4"], cache)
    assert message.startswith("does not fit: 29.") and "weights 27 GB" in message and "24 GB of dram" in message
    assert llama.state_bytes(1, torch.float32, phase="prefill") == 0


@lru_cache(maxsize=1)
def _collected() -> tuple[str, ...]:
    """The ids `pytest benchmarks --collect-only -q` lists from the project root, as the default matrix is collected
    (no MODEL=); collected once for the tests that read it (a collection takes 5-8 s)."""
    command = [sys.executable, "-m", "pytest", "benchmarks", "--collect-only", "-q", "-p", "no:cacheprovider"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "ACCELBENCH_MODEL": ""})
    assert out.returncode == 0, out.stdout[-2000:]
    return tuple(line for line in out.stdout.splitlines() if "::test_inference[" in line)


@pytest.mark.slow
def test_the_default_matrix_has_every_standard_model_on_every_simulated_device() -> None:
    lines = [line for line in _collected() if line.startswith("benchmarks/test_standard.py::")]
    ids = {line.split("[", 1)[1].rstrip("]") for line in lines}
    for device in SIMULATED:
        for workload in MATRIX:
            for technique in ("fp32", "bf16", "fp16", "int8-static", "int8-weight-only", "int4-weight-only"):
                for batch in (1, 64):
                    assert f"{device.name}-{workload}-{technique}-{batch}" in ids
            assert (f"{device.name}-{workload}-fp8-1" in ids) == device.profile.supports("fp8")
    assert f"sim-h100-{next(iter(MATRIX))}-sparse-2of4-64" in ids


@pytest.mark.slow
def test_a_real_standard_workload_is_scored_by_centred_fidelity_and_refuses_fine_tuning(cache_dir: Path) -> None:
    from techniques import Context

    workload = workloads.REGISTRY.get("mobilenet-v2")
    data = workload.data()
    assert len(data.train) == 0 and len(data.test) == 64 and workload.tier == "full"
    y = data.test.y
    assert workload.score(y, y) == pytest.approx(1.0)
    assert abs(workload.score(y.flip(0), y)) < 0.2  # another input's output: the centred cosine sees it
    assert y.std(0).mean() > 1e-3  # BatchNorm statistics gathered: inputs do not all get the same output
    context = Context(device=torch.device("cpu"), calibration=data.val, train=data.train, loss=workload.loss)
    model = workload.model(cache_dir)
    with pytest.raises(NotImplementedError, match="no training data"):
        techniques.REGISTRY.get("prune-l1-50").apply(model, context)
    sparse = techniques.REGISTRY.get("sparse-2of4").apply(model, context)  # the mask alone, not fine-tuned
    with torch.no_grad():
        fidelity = workload.score(sparse(data.test.x[:16]), y[:16])
    assert 0 < fidelity < 1


@pytest.mark.slow
def test_simulated_devices_price_the_standard_workloads_only_from_fake_captures() -> None:
    ids = [line for line in _collected() if "bert-base" in line.split("::", 1)[1]]  # as -k bert-base selects
    real = [i for i in ids if i.startswith("benchmarks/test_inference.py")]
    assert real and all("[cpu-" in i or "[cuda-" in i for i in real)  # the host's model on real devices only
    assert any(i.startswith("benchmarks/test_standard.py::test_inference[sim-h100-bert-base-") for i in ids)
    names = [i.split("::", 1)[1] for i in ids]
    assert len(names) == len(set(names))  # one case per id across the two files


@pytest.mark.parametrize("batch", [1, 8])
def test_a_decode_step_reads_the_cache_once_and_writes_only_the_new_token(batch: int) -> None:
    """As a deployed decoder runs it: the weights and the key/value cache are read once, and the step writes the new
    token's keys and values into the cache (nothing rebuilds or copies the cache within the call)."""
    small = small_llama(hidden=256, heads=4, kv_heads=4, vocab=512, seq=1024)
    graph = fake_capture(small.builder(batch, torch.float16, phase="decode"))
    cache = small.state_bytes(batch, torch.float16, phase="decode")  # K and V of 1024 tokens, every layer
    new_token = cache // 1024
    assert cache == 2 * 2 * batch * 4 * 1024 * 64 * 2
    puts = [op for op in graph.ops if "index_copy_" in op.name]
    assert len(puts) == 2 * 2 and all(op.bytes_written == new_token // 4 for op in puts)  # K and V per layer
    assert max(op.bytes_written for op in graph.ops) < cache / 4  # no op writes a whole layer's cache
    attention = [op for op in graph.ops if "scaled_dot_product" in op.name]
    assert sum(op.bytes_read for op in attention) >= cache  # every layer reads its whole cache
    traffic = sum(op.bytes for op in graph.ops)
    assert traffic < graph.weight_bytes + 1.5 * cache  # before: the cache built and concatenated in the call, 3x


def test_a_cached_graph_is_the_graph_captured_and_a_corrupt_one_is_captured_again(tmp_path: Path) -> None:
    bert = STANDARD["bert-base"]
    build = bert.builder(2, torch.bfloat16)
    graph, cached = cached_fake_capture(build, ("bert-base", "bf16", 2), tmp_path)
    assert not cached and graph == fake_capture(build)
    net, _ = fake_build_of(build)
    assert graph.parameters == sum(p.numel() for p in net.parameters()) > 100_000_000  # BERT base: 110M
    assert graph_from_json(graph_to_json(graph)) == graph  # every field, tuples included
    again, cached = cached_fake_capture(build, ("bert-base", "bf16", 2), tmp_path)
    assert cached and again == graph
    (path,) = (tmp_path / "graphs").iterdir()
    _, cached = cached_fake_capture(bert.builder(4, torch.bfloat16), ("bert-base", "bf16", 4), tmp_path)
    assert not cached and len(list((tmp_path / "graphs").iterdir())) == 2  # another key, another file
    path.write_text('{"ops": [')
    with pytest.warns(GraphCacheWarning, match="could not be read"):
        recaptured, cached = cached_fake_capture(build, ("bert-base", "bf16", 2), tmp_path)
    assert not cached and recaptured == graph and graph_from_json(path.read_text()) == graph
    assert cached_fake_capture(build, ("bert-base", "bf16", 2), None) == (graph, False)  # no cache: nothing kept


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 64])
@pytest.mark.parametrize("workload", list(MATRIX))
def test_an_fp16_graph_is_the_bf16_graph_retyped(workload: str, batch: int) -> None:
    """benchmarks/test_standard.py prices fp16 from the bf16 capture re-typed (SAME_GRAPH): true of every model, at
    each batch size it prices."""
    from benchmarks.test_standard import BATCH_SIZES, SAME_GRAPH

    assert batch in BATCH_SIZES
    model, phase = MATRIX[workload]
    bf16 = fake_capture(model.builder(batch, torch.bfloat16, phase=phase))
    fp16 = fake_capture(model.builder(batch, torch.float16, phase=phase))
    assert SAME_GRAPH == {"fp16": "bf16"} and retyped(bf16, {"bf16": "fp16"}) == fp16


class Residual(nn.Module):
    """x + relu^depth(linear(x)), as a transformer's layer adds its input back itself."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(16, 16), *(nn.ReLU() for _ in range(depth)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.inner(x)


class Stack(nn.Module):
    """An input layer, `n` residual blocks (block i applies `depth(i)` ReLUs) and an output layer; with `skip`, the
    output layer also reads the first block's output; with `shared`, every block's linear layer is the first one's."""

    def __init__(self, n: int, depth=lambda i: 1, skip: bool = False, shared: bool = False) -> None:
        super().__init__()
        self.inp, self.out, self.skip = nn.Linear(8, 16), nn.Linear(16, 4), skip
        self.blocks = nn.ModuleList(Residual(depth(i)) for i in range(n))
        for block in self.blocks[1:] if shared else ():
            block.inner[0] = self.blocks[0].inner[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = first = self.inp(x)
        for i, block in enumerate(self.blocks):
            h = block(h)
            first = h if i == 0 else first
        return self.out(h + first if self.skip else h)


def stack_of(n: int, **kwargs):
    return lambda: (Stack(n, **kwargs), torch.zeros(2, 8))


def test_a_stack_of_identical_blocks_is_captured_from_three_and_repeated() -> None:
    """A model of 6 identical blocks, captured with 3 and extended: every field of its whole capture (operators,
    their inputs inside and across blocks, weights, parameters, module calls); the whole model is not built."""
    asked = []
    stacked = (lambda n: asked.append(n) or stack_of(n), 6)
    graph = fake_capture(lambda: pytest.fail("the whole model was captured"), stacked)
    assert asked == [3] and graph == fake_capture(stack_of(6))
    assert len(graph.ops) == 2 + 6 * 3  # input and output layers; per block: linear, relu, add


@pytest.mark.parametrize(
    "kwargs",
    [dict(skip=True), dict(depth=lambda i: i + 1), dict(shared=True)],
    ids=["tail-reads-the-first-block", "blocks-differ", "blocks-share-a-layer"],
)
def test_a_model_that_is_not_one_stack_of_identical_blocks_is_captured_whole(kwargs: dict) -> None:
    """Where repeating the last block would not give the model (the output reads the first block, whose place in a
    taller stack is unknown; the blocks differ; they share a layer, whose weights the whole graph counts once), the
    whole model is captured instead."""
    whole = []
    graph = fake_capture(lambda: whole.append(1) or stack_of(6, **kwargs)(), (lambda n: stack_of(n, **kwargs), 6))
    assert whole == [1] and graph == fake_capture(stack_of(6, **kwargs))


def small_stack(kind: str) -> dict:
    """A small config of each kind of standard model with a stack of layers: 5 layers."""
    layers = dict(hidden_size=64, num_hidden_layers=5, num_attention_heads=4, intermediate_size=128)
    return {
        "llama": small_llama_config(5),
        "bert": dict(kind="bert", **layers),
        "vit": dict(kind="vit", **layers, image_size=32, patch_size=8, num_labels=10),
    }[kind]


@pytest.mark.parametrize(
    "kind, family, phase",
    [("llama", "decoder", "prefill"), ("llama", "decoder", "decode"), ("bert", "encoder", ""), ("vit", "image", "")],
)
def test_a_transformers_layers_are_captured_from_three_and_give_its_whole_graph(kind, family, phase) -> None:
    """Each kind of standard model with a stack of layers (StandardModel.stacked), small: the graph of 3 layers
    extended to 5 is its 5-layer capture, every field."""
    model = StandardModel(f"{kind}-small", family, small_stack(kind), input_size=32, seq=16)
    options = dict(phase=phase) if phase else {}
    stacked = model.stacked(2, torch.bfloat16, **options)
    assert model.layers == stacked[1] == 5
    whole = fake_capture(model.builder(2, torch.bfloat16, **options))
    assert fake_capture(lambda: pytest.fail("the whole model was captured"), stacked) == whole


@pytest.mark.slow
@pytest.mark.parametrize("workload", [name for name, (model, _) in MATRIX.items() if model.layers])
def test_every_standard_transformer_is_captured_from_three_layers_as_whole(workload: str) -> None:
    """What benchmarks/test_standard.py and `predict` price: each standard model with a stack of layers, at its full
    size, gives the same graph from 3 layers repeated as captured whole; the others have no stack."""
    model, phase = MATRIX[workload]
    stacked = model.stacked(4, torch.float32, phase=phase)
    assert stacked[1] == model.layers > 3
    assert fake_capture(model.builder(4, torch.float32, phase=phase), stacked) == fake_capture(
        model.builder(4, torch.float32, phase=phase)
    )
    assert {name for name, (m, _) in MATRIX.items() if m.stacked(1) is None} == {
        "resnet-50",
        "mobilenet-v1",
        "mobilenet-v2",
    }


def fake_build_of(build):
    """What `build` makes, on fake tensors (nothing allocated)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True):
        return build()


def test_a_real_decode_step_repeats_and_follows_the_model_when_it_is_cast() -> None:
    small = small_llama(hidden=64, heads=4, kv_heads=2, vocab=128, seq=16)
    decode = small.build(phase="decode")
    ids = small.example(3, phase="decode")
    with torch.no_grad():
        first, second = decode(ids), decode(ids)  # the same position each call: the cache never fills up
        assert first.shape == (3, 128) and torch.equal(first, second)
        assert decode.cache.layers[0].keys.shape == (3, 2, 17, 16)  # 16 tokens held and the new one
        cast = decode.to(torch.bfloat16)(ids)  # the cache follows the model's dtype (allocated again)
    assert cast.dtype == torch.bfloat16 and decode.cache.layers[0].keys.dtype == torch.bfloat16


def test_integer_scalar_bookkeeping_is_not_priced_as_device_work() -> None:
    """The decode step's cache position (a 0-d integer reset and advanced per layer) is host bookkeeping."""
    small = small_llama(hidden=64, heads=4, kv_heads=2, vocab=128, seq=16)
    graph = fake_capture(small.builder(1, torch.float32, phase="decode"))
    assert not [op.name for op in graph.ops if all(len(s) == 0 for s in op.input_shapes + op.output_shapes)]
    assert sum("index_copy_" in op.name for op in graph.ops) == 4  # the cache updates themselves stay


def small_llama(hidden: int, heads: int, kv_heads: int, vocab: int, seq: int) -> StandardModel:
    """A two-layer decoder of Llama's kind (MLP twice the hidden width), `seq` tokens of context."""
    config = dict(kind="llama", hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2)
    config.update(num_attention_heads=heads, num_key_value_heads=kv_heads, vocab_size=vocab)
    return StandardModel("llama-small", "decoder", config, seq=seq)


def small_llama_config(layers: int) -> dict:
    return dict(small_llama(hidden=64, heads=4, kv_heads=2, vocab=128, seq=16).config, num_hidden_layers=layers)


@pytest.mark.slow
def test_the_default_tier_keeps_every_technique_and_device_and_leaves_head_only_cases_to_the_full_tier() -> None:
    """`make bench`'s selection (-m "not full and not harness"): every default-tier technique runs on the real cpu and
    every device is in it; a technique that changes only Linear layers (Technique.changes) runs on digits-mlp but on
    digits-cnn, whose compute is in its convolutions, only in the full tier; the digits models run at batch 64 only
    (Workload.default_batch_sizes), on every device."""
    command = [sys.executable, "-m", "pytest", "benchmarks", "--collect-only", "-q", "-p", "no:cacheprovider"]
    command += ["-m", "not full and not harness"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "ACCELBENCH_MODEL": ""})
    assert out.returncode == 0, out.stdout[-2000:]
    ids = {line.split("[", 1)[1].rstrip("]") for line in out.stdout.splitlines() if "::test_inference[" in line}
    default = [t for t in techniques.REGISTRY if t.tier == "default"]
    for technique in default:
        assert any(i.startswith("cpu-digits-") and f"-{technique.name}-64" in i for i in ids), technique.name
    for device in ("cpu", "sim-a100"):
        assert {f"{device}-digits-mlp-fp32-64", f"{device}-digits-cnn-fp32-64"} <= ids
        assert f"{device}-digits-mlp-fp32-1" not in ids and f"{device}-digits-cnn-fp32-1" not in ids
    for device in devices.REGISTRY:
        assert any(i.startswith(f"{device.name}-") for i in ids), device.name
    linear = {t.name for t in default if t.changes == "linear"}
    assert linear >= {"int8-dynamic", "int8-weight-only"}
    for name in linear:
        assert f"cpu-digits-mlp-{name}-64" in ids and f"cpu-digits-cnn-{name}-64" not in ids
    assert "cpu-digits-cnn-int8-static-64" in ids  # it quantizes the convolutions too
    assert "cpu-digits-cnn-int4-weight-only-64" in ids  # it runs them in bfloat16
