"""The shape of the house: imports flow one way (docs/architecture.md), no import circles, reports never load torch,
registry names agree with their modules, and the tree is formatted."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AXES = {"devices", "techniques", "workloads", "training"}
# package -> the project's packages it may import (besides itself); docs/architecture.md states the same table
MAY_IMPORT: dict[str, set[str]] = {
    "accelbench": set(),
    **{axis: {"accelbench"} for axis in AXES},
    "reports": {"accelbench"},
    "parallel": {"accelbench", *AXES},
    "conftest": {"accelbench", *AXES},
    "benchmarks": {"accelbench", *AXES, "reports"},
    "tools": {"accelbench", *AXES, "reports", "parallel", "benchmarks"},
}
# what reports may load of the core: the modules that know files and numbers, none that imports torch
REPORTS_MAY_IMPORT = {"accelbench", "accelbench.energy", "accelbench.files", "accelbench.results", "accelbench.stats"}
# within reports, data flows load -> analysis -> render; regress judges loaded runs; reports.text serves every stage
STAGE_MAY_IMPORT = {
    "load": {"load", "text"},
    "analysis": {"load", "analysis", "text"},
    "render": {"load", "analysis", "render", "text"},
    "regress": {"load", "regress", "text"},
    "text": set(),
}


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every Python file of the project's packages (tests excluded)."""
    found = {"conftest": root / "conftest.py"}
    for package in MAY_IMPORT:
        for path in sorted((root / package).rglob("*.py")) if (root / package).is_dir() else ():
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports, anywhere in the file (functions included), resolved to files: `from a
    import b` names the module a.b where there is one, else a."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def package_of(module: str) -> str:
    return module.split(".", 1)[0]


def upward_imports(graph: dict[str, set[str]], rules: dict[str, set[str]] = MAY_IMPORT) -> list[str]:
    """Every import from one package into another its row of `rules` does not allow, as 'a -> b'."""
    bad = []
    for module, targets in sorted(graph.items()):
        if module.endswith(".__main__") and module.count(".") > 1:
            continue  # a command inside a package (`python -m devices.simulated`): an entry point, like tools/
        here = package_of(module)
        for target in sorted(targets):
            there = package_of(target)
            if there != here and there not in rules.get(here, set()):
                bad.append(f"{module} -> {target}")
    return bad


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): each is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_runs_upward() -> None:
    assert upward_imports(import_graph()) == []


def test_no_import_circle() -> None:
    assert circles(import_graph()) == []


def test_reports_import_only_the_core_modules_that_know_files() -> None:
    graph = import_graph()
    reached = {t for m, targets in graph.items() if package_of(m) == "reports" for t in targets}
    assert {t for t in reached if package_of(t) != "reports"} <= REPORTS_MAY_IMPORT


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGE_MAY_IMPORT) else None


def backward_stage_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports between the stages of reports that run against the flow (render -> analysis is fine, not back)."""
    bad = []
    for module, targets in sorted(graph.items()):
        here = stage_of(module) if package_of(module) == "reports" else None
        for target in sorted(targets):
            there = stage_of(target) if package_of(target) == "reports" else None
            if here in STAGE_MAY_IMPORT and there is not None and there not in STAGE_MAY_IMPORT[here]:
                bad.append(f"{module} -> {target}")
    return bad


def test_reports_stages_import_along_the_flow() -> None:
    assert backward_stage_imports(import_graph()) == []
    assert backward_stage_imports({"reports.analysis.x": {"reports.render.y"}}) == [
        "reports.analysis.x -> reports.render.y"
    ]


def test_the_checks_catch_an_upward_import_and_a_circle() -> None:
    graph = {"devices.cpu": {"techniques.base"}, "accelbench.a": {"accelbench.b"}, "accelbench.b": {"accelbench.a"}}
    assert upward_imports(graph) == ["devices.cpu -> techniques.base"]
    assert circles(graph) == [["accelbench.a", "accelbench.b"]]


def test_reports_never_load_torch() -> None:
    """Building a report must not pay for torch: every reports module imports without it."""
    modules = sorted(m for m in project_modules() if package_of(m) == "reports" and not m.endswith("__main__"))
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _module_words(plugin) -> str:
    return type(plugin).__module__.rsplit(".", 1)[-1].replace("_", "-")


# a plug-in class that makes many names from data: the rows live where it is registered, not in its module's name
DATA_DEFINED = {
    "Recipe": "training/__init__.py",
    "Composed": "techniques/__init__.py (a+b compositions)",
    "StandardWorkload": "workloads/__init__.py (rows of workloads/standard.py's STANDARD)",
}


@pytest.mark.parametrize("axis", ["techniques", "workloads"])  # training's recipes are all rows of Recipe
def test_registry_names_agree_with_module_names(axis: str) -> None:
    import importlib

    registry = importlib.import_module(axis).REGISTRY
    wrong = [
        f"{p.name} is defined in {type(p).__module__}"
        for p in registry
        if type(p).__name__ not in DATA_DEFINED and _module_words(p) not in p.name
    ]
    assert wrong == []


def test_device_names_agree_with_their_modules_and_profiles() -> None:
    import devices

    for device in devices.REGISTRY:
        if device.simulated:
            assert device.profile.path.stem == device.name
        else:
            assert _module_words(device) == device.name


def test_the_tree_is_formatted() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        if os.environ.get("CI"):
            pytest.fail("ruff is not installed (the `dev` extra has it): the formatting check cannot run in CI")
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    out = subprocess.run([ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
