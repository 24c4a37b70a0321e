"""Precision, graph and architecture optimizations keep their promises."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import techniques
from accelbench.measure import flops_per_call
from techniques import Context, facts_of
from workloads import untrained_model
from workloads.digits_cnn import DigitsCNN
from workloads.digits_lstm import DigitsLSTM
from workloads.digits_mlp import DigitsMLP


def context_for(workload) -> Context:
    data = workload.data()
    return Context(device=torch.device("cpu"), calibration=data.val, train=data.train)


def test_bn_fold_matches_fp32_to_1e_5(cache_dir: Path) -> None:
    workload = DigitsCNN()
    model = workload.model(cache_dir)
    folded = techniques.resolve("bn-fold").apply(model, context_for(workload))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert facts_of(folded)["batchnorms_folded"] == 2
    x = workload.data().test.x
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=0, atol=1e-5)


def test_bn_fold_skips_a_model_without_batchnorm(cache_dir: Path) -> None:
    with pytest.raises(NotImplementedError, match="no BatchNorm"):
        techniques.resolve("bn-fold").apply(DigitsMLP().model(cache_dir), context_for(DigitsMLP()))


@pytest.mark.parametrize("name", ["fp16", "amp-bf16", "amp-fp16", "channels-last"])
def test_precision_and_layout_keep_the_interface(name: str, cache_dir: Path) -> None:
    workload = DigitsCNN()
    model = techniques.resolve(name).apply(workload.model(cache_dir), context_for(workload))
    with torch.no_grad():
        out = model(workload.data().test.x[:5])
    assert out.shape == (5, 10) and out.dtype == torch.float32


def test_autocast_runs_matmuls_in_the_lower_dtype(cache_dir: Path) -> None:
    workload = DigitsMLP()
    model = techniques.resolve("amp-bf16").apply(workload.model(cache_dir), context_for(workload))
    seen = []
    hook = model.inner[1].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    with torch.no_grad():
        model(workload.data().test.x[:2])
    hook.remove()
    assert seen == [torch.bfloat16]
    assert next(model.parameters()).dtype == torch.float32  # autocast leaves the weights alone


@pytest.mark.slow
def test_a_missing_low_precision_kernel_is_a_skip_not_an_error(cache_dir: Path) -> None:
    # oneDNN lacks a float16 LSTM under autocast on many CPUs; the technique must say so before any timed call
    workload = DigitsLSTM()
    try:
        model = techniques.resolve("amp-fp16").apply(workload.model(cache_dir), context_for(workload))
    except NotImplementedError as exc:
        assert "has no kernel here" in str(exc)
    else:  # this CPU has the kernel: then the model must run
        with torch.no_grad():
            assert torch.isfinite(model(workload.data().test.x[:4])).all()


def test_depthwise_separable_cuts_flops_and_keeps_the_stem(cache_dir: Path) -> None:
    workload = DigitsCNN()
    base = workload.model(cache_dir)
    model = techniques.resolve("depthwise-separable").apply(base, context_for(workload))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].groups == 1 and convs[0].in_channels == 1  # the 1-channel stem stays ordinary
    assert any(c.groups == c.in_channels > 1 for c in convs)
    x = workload.data().test.x[:64]
    assert flops_per_call(model, x) < 0.5 * flops_per_call(base, x)
    data = workload.data()
    with torch.no_grad():
        accuracy = workload.score(model(data.test.x), data.test.y)
    assert accuracy > 0.9  # retrained, not just swapped


def test_compile_freezing_matches_eager(cache_dir: Path) -> None:
    workload = DigitsCNN()
    base = workload.model(cache_dir)
    frozen = techniques.resolve("compile-freezing").apply(base, context_for(workload))
    x = workload.data().test.x[:16]
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), base(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("workload", [DigitsCNN(), DigitsLSTM()], ids=lambda w: w.name)
def test_onnxruntime_matches_fp32_to_1e_4(workload) -> None:
    model = untrained_model(workload, 0).eval()  # the export's fidelity needs no training (the LSTM's took 20 s)
    ort = techniques.resolve("onnxruntime").apply(model, context_for(workload))
    x = workload.data().test.x
    with torch.no_grad():
        torch.testing.assert_close(ort(x), model(x), rtol=0, atol=1e-4)  # one batch of 360: the batch is dynamic
    assert ort.onnx_model.dtype == torch.uint8 and ort.onnx_model.numel() > 1000  # the deployed file is its state
    # its threads sleep between calls: spinning ones took the cores from the next runtime's call (paired rounds)
    assert ort.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_io_binding_is_chosen_on_cuda_with_the_cuda_provider_only() -> None:
    from techniques.onnxruntime import uses_io_binding

    assert uses_io_binding(torch.device("cuda", 1), ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert not uses_io_binding(torch.device("cuda", 0), ["CPUExecutionProvider"])  # a CPU-only onnxruntime build
    assert not uses_io_binding(torch.device("cpu"), ["CPUExecutionProvider"])


def test_a_bound_run_writes_into_the_given_tensor_and_matches_the_host_run(cache_dir: Path) -> None:
    from techniques.onnxruntime import run_bound

    workload = DigitsMLP()
    ort = techniques.resolve("onnxruntime").apply(workload.model(cache_dir), context_for(workload))
    assert not ort.io_binding  # the CPU takes the numpy path
    x = workload.data().test.x[:64].contiguous()
    with torch.no_grad():
        expected = ort(x)
    out = torch.full_like(expected, float("nan"))
    assert run_bound(ort.session, ort.input_name, ort.output_name, x, out) is out
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    ort.io_binding = True  # the forward a GPU takes: shape learnt on the first call, then bound runs
    with torch.no_grad():
        first, second = ort(x), ort(x)
    assert first.data_ptr() != second.data_ptr()  # each call its own output tensor
    torch.testing.assert_close(second, expected, rtol=0, atol=1e-6)
    # a GPU run binds the same way (device_type "cuda"); a dtype it cannot bind is refused by name
    with pytest.raises(TypeError, match="no IO binding for torch.bfloat16: one of torch.float32"):
        run_bound(ort.session, ort.input_name, ort.output_name, x.bfloat16(), out)


def test_onnxruntime_int8_quantizes_the_graph(cache_dir: Path) -> None:
    from accelbench.measure import model_size_bytes

    workload = DigitsMLP()
    model = workload.model(cache_dir)
    fp32 = techniques.resolve("onnxruntime").apply(model, context_for(workload))
    int8 = techniques.resolve("onnxruntime-int8").apply(model, context_for(workload))
    assert model_size_bytes(int8) < 0.4 * model_size_bytes(fp32)


def test_a_simulated_device_prices_onnxruntime_int8_as_the_int8_graph_the_session_runs(cache_dir: Path) -> None:
    import devices
    from devices.simulated.device import captured

    workload = DigitsMLP()
    model = workload.model(cache_dir)
    x = workload.data().test.x[:64]
    graphs = {
        name: captured(techniques.resolve(name).apply(model, context_for(workload)), x)
        for name in ("onnxruntime", "onnxruntime-int8")
    }
    matrix = {name: {op.dtype for op in g.ops if op.kind == "matrix"} for name, g in graphs.items()}
    assert matrix == {"onnxruntime": {"fp32"}, "onnxruntime-int8": {"int8"}}
    t4 = devices.REGISTRY.get("sim-t4")
    fp32, int8 = (t4.predict(graphs[name], "onnxruntime").latency_s for name in graphs)
    assert int8 < fp32  # it was priced as the fp32 graph: the same latency
