"""Synthetic results shaped like reports.load.run.load_run's frame, for scale benchmarks and tests of the report.

Illustrative numbers, made up (seeded): latencies, accuracies and energies of plausible size, paired intervals on
real devices, modelled facts on simulated ones, a few skipped and failed cases. Never a stand-in for a measurement.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import accelbench.results as col
from accelbench.energy import SIMULATED as SIMULATED_METHOD

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
        names=[col.DEVICE, col.WORKLOAD, col.TECHNIQUE, col.BATCH_SIZE],
    ).to_frame(index=False)
    n = len(grid)
    simulated = ~grid[col.DEVICE].isin(REAL_DEVICES)
    base_s = np.exp(rng.normal(np.log(2e-4), 0.8, n)) * np.where(grid[col.BATCH_SIZE] > 1, 8.0, 1.0)
    fp32 = grid[col.TECHNIQUE] == "fp32"
    speed = np.where(fp32, 1.0, np.exp(rng.normal(0.1, 0.5, n)))
    frame = grid.assign(
        case=[f"test_inference[{d}-{w}-{t}-{b}]" for d, w, t, b in grid.itertuples(index=False)],
        status=col.OK,
        message="",
        simulated=simulated,
        metric="top-1 accuracy (synthetic)",
        accuracy=np.where(fp32, 0.97, 0.97 - np.abs(rng.normal(0, 0.006, n))),
        latency_iqr_s=base_s * 0.05,
        rounds=np.where(simulated, 0, 50),
        flops_per_batch=1e6 * grid[col.BATCH_SIZE],
    )
    # fp32 latency per device, workload and batch; every other technique a ratio of it
    key = [col.DEVICE, col.WORKLOAD, col.BATCH_SIZE]
    frame[col.LATENCY_MEDIAN_S] = frame.assign(b=base_s).groupby(key)["b"].transform("first") / speed
    frame[col.THROUGHPUT_PER_S] = frame[col.BATCH_SIZE] / frame[col.LATENCY_MEDIAN_S]
    power_w = np.where(simulated, rng.uniform(2, 400, n), 20.0)
    frame[col.ENERGY_PER_INFERENCE_J] = power_w * frame[col.LATENCY_MEDIAN_S] / frame[col.BATCH_SIZE]
    frame[col.ENERGY_METHOD] = np.where(simulated, SIMULATED_METHOD, "estimated")
    frame[col.ENERGY_SOURCE] = np.where(simulated, "cost model (synthetic)", "TDP x utilisation (synthetic)")
    frame[col.PRICE_PER_HOUR_USD] = np.where(frame[col.DEVICE] == "cpu", 0.09, rng.uniform(0.3, 3.0, n).round(2))
    frame[col.PRICE_SOURCE] = "synthetic"
    paired = ~simulated & ~fp32
    noise = np.abs(rng.normal(0.0, 0.06, n))
    frame[col.PAIRED_SPEEDUP] = np.where(paired, speed, np.nan)
    frame[col.PAIRED_SPEEDUP_CI_LOW] = np.where(paired, speed * (1 - noise), np.nan)
    frame[col.PAIRED_SPEEDUP_CI_HIGH] = np.where(paired, speed * (1 + noise), np.nan)
    frame[col.PAIRED_VERDICT] = np.where(
        ~paired,
        None,
        np.where(
            frame[col.PAIRED_SPEEDUP_CI_LOW] > 1,
            "faster",
            np.where(frame[col.PAIRED_SPEEDUP_CI_HIGH] < 1, "slower", "no significant difference"),
        ),
    )
    frame[col.FAST_PATH] = np.where(grid[col.TECHNIQUE].str.endswith("3") & ~simulated, False, None)
    frame[col.HOST_OPS] = np.where(simulated, rng.integers(0, 3, n), np.nan)
    frame[col.UPCAST_OPS] = np.where(simulated, rng.integers(0, 2, n), np.nan)
    frame[col.GRAPH_OPS] = np.where(simulated, 12, np.nan)
    frame[col.BOUND] = np.where(simulated, rng.choice(["compute", "memory", "overhead"], n), None)
    frame[col.FIRST_CALL_S] = np.where(simulated, np.nan, frame[col.LATENCY_MEDIAN_S] * 20)
    frame[col.APPLY_S], frame[col.MODEL_SETUP_S] = 0.01, 0.3
    roof = simulated & fp32 & (frame[col.BATCH_SIZE] == max(batch_sizes))
    points = [json.dumps(np.round(rng.lognormal(3, 1.5, (12, 2)) * [1, 1e9], 3).tolist()) if r else None for r in roof]
    frame[col.ROOFLINE_OPS] = points
    frame[col.ROOF_BANDWIDTH_BPS] = np.where(simulated, 1e12, np.nan)
    frame["roof_peak_fp32_flops"] = np.where(simulated, 1e14, np.nan)
    failed = rng.random(n) < 0.01  # a few cases did not run: the report must list them, not drop them
    frame.loc[failed, col.STATUS] = np.where(rng.random(failed.sum()) < 0.5, "skipped", "error")
    frame.loc[failed, col.MESSAGE] = "synthetic failure"
    frame.loc[failed, [col.LATENCY_MEDIAN_S, col.ACCURACY, col.ENERGY_PER_INFERENCE_J]] = np.nan
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
