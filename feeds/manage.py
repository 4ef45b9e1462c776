"""Managing the source list: add a feed (with autodiscovery), import, export.

These back `feeds add`, `feeds import` and `feeds export`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import Config, FetchSettings
from .errors import SourceError
from .model import Problem, SourceConfig
from .pipeline import feed_links
from .remote.subscribe import Candidate, find_feed
from .sources import (
    append_sources,
    check_url,
    normalise_url,
    read_opml,
    read_sources,
    render_sources_opml,
)


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

    See `remote.subscribe.find_feed` for how a page's feed is chosen and
    what is raised when there is none.
    """
    url = normalise_url(url)
    if not check_url(url):
        raise SourceError(url, "not an absolute http(s) URL")
    found = find_feed(url, settings or FetchSettings(), pick=pick, choose=choose,
                      proxy=config.proxy)
    source = SourceConfig(url=found.url, title=title or found.title, tags=tags)
    added = append_sources(config, [source])
    return Added(source, found.page, found.candidates, found.chosen, already=not added)


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
    site_links = {url: link for url, link in feed_links(config, sources).items()
                  if check_url(link)}
    return render_sources_opml(sources, f"{config.title}: sources", site_links), listed.problems
