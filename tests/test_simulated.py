"""The simulated devices: SCALE-Sim's fold model, the profiles, graph capture and the cost model's properties."""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import devices
from devices.simulated.cost import matrix_time, merge_siblings, predict
from devices.simulated.graph import Gemm, Graph, Op, capture
from devices.simulated.profile import PROFILE_DIR, ProfileError, load_profile, load_profiles
from devices.simulated.systolic import depthwise_cycles, dpu_efficiency, gemm_cycles

# SCALE-Sim v2's own cycle counts, in the project's reference data (devices/reference/README.md)
REFERENCE = Path(__file__).resolve().parent.parent / "devices" / "reference"
DEFAULT_PROFILES = [
    "sim-tpu-v4",
    "sim-tpu-v5e",
    "sim-edge-tpu",
    "sim-npu",
    "sim-fpga",
    "sim-h100",
    "sim-a100",
    "sim-l4",
    "sim-t4",
]


# --- SCALE-Sim ---------------------------------------------------------------------------------------------------


def reference_rows() -> list[dict]:
    return list(csv.DictReader((REFERENCE / "scalesim-gemm-cycles.csv").read_text().splitlines()))


def test_gemm_cycles_reproduce_every_scalesim_reference_row() -> None:
    rows = reference_rows()
    assert len(rows) >= 21
    for row in rows:
        args = int(row["rows"]), int(row["cols"]), row["dataflow"], int(row["m"]), int(row["n"]), int(row["k"])
        assert gemm_cycles(*args) == int(row["cycles"]), row


def test_gemm_cycles_reproduce_the_alexnet_conv1_golden_case() -> None:
    # 224x224x3 input, 96 11x11 filters, stride 4, on a 32x32 weight-stationary array: Sr=363, Sc=96, T=3025
    assert gemm_cycles(32, 32, "ws", m=55 * 55, n=96, k=11 * 11 * 3) == 112283


def test_overlap_and_arrays_only_ever_save_cycles() -> None:
    base = gemm_cycles(8, 8, "os", 64, 64, 64)
    assert gemm_cycles(8, 8, "os", 64, 64, 64, overlap=0.5) < base
    assert gemm_cycles(8, 8, "os", 64, 64, 64, arrays=4) < base
    assert gemm_cycles(8, 8, "os", 64, 64, 64, batch=3) == 3 * (base + 1) - 1
    with pytest.raises(ValueError, match="unknown dataflow 'xs'"):
        gemm_cycles(8, 8, "xs", 1, 1, 1)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize(("channels", "pixels", "taps"), [(32, 112 * 112, 9), (960, 7 * 7, 9), (3, 10, 25)])
def test_a_depthwise_convolution_maps_channels_across_columns(dataflow: str, channels: int, pixels: int, taps: int):
    """Never more cycles than one GEMM per channel, never fewer than its MACs on every PE of the arrays."""
    rows, cols, arrays = 64, 64, 2
    mapped = depthwise_cycles(rows, cols, dataflow, pixels, channels, taps, arrays=arrays)
    per_channel = gemm_cycles(rows, cols, dataflow, pixels, 1, taps, arrays=arrays, batch=channels)
    assert channels * pixels * taps / (rows * cols * arrays) <= mapped <= per_channel
    if dataflow == "ws" and channels * taps > rows:  # several channels fit one fold's rows: fewer folds
        assert mapped < per_channel
    with pytest.raises(ValueError, match="taps=0"):
        depthwise_cycles(rows, cols, dataflow, pixels, channels, 0)


def test_a_depthwise_convolution_on_a_systolic_profile_costs_less_than_a_gemm_per_channel() -> None:
    profile = profiles()["sim-edge-tpu"]
    depthwise = Gemm(32, 112 * 112, 1, 9, depthwise=True, width=112, channels=1)
    per_channel = dataclasses.replace(depthwise, depthwise=False)  # the same products priced one GEMM each
    flops = 2 * 32 * 112 * 112 * 9
    mapped = matrix_time(profile, depthwise, "int8", flops)
    assert flops / profile.peak["int8"] <= mapped < matrix_time(profile, per_channel, "int8", flops)


def test_dpu_efficiency_follows_the_parallelism_padding() -> None:
    assert dpu_efficiency(16, 16, 8, pp=8, icp=16, ocp=16) == 1.0
    assert dpu_efficiency(3, 16, 8, pp=8, icp=16, ocp=16) == pytest.approx(3 / 16)


# --- profiles ----------------------------------------------------------------------------------------------------


def test_every_default_profile_loads_is_registered_and_sourced() -> None:
    profiles, errors = load_profiles([PROFILE_DIR])
    assert errors == []
    assert set(DEFAULT_PROFILES) <= set(profiles)
    for name, profile in profiles.items():
        assert devices.REGISTRY.get(name).simulated
        assert all(
            f.source.strip() and f.confidence in ("vendor", "secondary", "derived", "assumed")
            for f in profile.figures.values()
        ), name


def write_profile(tmp_path: Path, edit) -> Path:
    """The TPU v4 profile with one line changed by `edit(text) -> text`."""
    text = edit((PROFILE_DIR / "sim-tpu-v4.toml").read_text())
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: re.sub(r"(?m)^clock = .*\n", "", t), r"field 'clock': missing"),
        (lambda t: t.replace('unit = "Hz"', 'unit = "MHz"'), r"field 'clock.unit': unit 'MHz'; expected 'Hz'"),
        (
            lambda t: t.replace("value = 1.05e9", 'value = "fast"'),
            r"field 'clock.value': 'fast' is not a finite number",
        ),
        (
            lambda t: t.replace("value = 192,", "value = -192,"),
            r"field 'power.tdp.value': -192 is negative; expected a positive number",
        ),
        (
            lambda t: t.replace("\nint8 = { value = 275e12", "\nfp9 = { value = 275e12"),
            r"field 'peak.fp9': unknown dtype",
        ),
        (lambda t: t.replace('dtypes = ["fp32", "bf16", "int8"]', 'dtypes = ["fp32", "fp7"]'), r"unknown dtype 'fp7'"),
        (
            lambda t: t.replace('confidence = "derived" }\nop_overhead', 'confidence = "guess" }\nop_overhead'),
            r"field 'clock.confidence': unknown tag 'guess'",
        ),
        (lambda t: t.replace('dataflow = "ws"', 'dataflow = "diagonal"'), r"field 'matrix.dataflow': unknown value"),
        (
            lambda t: t.replace("clock = { value", "clock = 1.05e9\nx = { value"),
            r"field 'clock': 1050000000.0 is a bare float; expected an inline table",
        ),
    ],
    ids=[
        "missing-field",
        "wrong-unit",
        "wrong-type",
        "negative",
        "unknown-peak-dtype",
        "unknown-vector-dtype",
        "unknown-confidence",
        "unknown-dataflow",
        "bare-number",
    ],
)
def test_a_malformed_profile_is_refused_with_file_field_and_expectation(tmp_path: Path, edit, message: str) -> None:
    path = write_profile(tmp_path, edit)
    with pytest.raises(ProfileError, match=message) as error:
        load_profile(path)
    assert str(path) in str(error.value) and "expected" in str(error.value)


def test_a_bad_profile_costs_only_its_own_device(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text((PROFILE_DIR / "sim-t4.toml").read_text().replace('"sim-t4"', '"sim-mine"'))
    (tmp_path / "broken.toml").write_text("name = [unclosed\n")
    profiles, errors = load_profiles([tmp_path])
    assert list(profiles) == ["sim-mine"]
    assert len(errors) == 1 and "broken.toml: not valid TOML" in str(errors[0])


@pytest.mark.parametrize("name", ["sim-My_NPU", "sim-", "sim-npu-"])
def test_a_profile_name_the_registry_would_refuse_costs_only_its_own_device(tmp_path: Path, name: str) -> None:
    (tmp_path / "bad.toml").write_text((PROFILE_DIR / "sim-t4.toml").read_text().replace('"sim-t4"', f'"{name}"'))
    (tmp_path / "good.toml").write_text((PROFILE_DIR / "sim-t4.toml").read_text().replace('"sim-t4"', '"sim-mine"'))
    profiles, errors = load_profiles([tmp_path])
    assert list(profiles) == ["sim-mine"] and len(errors) == 1
    assert f"field 'name': '{name}'; expected lower-case kebab-case after 'sim-'" in str(errors[0])


def test_a_profile_directory_that_is_a_file_or_replaces_a_built_in_profile_says_so(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "h100.toml").write_text((PROFILE_DIR / "sim-h100.toml").read_text())
    (tmp_path / "file.toml").write_text("")
    profiles, errors = load_profiles([PROFILE_DIR, mine, tmp_path / "file.toml", tmp_path / "absent"])
    assert profiles["sim-h100"].path == mine / "h100.toml"
    messages = [str(e) for e in errors]
    assert messages[0] == f"{mine / 'h100.toml'}: replaces the profile 'sim-h100' of {PROFILE_DIR / 'sim-h100.toml'}"
    assert messages[1].endswith("profile directory is a file, not a directory of profiles")
    assert messages[2].endswith("profile directory does not exist")


@pytest.mark.slow
def test_user_profiles_join_the_matrix_and_a_broken_one_costs_only_itself(run_python, tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text((PROFILE_DIR / "sim-t4.toml").read_text().replace('"sim-t4"', '"sim-mine"'))
    (tmp_path / "broken.toml").write_text((PROFILE_DIR / "sim-t4.toml").read_text().replace("[power]", "[powr]"))
    selection = "(sim-mine or (cpu and not sim)) and digits-mlp and fp32 and 64"
    command = ["-m", "pytest", "benchmarks", "-k", selection, "--benchmark-disable", "-p", "no:cacheprovider"]
    result = run_python(*command, env={"ACCELBENCH_PROFILES": str(tmp_path)})
    assert result.returncode == 0, result.stdout[-3000:]  # the bad file is a warning under the suite's own settings
    assert "2 passed" in result.stdout
    assert "ProfileLoadWarning" in result.stdout and "broken.toml: field 'power.idle': missing" in result.stdout


# --- graph capture -----------------------------------------------------------------------------------------------


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 32)).eval()


def test_capture_records_matmuls_with_weights_flops_and_bytes() -> None:
    graph = capture(mlp(), torch.randn(4, 64))
    matmuls = [op for op in graph.ops if op.kind == "matrix"]
    assert [op.gemms[0] for op in matmuls] == [Gemm(1, 4, 128, 64), Gemm(1, 4, 32, 128)]
    assert [op.flops for op in matmuls] == [2 * 4 * 128 * 64, 2 * 4 * 32 * 128]
    assert matmuls[0].weight_bytes == (64 * 128 + 128) * 4  # weight and bias, fp32
    assert matmuls[0].bytes_read == 4 * 64 * 4 and matmuls[0].bytes_written == 4 * 128 * 4
    assert {op.dtype for op in graph.ops} == {"fp32"}
    assert graph.weight_bytes == sum(p.numel() * 4 for p in mlp().parameters())


def test_capture_shows_bf16_and_int8_arithmetic(cache_dir: Path) -> None:
    import techniques
    from techniques import Context
    from workloads.digits_mlp import DigitsMLP

    workload = DigitsMLP()
    data = workload.data()
    context = Context(torch.device("cpu"), data.val, data.train)
    model = workload.model(cache_dir)
    x = data.test.x[:8]
    for name, dtype in [
        ("bf16", "bf16"),
        ("int8-static", "int8"),
        ("int8-dynamic", "int8"),
        ("int8-dynamic-legacy", "int8"),
    ]:
        graph = capture(techniques.resolve(name).apply(model, context), x)
        assert {op.dtype for op in graph.ops if op.kind == "matrix"} == {dtype}, name
    weight_only = capture(techniques.resolve("int8-weight-only").apply(model, context), x)
    first = next(op for op in weight_only.ops if op.kind == "matrix")
    assert first.dtype == "fp32" and first.weight_bytes == 64 * 256  # int8 weights read, fp32 arithmetic


def test_capture_measures_weight_sparsity_and_the_2of4_pattern() -> None:
    model = mlp()
    with torch.no_grad():
        model[0].weight.view(-1, 4)[:, :2] = 0  # two zeros in every group of four along the input
    graph = capture(model, torch.randn(2, 64))
    first, second = [op for op in graph.ops if op.kind == "matrix"]
    assert first.weight_2of4 and not second.weight_2of4
    assert first.weight_sparsity == pytest.approx(64 * 128 / 2 / (64 * 128 + 128), rel=1e-3)


# --- cost model properties ---------------------------------------------------------------------------------------


def profiles() -> dict:
    loaded, _ = load_profiles([PROFILE_DIR])
    return loaded


def gemm_graph(
    m: int, n: int, k: int, dtype: str = "bf16", sparsity: float = 0.0, two_of_four: bool = False, weight_scale: int = 1
) -> Graph:
    size = {"fp32": 4, "bf16": 2, "fp16": 2, "int8": 1}[dtype]
    op = Op(
        index=0,
        name="aten.mm.default",
        kind="matrix",
        dtype=dtype,
        flops=2 * m * n * k,
        bytes_read=m * k * size,
        weight_bytes=k * n * size * weight_scale,
        bytes_written=m * n * size,
        gemms=(Gemm(1, m, n, k),),
        weight_sparsity=sparsity,
        weight_2of4=two_of_four,
        inputs=(-1,),
    )
    relu = Op(
        index=1,
        name="aten.relu.default",
        kind="vector",
        dtype=dtype,
        flops=m * n,
        bytes_read=m * n * size,
        weight_bytes=0,
        bytes_written=m * n * size,
        inputs=(0,),
    )
    return Graph(
        ops=(op, relu), weight_bytes=k * n * size * weight_scale, input_bytes=m * k * size, output_bytes=m * n * size
    )


SHAPES = [(1, 64, 64), (64, 256, 128), (512, 512, 512), (4096, 1024, 4096)]


@pytest.mark.parametrize("name", DEFAULT_PROFILES)
def test_more_flops_or_bytes_is_never_faster(name: str) -> None:
    profile = profiles()[name]
    for dtype in ("fp32", "bf16", "int8"):
        times = [predict(gemm_graph(*shape, dtype), profile).latency_s for shape in SHAPES]
        assert times == sorted(times), (dtype, times)
        lighter = predict(gemm_graph(256, 256, 256, dtype), profile).latency_s
        heavier = predict(gemm_graph(256, 256, 256, dtype, weight_scale=64), profile).latency_s  # more bytes
        assert heavier >= lighter


@pytest.mark.parametrize("name", DEFAULT_PROFILES)
def test_int8_is_never_slower_than_bf16_where_both_are_supported(name: str) -> None:
    profile = profiles()[name]
    if not (profile.supports("int8") and (profile.supports("bf16") or profile.supports("fp16"))):
        pytest.skip(f"{name} lacks int8 or a 16-bit float")
    half = "bf16" if profile.supports("bf16") else "fp16"
    for shape in SHAPES:
        assert (
            predict(gemm_graph(*shape, "int8"), profile).latency_s
            <= predict(gemm_graph(*shape, half), profile).latency_s
        )


@pytest.mark.parametrize("name", DEFAULT_PROFILES)
def test_unstructured_sparsity_changes_nothing_on_dense_profiles(name: str) -> None:
    profile = profiles()[name]
    assert not profile.unstructured_sparsity
    for shape in SHAPES:
        dense = predict(gemm_graph(*shape), profile)
        sparse = predict(gemm_graph(*shape, sparsity=0.9), profile)
        assert sparse.latency_s == dense.latency_s and sparse.energy_j == dense.energy_j


@pytest.mark.parametrize("name", DEFAULT_PROFILES)
def test_2of4_gains_at_most_2x_and_only_above_the_minimum_shape(name: str) -> None:
    profile = profiles()[name]
    for shape in SHAPES:
        dense = predict(gemm_graph(*shape), profile).latency_s
        sparse = predict(gemm_graph(*shape, sparsity=0.5, two_of_four=True), profile).latency_s
        assert dense / 2 <= sparse <= dense
        if profile.sparsity != "2:4" or min(shape) < profile.sparse_min_dim:
            assert sparse == dense, shape
    if profile.sparsity == "2:4":
        big = (4096, 4096, 4096)
        sparse, dense = (
            predict(gemm_graph(*big, sparsity=0.5, two_of_four=True), profile),
            predict(gemm_graph(*big), profile),
        )
        assert sparse.latency_s < dense.latency_s  # also on a power-capped card: the skipped products cost no energy
        assert sparse.energy_j < dense.energy_j


@pytest.mark.parametrize("name", DEFAULT_PROFILES)
def test_energy_covers_idle_power_and_average_power_stays_under_tdp(name: str) -> None:
    profile = profiles()[name]
    for shape in [*SHAPES, (16384, 16384, 16384)]:
        for dtype in ("fp32", "bf16", "int8"):
            result = predict(gemm_graph(*shape, dtype), profile)
            assert result.energy_j >= profile.idle_power * result.latency_s
            assert result.average_power_w <= profile.tdp * (1 + 1e-9)


def test_a_power_hungry_profile_is_stretched_to_tdp_and_flagged() -> None:
    profile = dataclasses.replace(profiles()["sim-h100"], op_energy_pj={"fp32": 1000.0, "bf16": 1000.0})
    result = predict(gemm_graph(8192, 8192, 8192), profile)
    assert result.power_limited and result.average_power_w == pytest.approx(profile.tdp)


def test_a_t4_sustains_large_int8_gemms_only_at_its_power_capped_rate() -> None:
    """The T4's tensor-core energy comes from the rate it sustains under its 70 W cap, not from the boost-clock
    peak: a large int8 GEMM is power-limited there, at no more than (TDP - idle) / energy per operation."""
    profile = profiles()["sim-t4"]
    result = predict(gemm_graph(4096, 4096, 4096, "int8"), profile, "deployed")
    capped = (profile.tdp - profile.idle_power) / (profile.op_energy_pj["int8"] * 1e-12)
    assert result.power_limited and result.bound == "power"
    assert result.flops / result.latency_s <= capped < profile.peak["int8"] * profile.matrix["efficiency"]


def test_the_edge_tpu_runs_int8_and_sends_the_rest_to_the_host() -> None:
    profile = profiles()["sim-edge-tpu"]
    assert predict(gemm_graph(64, 256, 128, "int8"), profile).host_ops == 0
    float_model = predict(gemm_graph(64, 256, 128, "fp32"), profile)
    assert float_model.host_ops == 1 and float_model.bound == "host"  # from the first unsupported op on


def chain_graph(dtypes: list[str]) -> Graph:
    """Matrix ops one after another (matrix ops never fuse), in the given dtypes."""
    ops = tuple(
        Op(
            index=i,
            name="aten.mm.default",
            kind="matrix",
            dtype=d,
            flops=2 * 64**3,
            bytes_read=64 * 64,
            weight_bytes=64 * 64,
            bytes_written=64 * 64,
            gemms=(Gemm(1, 64, 64, 64),),
            inputs=(i - 1,),
        )
        for i, d in enumerate(dtypes)
    )
    return Graph(ops=ops, weight_bytes=64 * 64 * len(ops), input_bytes=64 * 64, output_bytes=64 * 64)


def test_host_tail_sends_everything_after_the_first_unsupported_op_and_host_only_that_op() -> None:
    tail = profiles()["sim-edge-tpu"]
    assert tail.fallback == "host-tail"
    graph = chain_graph(["int8", "fp32", "int8", "int8"])
    assert [c.where for c in predict(graph, tail).ops] == ["device", "host", "host", "host"]
    single = dataclasses.replace(tail, fallback="host")
    result = predict(graph, single)
    assert [c.where for c in result.ops] == ["device", "host", "device", "device"]
    assert result.ops[1].memory_s > 0 and result.ops[2].time_s > result.ops[3].time_s  # the link, both ways
    assert predict(chain_graph(["fp32"]), single).ops[0].memory_s == 0  # the graph's input is already on the host


def conv_bn_graph(channels: int = 64, side: int = 56) -> Graph:
    """A convolution, the batch norm after it and a ReLU: what a deployed runtime fuses into one kernel."""
    elements = channels * side * side
    conv = Op(0, "aten.convolution.default", "matrix", "int8", 2 * elements * channels * 9, elements, 9 * channels**2,
              elements, gemms=(Gemm(1, side * side, channels, 9 * channels, width=side, channels=channels),),
              inputs=(-1,))  # fmt: skip
    norm = Op(1, "aten._native_batch_norm_legit_no_training.default", "vector", "int8", 4 * elements, elements, 0,
              elements, inputs=(0,))  # fmt: skip
    relu = Op(2, "aten.relu.default", "vector", "int8", elements, elements, 0, elements, inputs=(1,))
    return Graph(ops=(conv, norm, relu), weight_bytes=9 * channels**2, input_bytes=elements, output_bytes=elements,
                 io_elements=2 * elements)  # fmt: skip


@pytest.mark.parametrize("name", ["sim-a100", "sim-h100", "sim-l4", "sim-t4"])
def test_a_gpus_deployed_runtime_launches_for_less_than_eager_pytorch(name: str) -> None:
    profile = profiles()[name]
    assert profile.deployed_op_overhead < profile.op_overhead and profile.deployed_call_overhead < profile.call_overhead
    assert {"deployed_op_overhead", "deployed_call_overhead"} <= set(profile.figures)  # sourced figures, not defaults
    graph = conv_bn_graph(64, 7)  # small: the overheads show
    deployed, eager = predict(graph, profile, "deployed"), predict(graph, profile, "eager")
    assert deployed.latency_s < predict(graph, profile, "compiled").latency_s < eager.latency_s


def test_a_profile_without_deployed_figures_prices_deployed_as_its_compiled_runtime() -> None:
    loaded = profiles()
    cpu, edge = loaded["sim-cpu"], loaded["sim-edge-tpu"]  # neither profile has deployed figures
    assert (cpu.deployed_op_overhead, cpu.deployed_call_overhead) == (
        cpu.compiled_op_overhead,
        cpu.compiled_call_overhead,
    )
    assert (edge.deployed_op_overhead, edge.deployed_call_overhead) == (edge.op_overhead, edge.call_overhead)
    assert cpu.deployed_host_rate is None and edge.deployed_host_rate is None
    graph = gemm_graph(64, 256, 128, "int8")  # no batch norm to fold
    assert predict(graph, edge, "deployed").latency_s == predict(graph, edge, "compiled").latency_s


@pytest.mark.parametrize("name", DEFAULT_PROFILES)
def test_the_deployed_runtime_folds_a_batch_norm_into_its_convolution(name: str) -> None:
    profile = profiles()[name]
    graph = conv_bn_graph()
    deployed, compiled = predict(graph, profile, "deployed"), predict(graph, profile, "compiled")
    assert len(deployed.ops) == len(compiled.ops) == 1  # one fused kernel either way
    assert deployed.flops == graph.flops - graph.ops[1].flops  # the batch norm's work is gone
    assert deployed.ops[0].compute_s < compiled.ops[0].compute_s


def test_a_deployment_with_a_host_stage_adds_its_pre_and_post_processing() -> None:
    fpga = profiles()["sim-fpga"]
    assert fpga.deployed_host_rate is not None and "deployed_host_rate" in fpga.figures
    graph = conv_bn_graph()
    without = dataclasses.replace(fpga, deployed_host_rate=None)
    host = predict(graph, fpga, "deployed").latency_s - predict(graph, without, "deployed").latency_s
    assert host == pytest.approx(graph.io_elements / fpga.deployed_host_rate)
    assert predict(graph, fpga, "deployed").time_by_bound["host"] == pytest.approx(host)
    assert predict(graph, fpga, "compiled").latency_s == predict(graph, without, "compiled").latency_s


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'deployed_host_rate = { value = 1e8, unit = "B/s", source = "x", confidence = "assumed" }',
            r"field 'deployed_host_rate.unit': unit 'B/s'; expected 'elements/s'",
        ),
        (
            'deployed_op_overhead = { value = -1e-6, unit = "s", source = "x", confidence = "assumed" }',
            r"field 'deployed_op_overhead.value': -1e-06 is negative; expected a number >= 0",
        ),
        (
            'deployed_call_overhead = { value = 5e-6, unit = "s", source = "", confidence = "assumed" }',
            r"field 'deployed_call_overhead.source': empty; expected where the number comes from",
        ),
        ("deployed_host_rate = 1e8", r"field 'deployed_host_rate': 100000000.0 is a bare float; expected an inline"),
    ],
    ids=["wrong-unit", "negative", "no-source", "bare-number"],
)
def test_a_malformed_deployed_figure_is_refused_naming_it(tmp_path: Path, line: str, message: str) -> None:
    path = write_profile(tmp_path, lambda t: t.replace("schema = 1", f"schema = 1\n{line}"))
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_compiled_graphs_fuse_elementwise_chains() -> None:
    profile = profiles()["sim-h100"]
    eager = predict(gemm_graph(64, 256, 128), profile)
    fused = predict(gemm_graph(64, 256, 128), profile, runtime="compiled")
    assert len(eager.ops) == 2 and len(fused.ops) == 1 and fused.latency_s < eager.latency_s


def test_predicting_a_captured_graph_takes_milliseconds(cache_dir: Path) -> None:
    """Capture and prediction are cheap enough to run for every case (the time is recorded, not asserted)."""
    from workloads.digits_cnn import DigitsCNN

    workload = DigitsCNN()
    graph = capture(workload.model(cache_dir), workload.data().test.x[:64])
    assert any(op.gemms and op.gemms[0].width for op in graph.ops)  # convolutions as GEMMs
    for profile in profiles().values():
        result = predict(graph, profile)
        assert result.latency_s > 0 and result.bound in ("compute", "memory", "overhead", "host")


def test_a_profile_names_the_runtimes_its_toolchain_runs(tmp_path: Path) -> None:
    profiles, _ = load_profiles([PROFILE_DIR])
    assert profiles["sim-tpu-v4"].runtimes == ("eager", "compiled") and "onnxruntime" in profiles["sim-a100"].runtimes
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (PROFILE_DIR / "sim-t4.toml").read_text().replace("schema = 1", 'schema = 1\nruntimes = ["tensorrt"]')
    )
    with pytest.raises(
        ProfileError, match="field 'runtimes'.*expected a non-empty list among eager, compiled, onnxruntime"
    ):
        load_profile(bad)


@pytest.mark.slow
def test_a_technique_whose_runtime_the_toolchain_lacks_is_a_skip_with_the_reason(run_python) -> None:
    selection = "(sim-tpu-v4 or sim-a100) and digits-mlp and -onnxruntime- and -1]"
    command = ["-m", "pytest", "benchmarks/test_inference.py", "-k", selection, "--benchmark-disable", "-rs"]
    result = run_python(*command, "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed, 2 skipped" in result.stdout  # sim-a100 prices both; a TPU has no ONNX Runtime: not 1.00x cells
    assert "onnxruntime needs the onnxruntime runtime, which sim-tpu-v4's toolchain cannot run" in result.stdout


def _projections(same_input: bool = True, then: str = "all", k: int = 1024, m: int = 128) -> Graph:
    """A layer norm, three linear layers reading its output (BERT's query, key and value; with `same_input` False
    each reads the one before), then an add reading all three (`then="all"`) or only the second (`then="one"`)."""

    def vector(index: int, inputs: tuple[int, ...], name: str = "aten.add.Tensor") -> Op:
        size = m * k * 2
        return Op(index, name, "vector", "fp16", m * k, size * len(inputs), 0, size, inputs=inputs)

    ops = [vector(0, (-1,), "aten.native_layer_norm.default")]
    for i in (1, 2, 3):
        ops.append(
            Op(
                index=i,
                name="aten.addmm.default",
                kind="matrix",
                dtype="fp16",
                flops=2 * m * k * k,
                bytes_read=m * k * 2,
                weight_bytes=k * k * 2,
                bytes_written=m * k * 2,
                gemms=(Gemm(1, m, k, k),),
                inputs=(0,) if same_input else (i - 1,),
            )
        )
    ops.append(vector(4, (1, 2, 3) if then == "all" else (2,)))
    return Graph(ops=tuple(ops), weight_bytes=3 * k * k * 2, input_bytes=m * k * 2, output_bytes=m * k * 2)


def test_the_deployed_gpu_runtime_merges_gemms_that_read_one_tensor_into_one() -> None:
    graph = _projections()
    merged, unfused = merge_siblings(graph)
    gemm = merged.ops[1]
    assert len(merged.ops) == 3 and gemm.gemms == (Gemm(1, 128, 3 * 1024, 1024),) and unfused == {1}
    siblings = graph.ops[1:4]
    assert gemm.flops == sum(op.flops for op in siblings)
    assert gemm.weight_bytes == sum(op.weight_bytes for op in siblings)
    assert gemm.bytes_read == siblings[0].bytes_read  # the input is read once
    assert gemm.bytes_written == sum(op.bytes_written for op in siblings)
    assert merged.ops[2].inputs == (1,)  # the reader of the merged GEMMs reads the one left
    a100 = profiles()["sim-a100"]
    # 8 output tiles each on 108 SMs: three in one wave instead of three waves
    one, three = predict(graph, a100, "deployed"), predict(graph, a100, "compiled")
    assert one.flops == three.flops
    assert sum(c.compute_s for c in one.ops) < sum(c.compute_s for c in three.ops) / 2


def test_nothing_fuses_into_merged_gemms_so_every_siblings_output_is_written() -> None:
    a100 = profiles()["sim-a100"]
    graph = _projections(then="one")  # an add reading the key projection only (as RoPE reads q and k)
    ops = predict(graph, a100, "deployed").ops
    gemm = next(c for c in ops if "addmm" in c.name)
    assert gemm.fused == 0 and gemm.bytes >= sum(op.bytes_written for op in graph.ops[1:4])
    assert any(c.name == "aten.add.Tensor" for c in ops)  # its own kernel


def test_gemms_in_a_chain_on_the_graph_input_or_off_tensorrt_are_not_merged() -> None:
    chain = _projections(same_input=False)
    assert merge_siblings(chain)[0].ops == chain.ops
    on_input = Graph(
        ops=tuple(dataclasses.replace(op, inputs=(-1,)) for op in _projections().ops[1:4]),
        weight_bytes=0,
        input_bytes=0,
        output_bytes=0,
    )
    assert len(merge_siblings(on_input)[0].ops) == 3  # the graph's inputs may be several tensors
    graph = _projections()
    for name in ("sim-tpu-v4", "sim-npu", "sim-cpu"):  # runtimes that are not TensorRT
        profile = profiles()[name]
        assert not profile.deployed_merges_siblings
        assert len(predict(graph, profile, "deployed").ops) == len(predict(graph, profile, "compiled").ops), name
