"""How long the report takes to build from 10,000 result rows (acceptance: under 10 seconds on the 2-core machine).

A benchmark of the harness itself, not of hardware: marked `harness`, so `make bench` and `make smoke` leave it out;
`make bench-report` runs it. Timed with one round (a build is seconds long; pytest-benchmark's default rounds would
take minutes). The rows are synthetic (reports/load/synthetic.py): the default matrix grown to 10,000 cases.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.harness
ROWS = 10_000


@pytest.fixture(scope="module")
def results():
    from reports.load.synthetic import synthetic_results  # here: every `make bench` collects this module, unused

    return synthetic_results(ROWS)


def test_report_build_10000_rows(benchmark, results, tmp_path: Path) -> None:
    from reports.render.report import write_report

    cpu_start = time.process_time()
    paths = benchmark.pedantic(write_report, args=(results, tmp_path), rounds=1, iterations=1)
    benchmark.extra_info.update(
        rows=len(results),
        cpu_s=time.process_time() - cpu_start,
        files=len(paths),
        html_bytes=paths["html"].stat().st_size,
    )
    assert len(results) >= ROWS and paths["html"].stat().st_size > 0
