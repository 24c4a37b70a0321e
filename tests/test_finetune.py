"""Fine-tuned models kept between runs (techniques/finetune.py): a kept one is the model the training gives, named by
everything the training depends on, and a bad file is trained again."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest
import torch

import techniques
import techniques.finetune as finetune
from accelbench.data import Split
from accelbench.train import TrainingRecipe
from techniques import Context, facts_of
from techniques.finetune import FineTuneCacheWarning, fine_tune, finetune_key
from workloads import untrained_model
from workloads.digits_cnn import DigitsCNN

# every registered technique that fine-tunes, each with the field holding its recipe
FINE_TUNING = {
    "distill": "recipe",
    "int8-qat": "finetune",
    "prune-l1-50": "finetune",
    "prune-channels-50": "finetune",
    "sparse-2of4": "finetune",
    "binary": "finetune",
    "depthwise-separable": "recipe",
}
SHORT = TrainingRecipe(epochs=1, lr=1e-3, weight_decay=0.0, seed=0)


def context_with(cache_dir: Path | None, rows: int = 128) -> Context:
    data = DigitsCNN().data()
    return Context(
        device=torch.device("cpu"),
        calibration=data.val,
        train=Split(data.train.x[:rows], data.train.y[:rows]),
        cache_dir=cache_dir,
    )


def short(name: str):
    """The registered technique with a one-epoch recipe (and one seed, for distillation)."""
    technique = techniques.REGISTRY.get(name)
    changes = {FINE_TUNING[name]: SHORT}
    if name == "distill":
        changes["seeds"] = 1
    return dataclasses.replace(technique, **changes)


def test_the_list_names_every_technique_that_fine_tunes() -> None:
    for name in FINE_TUNING:
        assert isinstance(getattr(techniques.REGISTRY.get(name), FINE_TUNING[name]), TrainingRecipe), name


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "int8-qat" else n for n in FINE_TUNING]
)  # QAT: 12-18 s
def test_a_kept_fine_tune_is_the_model_the_training_gives(name: str, tmp_path: Path, monkeypatch) -> None:
    technique = short(name)
    context = context_with(tmp_path)
    model = untrained_model(DigitsCNN(), 0).eval()
    x = context.calibration.x[:32]
    trained = technique.apply(model, context)
    assert list((tmp_path / "finetuned").glob("*.pt")), "nothing was kept"

    def no_training(*args, **kwargs):
        raise AssertionError("trained again: the kept fine-tune was not used")

    monkeypatch.setattr(finetune, "fit", no_training)
    kept = technique.apply(model, context)
    with torch.no_grad():
        assert torch.equal(kept(x), trained(x))
    if "finetune_s" in facts_of(trained):  # the seconds are the training's, not the load's
        assert facts_of(kept)["finetune_s"] == facts_of(trained)["finetune_s"] > 0


def _key(model, context, recipe=SHORT, loss=None, loss_key=()):
    return finetune_key(model, context, recipe, loss, loss_key)


def test_the_name_changes_with_everything_the_training_depends_on() -> None:
    context = context_with(None)
    model = untrained_model(DigitsCNN(), 0)
    key = _key(model, context)
    assert key == _key(untrained_model(DigitsCNN(), 0), context)  # the same weights: the same name
    assert key != _key(untrained_model(DigitsCNN(), 1), context)  # other weights
    assert key != _key(model, context, recipe=dataclasses.replace(SHORT, epochs=2))
    assert key != _key(model, context_with(None, rows=64))  # other training data
    assert key != _key(model, context, loss=torch.nn.functional.cross_entropy)
    assert key != _key(model, context, loss_key=(4.0,))
    assert key != _key(model, dataclasses.replace(context, device=torch.device("meta")))
    zeroed = untrained_model(DigitsCNN(), 0)
    with torch.no_grad():
        next(iter(zeroed.parameters()))[0].zero_()
    assert key != _key(zeroed, context)


def test_the_name_changes_with_settings_outside_the_state_dict() -> None:
    """A layer's plain settings (a fake-quantizer's range, a convolution's stride), a parametrization's code and a
    loss's settings change the training without changing a weight."""
    context = context_with(None)
    model = untrained_model(DigitsCNN(), 0)
    key = _key(model, context)
    strided = untrained_model(DigitsCNN(), 0)
    conv = next(m for m in strided.modules() if isinstance(m, torch.nn.Conv2d))
    conv.stride = (2, 2)
    assert key != _key(strided, context)
    reduced = untrained_model(DigitsCNN(), 0)
    reduced.quant_max = 127  # as a fake-quantizer's attribute: not a tensor, not in the state dict
    assert key != _key(reduced, context)
    smooth = [functools.partial(torch.nn.functional.cross_entropy, label_smoothing=v) for v in (0.0, 0.1)]
    assert _key(model, context, loss=smooth[0]) != _key(model, context, loss=smooth[1])
    assert _key(model, context, loss=torch.nn.CrossEntropyLoss()) != _key(
        model, context, loss=torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    )


def test_something_that_cannot_be_named_keeps_nothing(tmp_path: Path) -> None:
    fine_tune(untrained_model(DigitsCNN(), 0), context_with(tmp_path), SHORT, loss_key=(None,))
    assert not list(tmp_path.rglob("*.pt"))
    packed = torch.nn.Module()
    packed.register_buffer("ok", torch.zeros(2))
    packed.state_dict = lambda: {"ok": torch.zeros(2), "packed": (torch.zeros(1), torch.qint8)}  # a packed param
    assert finetune_key(packed, context_with(None), SHORT, None) is None


def test_a_corrupt_kept_file_is_trained_again_with_a_warning(tmp_path: Path) -> None:
    context = context_with(tmp_path)
    model, seconds = fine_tune(untrained_model(DigitsCNN(), 0), context, SHORT)
    (kept,) = (tmp_path / "finetuned").glob("*.pt")
    kept.write_bytes(b"not a model")
    with pytest.warns(FineTuneCacheWarning, match="could not be loaded"):
        again, _ = fine_tune(untrained_model(DigitsCNN(), 0), context, SHORT)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)  # trained again, from the same start
    assert torch.load(kept, weights_only=True)["seconds"] > 0  # and kept again


def test_nothing_is_kept_without_a_cache_dir_or_with_an_after_step_hook(tmp_path: Path) -> None:
    fine_tune(untrained_model(DigitsCNN(), 0), context_with(None), SHORT)
    fine_tune(untrained_model(DigitsCNN(), 0), context_with(tmp_path), SHORT, after_step=lambda model: None)
    assert not list(tmp_path.rglob("*.pt"))


def test_fine_tuning_leaves_the_callers_random_state_as_it_was(tmp_path: Path) -> None:
    for cache_dir in (None, tmp_path, tmp_path):  # trained, trained and kept, loaded
        torch.manual_seed(123)
        expected = torch.rand(3)
        torch.manual_seed(123)
        fine_tune(untrained_model(DigitsCNN(), 0), context_with(cache_dir), SHORT)
        assert torch.equal(torch.rand(3), expected)
