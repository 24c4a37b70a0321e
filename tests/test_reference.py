"""The reference data in devices/reference/: the project carries its own copy and depends on nothing outside the
repository, profiles cite it by paths (and sections) that exist, and every published measurement names its source."""

from __future__ import annotations

import csv
import math
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "devices" / "reference"
PROFILES = sorted((ROOT / "devices" / "profiles").glob("*.toml"))
MEASUREMENTS = REFERENCE / "published-measurements.csv"
REFERENCE_FILES = ("device-specs.md", "published-measurements.csv", "scalesim-gemm-cycles.csv")
OUTSIDE = "../" + "shared"  # the shared directory beside the checkout; in two parts so this file does not match it
ORIGIN_NOTE = "devices/reference/README.md"  # says where the copies came from, so it may name that directory
# a path under devices/reference/ and an optional section: a Markdown heading's anchor or a CSV row's id
CITATION = re.compile(r"devices/reference/([\w\-/]+(?:\.[\w\-]+)*)(?:#([\w\-]+))?")


# --- the repository depends on nothing outside it -----------------------------------------------------------------


def project_files() -> list[str] | None:
    """Tracked files and new ones git does not ignore; None outside a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return sorted({name for name in listed.decode().split("\0") if name})


def test_no_project_file_refers_to_the_shared_directory_outside_the_repository() -> None:
    files = project_files()
    if files is None:
        pytest.skip("not a git checkout: the project's files cannot be listed")
    found = []
    for name in files:
        path = ROOT / name
        if name == ORIGIN_NOTE or not path.is_file():  # a file deleted in the working tree is no dependency
            continue
        data = path.read_bytes()
        if OUTSIDE.encode() in data:
            lines = data.decode("utf-8", errors="replace").splitlines()
            found += [f"{name}:{n}: {line.strip()}" for n, line in enumerate(lines, 1) if OUTSIDE in line]
    assert not found, f"cite devices/reference/ instead of {OUTSIDE}:\n" + "\n".join(found)


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_reference_file_is_in_the_repository_and_described(name: str) -> None:
    assert (REFERENCE / name).is_file(), f"devices/reference/{name} is missing"
    assert f"`{name}`" in (REFERENCE / "README.md").read_text(encoding="utf-8"), (
        f"devices/reference/README.md does not say what {name} is"
    )


# --- profiles cite reference files that exist ----------------------------------------------------------------------


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation dropped, spaces as hyphens."""
    found, fenced = set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,6}\s+(.+?)\s*#*$", line)):
            found.add(re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-"))
    return found


def row_ids(table: Path) -> set[str]:
    with table.open(newline="", encoding="utf-8") as file:
        return {row[0] for row in list(csv.reader(file))[1:] if row}


def citation_problems(source: str) -> list[str]:
    """What is wrong with the devices/reference/ paths (and sections) that `source` cites."""
    problems = []
    for match in CITATION.finditer(source):
        name, section = match.groups()
        path = REFERENCE / name
        if not path.is_file():
            problems.append(f"devices/reference/{name} does not exist")
        elif section and path.suffix == ".md" and section not in anchors(path.read_text(encoding="utf-8")):
            problems.append(f"devices/reference/{name} has no section #{section}")
        elif section and path.suffix == ".csv" and section not in row_ids(path):
            problems.append(f"devices/reference/{name} has no row {section}")
    for name in REFERENCE_FILES:
        for match in re.finditer(re.escape(name), source):
            if not source[: match.start()].endswith("devices/reference/"):
                problems.append(f"names {name} without its path devices/reference/{name}")
    return problems


def sources(node: object, where: str = "") -> list[tuple[str, str]]:
    """(field, source) of every figure in a parsed profile, found in the TOML itself, not through the loader."""
    if isinstance(node, dict):
        found = [(where, node["source"])] if isinstance(node.get("source"), str) else []
        for key, value in node.items():
            found += sources(value, f"{where}.{key}" if where else key)
        return found
    if isinstance(node, list):
        return [pair for index, item in enumerate(node) for pair in sources(item, f"{where}[{index}]")]
    return []


@pytest.mark.parametrize("path", PROFILES, ids=[path.stem for path in PROFILES])
def test_profile_cites_reference_files_that_exist(path: Path) -> None:
    figures = sources(tomllib.loads(path.read_text(encoding="utf-8")))
    assert figures, f"{path.name} has no figures"
    problems = [
        f"{field}: {problem} ({source!r})" for field, source in figures for problem in citation_problems(source)
    ]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_the_citation_check_finds_a_missing_file_section_row_or_path() -> None:
    assert citation_problems("as measured (devices/reference/device-specs.md#energy-reference-points)") == []
    assert citation_problems("MLPerf (devices/reference/published-measurements.csv#P01)") == []
    assert citation_problems("x (devices/reference/device-spec.md)") == [
        "devices/reference/device-spec.md does not exist"
    ]
    assert citation_problems("x (devices/reference/device-specs.md#no-such-section)") == [
        "devices/reference/device-specs.md has no section #no-such-section"
    ]
    assert citation_problems("x (devices/reference/published-measurements.csv#P99)") == [
        "devices/reference/published-measurements.csv has no row P99"
    ]
    assert citation_problems("LPDDR4 8 pJ/bit (device-specs.md)") == [
        "names device-specs.md without its path devices/reference/device-specs.md"
    ]


# --- published measurements name their sources ---------------------------------------------------------------------


def measurements() -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and (line, fields) of each row, read with the csv module."""
    if not MEASUREMENTS.is_file():
        return [], []
    with MEASUREMENTS.open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader, [])
        return header, [(reader.line_num, row) for row in reader if row]


HEADER, ROWS = measurements()


def test_published_measurements_have_a_source_column() -> None:
    assert MEASUREMENTS.is_file(), "devices/reference/published-measurements.csv is missing"
    assert "source" in HEADER, f"no source column in {HEADER}"
    assert len(ROWS) >= 1


@pytest.mark.parametrize("line, row", ROWS, ids=[row[0] if row[0] else f"line{line}" for line, row in ROWS])
def test_published_measurement_names_its_source(line: int, row: list[str]) -> None:
    assert len(row) == len(HEADER), f"line {line}: {len(row)} fields, the header has {len(HEADER)}"
    fields = dict(zip(HEADER, row))
    assert fields["source"].strip(), f"line {line} ({fields.get('id')}): empty source"
    value = float(fields["value"])
    assert math.isfinite(value) and value > 0, f"line {line}: value {fields['value']!r}"
