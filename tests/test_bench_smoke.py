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
# With PostgreSQL installed: the refresh with two fetch workers on PostgreSQL, and its 304 pass.
SHARED_SCENARIOS = ("8c. refresh", "9c. its 304 pass")
SECONDS = re.compile(r"^\d+(\.\d+)? s$")
MEGABYTES = re.compile(r"^\d+ MB$")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_tiny_benchmark_reports_every_scenario(tmp_path: Path) -> None:
    from bench.pgcluster import installed

    scenarios = SCENARIOS + (SHARED_SCENARIOS if installed() else ())
    out = tmp_path / "report.md"
    # The timeout only stops a hung run: how long the run takes is the bench's to measure.
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--no-peers", "--latency-ms", "2",
         "--work", str(tmp_path / "work"), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=200, check=False,
        # The feeds processes it starts run this checkout's package, not an installed one.
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.read_text(encoding="utf-8") == done.stdout
    rows = {}
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0][:1].isdigit():
            rows.setdefault(cells[0], cells)  # the first table's row, not a later one's
    for scenario in scenarios:
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
    if installed():
        # Two workers shared the feeds through their leases, and the server's work was read.
        assert re.search(r"8c\. refresh.*PostgreSQL.*6 requests \(6×200\).*store: 18 entries, "
                         r"6 sources ok.*fetched by each worker \(its log\): \d+, \d+", done.stdout)
        assert re.search(r"9c\. its 304 pass.*6 requests \(6×304\)", done.stdout)
        per_feed = re.search(r"\| 8c\. refresh[^|]*\| [\d.]+ s \| [\d.]+ s \| [\d.]+ \+ ([\d.]+) ms "
                             r"\| ([\d.]+) \|", done.stdout)
        assert per_feed and float(per_feed[1]) > 0 and float(per_feed[2]) > 0, done.stdout
    else:
        assert "PostgreSQL is not installed" in done.stdout
    # One progress line per step on stderr.
    assert done.stderr.count("run 1/1") == len(scenarios)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_tiny_soak_samples_the_daemon_over_rounds(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--soak-only", "--latency-ms", "2",
         "--work", str(tmp_path / "work"), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=90, check=False,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.read_text(encoding="utf-8") == done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 7. soak |")]
    assert len(rows) == 1, done.stdout
    cells = [c.strip() for c in rows[0].strip().strip("|").split("|")]
    length, rounds, warm, final, growth, peak, tree = cells[2:9]
    assert re.match(r"^\d+\.\d min$", length), cells
    assert int(rounds) > 2, cells  # past the tiny warm-up of 2 rounds
    assert re.match(r"^\d+ MB \(after round 2\)$", warm), cells
    assert MEGABYTES.match(final) and MEGABYTES.match(peak), cells
    assert re.match(r"^\d+ MB, \d+ MB$", tree), cells
    assert re.match(r"^[+-]\d+\.\d %$", growth), cells
    assert cells[11] in ("yes", "**no**"), cells
    # The day happened: feeds changed, failed and were published; articles were saved and seen.
    assert re.search(r"feed server: \d+ requests \(.*\d+×200.*\d+×304", done.stdout)
    saved = re.search(r"(\d+) articles saved \(\d+ files\), (\d+) seen by the watcher", done.stdout)
    assert saved and int(saved[1]) > 0 and saved[1] == saved[2], done.stdout
    # The time series beside the report, one row per sample after the header.
    series = (tmp_path / "report-soak.csv").read_text(encoding="utf-8").splitlines()
    assert series[0].startswith("seconds,rounds,daemon_rss_mb,tree_rss_mb")
    assert len(series) > 10
    assert "FAILED" not in done.stdout
