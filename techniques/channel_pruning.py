"""prune-channels-N: structured channel pruning with Torch-Pruning; the model is physically smaller."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

from techniques.base import Context, annotate
from techniques.finetune import DEFAULT_FINETUNE, fine_tune
from workloads.training import TrainingRecipe


@dataclass(frozen=True)
class ChannelPruning:
    """Removes `ratio` of the channels (conv filters, hidden units) of every layer but the classifier, ranked by
    their group's L1 norm, with Torch-Pruning's dependency graph keeping shapes consistent (a conv's BatchNorm and
    the next layer's inputs shrink with it); then fine-tunes. Fewer FLOPs on any hardware."""

    ratio: float = 0.5
    finetune: TrainingRecipe = DEFAULT_FINETUNE

    @property
    def name(self) -> str:
        return f"prune-channels-{round(self.ratio * 100)}"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        try:
            import torch_pruning as tp
        except ImportError as exc:
            raise NotImplementedError(f"needs the torch-pruning package ({exc})") from None
        model = copy.deepcopy(model).to(context.device).eval()
        classifier = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]  # its outputs are the classes
        try:
            tp.pruner.MetaPruner(
                model,
                context.calibration.x[:1].to(context.device),
                importance=tp.importance.GroupMagnitudeImportance(p=1),
                pruning_ratio=self.ratio,
                ignored_layers=[classifier],
            ).step()
        except Exception as exc:  # its dependency graph does not cover every layer type (LSTMs, for one)
            raise NotImplementedError(f"Torch-Pruning cannot prune this architecture ({type(exc).__name__}: {exc})")
        model, seconds = fine_tune(model, context.train, self.finetune)
        return annotate(model, finetune_s=seconds)
