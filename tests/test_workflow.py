"""The CI example must stay runnable as documented: it gates on `make regress` and posts regress.md."""

from __future__ import annotations

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (it only checks the workflow example's syntax)")
WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "bench.yml"


def test_the_workflow_example_runs_make_regress_and_posts_its_summary() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = {job: [step.get("run", "") for step in spec["steps"]] for job, spec in workflow["jobs"].items()}
    assert "make regress" in steps["regress"] and "make baseline" in steps["baseline"]
    assert any("regress.md" in run and "GITHUB_STEP_SUMMARY" in run for run in steps["regress"])
