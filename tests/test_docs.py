"""The docs hold together: the README is one page, every relative link and #anchor in README.md and docs/ resolves,
and every `make` target the README names exists. One test per link, so a broken link names itself."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAKEFILE = ROOT / "Makefile"
DOCS = [README, *sorted((ROOT / "docs").rglob("*.md"))]
README_MAX_LINES = 150
# generated (from accelbench/results.py, tools/validate.py), possibly after the other pages: a link may wait for it
GENERATED = {ROOT / "docs" / "results.md", ROOT / "docs" / "validation.md"}

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
# [text](target) and ![alt](target), an optional "title"; text may hold one level of [brackets]
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
EXTERNAL = ("http://", "https://", "mailto:")


def _blank(match: re.Match) -> str:
    """The matched text with every character but newlines turned to spaces: offsets and line numbers stay put."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _prose(text: str) -> str:
    """Markdown without its fenced code blocks and code spans (a link there is an example, not a link)."""
    return CODE_SPAN.sub(_blank, FENCE.sub(_blank, text))


def _relative(path: Path) -> str:
    return Path(os.path.relpath(path, ROOT)).as_posix()


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every link of a Markdown file, outside code."""
    text = _prose(path.read_text(encoding="utf-8"))
    found = [(m.start(1), m.group(1)) for m in INLINE_LINK.finditer(text)]
    found += [(m.start(1), m.group(1)) for m in REFERENCE_LINK.finditer(text)]
    return sorted((text.count("\n", 0, offset) + 1, target) for offset, target in found)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: links reduced to their text, lower-case, punctuation but '-' and '_' dropped,
    spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a Markdown file defines: its headings' slugs (repeats get -1, -2, ... as on GitHub) and HTML
    anchors."""
    text = FENCE.sub(_blank, path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set(HTML_ANCHOR.findall(text))
    for match in HEADING.finditer(text):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def _all_links() -> list:
    params = []
    for doc in DOCS:
        for line, target in links(doc):
            if target.startswith(EXTERNAL):
                continue
            params.append(pytest.param(doc, target, id=f"{_relative(doc)}:{line} -> {target}"))
    return params


LINKS = _all_links()


def _target(doc: Path, target: str) -> tuple[Path, str]:
    """The file a relative link points to (the document itself for '#anchor') and its anchor ('' for none)."""
    file, _, anchor = target.partition("#")
    return ((doc.parent / file).resolve() if file else doc), anchor


def test_the_readme_is_one_page() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines; move detail into docs/ (at most {README_MAX_LINES})"
    )


def test_the_link_checker_sees_the_links() -> None:
    """A broken extractor must not pass every link by finding none: the README links to the docs pages."""
    readme_targets = {target for doc, target in (p.values for p in LINKS) if doc == README}
    assert {"docs/README.md", "docs/architecture.md"} <= readme_targets


@pytest.mark.parametrize(("doc", "target"), LINKS)
def test_a_relative_link_points_to_a_file_of_the_repository(doc: Path, target: str) -> None:
    path, _ = _target(doc, target)
    if path in GENERATED and not path.exists():
        pytest.skip(f"{_relative(path)} is generated from the code and not written yet")
    assert path.is_relative_to(ROOT), f"{_relative(doc)}: {target} leaves the repository"
    assert path.exists(), f"{_relative(doc)}: {target} names no file ({path})"


@pytest.mark.parametrize(
    ("doc", "target"), [p for p in LINKS if "#" in p.values[1] and _target(*p.values)[0].suffix == ".md"]
)
def test_an_anchor_link_names_a_heading_of_its_file(doc: Path, target: str) -> None:
    path, anchor = _target(doc, target)
    if path in GENERATED and not path.exists():
        pytest.skip(f"{_relative(path)} is generated from the code and not written yet")
    assert path.exists(), f"{_relative(doc)}: {target} names no file"
    found = anchors(path)
    assert anchor in found, (
        f"{_relative(doc)}: no heading of {_relative(path)} has the anchor #{anchor}: {sorted(found)}"
    )


def make_targets() -> set[str]:
    """The Makefile's explicit targets (`name:` rules; not `.PHONY`, not `VAR := value`)."""
    rules = re.findall(
        r"^([A-Za-z0-9_][\w.-]*(?:[ \t]+[A-Za-z0-9_][\w.-]*)*)[ \t]*:(?!=)", MAKEFILE.read_text(), re.MULTILINE
    )
    return {name for rule in rules for name in rule.split()}


def readme_make_commands() -> list[tuple[int, str]]:
    """(line, target) of every `make <target>` in the README's code (spans and blocks): the words after `make` that
    are neither a variable assignment nor an option."""
    text = README.read_text(encoding="utf-8")
    code = [m for m in FENCE.finditer(text)] + [m for m in CODE_SPAN.finditer(text)]
    found = []
    for match in code:
        for command in re.finditer(r"(?<![\w-])make((?:[ \t]+[^\s;&|`'\"]+)+)", match.group(0)):
            words = [w for w in command.group(1).split() if "=" not in w and not w.startswith("-")]
            if words:
                line = text.count("\n", 0, match.start() + command.start()) + 1
                found.append((line, words[0]))
    return sorted(set(found))


def test_the_readme_names_make_commands() -> None:
    assert {"bench", "test"} <= {target for _, target in readme_make_commands()}


@pytest.mark.parametrize(
    ("line", "target"), [pytest.param(*c, id=f"README.md:{c[0]} make {c[1]}") for c in readme_make_commands()]
)
def test_a_make_target_the_readme_names_exists(line: int, target: str) -> None:
    assert target in make_targets(), f"README.md:{line}: `make {target}` is no target of the Makefile"
