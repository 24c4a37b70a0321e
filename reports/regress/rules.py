"""The regression gate's rules: what counts as a regression, per metric, configurable per case pattern.

Two kinds of metric (reports/regress/compare.py applies them):

- **Deterministic** (DETERMINISTIC below: simulated latency and energy, FLOPs, model size, parameter count, accuracy
  under fixed seeds): the same code on the same machine gives the same number, so any change beyond `tolerance`
  (relative; 0 = exact) is real and is flagged.
- **Measured latency** (real devices): a regression only when a two-sided Mann-Whitney U test on the raw
  per-round samples gives p < `p_value` (asv's test and threshold) **and** the new/baseline ratio reaches `factor`
  (its 95% confidence interval, Hodges-Lehmann/Moses, contains the factor or lies above it) **and** the medians
  differ by more than `min_difference_s` (timer and scheduler jitter on very short calls).

Defaults live in `Rule`; `[tool.accelbench.regress]` in pyproject.toml overrides them, and each
`[[tool.accelbench.regress.rules]]` entry overrides them again for the case ids its `match` pattern (fnmatch, e.g.
"*-1]" for batch size 1, "*sim-*") selects; later entries win:

    [tool.accelbench.regress]
    factor = 1.10

    [[tool.accelbench.regress.rules]]
    match = "*digits-lstm*"
    factor = 1.25
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

import accelbench.results as col

# metric column -> +1 where a larger value is worse, -1 where a smaller one is (accuracy)
DETERMINISTIC = {
    col.SIMULATED_LATENCY_S: +1,
    col.ENERGY_PER_INFERENCE_J: +1,  # compared only where energy_method is "simulated": measured energy is noisy
    col.FLOPS_PER_BATCH: +1,
    col.MODEL_SIZE_BYTES: +1,
    col.PARAM_COUNT: +1,
    col.ACCURACY: -1,
}
LATENCY = "latency_s"  # the measured metric: per-round samples of seconds per call


@dataclass(frozen=True)
class Rule:
    """Thresholds for one case. Units in the names; every field can be set in pyproject.toml."""

    factor: float = 1.10  # measured latency: the slowdown (new/baseline ratio) worth failing for
    p_value: float = 0.002  # Mann-Whitney U, two-sided: asv's default threshold
    min_difference_s: float = 1e-6  # medians closer than this are unchanged whatever the ratio (sub-µs jitter)
    tolerance: float = 0.0  # deterministic metrics: |new - base| / |base| allowed; 0 = exact
    accuracy_tolerance: float = 0.0  # accuracy: absolute change allowed (fraction, 0.001 = 0.1 pp); 0 = exact

    def describe(self, metric: str) -> str:
        if metric == LATENCY:
            return f"CI reaches x{self.factor:g} & p<{self.p_value:g} & >{self.min_difference_s * 1e6:g} µs"
        allowed = self.accuracy_tolerance if metric == col.ACCURACY else self.tolerance
        return "exact" if allowed == 0 else f"±{allowed:g}{'' if metric == 'accuracy' else ' relative'}"


class RulesError(ValueError):
    """A rules table that is not what the gate understands; the message names the file, the key and what is valid."""


def _checked(values: dict, where: str) -> dict:
    valid = {f.name: f.type for f in fields(Rule)}
    out = {}
    for key, value in values.items():
        if key not in valid:
            raise RulesError(f"{where}: unknown key {key!r}; valid keys: {', '.join(valid)}, and match in a rule")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise RulesError(f"{where}: {key} = {value!r} must be a non-negative number")
        out[key] = float(value)
    if out.get("factor", 1.0) < 1.0:
        raise RulesError(f"{where}: factor = {out['factor']} must be at least 1 (1.10 = 10% slower)")
    return out


@dataclass(frozen=True)
class Rules:
    """The default rule and the pattern overrides, in order."""

    default: Rule = Rule()
    overrides: tuple[tuple[str, dict], ...] = ()

    def for_case(self, case: str) -> Rule:
        rule = self.default
        for pattern, values in self.overrides:
            if fnmatch.fnmatchcase(case, pattern):
                rule = replace(rule, **values)
        return rule


def load_rules(pyproject: str | Path | None = "pyproject.toml", required: bool = False) -> Rules:
    """The rules of `pyproject` (its [tool.accelbench.regress] table); the defaults where it has none or is None,
    or where the file is missing and not `required` (a --config the user named must exist)."""
    if pyproject is None or not Path(pyproject).is_file():
        if required and pyproject is not None:
            what = "is not a file" if Path(pyproject).exists() else "does not exist"
            raise RulesError(
                f"{pyproject}: the rules file {what}; expected a pyproject.toml with [tool.accelbench.regress]"
            )
        return Rules()
    try:
        table = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{pyproject}: not valid TOML ({exc})") from None
    where = f"{pyproject} [tool.accelbench.regress]"
    section = table.get("tool", {}).get("accelbench", {}).get("regress", {})
    if not isinstance(section, dict):
        raise RulesError(f"{where}: regress = {section!r} must be a table, e.g. [tool.accelbench.regress] factor = 1.1")
    section = dict(section)
    entries = section.pop("rules", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RulesError(
            f"{where}: rules must be an array of tables, each written [[tool.accelbench.regress.rules]] with match = "
            f'"<pattern>" (got {type(entries).__name__}: a single [tool.accelbench.regress.rules] table?)'
        )
    default = replace(Rule(), **_checked(section, where))
    overrides = []
    for index, entry in enumerate(entries):
        entry = dict(entry)
        pattern = entry.pop("match", None)
        if not isinstance(pattern, str) or not pattern:
            raise RulesError(f'{where} rules[{index}]: needs match = "<pattern>" (fnmatch over case ids)')
        overrides.append((pattern, _checked(entry, f"{where} rules[{index}] ({pattern})")))
    return Rules(default, tuple(overrides))
