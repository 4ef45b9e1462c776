"""`build` and `fetch`: the whole pipeline from sources to the output directory.

These are the library entry points the CLI and the daemon call; they return
summaries instead of printing, so tests can check every number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .articles import ArticlesResult, read_articles
from .codec import decode_entry
from .config import Config
from .index import render_index, render_opml
from .lock import ProjectLock
from .model import Entry, FeedItem, FeedSpec, FetchResult, Problem, RenderedFeed
from .render import render_feed
from .select import plan_feeds, select_all
from .sources import read_sources
from .store import Incoming, Store, UpsertStats
from .write import WriteReport, write_outputs

if TYPE_CHECKING:  # fetching (httpx, feedparser) is imported only when there are sources
    from .aggregate import SourceOutcome
    from .fetch import FetchSettings

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
    """Every planned feed of `entries` rendered, in plan order."""
    specs = plan_feeds(entries, config)
    selected = select_all(specs, entries, config.entries_per_feed)
    return [
        RenderedFeed(spec, render_feed(spec, [_item(e, lang) for e, lang in picks], config),
                     len(picks))
        for spec, picks in selected.items()
        if picks
    ]


def _item(entry: Entry, lang: str) -> FeedItem:
    variant = entry.variant(lang)
    assert variant is not None  # selection picks only languages the entry has
    return FeedItem(entry, variant)


@dataclass(frozen=True)
class Published:
    """What publishing wrote: the feeds, the files, how many entries were published."""

    feeds: tuple[RenderedFeed, ...]
    report: WriteReport
    entries: int


def publish(store: Store, config: Config) -> Published:
    """Write every feed of the store's published entries, with the index and OPML.

    Feeds are planned from the store's listings, without loading any text.
    A feed's fingerprint covers the configuration, the feed and the stored
    form of each entry it shows; a feed whose fingerprint and file are as
    they were last written is not rendered again (its bytes are read back),
    so a rebuild renders only the feeds that something changed.
    """
    with store.snapshot():
        listings = store.published_listings()
        specs = plan_feeds(listings, config)
        selected = {spec: picks for spec, picks in
                    select_all(specs, listings, config.entries_per_feed).items() if picks}
        texts = store.entry_texts(listing.id for picks in selected.values()
                                  for listing, _ in picks)
        written_before = store.output_fingerprints()
    settings = render_fingerprint(config)
    decoded: dict[str, Entry] = {}
    feeds: list[RenderedFeed] = []
    outputs: dict[str, tuple[str, str]] = {}
    for spec, picks in selected.items():
        fingerprint = feed_fingerprint(settings, spec, [(texts[e.id], lang) for e, lang in picks])
        data = _still_written(config.output_dir / spec.path, written_before.get(spec.path),
                              fingerprint)
        if data is None:
            items = []
            for listing, lang in picks:
                if listing.id not in decoded:
                    decoded[listing.id] = decode_entry(texts[listing.id])
                items.append(_item(decoded[listing.id], lang))
            data = render_feed(spec, items, config)
        feeds.append(RenderedFeed(spec, data, len(picks)))
        outputs[spec.path] = (fingerprint, hashlib.sha256(data).hexdigest())
    files = {f.spec.path: f.data for f in feeds}
    files["index.html"] = render_index(feeds, config)
    files["feeds.opml"] = render_opml(feeds, config)
    report = write_outputs(config.output_dir, files)
    store.record_outputs(outputs)
    return Published(tuple(feeds), report, len(listings))


def render_fingerprint(config: Config) -> str:
    """A digest of the configuration (and version) a feed is rendered with."""
    def plain(value: object) -> object:
        if isinstance(value, (set, frozenset)):
            return sorted(value, key=str)
        return str(value)

    blob = json.dumps([__version__, asdict(config)], default=plain, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def feed_fingerprint(settings: str, spec: FeedSpec, shown: Sequence[tuple[str, str]]) -> str:
    """A digest of everything a feed's bytes depend on (pure).

    `shown` holds, in feed order, the stored form of each entry and the
    language of the variant the feed shows.
    """
    digest = hashlib.sha256()
    for part in (settings, spec.kind, spec.key, spec.path, spec.title, spec.subtitle or "",
                 spec.filter.lang or ""):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for text, lang in shown:
        digest.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
        digest.update(lang.encode("utf-8") + b"\0")
    return digest.hexdigest()


def _still_written(path: Path, before: tuple[str, str] | None, fingerprint: str) -> bytes | None:
    """The file's bytes when it is exactly what `fingerprint` rendered last time, else None."""
    if before is None or before[0] != fingerprint:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == before[1] else None


def _fetch_problems(outcomes: Sequence[SourceOutcome]) -> list[Problem]:
    return [Problem(o.url, o.message or o.status) for o in outcomes
            if o.status in ("error", "gone") and o.message]


def sync_articles(config: Config, store: Store) -> tuple[ArticlesResult, UpsertStats]:
    """Read the articles (re-parsing only changed files) and make the store match them."""
    cache = store.article_cache()
    with store.local_sync() as sync:

        def offer(entry: Entry, encoded: str, digest: str) -> None:
            # Local articles are always published: they are never merged with
            # a remote copy of their source link, so no canonical link is stored.
            sync.add(Incoming(entry, entry.updated, None, encoded, digest))

        articles = read_articles(config, cache, on_entry=offer)
        stats = sync.finish(keep=articles.ids, cache=articles.cache_updates,
                            present=articles.present)
    return articles, stats


def build(
    config: Config,
    *,
    write: bool = True,
    fetch: bool = True,
    settings: FetchSettings | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Fetch the due sources, read the articles, store both and write every feed.

    With `write=False` (feeds check) nothing is fetched, stored or written.
    Problems with single articles or sources (a bad entry of the source list
    included) are collected, never raised; an unwritable output directory
    raises OutputError.
    """
    listed = read_sources(config)
    if not write:
        articles = read_articles(config)
        feeds = render_all(articles.entries, config)
        return BuildResult(articles.files, articles.drafts, len(articles.entries), tuple(feeds),
                           (*listed.problems, *articles.problems), None)
    with lock_for(config), Store(config.store_path) as store:
        outcomes: list[SourceOutcome] = []
        if fetch and listed.sources:
            from .aggregate import refresh

            outcomes = refresh(config, store, listed.sources, only_due=True, settings=settings,
                               progress=progress)
        articles, local = sync_articles(config, store)
        published = publish(store, config)
    return BuildResult(
        files=articles.files,
        drafts=articles.drafts,
        # Articles no feed can show are not stored, yet they are published.
        entries=published.entries + articles.articles - len(set(articles.ids)),
        feeds=published.feeds,
        problems=(*listed.problems, *articles.problems, *_fetch_problems(outcomes)),
        report=published.report,
        fetched=tuple(outcomes),
        local=local,
    )


def fetch(
    config: Config,
    *,
    only_url: str | None = None,
    settings: FetchSettings | None = None,
    progress: Progress | None = None,
    on_problem: Callable[[Problem], None] | None = None,
) -> list[SourceOutcome]:
    """Fetch every enabled source now (or the one named), due or not, and store the entries.

    Each problem of the source list goes to `on_problem`; the usable
    sources are fetched all the same.
    """
    from .aggregate import refresh

    listed = read_sources(config)
    if on_problem is not None:
        for problem in listed.problems:
            on_problem(problem)
    with lock_for(config), Store(config.store_path) as store:
        return refresh(config, store, listed.sources, only_due=False, only_url=only_url,
                       settings=settings, progress=progress)
