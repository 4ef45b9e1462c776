"""What each `feeds` command does: call the library, print the result.

`cli` parses the command line and hands each command its arguments and the
loaded configuration; a command returns its exit status (see `cli`).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .cli import EXIT_OK, EXIT_PROBLEMS
from .config import STORE_VARIABLE, Config
from .errors import FeedsError, UsageError
from .model import Problem, SourceConfig
from .pipeline import (
    BuildResult,
    Notified,
    build,
    check,
    fetch,
    hub_states,
    migrate_store,
    source_states,
    workers,
)

if TYPE_CHECKING:
    from .local.walk import Ahead
    from .model import FetchResult, HubState, SourceState, WorkerState
    from .remote.refresh import SourceOutcome


class _Progress:
    """A one-line progress display on a terminal; silent in a pipe."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int, result: FetchResult) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        mark = "ok" if result.ok else "failed"
        line = f"fetching {done}/{total}: {mark} {result.url}"
        # One column short of the width: a character in the last column makes
        # many terminals wrap, and the next "\r" would then start a new line.
        width = max(_terminal_width(self.stream) - 1, 20)
        self.stream.write("\r" + line[:width].ljust(width))
        if done == total:
            self.stream.write("\r" + " " * width + "\r")
        self.stream.flush()


def _terminal_width(stream: TextIO) -> int:
    """The columns of the terminal `stream` writes to.

    shutil.get_terminal_size() honours COLUMNS but asks stdout, which may be a
    pipe while the progress goes to a terminal on stderr; so COLUMNS first,
    then the stream's own terminal, then shutil's answer (80 as a last resort).
    """
    import shutil

    if os.environ.get("COLUMNS", "").isdigit() and int(os.environ["COLUMNS"]) > 0:
        return int(os.environ["COLUMNS"])
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError):
        return shutil.get_terminal_size().columns


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one}" if n == 1 else f"{n} {many or one + 's'}"


def _print_problems(result: BuildResult) -> None:
    for problem in result.problems:
        print(problem, file=sys.stderr)


def _fetch_summary(outcomes: Sequence[SourceOutcome]) -> str:
    by: dict[str, int] = {}
    for o in outcomes:
        by[o.status] = by.get(o.status, 0) + 1
    new = sum(o.new for o in outcomes)
    changed = sum(o.changed for o in outcomes)
    parts = [f"{v} {k}" for k, v in sorted(by.items())]
    return (f"fetched {_count(len(outcomes), 'source')} ({', '.join(parts) or 'none due'}): "
            f"{_count(new, 'new entry', 'new entries')}, {changed} changed")


def cmd_build(args: argparse.Namespace, config: Config, ahead: Ahead | None = None) -> int:
    result = build(config, fetch=not args.offline, notify=not args.offline,
                   progress=_Progress(sys.stderr, not args.quiet), ahead=ahead)
    _print_problems(result)
    if result.hubs is not None:
        _print_hub_failures(result.hubs)
    if not args.quiet:
        report = result.report
        assert report is not None
        if result.fetched:
            print(_fetch_summary(result.fetched))
        print(
            f"read {_count(result.files, 'article')}"
            + (f" ({result.drafts} drafts skipped)" if result.drafts else "")
            + f", published {_count(result.entries, 'entry', 'entries')} in "
            f"{_count(len({f.spec for f in result.feeds}), 'feed')}"
            f" ({', '.join(config.formats)}): {len(report.written)} files written, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed; "
            f"{_count(len(result.problems), 'problem')} → {config.output_dir}"
        )
    return EXIT_PROBLEMS if args.strict and result.problems else EXIT_OK


def _print_hub_failures(notified: Notified) -> None:
    """One line per hub that did not take its pings: not a problem of the build, which is published."""
    failed: dict[str, list[str]] = {}
    for ping in notified.failed:
        failed.setdefault(ping.hub, []).append(ping.last_error or "failed")
    for hub, errors in failed.items():
        print(f"{hub}: WebSub hub not notified ({errors[0]}); "
              f"{_count(len(errors), 'ping')} kept to retry", file=sys.stderr)


def cmd_init(args: argparse.Namespace) -> int:
    from .skeleton import create_project

    root: Path = args.dir if args.dir is not None else args.root
    written = create_project(root, datetime.now(UTC).date())
    if not args.quiet:
        for path in written:
            print(f"wrote {path}")
        where = "" if root.resolve() == Path.cwd() else f" --root {root}"
        print("next: edit or replace the sample article, add feeds you follow with "
              f"'feeds{where} add URL', then 'feeds{where} build' and open "
              f"{root / 'output' / 'index.html'}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    from .sources import read_sources

    sources = read_sources(config).sources
    result = check(config)
    _print_problems(result)
    if not args.quiet:
        print(
            f"configuration ok; {_count(len(sources), 'source')}; "
            f"read {_count(result.files, 'article')}, {_count(len(result.problems), 'problem')}"
        )
    return EXIT_PROBLEMS if result.problems else EXIT_OK


def cmd_fetch(args: argparse.Namespace, config: Config) -> int:
    listed: list[Problem] = []
    outcomes = fetch(config, only_url=args.source, progress=_Progress(sys.stderr, not args.quiet),
                     on_problem=listed.append)
    for problem in listed:
        print(problem, file=sys.stderr)
    if args.source and not outcomes:
        print(f"feeds: no enabled source {args.source!r} is configured", file=sys.stderr)
        return EXIT_PROBLEMS
    failed = [o for o in outcomes if o.status in ("error", "gone")]
    for o in failed:
        print(f"{o.url}: {o.message}", file=sys.stderr)
    if not args.quiet:
        print(_fetch_summary(outcomes))
    if args.build:
        result = build(config, fetch=False)
        for problem in result.problems:
            if problem not in listed:  # the source list's were printed above
                print(problem, file=sys.stderr)
    return EXIT_PROBLEMS if args.strict and (failed or listed) else EXIT_OK


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def cmd_sources(args: argparse.Namespace, config: Config) -> int:
    from .remote.options import describe_http
    from .sources import read_sources

    listed = read_sources(config)
    for problem in listed.problems:
        print(problem, file=sys.stderr)
    states = source_states(config, listed.sources)
    # How each is fetched (proxy, auth, header names): never a secret or its value.
    by_url = {c.url: c for c in listed.sources}
    asking = {s.key: describe_http(by_url.get(s.key) or by_url.get(s.url) or SourceConfig(s.url),
                                   config) for s in states}
    if args.json:
        print(json.dumps([asdict(s) | asking[s.key] for s in states], ensure_ascii=False,
                         indent=2))
        return EXIT_OK
    if not states:
        print(f"no sources configured (add one with 'feeds add URL' or edit "
              f"{config.sources_dir / 'links.toml'})")
    for s in states:
        _print_source(s, asking[s.key])
    for hub in hub_states(config):
        _print_hub(hub)
    now = time.time()
    for worker in workers(config):
        _print_worker(worker, now)
    return EXIT_OK


def _print_worker(w: WorkerState, now: float) -> None:
    """A process sharing the store: alive (and what it holds) or gone (silent for too long)."""
    state = "gone" if w.gone(now) else "alive"
    print(f"worker {w.host} pid {w.pid} ({w.role})")
    print(f"  status: {state}   last heartbeat: {now - w.heartbeat:.0f} s ago "
          f"({_when(w.heartbeat)})   sources in flight: {0 if w.gone(now) else w.in_flight}")


def _print_source(s: SourceState, asking: Mapping[str, str | None]) -> None:
    print(f"{s.url}")
    if s.url != s.key:
        print(f"  configured as: {s.key}")
    print(f"  title: {s.title or '-'}")
    print(f"  status: {s.status}   entries: {s.entry_count}   errors in a row: {s.error_count}")
    print(f"  last success: {_when(s.last_success)}   next due: "
          f"{'never (gone)' if s.status == 'gone' else _when(s.next_due) if s.next_due else 'now'}")
    if s.last_error:
        print(f"  last error ({s.last_error_kind}): {s.last_error}")
    if s.warning:
        print(f"  warning: {s.warning}")
    shown = [f"{key.replace('_', ' ')}: {value}" for key, value in asking.items()
             if value and (key, value) not in (("proxy", "environment"), ("retry_after_scope", "site"))]
    if shown:
        print("  " + "   ".join(shown))
    if s.page_error:
        print(f"  full text: {s.page_error}")


def _print_hub(h: HubState) -> None:
    print(f"hub {h.url}")
    state = "ok" if not h.pending else f"{h.pending} pending"
    print(f"  status: {state}   last success: {_when(h.last_success)}"
          + (f"   next try: {_when(h.next_try)}" if h.pending else ""))
    if h.last_error and h.failing:
        print(f"  last error ({_when(h.last_failure)}): {h.last_error}")


def cmd_add(args: argparse.Namespace, config: Config) -> int:
    from .manage import add_source

    # Ask only a person at a terminal; a script gets the main feed and is told.
    choose = _ask_feed if sys.stdin.isatty() and args.pick is None else None
    added = add_source(config, args.url, title=args.title, tags=tuple(args.tag),
                       pick=args.pick, choose=choose)
    if added.discovered_from and len(added.candidates) == 1:
        print(f"{added.discovered_from} is a page; it announces the feed {added.source.url}")
    elif added.discovered_from:
        print(f"{added.discovered_from} is a page; it announces "
              f"{len(added.candidates)} feeds:")
        _list_candidates(added.candidates, added.chosen)
        print(f"chose {added.chosen + 1}; for another, run 'feeds add {added.discovered_from} "
              f"--pick N' or 'feeds add' with that feed's URL")
    if added.already:
        print(f"already configured: {added.source.url}")
    else:
        print(f"added {added.source.url} ({added.source.title}) to "
              f"{config.sources_dir / 'links.toml'}")
    return EXIT_OK


def _list_candidates(candidates: Sequence[tuple[str, str, str]], chosen: int | None) -> None:
    for i, (url, _, title) in enumerate(candidates):
        mark = "  <- chosen" if i == chosen else ""
        print(f"  {i + 1}. {title or '(untitled)'}  {url}{mark}")


def _ask_feed(candidates: Sequence[tuple[str, str, str]]) -> int:
    """Ask at the terminal which announced feed to add; Enter takes the first."""
    print("the page announces several feeds:")
    _list_candidates(candidates, None)
    while True:
        try:
            answer = input(f"add which one? [1-{len(candidates)}, Enter for 1] ").strip()
        except EOFError:
            answer = ""
        if not answer:
            return 0
        if answer.isdigit() and 1 <= int(answer) <= len(candidates):
            return int(answer) - 1
        print(f"please answer a number from 1 to {len(candidates)}")


def cmd_import(args: argparse.Namespace, config: Config) -> int:
    from .manage import import_opml

    imported = import_opml(config, args.file)
    for problem in imported.problems:
        print(problem, file=sys.stderr)
    for s in imported.added:
        print(f"added {s.url}" + (f" ({s.title})" if s.title else ""))
    print(f"imported {_count(len(imported.added), 'source')} from {args.file}; "
          f"{imported.already} already configured"
          + (f"; {_count(len(imported.problems), 'outline')} skipped" if imported.problems else ""))
    return EXIT_PROBLEMS if imported.problems else EXIT_OK


def cmd_export(args: argparse.Namespace, config: Config) -> int:
    from .manage import export_opml

    data, problems = export_opml(config)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.output:
        from .publish.write import atomic_write

        atomic_write(args.output, data)
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def cmd_store_migrate(args: argparse.Namespace, config: Config) -> int:
    done = migrate_store(config, args.to, replace=args.replace)
    if not args.quiet:
        tables = ", ".join(f"{n} {table}" for table, n in done.counts.items() if n)
        print(f"copied {_count(sum(done.counts.values()), 'row')} to {done.target}"
              f"{f' ({tables})' if tables else ''}; every table's count checked")
        print(f"the project uses it once feeds.toml's 'store' or {STORE_VARIABLE} names it")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from .daemon import Daemon, configure_logging

    configure_logging("warning" if args.quiet else args.log_level)
    if args.serve and args.role == "fetch":
        raise UsageError("--serve goes with the publisher: a fetch worker writes no output "
                         "(use --role publish --serve, or no --role)")
    if args.serve:
        _check_listen(args.host, args.port)
    serve = (args.host, args.port) if args.serve else None
    return Daemon(config, serve=serve, health_details=args.health_details,
                  role=args.role).run()


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    import logging
    import signal
    import threading

    from .daemon import configure_logging
    from .serve import Server, check_built_base, health_report, served_config

    configure_logging("warning" if args.quiet else "info")
    _check_listen(args.host, args.port)
    log = logging.getLogger("feeds")
    config, note = served_config(config, args.host, args.port)
    for message in (note, check_built_base(config)):
        if message is not None:
            log.warning("%s", message)

    def health() -> dict[str, object]:
        return health_report(config, details=args.health_details)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = Server(config, health, args.host, args.port)
    server.start()
    log.info("serving %s on http://%s:%d/", config.output_dir, args.host, args.port)
    while not stop.wait(0.5) and server.running:
        pass
    server.stop()
    log.info("stopped")
    return EXIT_OK


def _check_listen(host: str, port: int) -> None:
    """Refuse, in one line, an address the server could not listen on.

    uvicorn reports a failed bind by logging and exiting its thread; trying
    the bind first (with SO_REUSEADDR, as uvicorn binds) lets us say what is
    wrong and what to do instead.
    """
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port} is out of range; give a port from 1 to 65535, "
                         f"e.g. --port 8080")
    import socket  # only `serve` listens

    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise UsageError(f"--host {host}: not an address to listen on ({exc.strerror}); "
                         f"e.g. --host 127.0.0.1") from exc
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            where = f"cannot listen on {host}:{port}"
            if exc.errno == errno.EADDRINUSE:
                raise FeedsError(f"{where}: the port is in use by another program (another "
                                 f"'feeds serve'?); stop it or choose another with --port") from exc
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise FeedsError(f"{where}: not allowed (ports below 1024 need privileges); "
                                 f"choose a port from 1024 up with --port") from exc
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UsageError(f"{where}: {host} is not an address of this machine; "
                                 f"e.g. --host 127.0.0.1") from exc
            raise FeedsError(f"{where}: {exc.strerror or exc}") from exc
