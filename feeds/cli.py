"""The `feeds` command: a thin layer of argument parsing and printing.

Every command calls one library function and prints its result. Exit codes:
0 success; 1 problems found under `--strict` (or by `check`), or a command
that failed; 2 a configuration error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .build import BuildResult, build, fetch
from .config import Config, load_config
from .errors import ConfigError, FeedsError
from .model import FetchResult, SourceState
from .store import Store, dumps_state

if TYPE_CHECKING:
    from .aggregate import SourceOutcome

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_CONFIG = 2


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
        width = 100
        self.stream.write("\r" + line[:width].ljust(width))
        if done == total:
            self.stream.write("\r" + " " * width + "\r")
        self.stream.flush()


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root", type=Path, default=Path("."), metavar="DIR",
        help="project directory holding feeds.toml, sources/ and output/ (default: .)",
    )
    common.add_argument(
        "--config", type=Path, metavar="FILE",
        help="configuration file (default: ROOT/feeds.toml if it exists, else built-in defaults)",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="feeds",
        description=(
            "Publish local Markdown articles and followed remote feeds as Atom feeds: "
            "one with everything, one per language, one per tag, and custom selections."
        ),
        epilog="Run 'feeds COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"feeds {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "build", parents=[common], help="fetch due sources and regenerate every feed",
        description=(
            "Fetch the remote sources that are due, read every article, and write the output "
            "directory (all.atom, lang/*.atom, tags/*.atom, custom/*.atom, index.html, "
            "feeds.opml). Unchanged files are left untouched; feeds with no entries are "
            "removed. Problems with single articles or sources are listed and the rest is "
            "still published."
        ),
    )
    p.add_argument("--strict", action="store_true", help="exit with status 1 if any problem was found")
    p.add_argument("--offline", action="store_true", help="fetch nothing; publish what is stored")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser(
        "check", parents=[common], help="validate the configuration and articles, write nothing",
        description="Load the configuration, the source list and every article; report problems; "
                    "write nothing. Exits 1 if any problem is found, 2 on a configuration error.",
    )
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser(
        "fetch", parents=[common], help="fetch remote sources now, due or not",
        description="Fetch every enabled source (or the one named) now, still honouring "
                    "per-site politeness and Retry-After, and store new entries. Run "
                    "'feeds build' afterwards (or --build) to publish them.",
    )
    p.add_argument("--source", metavar="URL", help="fetch only this source")
    p.add_argument("--build", action="store_true", help="publish the feeds afterwards")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser(
        "sources", parents=[common], help="show every source and its fetch state",
        description="List every configured source with its status, last success, last error, "
                    "number of stored entries and when it is next due.",
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(func=_cmd_sources)

    p = sub.add_parser(
        "add", parents=[common], help="add a feed (or a page that links to one) to the sources",
        description="Fetch URL; if it is a feed, add it to sources/links.toml; if it is an HTML "
                    "page, find the feed it announces (autodiscovery) and add that.",
    )
    p.add_argument("url", metavar="URL")
    p.add_argument("--title", help="title to show for the source (default: the feed's own)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="tag added to every entry of the source (repeatable)")
    p.set_defaults(func=_cmd_add)

    p = sub.add_parser(
        "import", parents=[common], help="add every feed of an OPML file to the sources",
        description="Read an OPML subscription list exported by a feed reader and add each feed "
                    "not configured yet to sources/links.toml (folders become tags).",
    )
    p.add_argument("file", type=Path, metavar="FILE.opml")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser(
        "export", parents=[common], help="print the sources as OPML",
        description="Print every configured source as an OPML file for other feed readers.",
    )
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "run", parents=[common], help="run in the background: poll sources, rebuild on change",
        description="Keep every feed fresh: poll each source on its own schedule (its 'every', "
                    "adjusted by what it asks for and backed off while it fails), rebuild the "
                    "feeds when entries change or an article is saved, and with --serve serve "
                    "the output over HTTP. Logs go to stderr. SIGTERM or SIGINT stops it.",
    )
    _serve_options(p)
    p.add_argument("--serve", action="store_true", help="also serve the output over HTTP")
    p.add_argument("--log-level", default="info",
                   choices=["debug", "info", "warning", "error"], help="default: info")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "serve", parents=[common], help="serve the output directory over HTTP",
        description="Serve output/ with feed content types, ETag/Last-Modified (304), gzip and "
                    "HEAD; the index page at /, source state as JSON at /healthz.",
    )
    _serve_options(p)
    p.set_defaults(func=_cmd_serve)
    return parser


def _serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    p.add_argument("--health-details", action="store_true",
                   help="name each source (URL, title, last error) at /healthz; without it "
                        "sources are numbered, since URLs can carry credentials")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.root, args.config)
        status: int = args.func(args, config)
    except ConfigError as exc:
        print(f"feeds: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except FeedsError as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        print("feeds: interrupted", file=sys.stderr)
        return 130
    return status


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


def _cmd_build(args: argparse.Namespace, config: Config) -> int:
    result = build(config, fetch=not args.offline,
                   progress=_Progress(sys.stderr, not args.quiet))
    _print_problems(result)
    if not args.quiet:
        report = result.report
        assert report is not None
        if result.fetched:
            print(_fetch_summary(result.fetched))
        print(
            f"read {_count(result.files, 'article')}"
            + (f" ({result.drafts} drafts skipped)" if result.drafts else "")
            + f", published {_count(result.entries, 'entry', 'entries')} in "
            f"{_count(len(result.feeds), 'feed')}: {len(report.written)} files written, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed; "
            f"{_count(len(result.problems), 'problem')} → {config.output_dir}"
        )
    return EXIT_PROBLEMS if args.strict and result.problems else EXIT_OK


def _cmd_check(args: argparse.Namespace, config: Config) -> int:
    from .sources import load_sources

    sources = load_sources(config)
    result = build(config, write=False)
    _print_problems(result)
    if not args.quiet:
        print(
            f"configuration ok; {_count(len(sources), 'source')}; "
            f"read {_count(result.files, 'article')}, {_count(len(result.problems), 'problem')}"
        )
    return EXIT_PROBLEMS if result.problems else EXIT_OK


def _cmd_fetch(args: argparse.Namespace, config: Config) -> int:
    outcomes = fetch(config, only_url=args.source, progress=_Progress(sys.stderr, not args.quiet))
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
        _print_problems(result)
    return EXIT_OK


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _cmd_sources(args: argparse.Namespace, config: Config) -> int:
    from .sources import load_sources

    configured = load_sources(config)
    with Store(config.store_path) as store:
        store.ensure_sources(s.url for s in configured)
        keys = {store.resolve_key(s.url) for s in configured}
        states = [s for s in store.sources() if s.key in keys]
    if args.json:
        print(dumps_state(states))
        return EXIT_OK
    if not states:
        print(f"no sources configured (add one with 'feeds add URL' or edit "
              f"{config.sources_dir / 'links.toml'})")
        return EXIT_OK
    for s in states:
        _print_source(s)
    return EXIT_OK


def _print_source(s: SourceState) -> None:
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


def _cmd_add(args: argparse.Namespace, config: Config) -> int:
    from .manage import add_source

    added = add_source(config, args.url, title=args.title, tags=tuple(args.tag))
    if added.discovered_from:
        print(f"{added.discovered_from} is a page; it announces the feed {added.source.url}")
        for alt in added.alternatives:
            print(f"  (it also announces {alt})")
    if added.already:
        print(f"already configured: {added.source.url}")
    else:
        print(f"added {added.source.url} ({added.source.title}) to "
              f"{config.sources_dir / 'links.toml'}")
    return EXIT_OK


def _cmd_import(args: argparse.Namespace, config: Config) -> int:
    from .manage import import_opml

    added, already = import_opml(config, args.file)
    for s in added:
        print(f"added {s.url}" + (f" ({s.title})" if s.title else ""))
    print(f"imported {_count(len(added), 'source')} from {args.file}; {already} already configured")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace, config: Config) -> int:
    from .manage import export_opml

    data = export_opml(config)
    if args.output:
        from .write import atomic_write

        atomic_write(args.output, data)
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, config: Config) -> int:
    from .run import Daemon, configure_logging

    configure_logging("warning" if args.quiet else args.log_level)
    serve = (args.host, args.port) if args.serve else None
    return Daemon(config, serve=serve, health_details=args.health_details).run()


def _cmd_serve(args: argparse.Namespace, config: Config) -> int:
    import logging
    import signal
    import threading

    from .run import configure_logging
    from .serve import Server, check_built_base, served_config, store_health

    configure_logging("warning" if args.quiet else "info")
    log = logging.getLogger("feeds")
    config, note = served_config(config, args.host, args.port)
    for message in (note, check_built_base(config)):
        if message is not None:
            log.warning("%s", message)

    def health() -> dict[str, object]:
        return store_health(config, details=args.health_details)

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


if __name__ == "__main__":
    sys.exit(main())
