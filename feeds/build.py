"""`build` and `fetch`: the whole pipeline from sources to the output directory.

These are the library entry points the CLI and the daemon call; they return
summaries instead of printing, so tests can check every number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .aggregate import SourceOutcome, refresh
from .articles import ArticlesResult, read_articles
from .config import Config
from .fetch import FetchSettings
from .index import render_index, render_opml
from .lock import ProjectLock
from .model import Entry, FetchResult, Problem, RenderedFeed
from .render import render_feed
from .select import plan_feeds, select_all
from .sources import load_sources
from .store import Incoming, Store, UpsertStats
from .write import WriteReport, write_outputs

Progress = Callable[[int, int, FetchResult], None]


@dataclass(frozen=True)
class BuildResult:
    """What a build did, for the summary line and for tests."""

    files: int
    drafts: int
    entries: int
    feeds: tuple[RenderedFeed, ...]
    problems: tuple[Problem, ...]
    report: WriteReport | None
    fetched: tuple[SourceOutcome, ...] = ()
    local: UpsertStats | None = None


def lock_for(config: Config, wait: float = 60.0) -> ProjectLock:
    """The project's lock, kept beside its store."""
    return ProjectLock(config.store_path.with_name("lock"), wait)


def render_all(entries: Sequence[Entry], config: Config) -> list[RenderedFeed]:
    """Every planned feed rendered, in plan order."""
    specs = plan_feeds(entries, config)
    selected = select_all(specs, entries, config.entries_per_feed)
    return [
        RenderedFeed(spec, render_feed(spec, items, config), len(items))
        for spec, items in selected.items()
        if items
    ]


def publish(entries: Sequence[Entry], config: Config) -> tuple[list[RenderedFeed], WriteReport]:
    """Render every feed of `entries` with the index and OPML, and write them."""
    feeds = render_all(entries, config)
    files = {f.spec.path: f.data for f in feeds}
    files["index.html"] = render_index(feeds, config)
    files["feeds.opml"] = render_opml(feeds, config)
    return feeds, write_outputs(config.output_dir, files)


def _fetch_problems(outcomes: Sequence[SourceOutcome]) -> list[Problem]:
    return [Problem(o.url, o.message or o.status) for o in outcomes
            if o.status in ("error", "gone") and o.message]


def sync_articles(config: Config, store: Store, now: datetime) -> tuple[ArticlesResult, UpsertStats]:
    """Read the articles (re-parsing only changed files) and make the store match them."""
    articles = read_articles(config, store.article_cache())
    present = {*articles.parsed, *(p.where.rsplit(":", 1)[0] for p in articles.problems)}
    present |= {e.origin for e in articles.entries}
    store.update_article_cache(articles.parsed, present)
    # Local articles are always published: they are never merged with a
    # remote copy of their source link, so no canonical link is stored.
    incoming = [Incoming(e, e.updated) for e in articles.entries]
    return articles, store.sync_local(incoming, now)


def build(
    config: Config,
    *,
    write: bool = True,
    fetch: bool = True,
    settings: FetchSettings | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> BuildResult:
    """Fetch the due sources, read the articles, store both and write every feed.

    With `write=False` (feeds check) nothing is fetched, stored or written.
    Problems with single articles or sources are collected, never raised; an
    unwritable output directory raises OutputError.
    """
    if not write:
        articles = read_articles(config)
        feeds = render_all(articles.entries, config)
        return BuildResult(articles.files, articles.drafts, len(articles.entries), tuple(feeds),
                           articles.problems, None)
    sources = load_sources(config)
    with lock_for(config), Store(config.store_path) as store:
        outcomes: list[SourceOutcome] = []
        if fetch and sources:
            outcomes = refresh(config, store, sources, only_due=True, settings=settings,
                               progress=progress)
        articles, local = sync_articles(config, store, now or datetime.now(UTC))
        entries = store.published_entries()
        feeds, report = publish(entries, config)
    return BuildResult(
        files=articles.files,
        drafts=articles.drafts,
        entries=len(entries),
        feeds=tuple(feeds),
        problems=(*articles.problems, *_fetch_problems(outcomes)),
        report=report,
        fetched=tuple(outcomes),
        local=local,
    )


def fetch(
    config: Config,
    *,
    only_url: str | None = None,
    settings: FetchSettings | None = None,
    progress: Progress | None = None,
) -> list[SourceOutcome]:
    """Fetch every enabled source now (or the one named), due or not, and store the entries."""
    sources = load_sources(config)
    with lock_for(config), Store(config.store_path) as store:
        return refresh(config, store, sources, only_due=False, only_url=only_url,
                       settings=settings, progress=progress)
