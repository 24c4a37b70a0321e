"""The bad-input suite: what a new user gets wrong, tried on every command. Each probe asserts the exit code (2: the
input cannot be used; 1: the gate's regression; 0: handled, with a note), that the message names the problem and
what is valid, and that no other result was lost or changed (every file already in the folder keeps its bytes, and
the good run still reports).

Commands run in-process (their `main(argv)`, as `python -m ...` would call them); make's own checks through
`make -n`. Probes of a whole pytest run (a bad profile name, an unwritable cache, a bad MODEL) live beside the
feature they check: tests/test_simulated.py, tests/test_files.py, tests/test_user_model.py."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "sample-run.json"
TRAINING = ROOT / "tests" / "data" / "training-run.json"


def _main(module: str) -> Callable[[list[str]], int]:
    """The command `python -m <module>` as a function of its arguments (imported when the probe runs)."""
    return lambda argv: importlib.import_module(module).main(argv)


def _make(argv):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    run = subprocess.run(["make", "-n", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)
    print(run.stdout, run.stderr)
    return run.returncode


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "report": _main("reports.__main__"),
    "gate": _main("tools.gate"),
    "repeat": _main("reports.repeat"),
    "predict": _main("tools.predict"),
    "parallel": _main("parallel.launch"),
    "screenshot": _main("tools.screenshot"),
    "make": _make,
}


def sample() -> dict:
    return json.loads(SAMPLE.read_text())


def variant(tmp: Path, name: str, edit: Callable[[dict], object]) -> Path:
    """The sample run with `edit` applied, written to tmp/name."""
    raw = sample()
    edit(raw)
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(raw))
    return path


def text(tmp: Path, name: str, content: str) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def out(tmp: Path) -> list[str]:
    return ["--out", str(tmp / "out"), "--no-history"]


@dataclass(frozen=True)
class Probe:
    id: str
    command: str
    argv: Callable[[Path], list[str]]  # makes the probe's files in the folder, returns the arguments
    code: int
    says: tuple[str, ...]  # regular expressions the output must match: the problem, and what is valid
    check: Callable[[Path], None] | None = field(default=None)  # further assertions on what was written


def _stats(**figures) -> Callable[[dict], None]:
    return lambda raw: raw["benchmarks"][0]["stats"].update(figures)


def _params(**params) -> Callable[[dict], None]:
    return lambda raw: raw["benchmarks"][0]["params"].update(params)


def _without_device(raw: dict) -> None:
    raw["benchmarks"][0]["params"].pop("device")
    raw["benchmarks"][0]["extra_info"].pop("device")


def _journal(tmp: Path) -> Path:
    raw = sample()
    lines = [{"event": "run", "version": 1, "datetime": raw["datetime"], "machine_info": raw["machine_info"]}]
    lines += [{"event": "case", "benchmark": b} for b in raw["benchmarks"]]
    lines.insert(2, {"event": "case", "benchmark": {"name": 5}})  # a foreign line, valid JSON
    body = "\n".join(json.dumps(line) for line in lines) + "\nnot json at all\n"
    return text(tmp, "killed.jsonl", body)


def _distributed_failure(tmp: Path) -> Path:
    raw = json.loads(TRAINING.read_text())
    raw["benchmarks"] = []
    raw["accelbench_outcomes"] = [o for o in raw["accelbench_outcomes"] if o["name"].startswith("ddp")]
    path = tmp / "ddp-failed.json"
    path.write_text(json.dumps(raw))
    return path


def _with_broken_neighbour(tmp: Path) -> Path:
    """A good run beside a malformed one in the same results folder (the history reads both)."""
    text(tmp, "results/broken.json", '{"benchmarks": [')
    return variant(tmp, "results/good.json", lambda r: None)


def _vanish(raw: dict) -> None:
    raw["benchmarks"] = [b for b in raw["benchmarks"] if b["params"]["device"] != "cpu"]
    raw["accelbench_outcomes"] = [o for o in raw["accelbench_outcomes"] if o["params"].get("device") != "cpu"]


def _other_machine(raw: dict) -> None:
    raw["machine_info"]["accelbench"]["torch"] = "9.9.9"


def _two_machines_check(tmp: Path) -> None:
    devices = set(pd.read_csv(tmp / "out" / "results.csv")["device"])
    assert {"cpu@a/run", "cpu@b/run"} <= devices  # two columns, not one mixed `cpu`


def _neighbour_check(tmp: Path) -> None:
    assert (tmp / "results" / "out" / "index.html").is_file()


PROBES = [
    # ---- python -m reports: the results files ----
    Probe(
        "report-no-such-file",
        "report",
        lambda t: [str(t / "none.json"), *out(t)],
        2,
        ("none.json: no such results file", "make bench"),
    ),
    Probe("report-a-directory", "report", lambda t: [str(t), *out(t)], 2, ("is a directory; pass a results file",)),
    Probe(
        "report-empty-file",
        "report",
        lambda t: [str(text(t, "e.json", "")), *out(t)],
        2,
        ("e.json: the file is empty",),
    ),
    Probe(
        "report-not-json",
        "report",
        lambda t: [str(text(t, "n.json", "{oops")), *out(t)],
        2,
        ("n.json: not valid JSON", "line 1"),
    ),
    Probe(
        "report-a-list-of-ints",
        "report",
        lambda t: [str(text(t, "l.json", "[1, 2, 3]")), *out(t)],
        2,
        ("not a pytest-benchmark JSON file",),
    ),
    Probe(
        "report-row-without-name",
        "report",
        lambda t: [str(variant(t, "r.json", lambda r: r["benchmarks"][0].pop("name"))), *out(t)],
        2,
        (r"benchmarks\[0\] has no 'name'", "a case id such as test_inference"),
    ),
    Probe(
        "report-text-median",
        "report",
        lambda t: [str(variant(t, "r.json", _stats(median="fast"))), *out(t)],
        2,
        (
            r"benchmarks\[0\] \(test_inference\[cpu-digits-mlp-fp32-64\]\) stats.median = 'fast'",
            "must be a number of seconds",
        ),
    ),
    Probe(
        "report-text-batch-size",
        "report",
        lambda t: [str(variant(t, "r.json", _params(batch_size="sixty"))), *out(t)],
        2,
        ("params.batch_size = 'sixty' must be a positive integer",),
    ),
    Probe(
        "report-zero-batch-size",
        "report",
        lambda t: [str(variant(t, "r.json", _params(batch_size=0))), *out(t)],
        2,
        ("params.batch_size = 0 must be a positive integer",),
    ),
    Probe(
        "report-machine-info-a-text",
        "report",
        lambda t: [str(variant(t, "r.json", lambda r: r.update(machine_info="laptop"))), *out(t)],
        2,
        ("'machine_info' is a text, not an object",),
    ),
    Probe(
        "report-row-a-number",
        "report",
        lambda t: [str(variant(t, "r.json", lambda r: r["benchmarks"].append(5))), *out(t)],
        2,
        (r"benchmarks\[2\] is a number, not an object with 'name' and 'params'",),
    ),
    Probe(
        "report-stats-an-array",
        "report",
        lambda t: [str(variant(t, "r.json", lambda r: r["benchmarks"][0].update(stats=[1]))), *out(t)],
        2,
        ("'stats' is an array, not an object",),
    ),
    Probe(
        "report-extra-info-a-text",
        "report",
        lambda t: [str(variant(t, "r.json", lambda r: r["benchmarks"][0].update(extra_info="x"))), *out(t)],
        2,
        ("'extra_info' is a text, not an object",),
    ),
    Probe(
        "report-timed-row-without-device",
        "report",
        lambda t: [str(variant(t, "r.json", _without_device)), *out(t)],
        2,
        ("has no params.device", "every timed case names one"),
    ),
    Probe(
        "report-outcomes-not-an-array",
        "report",
        lambda t: [str(variant(t, "r.json", lambda r: r.update(accelbench_outcomes=5))), *out(t)],
        2,
        ("'accelbench_outcomes' is a number, not an array",),
    ),
    Probe(
        "report-samples-not-numbers",
        "report",
        lambda t: [str(variant(t, "r.json", _stats(data=["a"]))), *out(t)],
        2,
        ("stats.data must be an array of numbers",),
    ),
    Probe(
        "report-same-file-twice",
        "report",
        lambda t: [str(variant(t, "r.json", lambda r: None))] * 2 + out(t),
        2,
        ("r.json given more than once: give each run once",),
    ),
    Probe(
        "report-bad-price-file",
        "report",
        lambda t: [str(SAMPLE), "--prices", str(text(t, "p.toml", "[cpu]\nusd_per_hour = 'cheap'\n")), *out(t)],
        2,
        ("p.toml", "usd_per_hour"),
    ),
    Probe(
        "report-price-file-missing",
        "report",
        lambda t: ["--check-prices", "--prices", str(t / "none.toml")],
        2,
        ("none.toml",),
    ),
    Probe(
        "report-two-runs-sharing-a-file-name",
        "report",
        lambda t: [
            str(variant(t, "a/run.json", lambda r: None)),
            str(variant(t, "b/run.json", lambda r: r["machine_info"].update(node="other"))),
            *out(t),
        ],
        0,
        ("accelbench report of",),
        _two_machines_check,
    ),
    Probe(
        "report-a-malformed-neighbour-costs-only-its-history",
        "report",
        lambda t: [str(_with_broken_neighbour(t)), "--out", str(t / "results" / "out")],
        0,
        ("accelbench report of",),
        _neighbour_check,
    ),
    Probe(
        "report-journal-with-foreign-lines",
        "report",
        lambda t: [str(_journal(t)), *out(t)],
        0,
        ("PARTIAL: the run did not finish", "2 unreadable line"),
    ),
    Probe(
        "report-a-failed-distributed-run",
        "report",
        lambda t: [str(_distributed_failure(t)), *out(t)],
        0,
        (r"accelbench report of .*ddp-failed.json \(\d+ error\)",),
    ),
    # ---- python -m tools.gate: the regression gate ----
    Probe(
        "gate-rules-a-table-not-an-array",
        "gate",
        lambda t: [
            "compare",
            str(SAMPLE),
            "--base",
            str(SAMPLE),
            "--out",
            str(t / "o"),
            "--config",
            str(text(t, "c.toml", "[tool.accelbench.regress.rules]\nmatch = '*'\n")),
        ],
        2,
        (r"rules must be an array of tables, each written \[\[tool.accelbench.regress.rules\]\]",),
    ),
    Probe(
        "gate-regress-a-number",
        "gate",
        lambda t: [
            "compare",
            str(SAMPLE),
            "--base",
            str(SAMPLE),
            "--out",
            str(t / "o"),
            "--config",
            str(text(t, "c.toml", "[tool.accelbench]\nregress = 5\n")),
        ],
        2,
        ("regress = 5 must be a table",),
    ),
    Probe(
        "gate-config-does-not-exist",
        "gate",
        lambda t: [
            "compare",
            str(SAMPLE),
            "--base",
            str(SAMPLE),
            "--out",
            str(t / "o"),
            "--config",
            str(t / "nope.toml"),
        ],
        2,
        ("nope.toml: the rules file does not exist", r"\[tool.accelbench.regress\]"),
    ),
    Probe(
        "gate-baseline-with-a-malformed-row",
        "gate",
        lambda t: [
            "compare",
            str(SAMPLE),
            "--base",
            str(variant(t, "b.json", _stats(median="fast"))),
            "--out",
            str(t / "o"),
        ],
        2,
        ("b.json: benchmarks", "stats.median = 'fast' must be a number"),
    ),
    Probe(
        "gate-no-baseline",
        "gate",
        lambda t: ["compare", str(SAMPLE), "--base", str(t / "none.json"), "--out", str(t / "o")],
        2,
        ("no baseline at", "make baseline"),
    ),
    Probe(
        "gate-corrupt-baseline",
        "gate",
        lambda t: ["compare", str(SAMPLE), "--base", str(text(t, "b.json", '{"benchmarks": [')), "--out", str(t / "o")],
        2,
        ("b.json: not valid JSON",),
    ),
    Probe(
        "gate-partial-run-as-baseline",
        "gate",
        lambda t: [
            "baseline",
            str(variant(t, "p.json", lambda r: r.update(accelbench_exitstatus=2))),
            "--to",
            str(t / "base.json"),
        ],
        2,
        ("interrupted",),
    ),
    Probe(
        "gate-runs-of-different-machines",
        "gate",
        lambda t: ["compare", str(variant(t, "n.json", _other_machine)), "--base", str(SAMPLE), "--out", str(t / "o")],
        2,
        ("different machines", "torch: '2.13.0\\+cpu' vs '9.9.9'", "--force"),
    ),
    Probe(
        "gate-a-device-vanished",
        "gate",
        lambda t: ["compare", str(variant(t, "n.json", _vanish)), "--base", str(SAMPLE), "--out", str(t / "o")],
        1,
        ("❌ regression", "vanished"),
    ),
    # ---- python -m reports.repeat ----
    Probe(
        "repeat-no-such-file",
        "repeat",
        lambda t: [str(SAMPLE), str(t / "none.json")],
        2,
        ("none.json: no such results file",),
    ),
    Probe(
        "repeat-malformed-run",
        "repeat",
        lambda t: [str(SAMPLE), str(variant(t, "r.json", _stats(median="fast")))],
        2,
        ("stats.median = 'fast' must be a number",),
    ),
    Probe(
        "repeat-nothing-in-common",
        "repeat",
        lambda t: [str(SAMPLE), str(TRAINING)],
        2,
        ("no measured non-baseline case in common",),
    ),
    # ---- python -m devices.simulated predict ----
    Probe(
        "predict-unknown-model",
        "predict",
        lambda t: ["--device", "sim-h100", "--model", "resnet-5"],
        2,
        ("unknown model 'resnet-5'; valid: resnet-50, mobilenet-v1", "package.module:factory or a .pt2 file"),
    ),
    Probe(
        "predict-unknown-device",
        "predict",
        lambda t: ["--device", "sim-h1000", "--model", "resnet-50"],
        2,
        ("unknown simulated device 'sim-h1000'; valid: sim-a100", "sim-h100"),
    ),
    Probe(
        "predict-unknown-dtype",
        "predict",
        lambda t: ["--device", "sim-h100", "--model", "resnet-50", "--dtype", "int3"],
        2,
        ("invalid choice: 'int3'", "fp32"),
    ),
    Probe(
        "predict-zero-batch",
        "predict",
        lambda t: ["--device", "sim-h100", "--model", "resnet-50", "--batch", "0"],
        2,
        ("--batch and --seq must be at least 1",),
    ),
    # ---- python -m parallel (make bench-distributed): refused before torchrun starts ----
    Probe(
        "parallel-unknown-worker-option",
        "parallel",
        lambda t: ["--out", str(t / "d.json"), "--bogus", "1"],
        2,
        ("unrecognized arguments: --bogus 1",),
    ),
    Probe(
        "parallel-unknown-workload",
        "parallel",
        lambda t: ["--out", str(t / "d.json"), "--workload", "digits-xyz"],
        2,
        ("unknown workload 'digits-xyz'", "digits-mlp"),
    ),
    Probe(
        "parallel-simulated-device",
        "parallel",
        lambda t: ["--out", str(t / "d.json"), "--device", "sim-h100"],
        2,
        ("--device 'sim-h100': distributed benchmarks run on a real device, one of cpu, cuda",),
    ),
    Probe(
        "parallel-port-too-large",
        "parallel",
        lambda t: ["--out", str(t / "d.json"), "--port", "70000"],
        2,
        ("70000 is not a port number: 0 \\(torchrun picks one\\) to 65535",),
    ),
    Probe(
        "parallel-port-negative",
        "parallel",
        lambda t: ["--out", str(t / "d.json"), "--port", "-5"],
        2,
        ("-5 is not a port number",),
    ),
    Probe(
        "parallel-unknown-benchmark",
        "parallel",
        lambda t: ["--out", str(t / "d.json"), "--benchmarks", "tp"],
        2,
        ("unknown benchmark 'tp'; valid: ddp, pipeline",),
    ),
    Probe(
        "parallel-zero-steps",
        "parallel",
        lambda t: ["--out", str(t / "d.json"), "--steps", "0"],
        2,
        ("--steps 0 must be at least 1",),
    ),
    # ---- python -m tools.screenshot ----
    Probe(
        "screenshot-bad-size",
        "screenshot",
        lambda t: [str(SAMPLE), "--size", "big"],
        2,
        ("'big' is not WIDTHxHEIGHT, e.g. 1400x900",),
    ),
    Probe(
        "screenshot-no-such-report",
        "screenshot",
        lambda t: [str(t / "index.html")],
        2,
        ("index.html is not a file: give a report's index.html",),
    ),
    # ---- make's own checks ----
    Probe(
        "make-unknown-tier",
        "make",
        lambda t: ["bench", "TIER=fast"],
        2,
        ("TIER=fast is not a tier: TIER is default or full",),
    ),
    Probe(
        "make-old-profile-variable", "make", lambda t: ["bench", "PROFILE=full"], 2, ("PROFILE=full is now TIER=full",)
    ),
]


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_bad_input_is_named_with_what_is_valid_and_loses_nothing(probe: Probe, tmp_path: Path, capsys) -> None:
    keep = variant(tmp_path, "kept/good.json", lambda r: None)  # a result the probe must leave as it was
    argv = probe.argv(tmp_path)
    before = _snapshot(tmp_path)
    try:
        code = COMMANDS[probe.command](argv)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    said = "\n".join(capsys.readouterr())
    assert code == probe.code, f"{probe.id}: exit {code}, expected {probe.code}\n{said[-3000:]}"
    for pattern in probe.says:
        assert re.search(pattern, said), f"{probe.id}: {pattern!r} not in:\n{said[-3000:]}"
    assert "Traceback" not in said
    after = _snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before, f"{probe.id} changed an existing file"
    if probe.check:
        probe.check(tmp_path)
    from reports.load.run import load_run

    assert len(load_run(keep)) == len(load_run(SAMPLE))  # the good run still reads, whole


def test_there_are_at_least_40_probes_each_named_once() -> None:
    assert len(PROBES) >= 40 and len({p.id for p in PROBES}) == len(PROBES)


def test_a_probe_that_passes_bad_input_through_fails_the_suite(tmp_path: Path, capsys) -> None:
    """The suite's own check can fail: a command that exits 0 on a corrupt file is caught."""
    lenient = Probe(
        "lenient", "report", lambda t: [str(text(t, "n.json", "{oops")), *out(t)], 0, ("accelbench report of",)
    )
    with pytest.raises(AssertionError, match="lenient: exit 2, expected 0"):
        test_bad_input_is_named_with_what_is_valid_and_loses_nothing(lenient, tmp_path, capsys)


def test_the_cases_vanished_device_needs_the_same_selection() -> None:
    from reports.regress.compare import with_vanished_devices

    comparison = pd.DataFrame(
        dict(
            case=["a", "b", "c"],
            device=["cpu", "cpu", "sim-x"],
            verdict=["missing", "missing", "unchanged"],
            metric="",
            message="",
        )
    )
    same = with_vanished_devices(comparison, True, "")
    assert (
        same.set_index("case").loc["a", "verdict"] == "vanished"
        and "none of its 2 case(s) ran" in same.iloc[0]["message"]
    )
    other = with_vanished_devices(comparison, False, "baseline -k cpu, new -k sim")
    assert set(other["verdict"]) == {"missing", "unchanged"} and "selected different cases" in other.iloc[0]["message"]
