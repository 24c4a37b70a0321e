"""The results schema (accelbench/results.py): every recorded field declared once, the reference page generated from
it, and the entries every writer builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import accelbench.results as col

ROOT = Path(__file__).resolve().parents[1]
RUNS = sorted((ROOT / "tests" / "data").glob("*-run.json"))


def test_the_reference_page_is_the_schema() -> None:
    page = ROOT / "docs" / "results.md"
    assert page.read_text(encoding="utf-8") == col.reference(), (
        "docs/results.md is stale: python -m accelbench.results > docs/results.md"
    )


def test_every_field_is_named_once_with_a_type_and_a_meaning() -> None:
    names = [f.name for f in col.FIELDS]
    assert len(names) == len(set(names))
    assert all(f.type in {"str", "int", "float", "bool", "json"} and f.meaning for f in col.FIELDS)


@pytest.mark.parametrize("run", RUNS, ids=lambda p: p.name)
def test_every_recorded_field_of_a_saved_run_is_declared(run: Path) -> None:
    raw = json.loads(run.read_text())
    recorded = {k for b in raw["benchmarks"] for k in (b.get("extra_info") or {})}
    facts = {k for f in raw["machine_info"]["accelbench"]["devices"].values() for k in f if k != "plugin_facts"}
    assert col.undeclared(dict.fromkeys(recorded | facts)) == []


def test_families_match_their_members_only() -> None:
    assert col.field_of("projected_step_s_64").name == "projected_step_s_{devices}"
    assert col.field_of("time_compute_s").name == "time_{bound}_s"
    assert col.field_of("flag_avx512_bf16").name == "flag_{flag}"
    assert col.undeclared({"latency_median_s": 1, "made_up_figure": 2}) == ["made_up_figure"]


def test_an_outcome_is_an_error_or_a_skip() -> None:
    entry = col.outcome_entry("c", "f::c", col.SKIPPED, "why", {"device": "cpu"})
    assert entry["status"] == "skipped" and entry["message"] == "why"
    with pytest.raises(ValueError, match="'error' or 'skipped'"):
        col.outcome_entry("c", "f::c", "ok", "", {})


def test_a_timed_entry_reads_back_as_a_run(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    params = {"nproc": 2, "device": "cpu"}
    entry = col.timed_entry("ddp[x]", "parallel::ddp[x]", params, {"samples_per_s": 3.0, "stages": [1]}, [1, 3])
    col.merge_into(out, entries=[entry])
    run = col.read_run(out)
    (saved,) = run[col.BENCHMARKS]
    assert saved["stats"]["median"] == 2.0 and saved["stats"]["rounds"] == 2
    assert saved["extra_info"] == {"samples_per_s": 3.0, "stages": "[1]"}  # flat scalars only
    with pytest.raises(ValueError, match=r"undeclared fields \['odd'\]"):
        col.timed_entry("ddp[x]", "parallel::ddp[x]", {}, {"odd": 1}, [1.0])
    assert col.partial_reason(run) is None
