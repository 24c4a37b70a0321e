from __future__ import annotations

import pytest

import devices
import techniques
import workloads
from accelbench import registry
from accelbench.registry import NAME_PATTERN, PluginLoadWarning, Registry, UnknownNameError

REGISTRIES = {"device": devices.REGISTRY, "workload": workloads.REGISTRY, "technique": techniques.REGISTRY}


@pytest.mark.parametrize("kind", REGISTRIES)
def test_names_are_kebab_case_and_match_plugins(kind: str) -> None:
    reg = REGISTRIES[kind]
    assert reg.names(), f"no {kind} registered"
    for name in reg.names():
        assert NAME_PATTERN.match(name), name
        assert reg.get(name).name == name


def test_the_foundation_matrix_is_registered() -> None:
    assert {"cpu", "cuda"} <= set(devices.REGISTRY.names())
    assert {"digits-mlp", "digits-cnn"} <= set(workloads.REGISTRY.names())
    assert {"fp32", "bf16", "int8-dynamic", "compile"} <= set(techniques.REGISTRY.names())
    assert techniques.BASELINE in techniques.REGISTRY.names()


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown technique 'int9'.*fp32.*int8-dynamic"):
        techniques.REGISTRY.get("int9")


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name


@pytest.mark.parametrize("bad", ["Int8", "int8_dynamic", "", "-x", "a b"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="kebab-case"):
        Registry("thing").add(_Named(bad))


def test_duplicate_names_are_refused() -> None:
    reg = Registry("thing")
    reg.add(_Named("a"))
    with pytest.raises(ValueError, match="already registered"):
        reg.add(_Named("a"))


class _EntryPoint:
    def __init__(self, name: str, target: object) -> None:
        self.name, self.value, self._target = name, f"demo:{name}", target

    def load(self) -> object:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_entry_points_are_loaded_and_a_broken_one_does_not_hide_the_others(monkeypatch) -> None:
    class Good:
        name = "good-one"

    found = [_EntryPoint("good-one", Good), _EntryPoint("bad-one", ImportError("no module named demo"))]
    monkeypatch.setattr(registry, "entry_points", lambda group: found if group == "demo.group" else [])
    reg = Registry("thing", group="demo.group")
    reg.add(_Named("builtin"))
    with pytest.warns(PluginLoadWarning, match="'bad-one'.*no module named demo"):
        names = reg.names()
    assert names == ["builtin", "good-one"]
    assert isinstance(reg.get("good-one"), Good)


def test_reports_and_techniques_agree_on_the_baseline() -> None:
    from reports.analysis.speedups import BASELINE

    assert BASELINE == techniques.BASELINE


def test_techniques_compose_by_name_left_to_right() -> None:
    composed = techniques.resolve("prune-l1-50+int8-dynamic")
    assert composed.name == "prune-l1-50+int8-dynamic"
    assert [p.name for p in composed.parts] == ["prune-l1-50", "int8-dynamic"]
    with pytest.raises(UnknownNameError, match="unknown technique 'int9'"):
        techniques.resolve("prune-l1-50+int9")
