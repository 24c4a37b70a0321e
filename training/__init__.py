"""Training techniques, by registry name: the training axis, the same shape as `techniques/`.

A recipe (`Recipe`, a frozen dataclass) turns a model into a TrainStep; benchmarks/test_training.py times it on
every device, benchmarks/test_time_to_accuracy.py trains to a target accuracy with it. Third parties add recipes
through the `accelbench.training` entry-point group."""

from accelbench.registry import Registry
from accelbench.train import TrainStep
from training.base import TrainContext, TrainingTechnique
from training.recipe import Recipe

BASELINE = "train-baseline"  # float32, SGD with momentum, one micro-batch, eager

REGISTRY: Registry[TrainingTechnique] = Registry(
    "training technique", group="accelbench.training", protocol=TrainingTechnique
)
for recipe in (
    Recipe(BASELINE),
    Recipe("grad-accum-4", micro_batches=4),
    Recipe("checkpointing", checkpointing=True),
    Recipe("amp-bf16", amp="bf16"),
    Recipe("amp-fp16", amp="fp16"),
    Recipe("adam", optimizer="adam"),
    Recipe("rmsprop", optimizer="rmsprop"),
    Recipe("sgd", optimizer="sgd"),
    Recipe("train-compile", compile=True),
):
    REGISTRY.add(recipe)

__all__ = ["BASELINE", "REGISTRY", "Recipe", "TrainContext", "TrainStep", "TrainingTechnique"]
