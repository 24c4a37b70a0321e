"""Techniques, by registry name. Third parties add theirs through the `accelbench.techniques` entry-point group."""

from accelbench.registry import Registry
from techniques.base import CastInputs, Context, Technique
from techniques.bf16 import Bf16
from techniques.compile import Compile
from techniques.fp32 import Fp32
from techniques.int8_dynamic import Int8Dynamic

BASELINE = "fp32"  # every speedup is relative to this technique on the same device, workload and batch size

REGISTRY: Registry[Technique] = Registry("technique", group="accelbench.techniques")
for technique in (Fp32(), Bf16(), Int8Dynamic(), Compile()):
    REGISTRY.add(technique)

__all__ = ["BASELINE", "REGISTRY", "CastInputs", "Context", "Technique"]
