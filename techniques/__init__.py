"""Techniques, by registry name. Third parties add theirs through the `accelbench.techniques` entry-point group.
`resolve("a+b")` composes registered techniques left to right."""

from accelbench.registry import Registry
from techniques.amp import MixedPrecision
from techniques.base import CastInputs, Context, Technique, annotate, facts_of
from techniques.bf16 import Bf16
from techniques.binary import BinaryWeights
from techniques.bn_fold import BnFold
from techniques.channels_last import ChannelsLast
from techniques.compile import Compile
from techniques.compose import Composed
from techniques.depthwise_separable import DepthwiseSeparable
from techniques.distill import Distillation
from techniques.fp16 import Half
from techniques.fp32 import Fp32
from techniques.int8_dynamic import Int8Dynamic
from techniques.int8_dynamic_legacy import Int8DynamicLegacy
from techniques.int8_qat import Int8Qat
from techniques.int8_static import Int8Static
from techniques.onnxruntime import OnnxRuntime
from techniques.prune_channels import ChannelPruning
from techniques.prune_l1 import MagnitudePruning
from techniques.sparse_2of4 import SemiStructured24
from techniques.tensorrt import TensorRt
from techniques.weight_only import WeightOnly

BASELINE = "fp32"  # every speedup is relative to this technique on the same device, workload and batch size

REGISTRY: Registry[Technique] = Registry("technique", group="accelbench.techniques", protocol=Technique)
for technique in (
    Fp32(),
    Bf16(),
    Int8Dynamic(),
    Compile(),
    Int8Dynamic(compile=False),
    MagnitudePruning(0.5),
    MagnitudePruning(0.9),
    ChannelPruning(0.5),
    SemiStructured24(),
    Int8DynamicLegacy(),
    Int8Static(),
    WeightOnly(bits=8),
    WeightOnly(bits=4),
    Int8Qat(),
    BinaryWeights(),
    Distillation(),
    Half(),
    MixedPrecision("bf16"),
    MixedPrecision("fp16"),
    BnFold(),
    ChannelsLast(),
    DepthwiseSeparable(),
    Compile(freezing=True),
    Compile(mode="max-autotune", tier="full"),
    OnnxRuntime(),
    OnnxRuntime(int8=True),
    TensorRt(),
):
    REGISTRY.add(technique)


def resolve(name: str) -> Technique:
    """A registered technique, or a composition `a+b+...` of registered ones applied left to right."""
    if "+" in name and name not in REGISTRY.names():
        return Composed(tuple(REGISTRY.get(part) for part in name.split("+")))
    return REGISTRY.get(name)


REGISTRY.add(resolve("prune-channels-50+int8-static"))

__all__ = ["BASELINE", "REGISTRY", "CastInputs", "Context", "Technique", "annotate", "facts_of", "resolve"]
