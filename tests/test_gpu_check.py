"""`make gpu-check` (tools/gpu_check.py) where no GPU is: the parts that need none, and the skip with its reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from tools.gpu_check import nearest_profile, selection, summary

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "gpu, profile",
    [
        ("NVIDIA H100 80GB HBM3", "sim-h100"),
        ("NVIDIA H200", "sim-h100"),
        ("NVIDIA A100-SXM4-80GB", "sim-a100"),
        ("NVIDIA L4", "sim-l4"),
        ("NVIDIA L40S", "sim-h100"),  # no L40S profile: an L40S is no L4
        ("Tesla T4", "sim-t4"),
    ],
)
def test_the_nearest_simulated_profile_by_model(gpu: str, profile: str) -> None:
    assert nearest_profile(gpu) == profile


def test_the_selection_holds_the_gpu_its_profile_and_the_standard_models() -> None:
    k = selection("sim-l4")
    assert k.startswith("(cuda or sim-l4) and (") and "resnet-50" in k and "-fp16-" in k


def test_the_summary_compares_measured_and_simulated_per_case() -> None:
    table = pd.DataFrame(
        dict(workload=["w", "w"], technique=["fp32", "fp16"], batch_size=[1, 1], measured_s=[1e-3, 1e-3])
    ).assign(predicted_s=[1.5e-3, 0.4e-3], error=lambda f: f["predicted_s"] / f["measured_s"] - 1)
    text = summary("NVIDIA L4", {"torch": "2.13.0"}, "3 passed", table, "sim-l4", ["took 5 s"])
    assert "# GPU check: NVIDIA L4" in text and "- CUDA tests: 3 passed" in text
    assert "| w | fp16 | 1 | 1000.0 us | 400.0 us | -60% |" in text and "within 2x: 50%" in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: make gpu-check would run for real")
def test_without_a_gpu_it_says_why_and_writes_the_reason(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tools.gpu_check", "--out", str(tmp_path / "check")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "sees no CUDA GPU" in out.stdout and "TORCH_SPEC=" in out.stdout
    assert "skipped: torch" in (tmp_path / "check" / "summary.md").read_text()
