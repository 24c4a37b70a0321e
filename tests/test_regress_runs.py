"""The regression gate on real runs of the suite, in subprocesses: the simulated devices make a deterministic
self-test that can gate `make test` (no timing noise), and a changed cost model is caught exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.simulated.profile import PROFILE_DIR

pytestmark = pytest.mark.slow
QUICK = ["--benchmark-max-time=0.01", "--benchmark-min-rounds=3", "--benchmark-warmup=off", "-p", "no:cacheprovider"]


def test_an_unchanged_simulated_run_passes_and_a_cost_model_change_is_caught(run_python, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    profile = (PROFILE_DIR / "sim-tpu-v4.toml").read_text().replace('"sim-tpu-v4"', '"sim-gate"')
    (profiles / "gate.toml").write_text(profile)
    # techniques that compile nothing: a run takes 12 s rather than 25 (fp32 and int8-dynamic)
    selection = "sim-gate and (digits-mlp or digits-cnn) and (fp32 or bf16) and not amp"

    def run(name: str) -> Path:
        results = tmp_path / name
        command = ["-m", "pytest", "benchmarks", "-k", selection, f"--benchmark-json={results}", *QUICK]
        done = run_python(*command, env={"ACCELBENCH_PROFILES": str(profiles)})
        assert done.returncode == 0, done.stdout[-3000:]
        return results

    def gate(new: Path, base: Path, out: str):
        return run_python("-m", "tools.gate", "compare", str(new), "--base", str(base), "--out", str(tmp_path / out))

    base = run("base.json")
    same = gate(run("same.json"), base, "same")
    assert same.returncode == 0, same.stdout + same.stderr
    table = (tmp_path / "same" / "regress.csv").read_text()
    assert table.count("simulated_latency_s") == 8 and "regression" not in table  # 2 workloads x 2 x 2 batches

    # the cost model changes a little: the host's launch overhead of one XLA program, 20 µs -> 20.02 µs
    assert "call_overhead = { value = 20e-6" in profile
    (profiles / "gate.toml").write_text(
        profile.replace("call_overhead = { value = 20e-6", "call_overhead = { value = 20.02e-6")
    )
    changed = gate(run("changed.json"), base, "changed")
    assert changed.returncode == 1, changed.stdout + changed.stderr
    md = (tmp_path / "changed" / "regress.md").read_text()
    assert "### Regressions (8 cases)" in md and "simulated_latency_s" in md
