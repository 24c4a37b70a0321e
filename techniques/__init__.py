"""Techniques, by registry name. Third parties add theirs through the `accelbench.techniques` entry-point group.
`resolve("a+b")` composes registered techniques left to right."""

from accelbench.registry import Registry
from techniques.base import CastInputs, Context, Technique, annotate, facts_of
from techniques.bf16 import Bf16
from techniques.bn_fold import BnFold
from techniques.channels_last import ChannelsLast
from techniques.binary import BinaryWeights
from techniques.channel_pruning import ChannelPruning
from techniques.compile import Compile
from techniques.compose import Composed
from techniques.depthwise import DepthwiseSeparable
from techniques.distill import Distillation
from techniques.fp32 import Fp32
from techniques.int8_dynamic import Int8Dynamic
from techniques.int8_dynamic_legacy import Int8DynamicLegacy
from techniques.onnx_runtime import OnnxRuntime
from techniques.precision import Half, MixedPrecision
from techniques.pruning import MagnitudePruning
from techniques.pt2e import Int8Qat, Int8Static
from techniques.sparse24 import SemiStructured24
from techniques.weight_only import WeightOnly

BASELINE = "fp32"  # every speedup is relative to this technique on the same device, workload and batch size

REGISTRY: Registry[Technique] = Registry("technique", group="accelbench.techniques")
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
    Compile(mode="max-autotune", profile="full"),
    OnnxRuntime(),
    OnnxRuntime(int8=True),
):
    REGISTRY.add(technique)


def resolve(name: str) -> Technique:
    """A registered technique, or a composition `a+b+...` of registered ones applied left to right."""
    if "+" in name and name not in REGISTRY.names():
        return Composed(tuple(REGISTRY.get(part) for part in name.split("+")))
    return REGISTRY.get(name)


REGISTRY.add(resolve("prune-channels-50+int8-static"))

__all__ = ["BASELINE", "REGISTRY", "CastInputs", "Context", "Technique", "annotate", "facts_of", "resolve"]
