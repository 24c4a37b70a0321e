"""`make screenshot`: the first screen of a report (1400x900, headless Chromium) as docs/screenshots/first-screen.png,
and one section of it alone (its heading to the next heading of its level) as docs/screenshots/<section>.png, each
written only when it changed. The browser test takes the same screenshots of a synthetic report and checks that the
at-a-glance figure is on the first screen and that a section is shown alone.

    python -m tools.screenshot [REPORT_HTML] [--section ID] [--to PNG] [--size 1400x900]

REPORT_HTML defaults to the newest reports/out/*/index.html; ID is a heading's id (recommendations,
heatmap-digits-cnn...)."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FIRST_SCREEN = (1400, 900)  # width x height in CSS pixels: a laptop's browser window
DOCS = Path("docs/screenshots/first-screen.png")
# injected into a copy of the page: every element beside the section's heading is hidden but the section's own (from
# the heading to the next heading of its level or above), so the section is the first screen
ONLY_SECTION = """<script>addEventListener("DOMContentLoaded", () => {
  const heading = document.getElementById(%s), level = Number(heading.tagName[1]);
  let inside = false;
  for (const el of [...heading.parentElement.children]) {
    if (el === heading) inside = true;
    else if (/^H[1-6]$/.test(el.tagName) && Number(el.tagName[1]) <= level) inside = false;
    if (!inside && el.tagName !== "SCRIPT" && el.tagName !== "STYLE") el.style.display = "none";
  }
});</script>"""


def browser() -> str | None:
    """The first headless-capable browser on PATH, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def headless(executable: str, size: tuple[int, int]) -> list[str]:
    """The command line of a headless browser with a `size` window (its first screen)."""
    return [
        executable,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={size[0]},{size[1]}",
        "--virtual-time-budget=10000",
    ]


class UnknownSection(ValueError):
    """The page has no heading of that id."""


def section_ids(page: str) -> list[str]:
    """The ids of the page's headings, in order: the sections a screenshot can show alone."""
    return re.findall(r'<h[1-6][^>]*\bid="([^"]+)"', page)


def first_screen(
    html: Path,
    png: Path,
    size: tuple[int, int] = FIRST_SCREEN,
    executable: str | None = None,
    section: str | None = None,
) -> bool:
    """Writes the first screen of `html` (or of its `section` alone, a heading's id) to `png`; True if the file is
    new or its bytes changed."""
    executable = executable or browser()
    if executable is None:
        raise FileNotFoundError(
            f"no headless browser: none of {', '.join(BROWSERS)} is on PATH (apt-get install chromium)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "shot.png"
        page = html.resolve()
        if section is not None:
            text = html.read_text()
            if section not in (ids := section_ids(text)):
                raise UnknownSection(f"{html} has no section {section!r}; valid: {', '.join(ids) or 'none'}")
            # a report is one self-contained file (inline style, images as data: URIs): its copy can be anywhere
            page = Path(tmp) / "section.html"
            page.write_text(text.replace("</body>", ONLY_SECTION % json.dumps(section) + "</body>", 1))
        run = subprocess.run(
            [*headless(executable, size), f"--screenshot={shot}", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=180,
        )
        if not shot.is_file():
            raise RuntimeError(f"{executable} wrote no screenshot (exit {run.returncode}): {run.stderr[-1000:]}")
        new = shot.read_bytes()
    if png.is_file() and png.read_bytes() == new:
        return False
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(new)
    return True


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1400x900") from None
    if width < 200 or height < 200:
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be at least 200 pixels")
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshot", description=__doc__.split("\n\n")[0])
    parser.add_argument("report", nargs="?", type=Path, help="a report's index.html (default: the newest)")
    parser.add_argument("--section", help="a heading's id: that section alone (default: the page's first screen)")
    parser.add_argument(
        "--to", type=Path, help=f"where the PNG goes (default {DOCS}, or docs/screenshots/<section>.png)"
    )
    parser.add_argument("--size", type=_size, default=FIRST_SCREEN, help="WIDTHxHEIGHT (default 1400x900)")
    args = parser.parse_args(argv)
    report = args.report
    if report is None:
        found = sorted(Path("reports/out").glob("*/index.html"), key=lambda p: p.stat().st_mtime)
        if not found:
            parser.error("no report in reports/out/*/index.html: run `make bench` (or `make report`) first")
        report = found[-1]
    if not report.is_file():
        parser.error(f"{report} is not a file: give a report's index.html")
    to = args.to or (DOCS if args.section is None else DOCS.with_name(f"{args.section}.png"))
    try:
        changed = first_screen(report, to, args.size, section=args.section)
    except UnknownSection as exc:
        parser.error(str(exc))
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"screenshot: {exc}", file=sys.stderr)
        return 1
    what = f"section {args.section!r}" if args.section else "page"
    print(
        f"{to}: {'written' if changed else 'unchanged'} (the first {args.size[0]}x{args.size[1]} of the {what}, {report})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
