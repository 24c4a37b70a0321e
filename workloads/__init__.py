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
from workloads.standard import StandardWorkload

REGISTRY: Registry[Workload] = Registry("workload", group="accelbench.workloads", protocol=Workload)
REGISTRY.add(DigitsMLP())
REGISTRY.add(DigitsCNN())
REGISTRY.add(DigitsDSCNN())
REGISTRY.add(DigitsLSTM())
REGISTRY.add(ResNetMini())
REGISTRY.add(MiniLM(seq_len=128))
REGISTRY.add(MiniLM(seq_len=32))
# the standard models that fit on a real machine, run for real in the full tier (all of them are priced on the
# simulated devices by benchmarks/test_standard.py)
for _name in ("resnet-50", "mobilenet-v2", "bert-base"):
    REGISTRY.add(StandardWorkload(_name))

__all__ = ["REGISTRY", "Dataset", "Split", "Workload", "WorkloadUnavailable", "untrained_model"]
