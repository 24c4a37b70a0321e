"""The report's page in a real browser: headless Chromium loads index.html, and a script injected into a copy of it
records every image that did not load, every table without rows and every contents link without its section.
Skipped, with the reason, where no Chromium is installed (Debian: `apt-get install chromium`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reports.load.synthetic import synthetic_results
from reports.render.report import write_report

pytestmark = pytest.mark.slow
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHECK = """<script>
window.addEventListener("load", () => {
  const bad = [];
  for (const img of document.images) if (!img.complete || img.naturalWidth === 0) bad.push("image: " + img.alt);
  document.querySelectorAll("table").forEach((t, i) => {
    if (t.querySelectorAll("tbody tr").length === 0) bad.push("table without rows: #" + i);
  });
  for (const a of document.querySelectorAll("nav a"))
    if (!document.getElementById(a.getAttribute("href").slice(1))) bad.push("link: " + a.getAttribute("href"));
  const out = document.createElement("pre");
  out.id = "accelbench-check";
  out.textContent = JSON.stringify({images: document.images.length, tables: document.querySelectorAll("table").length,
                                    links: document.querySelectorAll("nav a").length, bad});
  document.body.appendChild(out);
});
</script>"""


def _browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def test_the_page_loads_every_image_and_every_table_has_rows(tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip(f"no headless browser: none of {', '.join(BROWSERS)} is on PATH (Debian: apt-get install chromium)")
    paths = write_report(synthetic_results(rows=240, workloads=2, devices=4), tmp_path / "out")
    page = paths["html"].read_text()
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", CHECK + "</body>"))
    run = subprocess.run(
        [
            browser,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
            checked.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    found = re.search(r'<pre id="accelbench-check">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the check did not run (exit {run.returncode}): {run.stderr[-2000:]}"
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert result["bad"] == []
    assert result["images"] == page.count("<img ") > 0  # every figure, all loaded
    assert result["tables"] == page.count("<table") > 0 and result["links"] == page.count('<a href="#')
