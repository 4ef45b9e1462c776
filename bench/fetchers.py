"""`python -m bench.fetchers`: one pass of fetch workers over a shared PostgreSQL store, as one command.

A fetch worker (`feeds run --role fetch`) never ends by itself: it claims
due sources batch after batch, then waits for the next to come due. The
benchmark wants one pass, so this driver starts N workers as its own
children, watches the store until every source was fetched (its
`last_fetch` at or after the pass began, its lease let go), then stops
each worker by its PID with SIGTERM, as a service manager would, and
waits for it. The harness measures the driver (bench/measure.py): the
workers' CPU and memory are those of its children. The driver's own CPU
(start-up, one query every POLL seconds) is printed on its last
line of stdout, so the harness can take it out.

Exit status 0 when every worker ended cleanly after a complete pass; 1
when a worker died early or the pass did not complete within --timeout.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# How often the store is asked whether the pass is complete (a scan of the
# sources: about 1 ms of the server's CPU for 3,000 of them).
POLL = 0.5
# How long a worker has to stop after SIGTERM before it is killed.
STOP_WAIT = 30.0


def run_pass(argv: Sequence[str], workers: int, url: str, expect: int, since: float,
             timeout: float, log_dir: Path) -> int:
    """Start `workers` copies of `argv`, wait for `expect` sources fetched, stop them; exit status."""
    import psycopg

    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for n in range(workers):
            log = (log_dir / f"worker-{n + 1}.log").open("wb")
            logs.append(log)
            procs.append(subprocess.Popen(list(argv), stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + timeout
        with psycopg.connect(url, autocommit=True) as conn:
            while True:
                done = _fetched(conn, since)
                if done >= expect:
                    break
                died = [p for p in procs if p.poll() is not None]
                if died:
                    print(f"worker {died[0].pid} ended early with status {died[0].returncode} "
                          f"({done} of {expect} sources fetched)", file=sys.stderr)
                    return 1
                if time.monotonic() > deadline:
                    print(f"{done} of {expect} sources fetched after {timeout:.0f} s",
                          file=sys.stderr)
                    return 1
                time.sleep(POLL)
        return _stop(procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for log in logs:
            log.close()


def _fetched(conn: Any, since: float) -> int:
    """Sources fetched at or after `since` and leased by nobody now (0 before the schema is made)."""
    import psycopg

    try:
        row = conn.execute("SELECT count(*) FROM sources WHERE last_fetch >= %s "
                           "AND leased_by IS NULL", (since,)).fetchone()
    except psycopg.errors.UndefinedTable:  # the first worker has not made the tables yet
        return 0
    return int(row[0]) if row else 0


def _stop(procs: Sequence[subprocess.Popen[bytes]]) -> int:
    """SIGTERM each worker by its PID, wait for each; 0 when all ended cleanly."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
    status = 0
    for p in procs:
        try:
            code = p.wait(STOP_WAIT)
        except subprocess.TimeoutExpired:
            p.kill()
            code = p.wait()
        if code != 0:
            print(f"worker {p.pid} ended with status {code}", file=sys.stderr)
            status = 1
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fetchers", description=__doc__)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--store", required=True, help="the postgresql:// URL the workers use")
    parser.add_argument("--expect", type=int, required=True, help="sources in the pass")
    parser.add_argument("--since", type=float, required=True,
                        help="the pass began at this epoch second")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--logs", type=Path, required=True, help="folder for the workers' logs")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- and the worker's command line")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    args.logs.mkdir(parents=True, exist_ok=True)
    status = run_pass(command, args.workers, args.store, args.expect, args.since, args.timeout,
                      args.logs)
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(f"driver cpu {own.ru_utime + own.ru_stime:.3f}")
    return status


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
