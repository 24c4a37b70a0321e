"""The recommendation logic (reports/analysis/recommend.py) on a hand-made DataFrame with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports.analysis.recommend import recommend, recommendation_table

ROWS = [
    # device, simulated, technique, accuracy, latency s, energy J, energy method, cost USD/M, cost method
    ("cpu", False, "fp32", 0.900, 10e-3, 1.0e-3, "estimated", 2.0, "measured"),
    ("cpu", False, "int8-static", 0.895, 5e-3, 0.5e-3, "estimated", 1.0, "measured"),  # 99.4% of fp32
    ("cpu", False, "compile", 0.900, 8e-3, 0.8e-3, "estimated", 1.6, "measured"),
    ("sim-a", True, "fp32", 0.900, 2e-3, 0.2e-3, "simulated", 0.5, "simulated"),
    ("sim-a", True, "int8-static", 0.895, 1e-3, 0.1e-3, "simulated", 0.25, "simulated"),
    ("sim-b", True, "fp32", 0.900, 2.0001e-3, 0.3e-3, "simulated", 0.9, "simulated"),  # ties sim-a to 3 digits
    ("sim-b", True, "int8-static", 0.880, 0.5e-3, 0.05e-3, "simulated", 0.1, "simulated"),  # 97.8%: below both
]
COLUMNS = [
    "device",
    "simulated",
    "technique",
    "accuracy",
    "latency_median_s",
    "energy_per_inference_j",
    "energy_method",
    "cost_per_million_usd",
    "cost_method",
]


def frame(rows=ROWS, workload: str = "w", batch_size: int = 1) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=COLUMNS).assign(workload=workload, batch_size=batch_size, status="ok")
    return out


def pick(recs: pd.DataFrame, budget: float, objective: str, workload: str = "w") -> pd.Series:
    found = recs[(recs["workload"] == workload) & (recs["budget"] == budget) & (recs["objective"] == objective)]
    assert len(found) == 1
    return found.iloc[0]


def test_the_best_qualifying_case_per_objective_and_budget() -> None:
    recs = recommend(frame())
    assert len(recs) == 1 * 2 * 3  # one workload and batch size, two budgets, three objectives
    latency = pick(recs, 0.99, "latency")
    assert (latency["device"], latency["technique"]) == ("sim-a", "int8-static")  # sim-b's int8 misses 99%
    assert latency["basis"] == "simulated" and "best measured: cpu + int8-static (5 ms)" in latency["note"]
    cost = pick(recs, 0.99, "cost")
    assert cost["value"] == 0.25 and cost["basis"] == "simulated"


def test_a_tie_is_reported_and_broken_the_same_way_whatever_the_row_order() -> None:
    for seed in range(5):
        shuffled = frame().sample(frac=1.0, random_state=seed)
        latency = pick(recommend(shuffled), 0.999, "latency")  # the int8 rows miss 99.9%
        assert (latency["device"], latency["technique"]) == ("sim-a", "fp32")
        assert latency["note"].startswith("tie: sim-a † + fp32, sim-b † + fp32")


def test_a_budget_nobody_meets_says_so_with_the_closest_case() -> None:
    rows = [r for r in ROWS if r[2] != "fp32"]  # no case keeps fp32's accuracy...
    rows.append(("cpu", False, "fp32", np.nan, 10e-3, 1e-3, "estimated", 2.0, "measured"))  # ...and fp32's is unknown
    recs = recommend(pd.concat([frame(), frame(rows, workload="v")]), budgets=(0.99, 1.01))
    over = pick(recs, 1.01, "latency")  # above fp32's own accuracy: nobody
    assert pd.isna(over["device"]) and over["answer"] == "no case meets 101.0% of fp32 accuracy"
    assert over["note"].startswith("closest: ") and "100.00%" in over["note"]
    unknown = pick(recs, 0.99, "energy", workload="v")  # no fp32 accuracy to compare with: nothing qualifies
    assert pd.isna(unknown["device"]) and "no case meets" in unknown["answer"]


def test_simulated_only_answers_are_marked() -> None:
    rows = [r[:5] + (np.nan, None) + r[7:] if not r[1] else r for r in ROWS]  # the CPU recorded no energy
    energy = pick(recommend(frame(rows)), 0.99, "energy")
    assert energy["simulated"] and energy["basis"] == "simulated"
    assert "simulated only: no measured case qualifies" in energy["note"]
    latency = pick(recommend(frame(rows)), 0.99, "latency")
    assert "simulated only" not in latency["note"]  # the CPU's latency is measured and qualifies


def test_batch_sizes_are_separate_questions_and_measured_answers_say_how() -> None:
    cpu_only = [r for r in ROWS if not r[1]]
    recs = recommend(pd.concat([frame(cpu_only, batch_size=1), frame(cpu_only, batch_size=64)]))
    assert sorted(recs["batch_size"].unique()) == [1, 64]
    energy = pick(recs[recs["batch_size"] == 64], 0.99, "energy")
    assert (energy["device"], energy["technique"], energy["basis"]) == ("cpu", "int8-static", "estimated")
    assert pick(recs[recs["batch_size"] == 1], 0.999, "latency")["technique"] == "compile"


def test_the_table_has_a_row_per_question_and_a_column_per_objective() -> None:
    table = recommendation_table(recommend(frame()))
    assert list(table.columns) == ["by latency", "by energy", "by cost"] and len(table) == 2
    cell = table.loc["w · b=1 · 99.0% of fp32", "by latency"]
    assert cell.startswith("sim-a † + int8-static · 1 ms (simulated)") and "best measured" in cell


@pytest.mark.parametrize("missing", ["energy_per_inference_j", "cost_per_million_usd"])
def test_a_figure_no_case_recorded_is_named(missing: str) -> None:
    recs = recommend(frame().drop(columns=[missing]))
    objective = "energy" if missing.startswith("energy") else "cost"
    assert pick(recs, 0.99, objective)["answer"] == f"no qualifying case has a {objective} figure"


def test_a_workload_without_measured_quality_gets_fp32_per_budget_and_an_any_format_answer() -> None:
    rows = [r[:3] + (np.nan,) + r[4:] for r in ROWS]  # the standard models: priced from shapes, no quality
    recs = recommend(pd.concat([frame(), frame(rows, workload="u")]))
    budget = pick(recs, 0.99, "latency", workload="u")
    assert (budget["device"], budget["technique"]) == ("sim-a", "fp32")  # fp32 is the reference: it meets any budget
    found = recs[(recs["workload"] == "u") & recs["budget"].isna() & (recs["objective"] == "latency")]
    assert len(found) == 1 and (found.iloc[0]["device"], found.iloc[0]["technique"]) == ("sim-b", "int8-static")
    assert recs[(recs["workload"] == "w") & recs["budget"].isna()].empty  # a measured workload: budgets only
    assert "u · b=1 · any format, quality not measured" in recommendation_table(recs).index


def test_a_simulated_case_without_quality_carries_the_hosts() -> None:
    rows = [r[:3] + (np.nan,) + r[4:] if r[1] else r for r in ROWS]  # simulated rows priced from shapes
    rows = [r for r in rows if not (r[0] == "cpu" and r[2] == "compile")]
    latency = pick(recommend(frame(rows)), 0.99, "latency")
    # sim-b's int8 (0.5 ms) carries the cpu's int8 accuracy (99.4% of fp32) and now qualifies
    assert (latency["device"], latency["technique"], latency["accuracy_ratio"]) == (
        "sim-b",
        "int8-static",
        pytest.approx(0.895 / 0.9),
    )


def test_without_quality_or_an_fp32_case_the_budget_says_why_nothing_qualifies() -> None:
    rows = [r[:3] + (np.nan,) + r[4:] for r in ROWS if r[2] != "fp32"]  # fp32 did not fit on any device
    recs = recommend(frame(rows))
    assert (
        pick(recs, 0.99, "latency")["answer"]
        == "quality not measured, and no fp32 case ran (the reference of the budget)"
    )
    found = recs[recs["budget"].isna() & (recs["objective"] == "latency")]
    assert found.iloc[0]["technique"] == "int8-static"


def test_the_profile_calibrated_on_this_cpu_is_never_recommended_beside_it() -> None:
    rows = frame().assign(cpu_model=None, calibrated_on=None)
    rows.loc[rows["device"] == "cpu", "cpu_model"] = "AMD EPYC"
    rows.loc[rows["device"] == "sim-b", "calibrated_on"] = "AMD EPYC"  # sim-b models this very CPU
    latency = pick(recommend(rows), 0.999, "latency")
    assert latency["device"] == "sim-a" and "sim-b" not in latency["note"]  # the tie with sim-b is gone
    other = rows.assign(calibrated_on=rows["calibrated_on"].replace("AMD EPYC", "Intel Xeon"))  # another CPU's model
    assert "sim-b" in pick(recommend(other), 0.999, "latency")["note"]


def test_best_per_device_is_the_fastest_case_within_the_budget_on_each_device() -> None:
    from reports.analysis.recommend import best_per_device

    best = best_per_device(frame(), 0.99).set_index("device")
    assert best.loc["cpu", "technique"] == "int8-static"  # 99.4% of fp32: within 99%
    assert best.loc["sim-b", "technique"] == "fp32"  # its int8 (97.8%) is not
    assert best["quality_known"].all() and len(best) == 3
    unmeasured = best_per_device(frame([r[:3] + (np.nan,) + r[4:] for r in ROWS]), 0.99).set_index("device")
    assert unmeasured.loc["sim-b", "technique"] == "int8-static" and not unmeasured["quality_known"].any()


def test_the_glance_line_names_the_fastest_choice_per_batch_at_every_budget() -> None:
    from reports.analysis.recommend import best_per_device
    from reports.render.at_a_glance import glance_line

    bests = {budget: best_per_device(frame(), budget) for budget in (0.99, 0.999)}
    line = glance_line(bests, "w")
    fastest = {b: bests[b].loc[bests[b]["latency_median_s"].idxmin()] for b in bests}
    assert line.startswith("w, the fastest: batch 1: ")
    for budget, top in fastest.items():
        mark = " †" if top["simulated"] else ""
        assert f"{top['device']}{mark} {top['technique']}, " in line and f"(within {budget * 100:g}%)" in line
    unmeasured = best_per_device(frame([r[:3] + (np.nan,) + r[4:] for r in ROWS]), 0.99)
    once = glance_line({0.99: unmeasured, 0.999: unmeasured}, "w")
    assert once.count("quality not measured") == 1  # the same answer at every budget is said once
    same = glance_line({0.99: bests[0.999], 0.999: bests[0.999]}, "w")
    assert same.endswith(f"{fastest[0.999]['technique']}, 2 ms (within 99% and 99.9%).")
