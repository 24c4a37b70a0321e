"""distill: Hinton knowledge distillation into a student of about a quarter of the teacher's parameters."""

from __future__ import annotations

import copy
import dataclasses
import statistics
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from accelbench.data import top1_accuracy
from accelbench.train import TrainingRecipe
from techniques.base import Context, Technique, annotate
from techniques.finetune import fine_tune, state_digest
from techniques.prune_channels import shrink_channels


def student_of(teacher: nn.Module, example: torch.Tensor, width: float) -> nn.Module:
    """The teacher's architecture with `width` of its channels in every layer but the classifier (Torch-Pruning
    keeps the shapes consistent), weights re-initialised: halving widths leaves about a quarter of the weights."""
    student = shrink_channels(copy.deepcopy(teacher).eval(), example, 1 - width, importance="random")
    for module in student.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return student


@dataclass(frozen=True)
class Distillation(Technique):
    """Trains the student on `alpha*T^2*KL(student/T || teacher/T) + (1-alpha)*CE`. The same student trained from
    scratch with the same budget, over `seeds` seeds, is recorded beside it: on digits the gain is within seed
    noise, and the record says so rather than claiming a win."""

    temperature: float = 4.0
    alpha: float = 0.7
    width: float = 0.5
    seeds: int = 3
    recipe: TrainingRecipe = TrainingRecipe(epochs=25, lr=3e-3, weight_decay=1e-4, seed=0)
    name: str = "distill"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        if context.loss is not None:
            raise NotImplementedError(
                "distillation here trains a smaller classifier on class labels and soft "
                "logits; this workload's targets are reference outputs, not classes"
            )
        teacher = copy.deepcopy(model).eval().to(context.device)
        example = context.calibration.x[:1].to(context.device)
        kd, scratch, students = [], [], []
        for seed in range(self.seeds):
            with torch.random.fork_rng():  # seeded students, and the caller's random state left as it was
                torch.manual_seed(seed)
                student = student_of(teacher, example, self.width)
            recipe = dataclasses.replace(self.recipe, seed=seed)
            fresh = copy.deepcopy(student)
            kd_loss = self._loss(teacher)
            key = self._loss_key(teacher) if context.cache_dir is not None else ()
            students.append(fine_tune(student, context, recipe, loss_fn=kd_loss, loss_key=key)[0])
            kd.append(self._accuracy(students[-1], context))
            scratch.append(self._accuracy(fine_tune(fresh, context, recipe)[0], context))
        return annotate(
            students[0],
            kd_val_accuracy_mean=statistics.mean(kd),
            kd_val_accuracy_std=statistics.stdev(kd) if len(kd) > 1 else 0.0,
            scratch_val_accuracy_mean=statistics.mean(scratch),
            scratch_val_accuracy_std=statistics.stdev(scratch) if len(scratch) > 1 else 0.0,
            student_param_fraction=sum(p.numel() for p in students[0].parameters())
            / sum(p.numel() for p in teacher.parameters()),
        )

    def _loss_key(self, teacher: nn.Module) -> tuple:
        """What the distillation loss reads besides its code: the temperature, alpha and the teacher's weights."""
        return (self.temperature, self.alpha, state_digest(teacher))

    def _loss(self, teacher: nn.Module):
        t, alpha = self.temperature, self.alpha

        def loss(logits: torch.Tensor, labels: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                soft = F.log_softmax(teacher(inputs) / t, dim=1)
            kl = F.kl_div(F.log_softmax(logits / t, dim=1), soft, reduction="batchmean", log_target=True)
            return alpha * t * t * kl + (1 - alpha) * F.cross_entropy(logits, labels)

        return loss

    @staticmethod
    def _accuracy(model: nn.Module, context: Context) -> float:
        # the validation split: the test split stays unseen until the benchmark scores the returned student
        with torch.no_grad():
            return top1_accuracy(model(context.calibration.x.to(context.device)), context.calibration.y)
