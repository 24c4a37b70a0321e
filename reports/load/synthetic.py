"""Synthetic results shaped like reports.load.run.load_run's frame, for scale benchmarks and tests of the report.

Illustrative numbers, made up (seeded): latencies, accuracies and energies of plausible size, paired intervals on
real devices, modelled facts on simulated ones, a few skipped and failed cases. Never a stand-in for a measurement.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

REAL_DEVICES = ("cpu", "cuda")


def synthetic_results(
    rows: int = 10_000, workloads: int = 4, devices: int = 12, batch_sizes: tuple[int, ...] = (1, 64), seed: int = 0
) -> pd.DataFrame:
    """At least `rows` cases (whole device x workload x technique x batch blocks): `workloads` workloads,
    `devices` devices (the first two real, the rest simulated), as many techniques as it takes (the first is fp32).
    The default is the default matrix (4 workloads, 11 devices, 2 batch sizes) grown to 10,000 rows the way it
    grows: a device more, and compositions of techniques (105 techniques)."""
    rng = np.random.default_rng(seed)
    techniques = max(2, -(-rows // (workloads * devices * len(batch_sizes))))  # rounded up: at least `rows`
    device_names = list(REAL_DEVICES[: min(2, devices)]) + [f"sim-d{i:02d}" for i in range(devices - min(2, devices))]
    technique_names = ["fp32"] + [f"tech-{i:02d}" for i in range(1, techniques)]
    grid = pd.MultiIndex.from_product(
        [device_names, [f"work-{i}" for i in range(workloads)], technique_names, list(batch_sizes)],
        names=["device", "workload", "technique", "batch_size"],
    ).to_frame(index=False)
    n = len(grid)
    simulated = ~grid["device"].isin(REAL_DEVICES)
    base_s = np.exp(rng.normal(np.log(2e-4), 0.8, n)) * np.where(grid["batch_size"] > 1, 8.0, 1.0)
    fp32 = grid["technique"] == "fp32"
    speed = np.where(fp32, 1.0, np.exp(rng.normal(0.1, 0.5, n)))
    frame = grid.assign(
        case=[f"test_inference[{d}-{w}-{t}-{b}]" for d, w, t, b in grid.itertuples(index=False)],
        status="ok",
        message="",
        simulated=simulated,
        metric="top-1 accuracy (synthetic)",
        accuracy=np.where(fp32, 0.97, 0.97 - np.abs(rng.normal(0, 0.006, n))),
        latency_iqr_s=base_s * 0.05,
        rounds=np.where(simulated, 0, 50),
        flops_per_batch=1e6 * grid["batch_size"],
    )
    # fp32 latency per device, workload and batch; every other technique a ratio of it
    key = ["device", "workload", "batch_size"]
    frame["latency_median_s"] = frame.assign(b=base_s).groupby(key)["b"].transform("first") / speed
    frame["throughput_per_s"] = frame["batch_size"] / frame["latency_median_s"]
    power_w = np.where(simulated, rng.uniform(2, 400, n), 20.0)
    frame["energy_per_inference_j"] = power_w * frame["latency_median_s"] / frame["batch_size"]
    frame["energy_method"] = np.where(simulated, "simulated", "estimated")
    frame["energy_source"] = np.where(simulated, "cost model (synthetic)", "TDP x utilisation (synthetic)")
    frame["price_per_hour_usd"] = np.where(frame["device"] == "cpu", 0.09, rng.uniform(0.3, 3.0, n).round(2))
    frame["price_source"] = "synthetic"
    paired = ~simulated & ~fp32
    noise = np.abs(rng.normal(0.0, 0.06, n))
    frame["paired_speedup_median"] = np.where(paired, speed, np.nan)
    frame["paired_speedup_ci_low"] = np.where(paired, speed * (1 - noise), np.nan)
    frame["paired_speedup_ci_high"] = np.where(paired, speed * (1 + noise), np.nan)
    frame["paired_verdict"] = np.where(
        ~paired,
        None,
        np.where(
            frame["paired_speedup_ci_low"] > 1,
            "faster",
            np.where(frame["paired_speedup_ci_high"] < 1, "slower", "no significant difference"),
        ),
    )
    frame["fast_path"] = np.where(grid["technique"].str.endswith("3") & ~simulated, False, None)
    frame["host_ops"] = np.where(simulated, rng.integers(0, 3, n), np.nan)
    frame["upcast_ops"] = np.where(simulated, rng.integers(0, 2, n), np.nan)
    frame["graph_ops"] = np.where(simulated, 12, np.nan)
    frame["bound"] = np.where(simulated, rng.choice(["compute", "memory", "overhead"], n), None)
    frame["first_call_s"] = np.where(simulated, np.nan, frame["latency_median_s"] * 20)
    frame["apply_s"], frame["model_setup_s"] = 0.01, 0.3
    roof = simulated & fp32 & (frame["batch_size"] == max(batch_sizes))
    points = [json.dumps(np.round(rng.lognormal(3, 1.5, (12, 2)) * [1, 1e9], 3).tolist()) if r else None for r in roof]
    frame["roofline_ops"] = points
    frame["roof_bandwidth_bps"] = np.where(simulated, 1e12, np.nan)
    frame["roof_peak_fp32_flops"] = np.where(simulated, 1e14, np.nan)
    failed = rng.random(n) < 0.01  # a few cases did not run: the report must list them, not drop them
    frame.loc[failed, "status"] = np.where(rng.random(failed.sum()) < 0.5, "skipped", "error")
    frame.loc[failed, "message"] = "synthetic failure"
    frame.loc[failed, ["latency_median_s", "accuracy", "energy_per_inference_j"]] = np.nan
    return frame.assign(
        cpu_model="Synthetic CPU",
        threads=2,
        torch_version="2.13.0+cpu",
        torchao_version="0.18.0",
        python_version="3.11.7",
        run_datetime="2026-01-01T00:00:00+00:00",
        run_file="synthetic.json",
        machine_id="synthetic-2t-00000000",
        commit_id="0" * 40,
        fingerprint_cpu_model="Synthetic CPU",
    )
