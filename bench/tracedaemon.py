"""`python -m bench.tracedaemon ARGS…`: feeds' command line with tracemalloc on, for the soak.

When the soak finds the daemon's memory growing, this says where: it runs
`feeds ARGS…` in this process with tracemalloc tracing FEEDS_TRACE_FRAMES
frames (default 1), takes a first snapshot after FEEDS_TRACE_WARMUP seconds
and then, every FEEDS_TRACE_EVERY seconds, writes to
FEEDS_TRACE_OUT/trace-N.txt the allocation sites that grew most since that
first snapshot, grouped by line and by traceback. Tracing slows the process
(with 10 frames, on a busy 2-core machine, to a round every three minutes),
so a traced soak runs fewer rounds; use it to find a leak, not to measure
one. Memory that C libraries allocate themselves is not traced.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

_IGNORED = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)


def _write(path: Path, base: tracemalloc.Snapshot, snapshot: tracemalloc.Snapshot) -> None:
    current, peak = tracemalloc.get_traced_memory()
    lines = [f"traced now {current / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB", "",
             "grown since the first snapshot, by line:"]
    lines += [str(stat) for stat in snapshot.compare_to(base, "lineno")[:30]]
    lines += ["", "by traceback:"]
    for stat in snapshot.compare_to(base, "traceback")[:8]:
        lines.append(f"{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks:")
        lines += [f"    {line}" for line in stat.traceback.format()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _snapshots(out: Path, warmup: float, every: float) -> None:
    time.sleep(warmup)
    base = tracemalloc.take_snapshot().filter_traces(_IGNORED)
    number = 0
    while True:
        time.sleep(every)
        number += 1
        _write(out / f"trace-{number:02d}.txt", base,
               tracemalloc.take_snapshot().filter_traces(_IGNORED))


def main() -> int:
    out = Path(os.environ.get("FEEDS_TRACE_OUT", "."))
    out.mkdir(parents=True, exist_ok=True)
    warmup = float(os.environ.get("FEEDS_TRACE_WARMUP", "300"))
    every = float(os.environ.get("FEEDS_TRACE_EVERY", "120"))
    tracemalloc.start(int(os.environ.get("FEEDS_TRACE_FRAMES", "1")))
    threading.Thread(target=_snapshots, args=(out, warmup, every), name="trace-snapshots",
                     daemon=True).start()
    from feeds.cli import main as feeds_main

    return feeds_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
