"""The regression gate: its statistics on synthetic samples (fixed seeds), its rules, and every case accounted for."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.regress.compare import compare_runs, confirmed, deterministic_change, gate_fails, latency_change, suspects
from reports.regress.rules import Rule, Rules, RulesError, load_rules
from tools.gate import compare, main, save_baseline

SAMPLE = Path(__file__).parent / "data" / "sample-run.json"


def timings(rng: np.random.Generator, median_s: float, cv: float = 0.10, rounds: int = 30) -> np.ndarray:
    """Per-round latencies as a noisy machine gives them: lognormal around `median_s`, `cv` relative spread."""
    return median_s * rng.lognormal(0.0, math.sqrt(math.log(1 + cv**2)), rounds)


def test_a_over_a_cries_wolf_at_most_once_in_200() -> None:
    rng = np.random.default_rng(20261123)
    verdicts = [latency_change(timings(rng, 1e-3), timings(rng, 1e-3), Rule())[2] for _ in range(200)]
    assert verdicts.count("regression") <= 1
    assert set(verdicts) <= {"unchanged", "regression", "improvement"}


def test_a_15_percent_slowdown_at_10_percent_noise_is_caught_95_times_in_100() -> None:
    rng = np.random.default_rng(20261123)
    verdicts = [latency_change(timings(rng, 1e-3), timings(rng, 1.15e-3), Rule())[2] for _ in range(100)]
    assert verdicts.count("regression") >= 95


def test_false_alarm_and_detection_rates_hold_beyond_one_seed() -> None:
    """The two tests above at 10x the trials: rates, not one lucky draw (measured: 0.15% false alarms, 97.5%
    detection over 4000 trials each)."""
    rng = np.random.default_rng(1)
    same = [latency_change(timings(rng, 1e-3), timings(rng, 1e-3), Rule())[2] for _ in range(2000)]
    slower = [latency_change(timings(rng, 1e-3), timings(rng, 1.15e-3), Rule())[2] for _ in range(1000)]
    assert same.count("regression") <= 10 and slower.count("regression") >= 950


def test_the_ratio_estimate_recovers_the_injected_factor() -> None:
    rng = np.random.default_rng(1)
    ratio, p, verdict = latency_change(timings(rng, 2e-3, rounds=200), timings(rng, 2.6e-3, rounds=200), Rule())
    assert ratio == pytest.approx(1.3, rel=0.03) and p < 1e-6 and verdict == "regression"
    ratio, _, verdict = latency_change(timings(rng, 2e-3, rounds=200), timings(rng, 1.5e-3, rounds=200), Rule())
    assert ratio == pytest.approx(0.75, rel=0.03) and verdict == "improvement"


def test_a_change_below_the_factor_or_the_floor_is_no_regression() -> None:
    rng = np.random.default_rng(3)
    # 5% slower with 1000 quiet rounds: significant, yet its interval stays under the 1.10 factor
    assert latency_change(timings(rng, 1e-3, 0.01, 1000), timings(rng, 1.05e-3, 0.01, 1000), Rule())[2] == "unchanged"
    # 50% slower on a 1 µs call: half a microsecond, under the absolute floor
    assert latency_change(timings(rng, 1e-6, 0.01, 100), timings(rng, 1.5e-6, 0.01, 100), Rule())[2] == "unchanged"
    assert (
        latency_change(timings(rng, 1e-6, 0.01, 100), timings(rng, 1.5e-6, 0.01, 100), Rule(min_difference_s=1e-7))[2]
        == "regression"
    )
    assert latency_change([1e-3, 1e-3], [5e-3, 5e-3], Rule())[2] == "untested"  # two rounds: no test possible


def test_one_ulp_is_flagged_by_an_exact_rule_and_passes_a_stated_tolerance() -> None:
    base = 1.234567e-4
    new = math.nextafter(base, math.inf)
    assert deterministic_change("simulated_latency_s", base, new, Rule()) == "regression"
    assert deterministic_change("simulated_latency_s", base, math.nextafter(base, 0), Rule()) == "improvement"
    assert deterministic_change("simulated_latency_s", base, new, Rule(tolerance=1e-12)) == "unchanged"
    assert deterministic_change("accuracy", 0.975, math.nextafter(0.975, 0), Rule()) == "regression"  # lower is worse
    assert deterministic_change("accuracy", 0.975, 0.974, Rule(accuracy_tolerance=0.002)) == "unchanged"


def _row(case: str, status: str = "ok", simulated: bool = False, **figures) -> dict:
    device, rest = case.split("-", 1)
    return dict(
        case=case,
        status=status,
        message="" if status == "ok" else f"{status} here",
        simulated=simulated,
        device=device,
        workload="w",
        technique=rest,
        batch_size=1,
        **figures,
    )


SIMULATED = dict(simulated=True, energy_per_inference_j=1e-4, energy_method="simulated")


def test_every_case_of_either_run_is_listed_with_why() -> None:
    rng = np.random.default_rng(0)
    same = list(timings(rng, 1e-3))
    base = pd.DataFrame(
        [
            _row("cpu-kept", latency_samples_s=same, latency_median_s=1e-3, accuracy=0.9),
            _row("cpu-gone", latency_samples_s=same, latency_median_s=1e-3),
            _row("cpu-breaks", latency_samples_s=same, latency_median_s=1e-3),
            _row("cpu-now-skipped", latency_samples_s=same, latency_median_s=1e-3),
            _row("cpu-was-skipped", status="skipped"),
            _row("cpu-never", status="skipped"),
            _row("sim-model", simulated_latency_s=2e-3, **SIMULATED),
        ]
    )
    new = pd.DataFrame(
        [
            _row("cpu-kept", latency_samples_s=same, latency_median_s=1e-3, accuracy=0.9),
            _row("cpu-breaks", status="error"),
            _row("cpu-now-skipped", status="skipped"),
            _row("cpu-was-skipped", latency_samples_s=same, latency_median_s=1e-3),
            _row("cpu-never", status="skipped"),
            _row("cpu-added", latency_samples_s=same, latency_median_s=1e-3),
            _row("sim-model", simulated_latency_s=2.5e-3, **SIMULATED),
        ]
    )
    result = compare_runs(base, new, Rules())
    verdict = {(r.case, r.metric): r.verdict for r in result.itertuples()}
    assert verdict == {
        ("cpu-kept", "latency_s"): "unchanged",
        ("cpu-kept", "accuracy"): "unchanged",
        ("cpu-gone", ""): "missing",
        ("cpu-added", ""): "new",
        ("cpu-was-skipped", ""): "new",
        ("cpu-breaks", ""): "error",
        ("cpu-now-skipped", ""): "skipped",
        ("cpu-never", ""): "not run",
        ("sim-model", "simulated_latency_s"): "regression",
        ("sim-model", "energy_per_inference_j"): "unchanged",
    }
    assert set(base["case"]) | set(new["case"]) == set(result["case"])
    assert gate_fails(result) and list(result["verdict"][:2]) == ["regression", "error"]  # worst first
    assert not gate_fails(result[~result["verdict"].isin(["regression", "error"])])


def test_rules_come_from_pyproject_with_pattern_overrides(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(
        "[tool.accelbench.regress]\nfactor = 1.2\n\n[[tool.accelbench.regress.rules]]\n"
        'match = "*-1]"\nfactor = 1.5\ntolerance = 1e-9\n'
    )
    rules = load_rules(config)
    assert rules.for_case("test_inference[cpu-digits-mlp-fp32-64]") == Rule(factor=1.2)
    assert rules.for_case("test_inference[cpu-digits-mlp-fp32-1]") == Rule(factor=1.5, tolerance=1e-9)
    assert load_rules(tmp_path / "absent.toml") == Rules()
    with pytest.raises(RulesError, match="absent.toml: the rules file does not exist"):
        load_rules(tmp_path / "absent.toml", required=True)  # a --config the user named
    assert load_rules().default.factor == 1.10  # the project's own pyproject states the defaults


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.accelbench.regress]\nfactr = 1.2\n", "unknown key 'factr'; valid keys: factor"),
        ("[tool.accelbench.regress]\nfactor = 0.9\n", "factor = 0.9 must be at least 1"),
        ("[tool.accelbench.regress]\np_value = 'low'\n", "p_value = 'low' must be a non-negative number"),
        ("[[tool.accelbench.regress.rules]]\nfactor = 2\n", r"rules\[0\]: needs match"),
        ("[tool.accelbench.regress\n", "not valid TOML"),
        ("[tool.accelbench]\nregress = 5\n", "regress = 5 must be a table"),
        (
            "[tool.accelbench.regress.rules]\nmatch = '*'\nfactor = 2\n",
            r"rules must be an array of tables, each written \[\[tool.accelbench.regress.rules\]\]",
        ),
    ],
)
def test_a_bad_rules_table_is_named(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(text)
    with pytest.raises(RulesError, match=message) as error:
        load_rules(config)
    assert str(config) in str(error.value)


def _variant(tmp_path: Path, name: str, edit=None) -> Path:
    raw = json.loads(SAMPLE.read_text())
    if edit:
        edit(raw)
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path


def test_the_gate_refuses_runs_of_different_machines_unless_forced(tmp_path: Path, capsys) -> None:
    base = save_baseline(SAMPLE, tmp_path / "base.json")
    other = _variant(tmp_path, "other.json", lambda raw: raw["machine_info"]["accelbench"].update(torch="9.9.9"))
    assert main(["compare", str(other), "--base", str(base), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "different machines" in err and "torch: '2.13.0+cpu' vs '9.9.9'" in err and "--force" in err
    comparison, md, failed = compare(other, base, tmp_path / "o", force=True)
    assert not failed and "FORCED across machines: torch" in md.read_text()


def test_the_gate_exits_1_on_a_regression_and_writes_regress_md(tmp_path: Path) -> None:
    def slower(raw):
        for bench in raw["benchmarks"]:
            bench["stats"]["data"] = [t * 1.5 for t in bench["stats"]["data"]]
            bench["stats"]["median"] *= 1.5

    slow = _variant(tmp_path, "slow.json", slower)
    assert main(["compare", str(SAMPLE), "--base", str(SAMPLE), "--out", str(tmp_path / "same")]) == 0
    assert main(["compare", str(slow), "--base", str(SAMPLE), "--out", str(tmp_path / "slow")]) == 1
    text = (tmp_path / "slow" / "regress.md").read_text()
    assert "❌ regression" in text and "### Regressions" in text and "1.500x" in text


def test_a_corrupt_or_missing_baseline_is_named_not_a_crash(tmp_path: Path, capsys) -> None:
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"benchmarks": [')
    assert main(["compare", str(SAMPLE), "--base", str(corrupt)]) == 2
    assert f"{corrupt}: not valid JSON" in capsys.readouterr().err
    assert main(["compare", str(SAMPLE), "--base", str(tmp_path / "none.json")]) == 2
    assert "no baseline at" in capsys.readouterr().err


def test_a_partial_run_is_not_saved_as_a_baseline(tmp_path: Path, capsys) -> None:
    partial = _variant(tmp_path, "partial.json", lambda raw: raw.update(accelbench_exitstatus=2))
    assert main(["baseline", str(partial), "--to", str(tmp_path / "b.json")]) == 2
    assert "interrupted" in capsys.readouterr().err and not (tmp_path / "b.json").exists()


def test_a_latency_regression_counts_only_if_every_measurement_again_repeats_it() -> None:
    rng = np.random.default_rng(5)

    def frame(medians: dict[str, float]) -> pd.DataFrame:
        return pd.DataFrame(
            [
                _row(f"cpu-{name}", latency_samples_s=list(timings(rng, m)), latency_median_s=m)
                for name, m in medians.items()
            ]
        )

    base = frame({"real": 1e-3, "blip": 1e-3, "drift": 1e-3, "fine": 1e-3})
    first = compare_runs(base, frame({"real": 1.3e-3, "blip": 1.3e-3, "drift": 1.3e-3, "fine": 1e-3}), Rules())
    assert suspects(first) == ["cpu-blip", "cpu-drift", "cpu-real"]
    # measured again twice, each time beside the baseline's code: "drift" is slower for both codes alike (the
    # machine, not the code) in the second pair
    pair1 = compare_runs(
        frame({"real": 1e-3, "blip": 1e-3, "drift": 1e-3}),
        frame({"real": 1.3e-3, "blip": 1e-3, "drift": 1.3e-3}),
        Rules(),
    )
    pair2 = compare_runs(
        frame({"real": 1.3e-3, "blip": 1e-3, "drift": 1.3e-3}),
        frame({"real": 1.7e-3, "blip": 1e-3, "drift": 1.3e-3}),
        Rules(),
    )
    final = confirmed(first, [pair1, pair2], "beside")
    verdict = dict(zip(final["case"], final["verdict"]))
    assert verdict == {
        "cpu-real": "regression",
        "cpu-blip": "not confirmed",
        "cpu-drift": "not confirmed",
        "cpu-fine": "unchanged",
    }
    messages = dict(zip(final["case"], final["message"]))
    assert messages["cpu-drift"].startswith("beside: regression (") and ", unchanged (" in messages["cpu-drift"]
    assert messages["cpu-real"].startswith("confirmed, beside: regression (")
    assert gate_fails(final)
    # a case the measurement again did not time is not refuted: its regression stands
    unmeasured = confirmed(first, [pair1[pair1["case"] == "cpu-blip"]])
    assert dict(zip(unmeasured["case"], unmeasured["verdict"]))["cpu-real"] == "regression"
    assert not gate_fails(confirmed(first, [pair1, pair1.assign(verdict="unchanged")]))


def test_an_improvement_on_a_busy_machine_counts_only_if_measured_again() -> None:
    """A baseline timed under contention makes unchanged code look faster: improvements are re-checked too."""
    from reports.regress.compare import repeated

    rng = np.random.default_rng(7)

    def frame(medians: dict[str, float]) -> pd.DataFrame:
        rows = [
            _row(f"cpu-{n}", latency_samples_s=list(timings(rng, m)), latency_median_s=m) for n, m in medians.items()
        ]
        return pd.DataFrame(rows)

    first = compare_runs(frame({"busy-base": 3e-3, "real": 2e-3}), frame({"busy-base": 1e-3, "real": 1e-3}), Rules())
    assert suspects(first) == ["cpu-busy-base", "cpu-real"]  # both look faster
    again = compare_runs(frame({"busy-base": 1e-3, "real": 2e-3}), frame({"busy-base": 1e-3, "real": 1e-3}), Rules())
    assert repeated(first, again, {"cpu-busy-base", "cpu-real"}) == {"cpu-real"}
    verdict = dict(zip(*[confirmed(first, [again])[c] for c in ("case", "verdict")]))
    assert verdict == {"cpu-busy-base": "not confirmed", "cpu-real": "improvement"}
