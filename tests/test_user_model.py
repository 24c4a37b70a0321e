"""The user's own model as a workload (workloads/user.py) and `make bench MODEL=...` (conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from accelbench.data import top1_accuracy
from workloads.user import UserModel, UserModelError, load, name_of

ROOT = Path(__file__).resolve().parents[1]
USER_MODEL = ROOT / "tests" / "data" / "usermodel"


@pytest.fixture(autouse=True)
def importable(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(USER_MODEL))
    load.cache_clear()


def test_a_classifier_is_scored_by_top1_agreement_with_its_fp32_self(tmp_path: Path) -> None:
    workload = UserModel("my_model:factory")
    data = workload.data()
    assert workload.name == "factory" and len(data.test) == 64 and data.test.x.shape[1:] == (16,)
    model = workload.model(tmp_path)
    with torch.no_grad():
        outputs = model(data.test.x)
    assert workload.score(outputs, data.test.y) == 1.0  # the fp32 model agrees with itself
    assert workload.score(-outputs, data.test.y) < 0.5  # and a different model does not
    assert workload.loss is None and "top-1 agreement" in workload.metric


def test_other_outputs_are_scored_by_cosine_and_fine_tuned_on_them(tmp_path: Path) -> None:
    workload = UserModel("my_model:embedder")
    data = workload.data()
    assert data.test.y.shape == (64, 3, 4)  # the fp32 outputs are the targets
    with torch.no_grad():
        outputs = workload.model(tmp_path)(data.test.x)
    assert workload.score(outputs, data.test.y) == pytest.approx(1.0)
    assert workload.score(torch.randn_like(outputs), data.test.y) < 0.5
    assert workload.loss(outputs, data.test.y).item() == pytest.approx(0.0) and "cosine" in workload.metric


def test_a_split_and_score_of_the_users_own_are_used() -> None:
    workload = UserModel("my_model:with_data")
    assert len(workload.data().test) == 32 and workload.score(torch.zeros(32, 4), workload.data().test.y) == 0.25
    assert "model's own metric" in workload.metric
    assert top1_accuracy(torch.zeros(2, 4), torch.zeros(2, dtype=torch.long)) == 1.0


@pytest.mark.parametrize(
    "target, message",
    [
        ("my_model", "not a package.module:factory or a .pt2 file; expected package.module:factory"),
        ("no_such_module:factory", "cannot load 'factory' from 'no_such_module'"),
        ("my_model:wrong_type", "the factory returned str; expected package.module:factory"),
        ("my_model:raises", "the factory raised RuntimeError: no weights here"),
        ("missing.pt2", "no such file"),
    ],
)
def test_a_bad_target_says_what_is_expected(target: str, message: str) -> None:
    with pytest.raises(UserModelError) as error:
        load(target)
    assert message in str(error.value)


def test_an_exported_program_needs_a_dynamic_batch(tmp_path: Path) -> None:
    model, x = torch.nn.Sequential(torch.nn.Linear(16, 4)), torch.randn(1, 16)
    static, dynamic = tmp_path / "static.pt2", tmp_path / "dynamic.pt2"
    torch.export.save(torch.export.export(model, (x,)), static)
    batch = torch.export.Dim("batch")
    torch.export.save(torch.export.export(model, (x.repeat(4, 1),), dynamic_shapes=({0: batch},)), dynamic)
    with pytest.raises(UserModelError, match="export it with a dynamic batch dimension"):
        load(str(static))
    loaded = load(str(dynamic))
    assert loaded.example.shape == (4, 16) and name_of(str(dynamic)) == "dynamic"
    assert loaded.model(torch.randn(64, 16)).shape == (64, 4)


def _collect(target: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ACCELBENCH_MODEL": target, "PYTHONPATH": str(USER_MODEL)}
    command = [sys.executable, "-m", "pytest", "benchmarks/test_inference.py", "--collect-only", "-q"]
    return subprocess.run([*command, "-p", "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_model_makes_the_users_model_the_matrix_only_workload() -> None:
    out = _collect("my_model:factory")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    cases = [line for line in out.stdout.splitlines() if "::test_inference[" in line]
    assert cases and all("-factory-" in line for line in cases)
    assert any("[cpu-factory-fp32-1]" in line for line in cases)


@pytest.mark.slow
def test_a_bad_model_stops_the_run_before_any_case_with_what_is_expected() -> None:
    out = _collect("my_model:raises")
    assert out.returncode == 4  # pytest's usage error: no case ran, no result to lose
    assert "MODEL: model 'my_model:raises': the factory raised RuntimeError: no weights here" in out.stderr
