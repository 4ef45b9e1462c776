"""Managing the source list: add a feed (with autodiscovery), import, export.

These back `feeds add`, `feeds import` and `feeds export`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .discover import discover_feeds, looks_like_html
from .errors import ConfigError, FetchError, ParseError, UsageError
from .fetch import FetchSettings, fetch_all_sync
from .model import FetchRequest, SourceConfig
from .parse import parse_feed
from .sources import append_sources, check_url, load_sources, read_opml, render_sources_opml

# A feed a page announces: (url, type, title), as discover_feeds gives them.
Candidate = tuple[str, str, str]


@dataclass(frozen=True)
class Added:
    """The source `feeds add` added, and how it was found."""

    source: SourceConfig
    discovered_from: str | None  # the page URL when found by autodiscovery
    candidates: tuple[Candidate, ...] = ()  # every feed the page announces, best first
    chosen: int = 0  # index into candidates of the one added
    already: bool = False


def add_source(
    config: Config, url: str, *, title: str | None = None, tags: tuple[str, ...] = (),
    settings: FetchSettings | None = None, pick: int | None = None,
    choose: Callable[[Sequence[Candidate]], int] | None = None,
) -> Added:
    """Check that `url` is a feed (or a page announcing one) and add it to links.toml.

    Of the feeds a page announces, the `pick`-th (from 1) is added if given,
    else the one `choose` returns the index of (asked only when there is a
    choice), else the first: the main feed, comment feeds ranking last.
    Raises FetchError when it cannot be fetched, ParseError when it is
    neither a feed nor a page that links to one, UsageError for a `pick`
    the page does not have.
    """
    if not check_url(url):
        raise ConfigError(f"{url}: not an absolute http(s) URL")
    settings = settings or FetchSettings()
    result = fetch_all_sync([FetchRequest(url)], settings)[0]
    if not result.ok or result.body is None:
        raise FetchError(f"{url}: {result.error or 'no content'}")
    feed_url, page = url, None
    found: list[Candidate] = []
    chosen = 0
    body, final = result.body, result.final_url
    if looks_like_html(body, result.header("content-type")):
        found = discover_feeds(body, final)
        if not found:
            raise ParseError(f"{url}: this is an HTML page that links to no feed")
        if pick is not None:
            if not 1 <= pick <= len(found):
                listed = "; ".join(f"{i}. {t or '(untitled)'} {u}"
                                   for i, (u, _, t) in enumerate(found, 1))
                raise UsageError(f"--pick {pick}: {url} announces {len(found)} feed(s): {listed}")
            chosen = pick - 1
        elif choose is not None and len(found) > 1:
            chosen = choose(found)
        page, feed_url = url, found[chosen][0]
        result = fetch_all_sync([FetchRequest(feed_url)], settings)[0]
        if not result.ok or result.body is None:
            raise FetchError(f"{feed_url}: {result.error or 'no content'}")
        body, final = result.body, result.final_url
    elif pick not in (None, 1):
        raise UsageError(f"--pick {pick}: {url} is a feed itself, not a page announcing several")
    parsed = parse_feed(body, final, result.headers)
    source = SourceConfig(url=feed_url, title=title or parsed.title, tags=tags)
    added = append_sources(config, [source])
    return Added(source, page, tuple(found), chosen, already=not added)


def import_opml(config: Config, path: Path) -> tuple[list[SourceConfig], int]:
    """Add every feed of an OPML file to links.toml; returns (added, already there)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    sources = read_opml(data, str(path))
    added = append_sources(config, sources)
    return added, len(sources) - len(added)


def export_opml(config: Config) -> bytes:
    """Every configured source as OPML."""
    return render_sources_opml(load_sources(config), f"{config.title}: sources")
