"""The SimulatedDevice protocol: a Device whose latency and energy come from a cost model, never from a clock."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from devices.base import Device
from devices.simulated.cost import Prediction
from devices.simulated.graph import Graph
from devices.simulated.profile import Profile
from devices.simulated.training import TrainingPrediction, TrainingStep


@runtime_checkable
class SimulatedDevice(Device, Protocol):
    """The host runs the model (outputs and accuracy are real); `predict` prices its captured operator graph on
    the device `profile` describes. Every figure it gives is labelled simulated in every table and plot."""

    simulated: bool = True
    profile: Profile  # the device's published figures, each with its source (devices/profiles/*.toml)

    def predict(self, graph: Graph, runtime: str = "eager") -> Prediction:
        """Latency, energy and the bound of one call of `graph` under `runtime` (eager, compiled, onnxruntime)."""
        ...

    def predict_training(self, step: TrainingStep, runtime: str = "eager") -> TrainingPrediction:
        """One optimizer step, modelled. Raises NotImplementedError for an inference-only accelerator."""
        ...
