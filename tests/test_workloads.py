from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

import workloads
from workloads import classifier
from workloads.digits import digits_dataset
from workloads.digits_mlp import DigitsMLP
from workloads.training import CacheRebuiltWarning, TrainingRecipe, weights_key


def test_digits_splits_are_fixed_disjoint_and_stratified() -> None:
    data = digits_dataset()
    assert (len(data.train), len(data.val), len(data.test)) == (1077, 360, 360)
    assert data.test.x.shape[1:] == (1, 8, 8) and data.test.x.dtype == torch.float32
    assert 0.0 <= data.train.x.min() and data.train.x.max() <= 1.0
    pixels = lambda split: {tuple(row) for row in split.x.flatten(1).mul(16).round().int().tolist()}  # noqa: E731
    # the digits set holds a few duplicate images, but a test split drawn from training rows would share hundreds
    assert len(pixels(data.test) & pixels(data.train)) < 10
    for split in (data.train, data.val, data.test):
        share = torch.bincount(split.y, minlength=10).float() / len(split)
        assert torch.all((share - 0.1).abs() < 0.015), share


@pytest.mark.parametrize("name", workloads.REGISTRY.names())
def test_fp32_models_reach_95_percent(name: str, cache_dir: Path) -> None:
    workload = workloads.REGISTRY.get(name)
    model = workload.model(cache_dir)
    assert not model.training
    data = workload.data()
    with torch.no_grad():
        accuracy = workload.score(model(data.test.x), data.test.y)
    assert accuracy >= 0.95, f"{name}: {accuracy:.3f}"


def test_cached_weights_are_loaded_not_retrained(cache_dir: Path, monkeypatch) -> None:
    workload = DigitsMLP()
    first = workload.model(cache_dir)
    monkeypatch.setattr(classifier, "train_classifier", lambda *a: pytest.fail("retrained despite a valid cache"))
    again = workload.model(cache_dir)
    for key, value in first.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key


def test_a_corrupt_cache_file_is_retrained(tmp_path: Path) -> None:
    workload = DigitsMLP(recipe=TrainingRecipe(epochs=2))
    reference = workload.model(tmp_path / "a")
    path = next((tmp_path / "a").glob("digits-mlp-*.pt"))
    path.write_bytes(path.read_bytes()[:100])  # truncated, as a killed write would leave it
    with pytest.warns(CacheRebuiltWarning, match=str(path.name)):
        rebuilt = workload.model(tmp_path / "a")
    for key, value in reference.state_dict().items():
        assert torch.equal(value, rebuilt.state_dict()[key]), key  # same seeds: the same weights again
    assert len(path.read_bytes()) > 100


def test_the_cache_key_follows_what_determines_the_weights() -> None:
    base = DigitsMLP()
    assert weights_key(base, 0) == weights_key(DigitsMLP(), 0)
    assert weights_key(base, 0) != weights_key(replace(base, hidden=(64,)), 0)
    assert weights_key(base, 0) != weights_key(replace(base, recipe=TrainingRecipe(seed=1)), 0)
    assert weights_key(base, 0) != weights_key(base, 1)  # the data split seed


def test_resnet_mini_is_seeded_labelled_by_its_own_predictions_and_in_the_full_profile(cache_dir: Path) -> None:
    from workloads.resnet_mini import ResNetMini

    workload = ResNetMini(samples=64)
    model, data = workload.model(cache_dir), workload.data()
    assert data.test.x.shape == (64, 3, 32, 32)
    with torch.no_grad():
        assert workload.score(model(data.test.x), data.test.y) == 1.0  # fp32 agrees with itself
    assert len(torch.bincount(data.test.y)) > 3  # predictions are spread, so agreement can fall
    assert workload.profile == "full" and "agreement" in workload.metric
    again = ResNetMini(samples=64, seed=0)
    assert torch.equal(again.data().test.x, data.test.x)
