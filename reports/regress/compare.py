"""Compares a run with a baseline, case by case and metric by metric, under reports/regress/rules.py. DataFrames in and out.

    comparison = compare_runs(load_run(base, samples=True), load_run(new, samples=True), load_rules())
    failed = gate_fails(comparison)

Every case of either run appears: one row per compared metric, or one row saying why it was not compared
(`missing`: in the baseline only, `vanished` where a whole device of a run with the same selection is; `new`: in the new run only; `error` / `skipped`: ran in the baseline, not now;
`not run`: in neither). Nothing is dropped silently. The command line is tools/gate.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

import accelbench.results as col
from accelbench.energy import SIMULATED as SIMULATED_METHOD
from reports.load.run import KEY_COLUMNS
from reports.regress.rules import DETERMINISTIC, LATENCY, Rule, Rules

# how a verdict is listed, worst first; the gate fails on the first two
VERDICTS = [
    "regression",
    "error",
    "vanished",
    "improvement",
    "missing",
    "new",
    "skipped",
    "untested",
    "not confirmed",
    "not run",
]
VERDICTS.append("unchanged")
FAILING = {"regression", "error", "vanished"}
MIN_ROUNDS = 3  # fewer timed rounds on either side: no significance test is possible; listed as `untested`
MAX_PAIRS = 1_000_000  # above this many sample pairs, the ratio estimate works on 1000 quantiles of each side
COLUMNS = [
    col.CASE,
    *KEY_COLUMNS,
    "metric",
    "base",
    "new",
    "ratio",
    "p_value",
    "verdict",
    "rule",
    "message",
]


def ratio_interval(base: np.ndarray, new: np.ndarray, z: float = 1.96) -> tuple[float, float, float]:
    """(estimate, low, high) of new/base: the Hodges-Lehmann estimate (the median of every pairwise log-ratio,
    exponentiated) and its distribution-free 95% confidence interval (Moses: the order statistics of those pairwise
    log-ratios that Mann-Whitney's critical value picks). The shift estimator that belongs with Mann-Whitney's test."""
    if base.size * new.size > MAX_PAIRS:
        grid = np.linspace(0, 1, 1000)
        base, new = np.quantile(base, grid), np.quantile(new, grid)
    logs = np.sort(np.subtract.outer(np.log(new), np.log(base)), axis=None)
    n, m = base.size, new.size
    k = max(int(math.floor(logs.size / 2 - z * math.sqrt(n * m * (n + m + 1) / 12))), 0)
    return float(np.exp(np.median(logs))), float(np.exp(logs[k])), float(np.exp(logs[logs.size - 1 - k]))


def latency_change(base_s, new_s, rule: Rule) -> tuple[float, float, str]:
    """(ratio new/base, two-sided Mann-Whitney p, verdict) for two samples of seconds per call.

    A regression: the samples differ significantly (p < rule.p_value), the new run is slower by more than the floor,
    and a slowdown by `factor` lies within the ratio's 95% confidence interval or below it. Requiring the point
    estimate itself to pass the factor would miss about one real 15% slowdown in twenty at 10% noise and 30 rounds
    (the estimate's own spread); the interval keeps a small slowdown measured very precisely (say 1.03x over
    thousands of rounds) from failing the gate. An improvement mirrors it."""
    base, new = np.asarray(base_s, dtype=float), np.asarray(new_s, dtype=float)
    if min(base.size, new.size) < MIN_ROUNDS or (base <= 0).any() or (new <= 0).any():
        ratio = float(np.median(new) / np.median(base)) if base.size and new.size else math.nan
        return ratio, math.nan, "untested"
    ratio, low, high = ratio_interval(base, new)
    p = float(mannwhitneyu(new, base, alternative="two-sided").pvalue)
    difference_s = float(np.median(new) - np.median(base))
    if p < rule.p_value and abs(difference_s) > rule.min_difference_s:
        if ratio > 1 and high >= rule.factor:
            return ratio, p, "regression"
        if ratio < 1 and low <= 1 / rule.factor:
            return ratio, p, "improvement"
    return ratio, p, "unchanged"


def deterministic_change(metric: str, base: float, new: float, rule: Rule) -> str:
    """Verdict for a metric that the same code reproduces exactly: any change beyond the rule's tolerance counts."""
    if math.isnan(base) and math.isnan(new):
        return "unchanged"
    if math.isnan(base) != math.isnan(new):
        return "regression"  # a figure appeared or vanished: the case no longer measures the same thing
    allowed = rule.accuracy_tolerance if metric == col.ACCURACY else rule.tolerance * abs(base)
    if abs(new - base) <= allowed:
        return "unchanged"
    return "regression" if (new - base) * DETERMINISTIC[metric] > 0 else "improvement"


def _number(value) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _samples(row: pd.Series) -> list:
    samples = row.get(col.LATENCY_SAMPLES_S)
    return samples if isinstance(samples, list) else []


def _case_rows(case: str, base: pd.Series, new: pd.Series, rule: Rule) -> list[dict]:
    rows = []
    simulated = bool(new.get(col.SIMULATED, False))
    if not simulated:
        ratio, p, verdict = latency_change(_samples(base), _samples(new), rule)
        rows.append(
            dict(
                metric=LATENCY,
                base=_number(base.get(col.LATENCY_MEDIAN_S)),
                new=_number(new.get(col.LATENCY_MEDIAN_S)),
                ratio=ratio,
                p_value=p,
                verdict=verdict,
                rule=rule.describe(LATENCY),
                message="" if verdict != "untested" else f"fewer than {MIN_ROUNDS} timed rounds",
            )
        )
    for metric in DETERMINISTIC:
        if metric == col.ENERGY_PER_INFERENCE_J and not (
            base.get(col.ENERGY_METHOD) == new.get(col.ENERGY_METHOD) == SIMULATED_METHOD
        ):
            continue
        b, n = _number(base.get(metric)), _number(new.get(metric))
        if math.isnan(b) and math.isnan(n):
            continue  # neither run records it for this case
        rows.append(
            dict(
                metric=metric,
                base=b,
                new=n,
                ratio=n / b if b else math.nan,
                p_value=math.nan,
                verdict=deterministic_change(metric, b, n, rule),
                rule=rule.describe(metric),
                message="",
            )
        )
    return rows


def in_verdict_order(comparison: pd.DataFrame) -> pd.DataFrame:
    """Rows by verdict (VERDICTS' order: failures first), then case and metric."""
    order = {v: i for i, v in enumerate(VERDICTS)}
    return comparison.sort_values(
        ["verdict", col.CASE, "metric"], key=lambda c: c.map(order) if c.name == "verdict" else c, kind="stable"
    ).reset_index(drop=True)


def compare_runs(base: pd.DataFrame, new: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """One row per (case, metric) compared, plus one per case that could not be compared, saying why."""
    base_by, new_by = base.set_index(col.CASE), new.set_index(col.CASE)
    rows = []
    for case in sorted(set(base_by.index) | set(new_by.index)):
        b = base_by.loc[case] if case in base_by.index else None
        n = new_by.loc[case] if case in new_by.index else None
        ident = {
            k: (n if n is not None else b).get(k) for k in (col.DEVICE, col.WORKLOAD, col.TECHNIQUE, col.BATCH_SIZE)
        }
        blank = dict(
            case=case, **ident, metric="", base=math.nan, new=math.nan, ratio=math.nan, p_value=math.nan, rule=""
        )
        if n is None:
            rows.append({**blank, "verdict": "missing", "message": "in the baseline only"})
        elif b is None:
            rows.append({**blank, "verdict": "new", "message": f"in the new run only ({n['status']})"})
        elif b[col.STATUS] == col.OK and n[col.STATUS] != col.OK:
            rows.append(
                {**blank, "verdict": "error" if n[col.STATUS] == "error" else "skipped", "message": n["message"]}
            )
        elif b[col.STATUS] != col.OK and n[col.STATUS] == col.OK:
            rows.append({**blank, "verdict": "new", "message": f"did not run in the baseline ({b['status']})"})
        elif b[col.STATUS] != col.OK:
            rows.append({**blank, "verdict": "not run", "message": f"{n['status']} in both runs: {n['message']}"})
        else:
            rows += [{col.CASE: case, **ident, **row} for row in _case_rows(case, b, n, rules.for_case(case))]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return in_verdict_order(frame)


def with_vanished_devices(comparison: pd.DataFrame, same_selection: bool, selections: str) -> pd.DataFrame:
    """A device every case of which is `missing` (in the baseline, not a single row in the new run) fails the gate as
    `vanished` when both runs selected the same cases: the device stopped running (a registry or plug-in fault)
    rather than being left out. With different selections the cases stay `missing`, saying so."""
    out = comparison.copy()
    devices = out.groupby(col.DEVICE, dropna=True)["verdict"].agg(lambda v: set(v) == {"missing"})
    for device in devices[devices].index:
        rows = out[col.DEVICE] == device
        if same_selection:
            out.loc[rows, "verdict"] = "vanished"
            out.loc[rows, "message"] = (
                f"device {device}: none of its {int(rows.sum())} case(s) ran, in a run that selected the same cases"
            )
        else:
            out.loc[rows, "message"] = f"in the baseline only; the runs selected different cases ({selections})"
    return in_verdict_order(out)


RECHECKED = ("regression", "improvement")  # measured-latency verdicts that stand only if measured again


def suspects(comparison: pd.DataFrame) -> list[str]:
    """Cases whose measured latency changed (slower or faster): worth measuring again, in a fresh process, before a
    build fails or a speed-up is claimed (on a busy machine, a baseline measured under contention makes unchanged code
    look faster)."""
    rows = comparison[comparison["verdict"].isin(RECHECKED) & (comparison["metric"] == LATENCY)]
    return sorted(set(rows[col.CASE]))


def repeated(first: pd.DataFrame, again: pd.DataFrame, cases: set[str]) -> set[str]:
    """Of `cases`, those whose measured-latency verdict in `again` (a re-measured comparison) is the one in `first`."""
    verdict = first[first["metric"] == LATENCY].set_index(col.CASE)["verdict"]
    now = again[again["metric"] == LATENCY].set_index(col.CASE)["verdict"]
    return {c for c in cases if c in now.index and c in verdict.index and now[c] == verdict[c]}


def confirmed(
    comparison: pd.DataFrame, rechecks: list[pd.DataFrame], how: str = "re-measured in a fresh process"
) -> pd.DataFrame:
    """The comparison with each measured-latency regression (or improvement) kept only where every comparison in
    `rechecks` (the same cases measured again, `how` says how) repeats it; the others become `not confirmed`, with the
    re-measured ratios. A slowdown that lasts one stretch of one run (another tenant, a clock change) is not a regression of the
    code; one that the code causes comes back, and comes back beside the baseline's code measured at the same time."""
    again = [r[r["metric"] == LATENCY].set_index(col.CASE) for r in rechecks]
    out = comparison.copy()
    for index in out.index[out["verdict"].isin(RECHECKED) & (out["metric"] == LATENCY)]:
        case, first = out.at[index, col.CASE], out.at[index, "verdict"]
        seen = [(r.at[case, "verdict"], r.at[case, "ratio"]) for r in again if case in r.index]
        described = ", ".join(f"{verdict} ({ratio:.3f}x)" for verdict, ratio in seen)
        if not seen:
            out.at[index, "message"] = "not re-measured (the re-check did not time it): kept"
        elif any(verdict != first for verdict, _ in seen):
            out.at[index, "verdict"] = "not confirmed"
            out.at[index, "message"] = f"{how}: {described}"
        else:
            out.at[index, "message"] = f"confirmed, {how}: {described}"
    return in_verdict_order(out)


def gate_fails(comparison: pd.DataFrame) -> bool:
    """True when a metric regressed or a case that ran in the baseline now fails."""
    return bool(comparison["verdict"].isin(FAILING).any())
