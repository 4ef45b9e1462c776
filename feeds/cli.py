"""The `feeds` command: a thin layer of argument parsing and printing.

Every command calls one library function and prints its result. Exit codes:
0 success; 1 problems found under `--strict` (or by `check`), or a command
that failed; 2 a configuration error (feeds.toml) or a command line that
names no project. A bad source or source list is a problem like a bad
article, never a configuration error. A person sees one line per error,
never a traceback, unless `--debug` asks for it.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .about import __version__
from .config import CONFIG_NAME, load_config
from .errors import ConfigError, FeedsError, UsageError

# The exit statuses (see above). The commands, and the whole program with
# them, are imported once the command is known (see `_main`).
EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_CONFIG = 2


def _common(top: bool) -> argparse.ArgumentParser:
    """The options every command takes, before the command or after it.

    The copy given to each command has no defaults (SUPPRESS), so that
    `feeds --root DIR build` keeps the DIR given before the command instead
    of the command's default overwriting it.
    """
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root", type=Path, default=default(Path(".")), metavar="DIR",
        help="project directory holding feeds.toml, sources/ and output/ (default: .)",
    )
    common.add_argument(
        "--config", type=Path, default=default(None), metavar="FILE",
        help="configuration file (default: ROOT/feeds.toml if it exists, else built-in defaults)",
    )
    common.add_argument("-q", "--quiet", action="store_true", default=default(False),
                        help="print problems only")
    common.add_argument("--debug", action="store_true", default=default(False),
                        help="show the traceback of an unexpected error")
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common(top=False)
    parser = argparse.ArgumentParser(
        prog="feeds", parents=[_common(top=True)],
        description=(
            "Publish local Markdown articles and followed remote feeds as Atom feeds: "
            "one with everything, one per language, one per tag, and custom selections."
        ),
        epilog="Run 'feeds COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"feeds {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "init", parents=[common], help="create a new project: a sample article, feeds.toml, sources/",
        description="Create a project in DIR (default: the --root folder, else .): a sample "
                    "bilingual article in sources/articles/, a feeds.toml with every key "
                    "commented, and an empty sources/links.toml. Never overwrites a file.",
    )
    p.add_argument("dir", type=Path, nargs="?", metavar="DIR", help="folder to create it in")
    p.set_defaults(func="cmd_init")

    p = sub.add_parser(
        "build", parents=[common], help="fetch due sources and regenerate every feed",
        description=(
            "Fetch the remote sources that are due, read every article, and write the output "
            "directory: every feed (all, lang/*, tags/*, custom/*) in each configured format "
            "(.atom, .rss, .json), index.html and feeds.opml. Unchanged files are left "
            "untouched; feeds with no entries are removed. Problems with single articles or "
            "sources are listed and the rest is still published."
        ),
    )
    p.add_argument("--strict", action="store_true", help="exit with status 1 if any problem was found")
    p.add_argument("--offline", action="store_true",
                   help="fetch nothing and ping no WebSub hub; publish what is stored")
    p.set_defaults(func="cmd_build")

    p = sub.add_parser(
        "check", parents=[common],
        help="validate the configuration, articles and page templates, write nothing",
        description="Load the configuration, the source list and every article, and render every "
                    "feed and page; report problems; write nothing. Exits 1 if any problem is "
                    "found, 2 on a configuration error.",
    )
    p.set_defaults(func="cmd_check")

    p = sub.add_parser(
        "fetch", parents=[common], help="fetch remote sources now, due or not",
        description="Fetch every enabled source (or the one named) now, still honouring "
                    "per-site politeness and Retry-After, and store new entries. Run "
                    "'feeds build' afterwards (or --build) to publish them.",
    )
    p.add_argument("--source", metavar="URL", help="fetch only this source")
    p.add_argument("--build", action="store_true", help="publish the feeds afterwards")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if any source failed")
    p.set_defaults(func="cmd_fetch")

    p = sub.add_parser(
        "sources", parents=[common], help="show every source and its fetch state",
        description="List every configured source with its status, last success, last error, "
                    "number of stored entries and when it is next due.",
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(func="cmd_sources")

    p = sub.add_parser(
        "add", parents=[common], help="add a feed (or a page that links to one) to the sources",
        description="Fetch URL; if it is a feed, add it to sources/links.toml; if it is an HTML "
                    "page, find the feeds it announces (autodiscovery) and add its main feed "
                    "(comment feeds last), or the one chosen with --pick or at the prompt.",
    )
    p.add_argument("url", metavar="URL")
    p.add_argument("--title", help="title to show for the source (default: the feed's own)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="tag added to every entry of the source (repeatable)")
    p.add_argument("--pick", type=int, metavar="N",
                   help="of the feeds a page announces, add the N-th as listed (default: the "
                        "first, or ask on a terminal)")
    p.set_defaults(func="cmd_add")

    p = sub.add_parser(
        "import", parents=[common], help="add every feed of an OPML file to the sources",
        description="Read an OPML subscription list exported by a feed reader and add each feed "
                    "not configured yet to sources/links.toml (folders become tags). A bad "
                    "outline is reported as FILE:LINE and skipped; exits 1 if any was.",
    )
    p.add_argument("file", type=Path, metavar="FILE.opml")
    p.set_defaults(func="cmd_import")

    p = sub.add_parser(
        "export", parents=[common], help="print the sources as OPML",
        description="Print every configured source as an OPML file for other feed readers: "
                    "a tagged source in a folder per tag, with its site's link once fetched.",
    )
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead")
    p.set_defaults(func="cmd_export")

    p = sub.add_parser(
        "store", help="manage the store: copy it to PostgreSQL or back",
        description="The store keeps entries and sources between runs: a SQLite file by "
                    "default, or a PostgreSQL database (store = \"postgresql://…\" in "
                    "feeds.toml, or FEEDS_STORE).",
    )
    store_sub = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    p = store_sub.add_parser(
        "migrate", parents=[common], help="copy the whole store to another (SQLite or PostgreSQL)",
        description="Copy every table of the project's store to the store --to names: a "
                    "postgresql:// URL or a SQLite file's path, either way round. The copy "
                    "is one transaction and each table's row count is checked; the project "
                    "uses the new store once feeds.toml's 'store' (or FEEDS_STORE) names it.",
    )
    p.add_argument("--to", required=True, metavar="URL|PATH",
                   help="the store to copy to: postgresql://user@host/db or a file path")
    p.add_argument("--replace", action="store_true",
                   help="delete what the store copied to holds first (without it, a store "
                        "that is not empty is refused)")
    p.set_defaults(func="cmd_store_migrate")

    p = sub.add_parser(
        "run", parents=[common], help="run in the background: poll sources, rebuild on change",
        description="Keep every feed fresh: poll each source on its own schedule (its 'every', "
                    "adjusted by what it asks for and backed off while it fails), rebuild the "
                    "feeds when entries change or an article is saved, and with --serve serve "
                    "the output over HTTP. Logs go to stderr. SIGTERM or SIGINT stops it.",
    )
    _serve_options(p)
    p.add_argument("--serve", action="store_true", help="also serve the output over HTTP")
    p.add_argument("--role", choices=["fetch", "publish"],
                   help="with a PostgreSQL store, do one part of the work: 'fetch' claims due "
                        "sources with leases shared by any number of workers on any hosts; "
                        "'publish' builds the feeds as entries arrive, one publisher at a time "
                        "(a second waits as a standby). Without it: both, in this process")
    p.add_argument("--log-level", default="info",
                   choices=["debug", "info", "warning", "error"], help="default: info")
    p.set_defaults(func="cmd_run")

    p = sub.add_parser(
        "serve", parents=[common], help="serve the output directory over HTTP",
        description="Serve output/ with feed content types, ETag/Last-Modified (304), gzip and "
                    "HEAD; the index page at /, source state as JSON at /healthz.",
    )
    _serve_options(p)
    p.set_defaults(func="cmd_serve")
    return parser


def _serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    p.add_argument("--health-details", action="store_true",
                   help="name each source (URL, title, last error) at /healthz; without it "
                        "sources are numbered, since URLs can carry credentials")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        try:
            return _main(argv)
        finally:
            # Flush here, not at interpreter exit, so a closed pipe is seen below.
            sys.stdout.flush()
    except BrokenPipeError:
        # `feeds sources | head -1`: the reader has gone, which is no error of
        # ours. The Python docs' recipe (signal module, "Note on SIGPIPE"):
        # point stdout at devnull so the flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PROBLEMS


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.func == "cmd_init":
            from .commands import cmd_init

            status: int = cmd_init(args)
            return status
        _check_root(args.root, args.config)
        config = load_config(args.root, args.config)
        if args.func == "cmd_build":
            # Started before the rest of the program is imported: its child
            # stats the article tree meanwhile (see `local.walk.walk_ahead`).
            from .local.walk import walk_ahead

            ahead = walk_ahead(config)
            from .commands import cmd_build

            status = cmd_build(args, config, ahead)
        else:
            from . import commands

            status = getattr(commands, args.func)(args, config)
    except (ConfigError, UsageError) as exc:
        kind = "configuration error: " if isinstance(exc, ConfigError) else ""
        print(f"feeds: {kind}{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except FeedsError as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        print("feeds: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except OSError as exc:
        # What the edges did not expect (a folder that cannot be read, a full
        # disk): one line for a person; the traceback only when asked for,
        # since it helps a developer and not the person who filled the disk.
        if args.debug:
            raise
        print(f"feeds: {_describe_os_error(exc)} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_PROBLEMS
    return status


_OS_ADVICE = {
    errno.ENOSPC: "free some disk space and run it again",
    errno.EDQUOT: "free some space within your quota and run it again",
    errno.EACCES: "check the permissions of that path",
    errno.EPERM: "check the permissions of that path",
    errno.EROFS: "the file system is read-only; use a project folder that can be written",
    errno.ENOENT: "check that the path exists",
    errno.ENOTDIR: "a file stands where a folder is expected; move it away",
    errno.EEXIST: "something else already stands at that path; move it away",
    errno.EISDIR: "a folder stands where a file is expected; move it away",
    errno.EMFILE: "raise the open-file limit (ulimit -n) and run it again",
}


def _describe_os_error(exc: OSError) -> str:
    """`path: what went wrong; what to do` for an OSError."""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = f"{exc.filename}: " if exc.filename else ""
    advice = _OS_ADVICE.get(exc.errno or 0)
    return f"{where}{what}" + (f"; {advice}" if advice else "")


def _check_root(root: Path, config_file: Path | None) -> None:
    """Refuse a --root that is no project, rather than quietly start an empty one there.

    A project has a feeds.toml or a sources/ folder (the repository's own
    sample project has only the latter); with --config the file says where
    everything is.
    """
    hint = f"create a project there with 'feeds init {root}'"
    if not root.exists():
        raise UsageError(f"{root}: no such folder; {hint}, or name another with --root DIR")
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder; name the project folder with --root DIR")
    if config_file is None and not (root / CONFIG_NAME).is_file() \
            and not (root / "sources").is_dir():
        raise UsageError(f"{root}: not a feeds project (no {CONFIG_NAME} and no sources/); "
                         f"{hint}, or name the project folder with --root DIR")


if __name__ == "__main__":
    sys.exit(main())
