"""Managing the source list: add a feed (with autodiscovery), import, export.

These back `feeds add`, `feeds import` and `feeds export`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import Config, FetchSettings
from .errors import FetchError, ParseError, SourceError, UsageError
from .model import FetchRequest, Problem, SourceConfig
from .remote.discover import discover_feeds, looks_like_html
from .remote.http import fetch_all_sync
from .remote.parse import parse_feed
from .sources import (
    append_sources,
    check_url,
    normalise_url,
    read_opml,
    read_sources,
    render_sources_opml,
)
from .store import Store

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
    url = normalise_url(url)
    if not check_url(url):
        raise SourceError(url, "not an absolute http(s) URL")
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


@dataclass(frozen=True)
class Imported:
    """What `feeds import` did: the sources added, how many were there already, what was bad."""

    added: tuple[SourceConfig, ...]
    already: int
    problems: tuple[Problem, ...]


def import_opml(config: Config, path: Path) -> Imported:
    """Add every good feed of an OPML file to links.toml; each bad outline is a problem.

    Raises SourceError when the file cannot be read or is not OPML at all.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    found = read_opml(data, str(path))
    added = append_sources(config, found.sources)
    return Imported(tuple(added), len(found.sources) - len(added), found.problems)


def export_opml(config: Config) -> tuple[bytes, tuple[Problem, ...]]:
    """Every usable source as OPML, with its site's link when a fetch has learnt it.

    Also returns the source list's problems: a source left out of the
    export must be said to be.
    """
    listed = read_sources(config)
    sources = listed.sources
    site_links: dict[str, str] = {}
    # The store knows each fetched feed's own link (its site); a project
    # never built has no store, and exporting must not create one.
    if sources and config.store_path.is_file():
        with Store(config.store_path) as store:
            for source in sources:
                state = store.source(store.resolve_key(source.url))
                if state is not None and state.feed_link and check_url(state.feed_link):
                    site_links[source.url] = state.feed_link
    return render_sources_opml(sources, f"{config.title}: sources", site_links), listed.problems
