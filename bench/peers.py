"""The tools people use today, installed in a virtual environment of their own.

Peers are measured, never depended on: they live in a venv the harness makes
(by default under bench/.work/, which git ignores), and a peer that cannot be
installed is reported as such instead of failing the benchmark.

- Pelican builds the same articles (its own copy, with Pelican's `Key: value`
  header lines) with its all / category / tag / translation Atom feeds and
  every HTML page it can be told not to write switched off.
- reader (lemon24/reader) updates the same remote feeds with its defaults:
  `make_reader(db)`, `add_feed` for each, `update_feeds()`; and at its
  best, with the same calls but `update_feeds(workers=16)`, which fetches
  (and parses) sixteen feeds at once in threads instead of one at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BEST_READER_WORKERS",
    "PEER_PACKAGES",
    "PEER_VERSIONS",
    "PeerEnv",
    "prepare_peers",
    "read_summary",
    "write_pelican_config",
    "write_reader_script",
]

# What each peer needs from PyPI, pinned so two runs measure the same code.
# Pelican reads Markdown only with the `markdown` package installed (its
# `markdown` extra). reader 3.26 is the newest release and runs on 3.11; the
# feedparser it vendors imports `sgmllib`, which current feedparser releases
# no longer pull in (they ship it as `feedparser_sgmllib`), so sgmllib3k,
# the package that provides `sgmllib`, is installed beside it.
PEER_VERSIONS: dict[str, str] = {"pelican": "4.12.0", "reader": "3.26"}
PEER_PACKAGES: dict[str, tuple[str, ...]] = {
    "pelican": (f"pelican[markdown]=={PEER_VERSIONS['pelican']}",),
    "reader": (f"reader=={PEER_VERSIONS['reader']}", "sgmllib3k==1.0.0"),
}
_DISTRIBUTIONS = {"pelican": "pelican", "reader": "reader"}
# reader at its best: `update_feeds(workers=...)` fetches that many feeds at
# once in threads, so that one feed's network latency no longer waits for
# the next; its parsing still shares one interpreter lock.
BEST_READER_WORKERS = 16
# What must import for a peer to run at all.
_PROBES = {"pelican": "import markdown, pelican", "reader": "import reader, sgmllib"}


@dataclass(frozen=True)
class PeerEnv:
    """The peers' venv and, per peer, its installed version or why it is missing."""

    venv: Path
    versions: dict[str, str]  # peer -> version, for the installed ones
    missing: dict[str, str]  # peer -> reason

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.venv / "bin" / "python"

    def script(self, name: str) -> Path:
        """A console script of the venv."""
        return self.venv / "bin" / name


def _installed_version(python: Path, dist: str) -> str | None:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _pinned(spec: str) -> tuple[str, str]:
    """("pelican", "4.12.0") from "pelican[markdown]==4.12.0"."""
    name, _, wanted = spec.partition("==")
    return name.split("[", 1)[0], wanted


def _satisfied(python: Path, specs: tuple[str, ...]) -> bool:
    """Whether every pinned distribution of `specs` is installed at its version."""
    return all(_installed_version(python, name) == wanted for name, wanted in map(_pinned, specs))


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()][-lines:]
    return " / ".join(kept)[:300] or "no output"


def prepare_peers(
    venv: Path, peers: tuple[str, ...], log: Callable[[str], None] | None = None
) -> PeerEnv:
    """Make (or reuse) the peers' venv and install each peer; never raises for a failed install.

    A peer already installed at its pinned version is reused as it is; any
    other version is replaced by the pinned one.
    """
    versions: dict[str, str] = {}
    missing: dict[str, str] = {}
    venv = venv.absolute()
    python = venv / "bin" / "python"
    if not python.exists():
        if log is not None:
            log(f"creating the peers' venv {venv} ...")
        made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True,
                              check=False)
        if made.returncode != 0:
            reason = f"could not create a venv: {_tail(made.stderr)}"
            return PeerEnv(venv, {}, dict.fromkeys(peers, reason))
    for peer in peers:
        if peer not in PEER_PACKAGES:
            missing[peer] = "unknown peer"
            continue
        if not _satisfied(python, PEER_PACKAGES[peer]):
            if log is not None:
                log(f"installing {peer} into {venv} ...")
            pip = subprocess.run(
                [python, "-m", "pip", "install", "--quiet", *PEER_PACKAGES[peer]],
                capture_output=True, text=True, check=False,
            )
            if pip.returncode != 0:
                missing[peer] = f"pip install failed: {_tail(pip.stderr)}"
                continue
        found = _installed_version(python, _DISTRIBUTIONS[peer])
        probe = subprocess.run([python, "-c", _PROBES[peer]], capture_output=True, text=True,
                               check=False)
        if found is None or probe.returncode != 0:
            missing[peer] = f"installed but not importable: {_tail(probe.stderr)}"
        else:
            versions[peer] = found
    return PeerEnv(venv, versions, missing)


def write_pelican_config(path: Path, entries_per_feed: int, *, pages: bool = False) -> None:
    """A pelicanconf.py that writes feeds and as little else as Pelican allows (or, with
    `pages`, its article pages, tag and category pages and index too, and RSS beside Atom).

    Feeds: all, per category, per tag and per language ("translation") Atom
    feeds, `entries_per_feed` items each like feeds' own default. Every
    HTML page (articles, tags, categories, authors, archives, index) has an
    empty SAVE_AS or is dropped from DIRECT_TEMPLATES, and no theme or static
    files are copied. Pelican still reads and renders every article's
    Markdown, since a feed carries the rendered content.
    """
    settings = {
        "AUTHOR": "bench",
        "SITENAME": "bench",
        "SITEURL": "http://127.0.0.1:8080",
        "FEED_DOMAIN": "http://127.0.0.1:8080",
        "TIMEZONE": "UTC",
        "DEFAULT_LANG": "zh",
        "FEED_MAX_ITEMS": entries_per_feed,
        "FEED_ALL_ATOM": "feeds/all.atom.xml",
        "CATEGORY_FEED_ATOM": "feeds/category/{slug}.atom.xml",
        "TAG_FEED_ATOM": "feeds/tag/{slug}.atom.xml",
        "TRANSLATION_FEED_ATOM": "feeds/all-{lang}.atom.xml",
        "AUTHOR_FEED_ATOM": None,
        "AUTHOR_FEED_RSS": None,
        "FEED_ALL_RSS": None,
        "CATEGORY_FEED_RSS": None,
        "TRANSLATION_FEED_RSS": None,
        "TAG_FEED_RSS": None,
        "ARTICLE_SAVE_AS": "",
        "ARTICLE_LANG_SAVE_AS": "",
        "DRAFT_SAVE_AS": "",
        "DRAFT_LANG_SAVE_AS": "",
        "PAGE_SAVE_AS": "",
        "PAGE_LANG_SAVE_AS": "",
        "DRAFT_PAGE_SAVE_AS": "",
        "DRAFT_PAGE_LANG_SAVE_AS": "",
        "TAG_SAVE_AS": "",
        "CATEGORY_SAVE_AS": "",
        "AUTHOR_SAVE_AS": "",
        "ARCHIVES_SAVE_AS": "",
        "YEAR_ARCHIVE_SAVE_AS": "",
        "MONTH_ARCHIVE_SAVE_AS": "",
        "DAY_ARCHIVE_SAVE_AS": "",
        "DIRECT_TEMPLATES": [],
        "PAGE_PATHS": [],
        "STATIC_PATHS": [],
        "THEME_STATIC_PATHS": [],
        "DEFAULT_PAGINATION": False,
        "PLUGINS": [],
        "CACHE_CONTENT": False,
        "LOAD_CONTENT_CACHE": False,
    }
    if pages:
        # Pelican's own defaults for the pages (articles, their translations,
        # tags, categories, the index paginated like a feed) and RSS feeds.
        for key in ("ARTICLE_SAVE_AS", "ARTICLE_LANG_SAVE_AS", "TAG_SAVE_AS", "CATEGORY_SAVE_AS",
                    "DIRECT_TEMPLATES", "THEME_STATIC_PATHS", "DEFAULT_PAGINATION"):
            del settings[key]
        settings |= {"FEED_ALL_RSS": "feeds/all.rss.xml",
                     "CATEGORY_FEED_RSS": "feeds/category/{slug}.rss.xml",
                     "TRANSLATION_FEED_RSS": "feeds/all-{lang}.rss.xml",
                     "TAG_FEED_RSS": "feeds/tag/{slug}.rss.xml",
                     "DIRECT_TEMPLATES": ["index"], "DEFAULT_PAGINATION": entries_per_feed}
    what = "feeds and pages" if pages else "feeds only"
    lines = [f'"""Pelican settings written by `python -m bench`: {what}."""', ""]
    lines += [f"{key} = {value!r}" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


_READER_SCRIPT = '''\
"""Update feeds with reader's defaults, or with WORKERS threads; written by `python -m bench`."""
import json
import sys

from reader import make_reader

db, links, summary, mode = sys.argv[1:5]
workers = int(sys.argv[5]) if len(sys.argv) > 5 else 1
reader = make_reader(db)
if mode == "add":
    with open(links, encoding="utf-8") as f:
        for url in f.read().split():
            reader.add_feed(url, exist_ok=True)
    reader.update_feeds(workers=workers)  # new feeds are due at once
else:
    # Already-updated feeds are not due again for an hour; update them now
    # anyway, as `feeds fetch` does. Everything else stays at its default.
    reader.update_feeds(scheduled=False, workers=workers)
counts = reader.get_entry_counts()
broken = sum(1 for _ in reader.get_feeds(broken=True))
reader.close()
with open(summary, "w", encoding="utf-8") as f:
    json.dump({"entries": counts.total, "broken_feeds": broken}, f)
'''


def write_reader_script(path: Path) -> None:
    """The script the reader peer runs: `python SCRIPT DB LINKS SUMMARY add|update [WORKERS]`.

    `add` subscribes to every URL of LINKS (one per line) and updates the new
    feeds; `update` updates every subscribed feed again, due or not; both
    with `update_feeds(workers=WORKERS)`, 1 (reader's default) unless given.
    Both leave {"entries": N, "broken_feeds": B} in SUMMARY.
    """
    path.write_text(_READER_SCRIPT, encoding="utf-8")


def read_summary(path: Path) -> dict[str, int]:
    """The JSON summary the reader script left, or {} when it left none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()}
