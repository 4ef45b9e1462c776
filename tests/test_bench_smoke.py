"""The benchmark harness (`python -m bench`) runs end to end at a tiny size.

It is run the way a person runs it, as a subprocess from the repository
root, without the peers (they would need PyPI), and must report a number for
every scenario.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SCENARIOS = (
    "1. cold build",
    "2. no-change rebuild",
    "3. one article edited",
    "1b. cold build",
    "2b. no-change rebuild",
    "3b. one article edited",
    "1c. cold build",
    "2c. no-change rebuild",
    "3c. one article edited",
    "4. refresh",
    "5. refresh again",
    "4f. refresh",
)
SECONDS = re.compile(r"^\d+(\.\d+)? s$")
MEGABYTES = re.compile(r"^\d+ MB$")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_tiny_benchmark_reports_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--no-peers", "--latency-ms", "2",
         "--work", str(tmp_path / "work"), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        # The feeds processes it starts run this checkout's package, not an installed one.
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert elapsed < 30, f"the tiny benchmark took {elapsed:.1f} s"
    assert out.read_text(encoding="utf-8") == done.stdout
    rows = {}
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0][:1].isdigit():
            rows[cells[0]] = cells
    for scenario in SCENARIOS:
        matching = [cells for title, cells in rows.items() if title.startswith(scenario)]
        assert matching, f"no row for {scenario!r} in:\n{done.stdout}"
        cells = matching[0]
        wall, spread, cpu, rss, pss = cells[2:7]
        assert SECONDS.match(wall) and SECONDS.match(cpu), cells
        assert re.match(r"^\d+(\.\d+)? s–\d+(\.\d+)? s$", spread), cells
        assert MEGABYTES.match(rss) and MEGABYTES.match(pss), cells
        assert float(rss.split()[0]) > 0, cells
    assert "FAILED" not in done.stdout
    # The refresh really fetched: the server saw every feed, then answered 304 to each.
    assert re.search(r"refresh, 6 feeds × 3 entries.*6 requests \(6×200\)", done.stdout)
    assert re.search(r"store: 18 entries", done.stdout)
    assert re.search(r"refresh again, all 304: server: 6 requests \(6×304\)", done.stdout)
    # With full text, the one summary-only feed's three entries had their pages fetched.
    assert re.search(r"full_text.*9 requests \(9×200\).*3 pages fetched", done.stdout)
    # One progress line per step on stderr.
    assert done.stderr.count("run 1/1") == len(SCENARIOS)
