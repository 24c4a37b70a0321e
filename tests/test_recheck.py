"""Measuring latency suspects again beside the baseline's own code (tools.recheck) and the gate's use of it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import tools.gate as gate
import tools.recheck as recheck_module
from tools.recheck import Recheck, baseline_code, recheck

SAMPLE = Path(__file__).parent / "data" / "sample-run.json"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with two commits of code.py: "old" then "new"."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for text in ("old", "new"):
        (root / "code.py").write_text(text)
        git(root, "add", "code.py")
        git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", text)
    return root


def test_the_baselines_commit_is_checked_out_beside_and_removed_after(repo: Path) -> None:
    old = git(repo, "rev-parse", "HEAD~1")
    with baseline_code({"commit_info": {"id": old, "dirty": True}}, repo) as (tree, note):
        assert tree is not None and (tree / "code.py").read_text() == "old"
        assert (repo / "code.py").read_text() == "new"  # the working tree is untouched
        assert old[:12] in note and "uncommitted changes" in note
    assert not tree.exists() and str(tree) not in git(repo, "worktree", "list")


@pytest.mark.parametrize(
    "commit_info, why",
    [
        ({}, "the baseline records no commit"),
        ({"id": "0123456789abcdef0123456789abcdef01234567"}, "0123456789ab is not in this clone (fetch it"),
    ],
)
def test_without_the_baselines_code_it_says_why(repo: Path, commit_info: dict, why: str) -> None:
    with baseline_code({"commit_info": commit_info}, repo) as (tree, note):
        assert tree is None and why in note


def test_suspects_run_base_new_new_base_each_in_its_own_code(repo: Path, tmp_path: Path, monkeypatch) -> None:
    runs = []

    def fake_measure(node_ids, pytest_args, cwd, out):
        runs.append(((Path(cwd) / "code.py").read_text(), out.name, node_ids, pytest_args))
        return out

    monkeypatch.setattr(recheck_module, "measure", fake_measure)
    base_raw = {"commit_info": {"id": git(repo, "rev-parse", "HEAD~1")}}
    result = recheck(["b::t[a]"], base_raw, ["--benchmark-max-time=0.1"], tmp_path / "run", root=repo)
    assert [(code, name) for code, name, _, _ in runs] == [
        ("old", "run-recheck-base-1.json"),
        ("new", "run-recheck-new-1.json"),
        ("new", "run-recheck-new-2.json"),
        ("old", "run-recheck-base-2.json"),
        ("old", "run-recheck-base-3.json"),
        ("new", "run-recheck-new-3.json"),
        ("new", "run-recheck-new-4.json"),
        ("old", "run-recheck-base-4.json"),
    ]
    assert all(ids == ["b::t[a]"] and args == ["--benchmark-max-time=0.1"] for _, _, ids, args in runs)
    assert [(b.name, n.name) for b, n in result.pairs] == [
        (f"run-recheck-base-{n}.json", f"run-recheck-new-{n}.json") for n in range(1, 5)
    ]
    runs.clear()
    alone = recheck(["b::t[a]"], {"commit_info": {}}, [], tmp_path / "run", root=repo)
    assert [(code, name) for code, name, _, _ in runs] == [("new", "run-recheck.json")]
    assert alone.pairs == [] and "against the stored baseline" in alone.note


def test_the_recheck_measures_only_undecided_cases_and_stops_at_its_budget(
    repo: Path, tmp_path: Path, monkeypatch
) -> None:
    measured = []
    monkeypatch.setattr(recheck_module, "measure", lambda ids, args, cwd, out: measured.append(list(ids)) or out)
    base_raw = {"commit_info": {"id": git(repo, "rev-parse", "HEAD~1")}}
    ids = ["b::t[a]", "b::t[b]", "b::t[c]"]
    verdicts = iter([{"t[a]", "t[b]"}, {"t[a]"}, set()])  # what each pair repeats: a case leaves once it is decided
    result = recheck(ids, base_raw, [], tmp_path / "run", root=repo, holds=lambda b, n, cases: next(verdicts) & cases)
    assert measured == [ids, ids, ids[:2], ids[:2], ["b::t[a]"], ["b::t[a]"]]  # base and new of each pair
    assert len(result.pairs) == 3 and "3 case(s), 3 pair(s)" in result.note
    assert "every case decided after 3 pair(s)" in result.note
    measured.clear()
    spent = recheck(ids, base_raw, [], tmp_path / "run", root=repo, holds=lambda b, n, cases: cases, budget_s=0)
    assert measured == [ids, ids] and "the 0 s budget was spent after 1 pair(s); 3 case(s) undecided" in spent.note


def _scaled(tmp_path: Path, name: str, factor: float) -> Path:
    raw = json.loads(SAMPLE.read_text())
    for bench in raw["benchmarks"]:
        bench["stats"]["data"] = [t * factor for t in bench["stats"]["data"]]
        bench["stats"]["median"] *= factor
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize("code_slower, status, verdict", [(True, 1, "❌ regression"), (False, 0, "not confirmed")])
def test_make_regress_fails_only_when_the_new_code_is_slower_beside_the_old(
    tmp_path: Path, monkeypatch, code_slower: bool, status: int, verdict: str
) -> None:
    """The run is 1.5x slower than the stored baseline. Measured again beside the baseline's code: either the new
    code is still 1.5x slower (a regression of the code) or both codes are now equally slow (the machine)."""
    slow = _scaled(tmp_path, "slow.json", 1.5)
    asked = []

    def fake_recheck(node_ids, base_raw, pytest_args, stem, root=Path("."), **bounds):
        asked.append((node_ids, pytest_args))
        pairs = [
            (_scaled(tmp_path, f"b{n}.json", 1.5), _scaled(tmp_path, f"n{n}.json", 2.25 if code_slower else 1.5))
            for n in (1, 2)
        ]
        return Recheck(pairs=pairs, note="side by side (test)")

    monkeypatch.setattr(gate, "recheck", fake_recheck)
    out = tmp_path / "out"
    assert (
        gate.main(["regress", str(slow), "--base", str(SAMPLE), "--out", str(out), "--pytest-args", "--x=1 -q"])
        == status
    )
    assert asked and asked[0][1] == ["--x=1", "-q"] and all("::" in node for node in asked[0][0])
    text = (out / "regress.md").read_text()
    assert verdict in text and "Re-check: side by side (test)." in text


@pytest.mark.parametrize(
    "node",
    ["--co", "-p no:x", "benchmarks/test_inference.py::test_inference[cpu a]", "/etc/passwd", "tests/x.py::t"],
)
def test_a_case_id_that_is_not_a_benchmark_node_id_is_refused(node: str, tmp_path: Path) -> None:
    from tools.recheck import UnsafeCaseId, measure

    with pytest.raises(UnsafeCaseId, match="not benchmark node ids"):
        measure(
            ["benchmarks/test_inference.py::test_inference[cpu-digits-mlp-fp32-1]", node],
            [],
            tmp_path,
            tmp_path / "o.json",
        )


def test_benchmark_node_ids_pass_the_check() -> None:
    from tools.recheck import checked

    ids = [
        "benchmarks/test_inference.py::test_inference[cpu-digits-mlp-prune-channels-50+int8-static-64]",
        "benchmarks/test_training.py::test_training[cpu-digits-cnn-sgd-64]",
        "benchmarks/test_standard.py::test_inference[sim-h100-llama-7b-decode-int4-weight-only-1]",
    ]
    assert checked(ids) == ids
