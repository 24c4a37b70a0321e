"""The report's page in a real browser: headless Chromium loads index.html, and a script injected into a copy of it
records every image that did not load, every table without rows and every contents link without its section.
Skipped, with the reason, where no Chromium is installed (Debian: `apt-get install chromium`), except in CI (`CI` set),
where .ci/run installs it and its absence fails the test."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from reports.load.synthetic import synthetic_results
from reports.render.report import write_report
from tools.screenshot import BROWSERS, DOCS, FIRST_SCREEN, ONLY_SECTION, browser, first_screen, headless, section_ids

pytestmark = pytest.mark.slow
# first thing in <head>: every script error and console.error of the page is kept for the check
ERRORS = """<script>
window.accelbenchErrors = [];
window.addEventListener("error", e => window.accelbenchErrors.push("error: " + (e.message || e.target.src)), true);
const consoleError = console.error;
console.error = (...args) => { window.accelbenchErrors.push("console: " + args.join(" ")); consoleError(...args); };
</script>"""
CHECK = """<script>
window.addEventListener("load", () => {
  const bad = [...window.accelbenchErrors];
  for (const img of document.images) if (!img.complete || img.naturalWidth === 0) bad.push("image: " + img.alt);
  document.querySelectorAll("table").forEach((t, i) => {
    if (t.querySelectorAll("tbody tr").length === 0) bad.push("table without rows: #" + i);
  });
  for (const a of document.querySelectorAll("nav a"))
    if (!document.getElementById(a.getAttribute("href").slice(1))) bad.push("link: " + a.getAttribute("href"));
  const glance = document.querySelector("#at-a-glance ~ figure img");  // the first workload's answer figure
  const box = glance && glance.getBoundingClientRect();
  const out = document.createElement("pre");
  out.id = "accelbench-check";
  out.textContent = JSON.stringify({images: document.images.length, tables: document.querySelectorAll("table").length,
                                    links: document.querySelectorAll("nav a").length, bad, screen: window.innerHeight,
                                    glance: box && {top: box.top, bottom: box.bottom}});
  document.body.appendChild(out);
});
</script>"""


def _browser_or_skip() -> str:
    found = browser()
    if found is None:
        why = f"no headless browser: none of {', '.join(BROWSERS)} is on PATH (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must run this test (.ci/run installs chromium as root)")
        pytest.skip(why)
    return found


def _checked(browser: str, page: str, tmp_path: Path) -> dict:
    """What the injected script found in `page`: counts of images, tables and contents links, and what was bad."""
    assert page.count("<head>") == 1
    return _reported(browser, page.replace("<head>", "<head>" + ERRORS).replace("</body>", CHECK + "</body>"), tmp_path)


def _reported(browser: str, page: str, tmp_path: Path):
    """What a script in `page` wrote, as JSON, into `<pre id="accelbench-check">` once the browser loaded it."""
    checked = tmp_path / "checked.html"
    checked.write_text(page)
    run = subprocess.run(
        [*headless(browser, FIRST_SCREEN), "--dump-dom", checked.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    found = re.search(r'<pre id="accelbench-check">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the check did not run (exit {run.returncode}): {run.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_the_page_loads_every_image_and_every_table_has_rows(tmp_path: Path) -> None:
    browser = _browser_or_skip()
    paths = write_report(synthetic_results(rows=240, workloads=2, devices=4), tmp_path / "out")
    page = paths["html"].read_text()
    result = _checked(browser, page, tmp_path)
    assert result["bad"] == []
    assert result["images"] == page.count("<img ") > 0  # every figure, all loaded
    assert result["tables"] == page.count("<table") > 0 and result["links"] == page.count('<a href="#')


def test_the_check_sees_a_broken_image_an_empty_table_and_a_console_error(tmp_path: Path) -> None:
    browser = _browser_or_skip()
    planted = (
        '<nav><a href="#nowhere">x</a></nav><img alt="planted" src="missing.png">'
        "<table><thead><tr><th>a</th></tr></thead><tbody></tbody></table>"
        '<script>console.error("planted error")</script>'
    )
    page = f"<!doctype html><html><head><title>t</title></head><body>{planted}</body></html>"
    bad = _checked(browser, page, tmp_path)["bad"]
    assert "image: planted" in bad and "table without rows: #0" in bad and "link: #nowhere" in bad
    assert "console: planted error" in bad


def test_the_first_screen_shows_the_answer_figure_and_its_screenshot_is_in_docs(tmp_path: Path) -> None:
    from PIL import Image

    executable = _browser_or_skip()
    paths = write_report(synthetic_results(rows=240, workloads=2, devices=4), tmp_path / "out")
    result = _checked(executable, paths["html"].read_text(), tmp_path)
    glance, screen = result["glance"], result["screen"]
    # the page's viewport in that window (the window's frame may take some of its 900 pixels: stricter)
    assert 0.8 * FIRST_SCREEN[1] <= screen <= FIRST_SCREEN[1] and glance is not None
    # the figure starts on the first screen, and most of it is seen without scrolling
    assert 0 <= glance["top"] < screen and min(glance["bottom"], screen) - glance["top"] >= 0.6 * (
        glance["bottom"] - glance["top"]
    )
    shot = tmp_path / "first-screen.png"
    assert first_screen(paths["html"], shot, executable=executable) and not first_screen(
        paths["html"], shot, executable=executable
    )
    with Image.open(shot) as image:
        assert image.size == FIRST_SCREEN and len(image.convert("L").getcolors(1 << 16)) > 16  # not a blank page
    with Image.open(Path(__file__).resolve().parents[1] / DOCS) as image:
        assert image.size == FIRST_SCREEN  # the README's screenshot is that first screen (make screenshot)


SHOWN = """<script>addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "accelbench-check";
  out.textContent = JSON.stringify([...document.querySelectorAll("h1, h2, h3, h4")].filter(h => h.offsetParent !== null)
                                    .map(h => h.id));
  document.body.appendChild(out);
});</script>"""


def _headings_shown(executable: str, page: str, section: str, tmp_path: Path) -> list[str]:
    """The ids of the headings a browser shows of `page` with `section` alone (tools.screenshot's script)."""
    return _reported(
        executable, page.replace("</body>", ONLY_SECTION % json.dumps(section) + SHOWN + "</body>", 1), tmp_path
    )


def test_a_section_alone_is_its_heading_to_the_next_of_its_level_and_its_screenshot_is_not_the_first_screen(
    tmp_path: Path,
) -> None:
    from PIL import Image

    executable = _browser_or_skip()
    paths = write_report(synthetic_results(rows=240, workloads=2, devices=4), tmp_path / "out")
    page = paths["html"].read_text()
    heatmaps = [i for i in section_ids(page) if i.startswith("heatmap-")]
    assert len(heatmaps) == 2  # one per workload
    assert _headings_shown(executable, page, "recommendations", tmp_path) == ["recommendations"]
    assert _headings_shown(executable, page, heatmaps[0], tmp_path) == [heatmaps[0]]  # an h3: not its sibling
    assert _headings_shown(executable, page, "speedup-heatmaps", tmp_path) == ["speedup-heatmaps", *heatmaps]

    first, alone = tmp_path / "first.png", tmp_path / "recommendations.png"
    first_screen(paths["html"], first, executable=executable)
    assert first_screen(paths["html"], alone, (1500, 1000), executable=executable, section="recommendations")
    with Image.open(alone) as image:
        assert image.size == (1500, 1000) and len(image.convert("L").getcolors(1 << 16)) > 16  # not a blank page
    assert alone.read_bytes() != first.read_bytes()
    with pytest.raises(ValueError, match=r"has no section 'recomendations'; valid: .*\brecommendations\b"):
        first_screen(paths["html"], alone, executable=executable, section="recomendations")
