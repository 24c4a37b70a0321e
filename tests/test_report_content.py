"""The report's sections, formats and pieces, on synthetic results (reports/load/synthetic.py) and hand-made frames."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.analysis.pareto import pareto_front
from reports.analysis.why import with_why
from reports.load.synthetic import synthetic_results
from reports.render.report import prepare, write_report
from reports.render.speedup_heatmap import heatmap_cells

SECTIONS = [
    "At a glance",
    "Runs and machines",
    "Recommendations",
    "Speedup heatmaps",
    "Pareto fronts: accuracy vs latency",
    "Pareto fronts: accuracy vs energy",
    "Summary per workload",
    "Energy per inference",
    "Cost per million inferences",
    "One-time costs",
    "Roofline of the simulated devices †",
    "Not measured",
]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    results = synthetic_results(rows=240, workloads=2, devices=4)  # 2 real, 2 simulated devices; 15 techniques
    return write_report(results, tmp_path_factory.mktemp("report"))


def test_every_section_is_in_both_documents_and_linked_from_the_contents(written: dict[str, Path]) -> None:
    html, markdown = written["html"].read_text(), written["md"].read_text()
    for title in SECTIONS:
        assert f">{title}</h2>" in html.replace("&amp;", "&"), title
        assert f"\n## {title}\n" in markdown, title
    anchors = re.findall(r'<h[23] id="([^"]+)"', html)
    links = re.findall(r'<a href="#([^"]+)"', html)
    assert len(anchors) == len(set(anchors)) and sorted(anchors) == sorted(links)  # every section, once, linked
    assert all(f"](#{a})" in markdown for a in anchors)
    # the first screen answers the question: the at-a-glance figures come before every other section
    positions = [html.find(f">{title}</h2>") for title in SECTIONS]
    assert positions == sorted(positions) and html.count('<img alt="') >= 1
    assert markdown.index("glance-work-0.png") < markdown.index("## Runs and machines")
    assert html.index(">At a glance</h2>") < html.index('<nav id="contents">')  # the answer before the contents
    assert markdown.index("glance-work-0.png") < markdown.index("Contents:")


def test_energy_and_cost_carry_their_method_in_every_format(written: dict[str, Path]) -> None:
    for frame in (pd.read_csv(written["csv"]), pd.read_parquet(written["parquet"])):
        ok = frame[frame["status"] == "ok"]
        assert set(ok["energy_method"]) == {"estimated", "simulated"} and ok["energy_per_inference_j"].notna().all()
        assert set(ok["cost_method"]) == {"measured", "simulated"} and ok["cost_per_million_usd"].notna().all()
        assert (ok["cost_method"] == "simulated").eq(ok["simulated"]).all()
    for text in (written["md"].read_text(), written["html"].read_text()):
        assert re.search(r"[0-9.]+ [mµn]?J estimated", text) and re.search(r"[0-9.]+ [mµn]?J simulated", text)
        assert re.search(r"\$[0-9.]+ measured", text) and re.search(r"\$[0-9.]+ simulated", text)
        assert "energy method" in text and "cost method" in text and "price source" in text


def test_heatmap_marks_simulated_columns_paired_wins_and_no_significant_difference() -> None:
    results, _ = prepare(synthetic_results(rows=240, workloads=2, devices=4))
    text, colour, simulated = heatmap_cells(results, "work-0", 1)
    assert list(text.columns[:2]) == ["cpu", "cuda"] and all(simulated[d] for d in text.columns[2:])
    cases = results[(results["workload"] == "work-0") & (results["batch_size"] == 1) & (results["status"] == "ok")]
    for row in cases.itertuples():
        cell = text.loc[row.technique, row.device]
        mark = " ⚠" if isinstance(row.speedup_check, str) else ""
        if row.speedup_basis == "paired" and row.speedup_verdict == "no significant difference":
            assert cell == "≈1" + mark and colour.loc[row.technique, row.device] == colour.loc["fp32", row.device]
        elif row.speedup_basis == "paired":
            assert cell == f"**{row.speedup_shown:.2g}x**" + mark
        else:
            assert cell == f"{row.speedup_shown:.2g}x"
    assert (text == "≈1").any().any() and text.apply(lambda c: c.str.startswith("**")).any().any()


def test_a_case_whose_paired_and_unpaired_speedups_disagree_is_marked_with_the_likely_reason() -> None:
    from reports.analysis.speedups import with_speedup_evidence

    frame = pd.DataFrame(
        dict(
            status="ok",
            simulated=False,
            speedup=[2.0, 2.0, 1.5],
            paired_speedup=[2.1, 3.0, None],
            paired_speedup_ci_low=[2.0, 2.9, None],
            paired_speedup_ci_high=[2.2, 3.1, None],
            paired_verdict="faster",
            load_avg_1m=[0.2, 2.5, 0.2],
        )
    )
    out = with_speedup_evidence(frame)
    assert out["speedup_disagreement"].tolist()[:2] == pytest.approx([0.05, 0.5])
    assert out["speedup_check"].isna().tolist() == [True, False, True]  # 5% agrees; unpaired-only is not checked
    assert "differ by +50%" in out.loc[1, "speedup_check"] and "load 2.5" in out.loc[1, "speedup_check"]
    assert "a probe beside them" not in out.loc[1, "speedup_check"]  # no probe readings: not the reason given


def test_a_disagreement_timed_at_two_machine_speeds_says_so() -> None:
    """The probe beside fp32's timing read 1.8x the machine's best, beside the case's 1.0x: the unpaired ratio
    compares two speeds of the machine, and the paired rounds (taken together) are the figure to trust."""
    from reports.analysis.speedups import with_baseline_ratios, with_speedup_evidence

    frame = pd.DataFrame(
        dict(
            status="ok",
            simulated=False,
            device="cpu",
            workload="w",
            batch_size=1,
            technique=["fp32", "compile", "prune"],
            latency_median_s=[1.8e-4, 1.0e-4, 1.0e-4],
            accuracy=0.9,
            paired_speedup=[None, 1.0, 1.0],
            paired_speedup_ci_low=[None, 0.95, 0.95],
            paired_speedup_ci_high=[None, 1.05, 1.05],
            paired_verdict="no significant difference",
            machine_slowdown=[1.8, 1.0, 1.7],
        )
    )
    out = with_speedup_evidence(with_baseline_ratios(frame)).set_index("technique")
    assert out.loc["compile", "baseline_machine_slowdown"] == pytest.approx(1.8)
    check = out.loc["compile", "speedup_check"]
    assert (
        "the machine's speed changed" in check
        and "1.8x its usual time while fp32" in check
        and "trust the paired" in check
    )
    # both timed in the same slow episode: the unpaired ratio still disagrees, but not for this reason
    assert "a probe beside them" not in out.loc["prune", "speedup_check"]


def test_the_page_marks_simulated_columns(written: dict[str, Path]) -> None:
    html = written["html"].read_text()
    assert '<th class="sim">sim-d00 †</th>' in html and '<th class="real">cpu</th>' in html
    assert 'class="sim" style="background-color:#' in html and "<strong>" in html


@pytest.mark.parametrize(
    "cost, quality, front",
    [
        ([1, 2, 3], [90, 95, 99], [True, True, True]),  # each dearer point is more accurate
        ([1, 2, 3], [99, 95, 90], [True, False, False]),  # the cheapest is also the best
        ([2, 1, 1, 3], [95, 90, 94, 95], [True, False, True, False]),  # equal cost: the more accurate one
    ],
)
def test_the_pareto_front_is_the_set_no_other_point_beats(cost, quality, front) -> None:
    assert pareto_front(cost, quality).tolist() == front


def test_why_names_the_recorded_facts() -> None:
    rows = pd.DataFrame(
        [
            dict(device="cpu", workload="w", technique="fp32", batch_size=1, speedup=1.0),
            dict(device="cpu", workload="w", technique="int8-static", batch_size=1, speedup=0.5, fast_path=False),
            dict(device="cpu", workload="w", technique="compile", batch_size=1, speedup=0.8),
            dict(device="cpu", workload="w", technique="compile", batch_size=64, speedup=1.7),
            dict(device="cpu", workload="w", technique="depthwise", batch_size=1, speedup=0.9, flops_ratio=0.25),
            dict(
                device="sim-x", workload="w", technique="bf16", batch_size=1, speedup=0.7, simulated=True, upcast_ops=3
            ),
            dict(device="cpu", workload="w", technique="bn-fold", batch_size=1, speedup=1.2),
            # the number format is read from the recorded technique_dtype, never guessed from the name
            dict(device="cpu", workload="w", technique="q-eager", batch_size=1, speedup=0.4, runtime="eager")
            | dict(technique_dtype="int8"),
            dict(device="cpu", workload="w", technique="int8-ish", batch_size=1, speedup=0.4, runtime="eager")
            | dict(technique_dtype="fp32"),
        ]
    ).assign(status="ok", speedup_shown=lambda f: f["speedup"], speedup_verdict=None)
    rows["simulated"] = rows["simulated"].fillna(False).astype(bool)
    why = with_why(rows).set_index(["technique", "batch_size"])["why"]
    assert "no int8 kernel was made" in why[("int8-static", 1)]
    assert "shape too small" in why[("compile", 1)] and "1.70x at batch 64" in why[("compile", 1)]
    assert "FLOPs fell to 0.25x but latency rose" in why[("depthwise", 1)]
    assert "3 ops up-cast" in why[("bf16", 1)]
    assert "not compiled: quantized tensors dispatched op by op" in why[("q-eager", 1)]
    assert "not compiled" not in why[("int8-ish", 1)]
    assert why[("bn-fold", 1)] == "" and why[("compile", 64)] == "" and why[("fp32", 1)] == ""


def test_nothing_is_dropped_from_the_outputs(written: dict[str, Path]) -> None:
    frame = pd.read_csv(written["csv"])
    assert len(frame) == len(synthetic_results(rows=240, workloads=2, devices=4))
    assert set(frame["status"]) <= {"ok", "skipped", "error"}
    recs = pd.read_csv(written["recommendations"])
    assert len(recs) == 2 * 2 * 2 * 3  # workloads x batch sizes x budgets x objectives
    assert np.isin(recs["basis"].dropna().unique(), ["measured", "estimated", "simulated"]).all()


def test_plot_functions_draw_on_the_axes_they_are_given_and_labels_burn_into_the_png() -> None:
    import matplotlib.pyplot as plt
    from PIL import Image as PILImage

    from reports.render.figures import png
    from reports.render.labels import Label, LabelOverlay
    from reports.render.pareto_fronts import plot_pareto

    frame = pd.DataFrame(
        {
            "technique": ["fp32", "int8", "slow"],
            "batch_size": [1, 1, 1],
            "latency_median_s": [2e-3, 1e-3, 3e-3],
            "accuracy": [0.98, 0.97, 0.90],
        }
    )
    fig, ax = plt.subplots()
    plot_pareto(frame, "latency_median_s", ax)  # no overlay: ordinary matplotlib annotations
    assert sorted(t.get_text() for t in ax.texts) == ["fp32", "int8"] and ax.get_xscale() == "log"
    plt.close(fig)
    pictures = []
    for text in ("", "WWWWWW"):
        fig, ax = plt.subplots(figsize=(2, 1))
        labels = LabelOverlay([Label(ax, 0.5, 0.5, text, size_pt=12)] if text else [])
        pictures.append(np.asarray(PILImage.open(io.BytesIO(png(fig, labels=labels)))))
    assert pictures[0].shape == pictures[1].shape and (pictures[0] != pictures[1]).any()
