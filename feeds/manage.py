"""Managing the source list: add a feed (with autodiscovery), import, export.

These back `feeds add`, `feeds import` and `feeds export`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .discover import discover_feeds, looks_like_html
from .errors import ConfigError, FetchError, ParseError
from .fetch import FetchSettings, fetch_all_sync
from .model import FetchRequest, SourceConfig
from .parse import parse_feed
from .sources import append_sources, check_url, load_sources, read_opml, render_sources_opml


@dataclass(frozen=True)
class Added:
    """The source `feeds add` added, and how it was found."""

    source: SourceConfig
    discovered_from: str | None  # the page URL when found by autodiscovery
    alternatives: tuple[str, ...] = ()
    already: bool = False


def add_source(
    config: Config, url: str, *, title: str | None = None, tags: tuple[str, ...] = (),
    settings: FetchSettings | None = None,
) -> Added:
    """Check that `url` is a feed (or a page announcing one) and add it to links.toml.

    Raises FetchError when it cannot be fetched, ParseError when it is
    neither a feed nor a page that links to one.
    """
    if not check_url(url):
        raise ConfigError(f"{url}: not an absolute http(s) URL")
    settings = settings or FetchSettings()
    result = fetch_all_sync([FetchRequest(url)], settings)[0]
    if not result.ok or result.body is None:
        raise FetchError(f"{url}: {result.error or 'no content'}")
    feed_url, page = url, None
    alternatives: tuple[str, ...] = ()
    body, final = result.body, result.final_url
    if looks_like_html(body, result.header("content-type")):
        found = discover_feeds(body, final)
        if not found:
            raise ParseError(f"{url}: this is an HTML page that links to no feed")
        page, feed_url = url, found[0][0]
        alternatives = tuple(f[0] for f in found[1:])
        result = fetch_all_sync([FetchRequest(feed_url)], settings)[0]
        if not result.ok or result.body is None:
            raise FetchError(f"{feed_url}: {result.error or 'no content'}")
        body, final = result.body, result.final_url
    parsed = parse_feed(body, final, result.headers)
    source = SourceConfig(url=feed_url, title=title or parsed.title, tags=tags)
    added = append_sources(config, [source])
    return Added(source, page, alternatives, already=not added)


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
