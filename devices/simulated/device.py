"""A simulated device: a profile plus the cost model. The host runs the model (for accuracy and for the graph);
latency, energy and the bound come from the model, never from a clock, and are labelled simulated."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, TypeVar

import torch
from torch import nn

from accelbench.energy import SIMULATED
from accelbench.measure import unwrap
from devices.base import Fact
from devices.cpu import CpuDevice
from devices.simulated.base import SimulatedDevice
from devices.simulated.cost import Prediction, predict
from devices.simulated.graph import Graph, as_format, capture
from devices.simulated.profile import Profile
from devices.simulated.training import TrainingPrediction, TrainingStep, predict_step

R = TypeVar("R")


def runtime_of(model: nn.Module) -> str:
    """ "onnxruntime" for an ONNX Runtime session, "compiled" for a compiled wrapper (torch.compile, the project's
    per-shape compilers) around an eager module, else "eager"."""
    if hasattr(model, "session") and hasattr(model, "eager_module"):
        return "onnxruntime"
    return "compiled" if unwrap(model) is not model else "eager"


def captured(model: nn.Module, inputs: torch.Tensor) -> Graph:
    """The operator graph a simulated device prices for `model`: its eager graph (graph.capture), in the number format
    the model declares where the eager graph does not show it (`graph_format`: an ONNX Runtime session runs its own
    int8 graph, while the module it wraps is fp32)."""
    graph = capture(model, inputs)
    fmt = getattr(model, "graph_format", None)
    return as_format(graph, fmt) if fmt else graph


def prediction_figures(prediction: Prediction, profile: Profile, batch: int) -> dict:
    """What a simulated inference case records of its prediction (every key a field of accelbench/results.py)."""
    return dict(
        simulated_latency_s=prediction.latency_s,
        throughput_per_s=batch / prediction.latency_s if prediction.latency_s > 0 else None,
        energy_per_inference_j=prediction.energy_j / batch,
        energy_method=SIMULATED,
        energy_source=f"cost model of profile {profile.name} ({profile.version})",
        average_power_w=prediction.average_power_w,
        bound=prediction.bound,
        power_limited=prediction.power_limited,
        host_ops=prediction.host_ops,
        upcast_ops=prediction.upcast_ops,
        **{f"time_{bound}_s": seconds for bound, seconds in prediction.time_by_bound.items()},
    )


def roofline_points(prediction: Prediction) -> str:
    """The report's roofline: one [FLOP/byte, FLOP/s] point per operator run on the device, as JSON."""
    points = [
        [float(f"{c.flops / max(c.bytes, 1):.4g}"), float(f"{c.flops / c.time_s:.4g}")]
        for c in prediction.ops
        if c.where == "device" and c.flops > 0 and c.time_s > 0
    ]
    return json.dumps(points)


SCORES = Path(__file__).resolve().parents[1] / "reference" / "published-scores.csv"  # written by make validate


@lru_cache(maxsize=1)
def published_scores() -> dict[str, dict[str, str]]:
    """Per profile, how its predictions compare with published measurements of the real device (`make validate`
    writes the file); empty where the file is missing."""
    try:
        with SCORES.open(encoding="utf-8", newline="") as handle:
            return {row["profile"]: row for row in csv.DictReader(handle)}
    except (OSError, KeyError, csv.Error):
        return {}


def _figure_source(profile: Profile, where: str) -> str | None:
    figure = profile.figures.get(where)
    return f"profile {profile.name}: {figure.source} ({figure.confidence})" if figure is not None else None


@dataclass(frozen=True)
class ProfileDevice(SimulatedDevice):
    """A simulated device made from one TOML profile; its name is the profile's."""

    profile: Profile
    simulated: bool = True

    @property
    def name(self) -> str:
        return self.profile.name

    def open(self) -> torch.device:
        return CpuDevice().open()  # the host runs the model: the same threads as the real CPU cases

    def synchronized(self, fn: Callable[[], R]) -> Callable[[], R]:
        return fn

    def peak_memory_bytes(self, fn: Callable[[], object]) -> int | None:
        return None  # the host's memory says nothing about the device's

    def predict(self, graph: Graph, runtime: str = "eager") -> Prediction:
        return predict(graph, self.profile, runtime=runtime)

    def predict_training(self, step: TrainingStep, runtime: str = "eager") -> TrainingPrediction:
        """One optimizer step, modelled (devices/simulated/training.py). Raises NotImplementedError for an
        inference-only accelerator."""
        if self.profile.inference_only:
            raise NotImplementedError(
                f"{self.name} models an inference-only accelerator (inference_only in "
                f"{self.profile.path.name}): it has no training step"
            )
        return predict_step(step, self.profile, runtime)

    def _published(self) -> dict[str, Fact]:
        score = published_scores().get(self.name)
        if score is None:
            return {"published_rows": 0}
        return {
            "published_rows": int(score["rows"]),
            "published_median_abs_error": float(score["median_abs_error"]),
            "published_worst": f"{float(score['worst_error']):+.0%} on {score['worst_row']}",
            "published_scored_version": score["profile_version"],
        }

    def facts(self) -> dict[str, Fact]:
        p = self.profile
        tags = [f.confidence for f in p.figures.values()]
        return {
            "simulated": True,
            "profile": p.name,
            "profile_version": p.version,
            "profile_path": str(p.path),
            "description": p.description,
            "figures_vendor": tags.count("vendor"),
            "figures_secondary": tags.count("secondary"),
            "figures_derived": tags.count("derived"),
            "figures_assumed": tags.count("assumed"),
            "price_per_hour_usd": p.price_per_hour,
            "price_source": _figure_source(p, "price_per_hour"),
            "roof_bandwidth_bps": p.memory[-1].bandwidth,  # the roofline's slope: the last (DRAM/HBM) level
            "interconnect": "; ".join(link.name for link in p.interconnect) or None,
            **self._published(),
            "calibrated_on": p.measured_on,  # a model of this very CPU: the report never recommends it beside it
            **{f"roof_peak_{dtype}_flops": peak for dtype, peak in p.peak.items() if peak is not None},
        }
