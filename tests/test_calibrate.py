"""`make calibrate`'s kernel table: which execution paths it measures, the fit, the profile it writes and how
`predict` prices a graph with it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

import techniques
from devices.simulated.cost import kernel_terms, predict
from devices.simulated.graph import capture
from devices.simulated.profile import PROFILE_DIR, ProfileError, load_profile
from tools import calibrate

CALIBRATED = load_profile(PROFILE_DIR / "sim-cpu.toml")


def test_every_default_technique_is_measured_or_runs_the_kernels_of_one_that_is() -> None:
    default = {n for n in techniques.REGISTRY.names() if techniques.resolve(n).tier == "default"}
    assert set(calibrate.KERNEL_TECHNIQUES) <= default
    unaccounted = default - set(calibrate.KERNEL_TECHNIQUES) - set(calibrate.SAME_KERNELS)
    assert not unaccounted, f"add these to KERNEL_TECHNIQUES or SAME_KERNELS in tools/calibrate.py: {unaccounted}"
    for name, like in calibrate.SAME_KERNELS.items():
        assert like in calibrate.KERNEL_TECHNIQUES or like.startswith("none: "), name


# known terms: what a machine would cost if its kernels followed the model exactly
CALL, MODULE = 4e-6, 1e-6
TRUE = {"addmm": (2e-6, 1e-11, 2e-10), "relu": (1e-6, 0.0, 5e-10)}


def synthetic_seconds(graph) -> float:
    terms, modules = kernel_terms(graph, "eager")
    total = CALL + MODULE * modules
    for (_, name, _, _), (count, flops, nbytes) in terms.items():
        fixed, per_flop, per_byte = next(v for k, v in TRUE.items() if k in name)
        total += fixed * count + per_flop * flops + per_byte * nbytes
    return total


def mlp_samples(shapes) -> list[dict]:
    samples = []
    for widths, batch in shapes:
        build, (features,) = calibrate._mlp(*widths)
        graph = capture(build().eval(), torch.randn(batch, features))
        samples.append(dict(graph=graph, runtime="eager", seconds=synthetic_seconds(graph)))
    return samples


TRAIN = [
    ((8, 8), 1),
    ((8, 32), 4),
    ((32, 32), 16),
    ((64, 16), 2),
    ((8, 8, 8, 8), 1),
    ((32, 32, 32, 32), 8),
    ((16, 64, 8), 32),
    ((64, 64), 64),
]


def test_the_fit_recovers_a_machine_that_follows_the_model_and_prices_a_held_out_block() -> None:
    fit = calibrate.fit_kernels(mlp_samples(TRAIN))
    assert fit["samples"] == len(TRAIN) and fit["median_abs_error"] < 0.01
    # (the call, module and per-operator terms of an MLP are collinear: the split between them is not identifiable,
    # the prices are)
    text = "\n".join(calibrate.kernel_lines(fit, "test"))
    profile = load_with(text)
    held_out = mlp_samples([((48, 24, 40), 12)])[0]
    predicted = predict(held_out["graph"], profile, "eager").latency_s
    assert predicted == pytest.approx(held_out["seconds"], rel=0.02)
    # the same graph on a profile without the table is priced by the roofline: a different figure
    assert predict(held_out["graph"], CALIBRATED_WITHOUT_TABLE, "eager").latency_s != pytest.approx(predicted, rel=0.02)


CALIBRATED_WITHOUT_TABLE = dataclasses.replace(CALIBRATED, kernels={}, kernel_calls={})


def load_with(kernel_text: str, head_edit=lambda head: head) -> object:
    """The sim-cpu profile with its kernel table replaced by `kernel_text` (and its head edited by `head_edit`)."""
    import tempfile

    base = (PROFILE_DIR / "sim-cpu.toml").read_text()
    head, _, rest = base.partition("\n# The kernel table")
    tail = rest[rest.index("\n[matrix]") :] if rest else ""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "sim-cpu.toml"
        path.write_text(head_edit(head) + "\n" + kernel_text + "\n" + tail)
        return load_profile(path)


def test_an_operator_the_table_lacks_keeps_its_roofline_cost() -> None:
    fit = calibrate.fit_kernels(mlp_samples(TRAIN))
    fit["kernels"] = {k: v for k, v in fit["kernels"].items() if "relu" not in k[1]}  # no relu in the table
    profile = load_with("\n".join(calibrate.kernel_lines(fit, "test")))
    graph = mlp_samples([((32, 32), 4)])[0]["graph"]
    roofline = predict(graph, CALIBRATED_WITHOUT_TABLE, "eager")
    priced = predict(graph, profile, "eager")
    for op, table, roof in zip(graph.ops, priced.ops, roofline.ops):
        if "relu" in op.name:
            assert table.time_s == roof.time_s
        else:
            kernel = profile.kernels[("eager", op.name, op.dtype, False)]
            expected = kernel.fixed + kernel.per_flop * op.flops + kernel.per_byte * op.bytes
            assert table.time_s == pytest.approx(expected)
    # the call's terms are the roofline's when the table does not price the whole graph
    assert priced.latency_s == pytest.approx(
        roofline.latency_s - sum(r.time_s for r in roofline.ops) + sum(t.time_s for t in priced.ops)
    )
    # a runtime the table does not cover is the roofline's throughout
    assert (
        predict(graph, profile, "compiled").latency_s == predict(graph, CALIBRATED_WITHOUT_TABLE, "compiled").latency_s
    )


def test_fused_operators_have_their_own_terms_under_a_compiling_runtime() -> None:
    graph = mlp_samples([((32, 32), 4)])[0]["graph"]
    eager, _ = kernel_terms(graph, "eager")
    compiled, modules = kernel_terms(graph, "compiled")
    assert not any(key[3] for key in eager) and modules == 0
    assert any(key[3] and "relu" in key[1] for key in compiled)  # the ReLU after the matmul fuses into it
    assert sum(v[0] for v in eager.values()) == sum(v[0] for v in compiled.values()) == len(graph.ops)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('runtime = "eager"\ncall', 'runtime = "jit"\ncall'), r"kernel_call.0.runtime': unknown"),
        (lambda t: t.replace("fused = false", 'fused = "no"', 1), r"field 'kernel.0.fused': 'no'; expected true or"),
        (lambda t: t.replace("samples = ", "samples = -", 1), r"field 'kernel.0.samples': -\d+; expected a whole"),
        (lambda t: t.replace('unit = "s/FLOP"', 'unit = "s"', 1), r"'kernel.0.per_flop.unit': unit 's'"),
        (lambda t: t.replace("[[kernel_call]]", "[[unused]]"), r"field 'kernel.0.runtime': no \[\[kernel_call\]\]"),
        (lambda t: t.replace("\n[[kernel]]", "\n[[unused]]"), r"field 'kernel_call': no \[\[kernel\]\] for runtime"),
        (lambda t: t + "\n" + t[t.index("[[kernel_call]]") :], r"a second \[\[kernel_call\]\] for 'eager'"),
        (
            lambda t: t + "\n" + t[t.index("[[kernel]]") : t.index("\n[[kernel]]", t.index("[[kernel]]") + 1)],
            r"a second \[\[kernel\]\]",
        ),
    ],
    ids=["runtime", "fused", "samples", "unit", "no-call", "no-kernel", "second-call", "second-kernel"],
)
def test_a_malformed_kernel_table_is_refused_naming_the_field(edit, message: str) -> None:
    text = "\n".join(calibrate.kernel_lines(calibrate.fit_kernels(mlp_samples(TRAIN[:3])), "test"))
    with pytest.raises(ProfileError, match=message) as error:
        load_with(edit(text))
    assert "expected" in str(error.value)


def test_kernel_samples_time_and_capture_each_technique_and_batch() -> None:
    blocks = {"conv-1-4-s4": calibrate._cnn(1, (4,), 4)}
    samples = calibrate.kernel_samples(
        blocks, ("fp32", "int8-weight-only"), batches=(1, 4), passes=2, min_run_time=0.01
    )
    # weight-only quantization needs a Linear layer: that block is left out of its samples, not an error
    assert [(s["technique"], s["batch"]) for s in samples] == [("fp32", 1), ("fp32", 4)]
    assert all(s["seconds"] > 0 and s["runtime"] == "eager" and s["graph"].ops for s in samples)
    assert [s["graph"].ops[0].output_shapes[0][0] for s in samples] == [1, 4]


def test_the_committed_sim_cpu_profile_carries_a_kernel_table_for_every_host_runtime() -> None:
    assert set(CALIBRATED.kernel_calls) == {"eager", "compiled", "onnxruntime"}
    assert {key[0] for key in CALIBRATED.kernels} == set(CALIBRATED.kernel_calls)
    figure = CALIBRATED.figures["kernel.0.fixed"]
    assert "fitted over" in figure.source and figure.confidence == "derived"


def test_a_slow_spell_during_calibration_is_scaled_away_by_the_reference_block(monkeypatch) -> None:
    calls = {"n": 0}
    per_pass = 2 + 1  # the reference before and after, and the one case, per block and pass

    def timed(stmt: str, min_run_time: float = 0.2, **names) -> float:
        calls["n"] += 1
        spell = 1.0 if calls["n"] <= per_pass else 2.0  # the second pass runs twice as slow
        reference = names["x"].shape[0] == calibrate.REFERENCE_BATCH
        return spell * (1e-4 if reference else 5e-5)

    monkeypatch.setattr(calibrate, "seconds", timed)
    blocks = {"fc-8-8": calibrate._mlp(8, 8)}
    (sample,) = calibrate.kernel_samples(blocks, ("fp32",), batches=(1,), passes=2)
    assert sample["seconds"] == pytest.approx(5e-5)  # unscaled, the median of the passes would be 7.5e-5
    assert sample["slowdown"] == pytest.approx(1.5)


def test_a_kernel_table_on_a_graph_compiling_profile_is_refused() -> None:
    text = "\n".join(calibrate.kernel_lines(calibrate.fit_kernels(mlp_samples(TRAIN[:3])), "test"))
    with pytest.raises(ProfileError, match="a kernel table on a graph_compiler profile"):
        load_with(text, lambda head: head.replace("graph_compiler = false", "graph_compiler = true"))
