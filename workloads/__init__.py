"""Workloads, by registry name. Third parties add theirs through the `accelbench.workloads` entry-point group."""

from accelbench.data import Dataset, Split
from accelbench.registry import Registry
from workloads.base import Workload, WorkloadUnavailable, untrained_model
from workloads.digits_cnn import DigitsCNN
from workloads.digits_dscnn import DigitsDSCNN
from workloads.digits_lstm import DigitsLSTM
from workloads.digits_mlp import DigitsMLP
from workloads.minilm import MiniLM
from workloads.resnet_mini import ResNetMini

REGISTRY: Registry[Workload] = Registry("workload", group="accelbench.workloads", protocol=Workload)
REGISTRY.add(DigitsMLP())
REGISTRY.add(DigitsCNN())
REGISTRY.add(DigitsDSCNN())
REGISTRY.add(DigitsLSTM())
REGISTRY.add(ResNetMini())
REGISTRY.add(MiniLM(seq_len=128))
REGISTRY.add(MiniLM(seq_len=32))

__all__ = ["REGISTRY", "Dataset", "Split", "Workload", "WorkloadUnavailable", "untrained_model"]
