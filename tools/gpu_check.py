"""`make gpu-check`: what a tester runs when an NVIDIA GPU is at hand, in one go within 10 minutes.

1. the CUDA cases of the matrix for the digits models and the standard models that run for real (resnet-50,
   mobilenet-v2, bert-base), together with the same cases on the simulated profile nearest the GPU found;
2. the CUDA tests (`tests -k cuda`);
3. one folder, `results/gpu-check-<run>/`: the run's JSON, the report, `tests.log`, and `summary.md`: the GPU, the
   versions, the tests' outcome and, per case, measured against simulated latency.

Needs CUDA torch (`make gpu-check TORCH_SPEC='torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128'
EXTRAS=dev,gpu`; the `gpu` extra brings ONNX Runtime's CUDA build).
Without a GPU it writes `summary.md` saying why it skipped, and exits 0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from accelbench.files import atomic_write

# the simulated profile nearest each GPU, by a word of its name; other GPUs: the newest datacenter profile
NEAREST = {
    "H100": "sim-h100",
    "H200": "sim-h100",
    "GH200": "sim-h100",
    "A100": "sim-a100",
    "L4": "sim-l4",
    "T4": "sim-t4",
}
FALLBACK = "sim-h100"
WORKLOADS = ("digits-mlp", "digits-cnn", "digits-dscnn", "digits-lstm", "resnet-50", "mobilenet-v2", "bert-base")
TECHNIQUES = (
    "fp32",
    "bf16",
    "fp16",
    "amp-bf16",
    "amp-fp16",
    "compile",
    "int8-weight-only",
    "sparse-2of4",
    "onnxruntime",
    "tensorrt",  # where torch-tensorrt is installed; else a skip row with the reason
)
BENCH_S = 420  # the matrix part of the 10 minutes
TESTS_S = 120
CASE_S = 120


def nearest_profile(gpu_name: str) -> str:
    words = gpu_name.upper().replace("-", " ").split()
    return next((profile for key, profile in NEAREST.items() if key in words), FALLBACK)


def selection(profile: str) -> str:
    """The pytest -k expression of the check's cases: the GPU and its nearest profile, those workloads and techniques."""
    workloads = " or ".join(WORKLOADS)
    techniques = " or ".join(f"-{t}-" for t in TECHNIQUES)
    return f"(cuda or {profile}) and ({workloads}) and ({techniques})"


def comparison(results: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Measured (cuda) against simulated (`profile`) latency per case both ran."""
    from tools.validate import compare

    return compare(results, real="cuda", simulated=profile)


def summary(gpu: str, versions: dict, tests: str, table: pd.DataFrame, profile: str, notes: list[str]) -> str:
    lines = [f"# GPU check: {gpu}", "", *(f"- {k}: {v}" for k, v in versions.items()), f"- CUDA tests: {tests}", ""]
    lines += [f"> {note}" for note in notes]
    if table.empty:
        lines.append(f"No case ran on both cuda and {profile}.")
        return "\n".join(lines) + "\n"
    ape = table["error"].abs()
    lines += [
        f"## Measured (cuda) against simulated ({profile}): {len(table)} cases",
        "",
        f"Median absolute error {ape.median():.0%}; within 25%: {(ape <= 0.25).mean():.0%}; within 2x: "
        f"{((table['predicted_s'] / table['measured_s']).between(0.5, 2.0)).mean():.0%}.",
        "",
        "| workload | technique | batch | measured | simulated | error |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {row.workload} | {row.technique} | {row.batch_size} | {row.measured_s * 1e6:.1f} us | "
            f"{row.predicted_s * 1e6:.1f} us | {row.error:+.0%} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the folder of results and summary.md")
    args = parser.parse_args(argv)
    from devices.cuda import first_gpu

    args.out.mkdir(parents=True, exist_ok=True)
    gpu, versions = first_gpu()
    if gpu is None:
        why = (
            f"skipped: torch {versions['torch']} (CUDA build: {versions['CUDA'] or 'none'}) sees no CUDA GPU. Run it on "
            "a machine with an NVIDIA GPU: make gpu-check TORCH_SPEC='torch==2.13.0 --index-url "
            "https://download.pytorch.org/whl/cu128'"
        )
        atomic_write(args.out / "summary.md", f"# GPU check\n\n{why}\n")
        print(f"gpu-check {why}")
        return 0
    profile = nearest_profile(gpu)
    notes, results_path = [], args.out / "run.json"
    bench = [sys.executable, "-m", "pytest", "benchmarks/test_inference.py", "benchmarks/test_standard.py"]
    bench += ["-p", "no:cacheprovider", "-m", "not harness", "-k", selection(profile), f"--timeout={CASE_S}"]
    bench += ["--benchmark-max-time=0.1", "--benchmark-min-rounds=5", f"--benchmark-json={results_path}", "-q"]
    start = time.monotonic()
    try:
        subprocess.run(bench, timeout=BENCH_S, check=False)
    except subprocess.TimeoutExpired:
        notes.append(f"the matrix part stopped at its {BENCH_S} s limit: the cases that finished are in the journal")
    tests = [sys.executable, "-m", "pytest", "tests", "-k", "cuda", "-q", "-p", "no:cacheprovider"]
    try:
        done = subprocess.run(tests, timeout=TESTS_S, capture_output=True, text=True, check=False)
        atomic_write(args.out / "tests.log", done.stdout + done.stderr)
        outcome = (done.stdout.strip().splitlines() or ["no output"])[-1]
    except subprocess.TimeoutExpired:
        outcome = f"stopped at its {TESTS_S} s limit"
    from accelbench.results import ResultsFileError
    from reports.load.run import load_run

    try:
        table = comparison(
            load_run(results_path if results_path.exists() else results_path.with_suffix(".jsonl")), profile
        )
    except (ResultsFileError, KeyError) as exc:
        notes.append(f"no results to compare: {exc}")
        table = pd.DataFrame()
    notes.append(f"took {time.monotonic() - start:.0f} s")
    text = summary(gpu, versions, outcome, table, profile, notes)
    atomic_write(args.out / "summary.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
