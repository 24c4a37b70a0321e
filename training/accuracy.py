"""Time-to-accuracy (DAWNBench's metric): wall time and epochs until the test accuracy first reaches a target."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch

from accelbench.data import Dataset
from accelbench.train import TrainStep


@dataclass(frozen=True)
class TimeToAccuracy:
    """One training run. `seconds` and `epochs` count up to the epoch that reached `target` (training and the
    evaluation after each epoch), or the whole budget of `max_epochs` when it never did."""

    target: float
    max_epochs: int
    reached: bool
    epochs: int
    seconds: float
    best_accuracy: float

    @property
    def summary(self) -> str:
        if self.reached:
            return f"reached {self.target:.1%} in {self.epochs} epochs ({self.seconds:.3g} s)"
        return f"not reached within {self.max_epochs} epochs (best {self.best_accuracy:.1%})"


def time_to_accuracy(
    train_epoch: Callable[[int], None],
    evaluate: Callable[[], float],
    target: float,
    max_epochs: int,
    clock: Callable[[], float] = time.perf_counter,
) -> TimeToAccuracy:
    """Runs `train_epoch(epoch)` for epoch 1, 2, ..., evaluating after each, until `evaluate()` (an accuracy in
    [0, 1]) reaches `target` or `max_epochs` have run."""
    if not 0 < target <= 1:
        raise ValueError(f"target accuracy must be in (0, 1]; got {target!r}")
    if not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"max_epochs must be a whole number >= 1; got {max_epochs!r}")
    start = clock()
    best = -math.inf
    for epoch in range(1, max_epochs + 1):
        train_epoch(epoch)
        accuracy = evaluate()
        best = max(best, accuracy)
        if accuracy >= target:
            return TimeToAccuracy(target, max_epochs, True, epoch, clock() - start, best)
    return TimeToAccuracy(target, max_epochs, False, max_epochs, clock() - start, best)


def train_to_accuracy(
    step: TrainStep,
    score: Callable[[torch.Tensor, torch.Tensor], float],
    data: Dataset,
    batch_size: int,
    target: float,
    max_epochs: int,
    seed: int,
) -> TimeToAccuracy:
    """`step` trained on the workload's training split in shuffled batches of `batch_size` (the incomplete last
    batch of each epoch left out: every step has the same shape), scored on the test split by `score(outputs,
    labels)` (the workload's) after each epoch."""
    where = next(step.model.parameters()).device
    x, y = data.train.x.to(where), data.train.y.to(where)
    test_x, test_y = data.test.x.to(where), data.test.y
    order = torch.Generator().manual_seed(seed)
    full = len(y) - len(y) % batch_size
    if full == 0:
        raise ValueError(f"batch size {batch_size} exceeds the {len(y)} training rows")

    def train_epoch(epoch: int) -> None:
        for batch in torch.randperm(len(y), generator=order)[:full].to(where).split(batch_size):
            step(x[batch], y[batch])

    def evaluate() -> float:
        step.model.eval()
        try:
            with torch.no_grad():
                return score(step.model(test_x).float().cpu(), test_y)
        finally:
            step.model.train()

    return time_to_accuracy(train_epoch, evaluate, target, max_epochs)


def summarize(runs: list[TimeToAccuracy]) -> dict[str, float | int | str | None]:
    """Flat figures over seeds: how many reached the target, mean and spread (sample standard deviation) of the
    seconds and epochs of those that did, and a one-line verdict."""
    if not runs:
        raise ValueError("no time-to-accuracy run to summarize")
    reached = [r for r in runs if r.reached]
    spread = lambda values: statistics.stdev(values) if len(values) > 1 else 0.0  # noqa: E731
    first = runs[0]
    if len(reached) == len(runs):
        verdict = f"reached {first.target:.1%} in every seed"
    elif reached:
        verdict = f"reached {first.target:.1%} in {len(reached)} of {len(runs)} seeds within {first.max_epochs} epochs"
    else:
        verdict = f"not reached within {first.max_epochs} epochs (best {max(r.best_accuracy for r in runs):.1%})"
    return {
        "target_accuracy": first.target,
        "max_epochs": first.max_epochs,
        "seeds": len(runs),
        "reached_seeds": len(reached),
        "time_to_accuracy_s_mean": statistics.fmean(r.seconds for r in reached) if reached else None,
        "time_to_accuracy_s_std": spread([r.seconds for r in reached]) if reached else None,
        "epochs_to_accuracy_mean": statistics.fmean(r.epochs for r in reached) if reached else None,
        "epochs_to_accuracy_std": spread([r.epochs for r in reached]) if reached else None,
        "best_accuracy_mean": statistics.fmean(r.best_accuracy for r in runs),
        "verdict": verdict,
    }
