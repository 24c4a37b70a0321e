"""The report's text and table sections, from results that already carry ratios, costs, evidence and reasons."""

from __future__ import annotations

import pandas as pd

import accelbench.results as col
from reports.analysis.recommend import BUDGETS, TIE_DIGITS, recommendation_table
from reports.analysis.speedups import BASELINE
from reports.load.runs import machine_warnings, runs_table
from reports.render.document import Section
from reports.render.energy_tables import cost_table, energy_table, methods_table
from reports.render.tables import one_time_costs, paginate, summary_table
from reports.text import CHECK_MARK, CONTENDED_MARK, NOISY_MARK, SIMULATED_MARK, device_label, format_seconds

DEVICES_PER_TABLE = 6  # device columns per summary, energy or cost table; more devices paginate
LEGEND = (
    f"Summary cells: median latency · speedup versus {BASELINE} on the same device and batch size (above 1 is faster; "
    "[low-high] is its 95% paired bootstrap interval where the case was paired with the baseline, ≈1 where that "
    f"interval holds 1: no significant difference) · accuracy (change versus {BASELINE} in percentage points) · FLOPs "
    f"versus {BASELINE}, where they differ. {SIMULATED_MARK} marks a simulated device: its figures come from a cost "
    f"model, not a clock, and carry no interval. {NOISY_MARK} after a latency: its timing rounds spread widely; "
    f"{CONTENDED_MARK}: it was measured while other processes took over 20% of the CPU, or while the machine ran over 1.3x slower than "
    f"usual (not this machine's figure). "
    f"{CHECK_MARK} after a speedup: its paired and unpaired figures differ by over 10% (listed below the summaries)."
)


def header(results: pd.DataFrame) -> Section:
    runs = results.drop_duplicates(col.RUN_FILE)
    when = ", ".join(f"{r.run_file} ({r.run_datetime})" for r in runs.itertuples())
    counts = ", ".join(f"{n} {s}" for s, n in results[col.STATUS].value_counts().items())
    partial = [
        f"PARTIAL RESULTS: {reason}. Cases that had not finished are missing from every table."
        for reason in results.get(col.RUN_PARTIAL, pd.Series(dtype=str)).dropna().unique()
        if reason
    ]
    return Section("accelbench report", 1, partial + [f"Runs: {when}. Cases: {counts}.", LEGEND])


def runs_section(results: pd.DataFrame) -> Section:
    return Section(
        "Runs and machines",
        paragraphs=[
            "What each run was measured on. Two runs whose fingerprints differ measured different things: comparing "
            "their latencies compares machines."
        ],
        warnings=machine_warnings(results),
        tables=[("", runs_table(results))],
    )


def trust_section(results: pd.DataFrame) -> Section | None:
    """How far to trust the simulated columns: per simulated device of the run, its profile's error against the
    published measurements of the real device (make validate scores them), or that it was checked against none."""
    simulated = results[results[col.SIMULATED].fillna(False).astype(bool)].drop_duplicates(col.DEVICE)
    if simulated.empty:
        return None
    rows = []
    for row in simulated.to_dict("records"):
        checked = pd.to_numeric(row.get(col.PUBLISHED_ROWS), errors="coerce")
        if pd.isna(checked) or checked == 0:
            verdict = "not checked against any published measurement"
        else:
            verdict = (
                f"{int(checked)} published row(s): median error {row[col.PUBLISHED_MEDIAN_ABS_ERROR]:.0%}, "
                f"worst {row[col.PUBLISHED_WORST]}"
            )
            scored, now = row.get(col.PUBLISHED_SCORED_VERSION), row.get(col.PROFILE_VERSION)
            if isinstance(scored, str) and isinstance(now, str) and scored != now:
                verdict += f" (scored on profile version {scored}; now {now}: run make validate)"
        rows.append({"device": f"{row[col.DEVICE]} {SIMULATED_MARK}", "against the real device": verdict})
    return Section(
        "How far to trust the simulated columns",
        paragraphs=[
            "Each simulated device's profile priced the published measurements of the real device "
            "(devices/reference/published-measurements.csv: MLPerf, TensorRT demoBERT and TensorRT-LLM, Coral, Vitis AI, "
            "Ascend, each row with its source) through `python -m devices.simulated predict`; the error is predicted / "
            "published - 1 of the latency. `make validate` writes every row's error (validation-published.md)."
        ],
        tables=[("", pd.DataFrame(rows).set_index("device"))],
    )


def recommendations_section(recs: pd.DataFrame) -> Section:
    return Section(
        "Recommendations",
        paragraphs=[
            f"For each workload, batch size and accuracy budget ({' and '.join(f'{b:.1%}' for b in BUDGETS)} of the "
            f"{BASELINE} accuracy on the same device; a simulated device carries its host's accuracy), the best device + "
            "technique by latency, by energy per inference and by cost per million inferences, with how the figure was "
            f"obtained (measured, estimated or simulated). Batch sizes are separate questions. Figures equal to {TIE_DIGITS} "
            "significant digits are a tie (all named; measured first, then higher accuracy, then by name). Where the "
            "answer is simulated, the best measured case follows. recommendations.csv holds every row."
        ],
        tables=[("", recommendation_table(recs))] if not recs.empty else [],
        bullets=[] if not recs.empty else ["No case has an accuracy to judge."],
    )


def _why_column(frame: pd.DataFrame, rows: pd.Index, columns: list[str]) -> list[str]:
    """Per table row, the reasons of its cases in `columns`, devices with the same reason grouped."""
    frame = frame[frame["column"].isin(columns) & frame[col.WHY].astype(bool)]
    grouped: dict[str, dict[str, list[str]]] = {}
    for row, why, column in zip(frame["row"], frame[col.WHY], frame["column"]):
        grouped.setdefault(row, {}).setdefault(why, []).append(column)
    return [" | ".join(f"{', '.join(devices)}: {why}" for why, devices in grouped.get(row, {}).items()) for row in rows]


def summary_sections(results: pd.DataFrame) -> list[Section]:
    out = [
        Section(
            "Summary per workload",
            paragraphs=[
                "why: what the recorded facts say about a case slower than the baseline, or whose FLOPs fell while its latency "
                "did not (no fast kernel, not compiled, shape too small, unsupported dtype fell back or up-cast, operators on "
                "the host); empty where no recorded fact explains it."
            ],
        )
    ]
    for workload in results[col.WORKLOAD].dropna().unique():
        frame = results[results[col.WORKLOAD] == workload].copy()
        metric = frame.get(col.METRIC, pd.Series(dtype=object)).dropna()
        table = summary_table(results, workload)
        if table.empty:
            out.append(Section(workload, 3, ["No case of this workload was measured."]))
            continue
        frame["row"] = frame[col.TECHNIQUE] + " (b=" + frame[col.BATCH_SIZE].astype(str) + ")"
        frame["column"] = [device_label(d, s) for d, s in zip(frame[col.DEVICE], frame[col.SIMULATED])]
        frame[col.WHY] = frame.get(col.WHY, pd.Series("", index=frame.index)).fillna("")
        pages = []
        for caption, page in paginate(table, DEVICES_PER_TABLE):
            pages.append((caption, page.assign(why=_why_column(frame, page.index, list(page.columns)))))
        out.append(Section(workload, 3, [f"Accuracy: {metric.iloc[0]}." if len(metric) else ""], tables=pages))
    flagged = results[results[col.SPEEDUP_CHECK].notna()] if col.SPEEDUP_CHECK in results else results.iloc[:0]
    if len(flagged):
        out.append(
            Section(
                f"Speedups to re-check {CHECK_MARK}",
                3,
                [
                    f"{len(flagged)} case(s) whose paired speedup (alternated rounds with {BASELINE}) and unpaired one "
                    "(separate timings) differ by over 10%: the two timings did not see the same machine."
                ],
                bullets=[
                    f"{r[col.DEVICE]} · {r[col.WORKLOAD]} · {r[col.TECHNIQUE]} · b={r[col.BATCH_SIZE]}: {r[col.SPEEDUP_CHECK]}"
                    for _, r in flagged.iterrows()
                ],
            )
        )
    return out


def money_sections(results: pd.DataFrame, price_notes: list[str]) -> list[Section]:
    workloads = list(results[col.WORKLOAD].dropna().unique())
    out = [
        Section(
            "Energy per inference",
            paragraphs=[
                "Each figure with its method: measured (RAPL package counters on a CPU, NVML on a GPU: the whole package or "
                "GPU, other processes included), estimated (this process's CPU time x the TDP share of one thread, where RAPL "
                "cannot be read), or simulated (the device's cost model; also what bounds its latency: compute, memory, "
                "overhead, or host where operators fell back to the host). The table below says where each device's figures "
                "come from."
            ],
            tables=[("", methods_table(results))],
        )
    ]
    for workload in workloads:
        table = energy_table(results, workload)
        if not table.empty:
            out.append(Section(f"Energy: {workload}", 3, tables=paginate(table, DEVICES_PER_TABLE)))
    out.append(
        Section(
            "Cost per million inferences",
            paragraphs=[
                "USD per million inferences = price per hour / 3600 x median latency / batch size x 1e6: the device running "
                "this model alone, back to back. Priced when the report is written (a price file overrides the defaults, no "
                "re-run needed); the method is that of the latency: measured or simulated. Prices and their sources are in "
                "the table under Energy per inference."
            ],
            bullets=price_notes,
        )
    )
    for workload in workloads:
        table = cost_table(results, workload)
        if not table.empty:
            out.append(Section(f"Cost: {workload}", 3, tables=paginate(table, DEVICES_PER_TABLE)))
    return out


def one_time_sections(results: pd.DataFrame) -> list[Section]:
    costs = [(w, one_time_costs(results, w)) for w in results[col.WORKLOAD].dropna().unique()]
    if not any(not table.empty for _, table in costs):
        return []
    out = [
        Section(
            "One-time costs",
            paragraphs=[
                "Not in the latencies above: the first call at each batch size (compilation, kernel set-up) and applying "
                "the technique (quantization, fine-tuning)."
            ],
        )
    ]
    for workload, table in costs:
        if table.empty:
            continue
        setup = results.loc[results[col.WORKLOAD] == workload].get(col.MODEL_SETUP_S, pd.Series(dtype=float))
        line = f"Model set-up (training on first use, else loading cached weights): up to {format_seconds(setup.astype(float).max())}."
        out.append(
            Section(
                f"One-time: {workload}",
                3,
                [line] if setup.notna().any() else [],
                tables=paginate(table, DEVICES_PER_TABLE),
            )
        )
    return out
