"""The pipeline: refresh the remote sources → sync the local articles → publish → tell the hubs.

This is the one place the steps are composed. The faces call it: `feeds
build`, `check` and `fetch` through the functions at the end, the daemon
through a `Pipeline` whose steps it schedules on threads of their own. Only
the pipeline (and the refresh it calls) opens the store or takes the
project lock; the faces see summaries, never the store. Telling the
WebSub hubs comes after the lock is let go: the files are published by
then, and a slow hub must hold up nobody.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config, FetchSettings, store_location
from .errors import UsageError
from .local.changes import read_changes
from .local.read import ArticlesResult, read_articles
from .local.scan import settings_fingerprint
from .local.walk import Ahead
from .lock import ProjectLock
from .model import Entry, Incoming, LocalState, Problem, RenderedFeed, SourceConfig, UpsertStats
from .publish.outputs import Published, check_pages, publish, render_all, render_fingerprint
from .publish.paths import feed_url
from .publish.select import ShownChooser, shows_every_article
from .publish.websub import owed_pings, plan_round, settle
from .publish.write import WriteReport
from .sources import read_sources
from .store import open_at, open_shared
from .store.protocol import EntryStore, PublisherSeat, SharedStore

if TYPE_CHECKING:
    # What fetching and the hubs use (and fetching's httpx and feedparser)
    # is imported only when there are sources, hubs or subscribers.
    from .model import (
        FetchResult,
        HubRequest,
        HubState,
        PendingDelivery,
        PendingPing,
        Ping,
        SourceState,
        WorkerState,
    )
    from .remote.refresh import Claim, SourceOutcome

Progress = Callable[[int, int, "FetchResult"], None]


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
    hubs: Notified | None = None


@dataclass(frozen=True)
class Notified:
    """What a round of WebSub pings did, and when the earliest ping left is due (None: none left)."""

    delivered: tuple[Ping, ...] = ()
    failed: tuple[PendingPing, ...] = ()
    next_try: float | None = None


def open_store(config: Config) -> EntryStore:
    """A session of the project's store: the one place that names its implementation."""
    return open_at(config.store_url, config.store_path)


def lock_for(config: Config, wait: float = 60.0) -> ProjectLock:
    """The project's lock, kept beside its store."""
    return ProjectLock(config.store_path.with_name("lock"), wait)


Hold = Callable[[], AbstractContextManager[object]]


@dataclass(frozen=True)
class Synced:
    """What one pass of sync-and-publish did: the articles read, how the store changed, what was written."""

    articles: ArticlesResult
    local: UpsertStats
    published: Published


class Pipeline:
    """The steps of one project's work, each in a store session of its own.

    A step holds the project lock while it works: by default it takes the
    lock itself (waiting up to a minute for another process); the daemon,
    whose two threads share one lock, passes how to hold that instead.
    """

    def __init__(self, config: Config, hold: Hold | None = None) -> None:
        self.config = config
        self._hold: Hold = hold or (lambda: lock_for(config))

    @contextmanager
    def _session(self) -> Iterator[EntryStore]:
        with self._hold(), open_store(self.config) as store:
            yield store

    def refresh(
        self,
        sources: Sequence[SourceConfig],
        *,
        only_due: bool,
        only_url: str | None = None,
        settings: FetchSettings | None = None,
        progress: Progress | None = None,
        on_outcome: Callable[[SourceOutcome], None] | None = None,
        reschedule: bool = False,
    ) -> list[SourceOutcome]:
        """Fetch the chosen sources and store what they bring (see `remote.refresh.refresh`).

        With `reschedule`, healthy sources are first brought onto their
        current interval (after the configuration or source list changed).
        """
        from .remote.refresh import pull_forward
        from .remote.refresh import refresh as refresh_sources

        with self._session() as store:
            if reschedule:
                pull_forward(store, self.config, sources)
            return refresh_sources(self.config, store, sources, only_due=only_due,
                                   only_url=only_url, settings=settings, progress=progress,
                                   on_outcome=on_outcome)

    def reschedule(self, sources: Sequence[SourceConfig]) -> None:
        """Bring healthy sources onto their current interval (see `remote.refresh.pull_forward`)."""
        from .remote.refresh import pull_forward

        with self._session() as store:
            pull_forward(store, self.config, sources)

    def refresh_claimed(
        self,
        sources: Sequence[SourceConfig],
        claim: Claim,
        *,
        settings: FetchSettings | None = None,
        on_outcome: Callable[[SourceOutcome], None] | None = None,
    ) -> list[SourceOutcome]:
        """As a fetch worker: claim due sources in the shared store, fetch and store them.

        Takes no project lock: fetch workers on many hosts share only the
        database, and its leases keep them apart (see `store.coordination`).
        """
        from .remote.refresh import refresh_claimed

        with _shared_session(self.config) as store:
            return refresh_claimed(self.config, store, sources, claim, settings=settings,
                                   on_outcome=on_outcome)

    def sync_and_publish(self, on_read: Callable[[ArticlesResult], None] | None = None) -> Synced:
        """Make the store match the articles, then write every feed that changed.

        `on_read` is given the articles as read, before publishing: their
        problems are known even when publishing then fails.
        """
        with self._session() as store:
            return self._sync_and_publish(store, on_read)

    def _sync_and_publish(self, store: EntryStore,
                          on_read: Callable[[ArticlesResult], None] | None = None,
                          ahead: Ahead | None = None) -> Synced:
        articles, local = sync_articles(self.config, store, ahead)
        if on_read is not None:
            on_read(articles)
        published = publish(store, self.config)
        # Owed before anything is sent, in the session that wrote the files:
        # a build that stops now leaves them for the next round.
        owed = owed_pings(published.report.written, {f.path for f in published.feeds},
                          self.config)
        if owed:
            store.owe_pings(owed, time.time())
        if self.config.hub_self:
            from .publish.subscriptions import topics_changed

            topics = topics_changed(published.report.written, _topic_urls(
                self.config, (f.path for f in published.feeds)))
            if topics:
                store.owe_deliveries(topics, time.time())
        return Synced(articles, local, published)

    def notify_hubs(self, settings: FetchSettings | None = None) -> Notified:
        """Send the pings that are due to the configured hubs; keep what failed for later.

        Runs without the project lock and outside any step's session: the
        files are already published, a hub's answer changes nothing but the
        store's record of pings, and a slow hub must hold up no build.
        """
        began = time.time()
        with open_store(self.config) as store:
            pending = store.pending_pings()
        planned = plan_round(pending, self.config.hubs, began)
        if not planned.due and not planned.stale:
            return Notified(next_try=_earliest(pending, self.config.hubs))
        from .model import Ping
        from .remote.ping import ping_hubs  # httpx, only when a hub is owed something

        results = ping_hubs([Ping(p.hub, p.url) for p in planned.due], settings)
        now = time.time()
        settled = settle(planned.due, results, now, self.config.hub_retry_seconds)
        with open_store(self.config) as store:
            store.settle_pings(settled.delivered, settled.failed,
                               [Ping(p.hub, p.url) for p in planned.stale], now, began=began)
            left = store.pending_pings()
        return Notified(settled.delivered, settled.failed, _earliest(left, self.config.hubs))

    # --- feeds' own WebSub hub -------------------------------------------------
    # Like the pings, none of this takes the project lock: the feeds are
    # published already, and a subscriber's answer changes nothing but the
    # store's record of subscriptions and deliveries.

    def hub_request(self, form: Mapping[str, str]) -> HubRequest:
        """The subscription request `form` makes, checked; SubscriptionError says why it is refused.

        The topic must be one of the feeds last written, the callback's
        host within its limit and every address it resolves to allowed:
        all checked before the request is answered, so a refused callback
        is never requested.
        """
        from .publish.subscriptions import check_host_limit, read_request

        with open_store(self.config) as store:
            topics = _topic_urls(self.config, store.output_fingerprints())
            subscriptions = store.subscriptions()
        request = read_request(form, topics.values(), self.config.hub_lease_min_seconds)
        now = time.time()
        check_host_limit(request, [s for s in subscriptions if s.expires > now],
                         self.config.hub_max_per_host)
        from .remote.callbacks import check_callback_address

        check_callback_address(request.callback, self.config.hub_allow_private)
        return request

    def confirm(self, request: HubRequest, settings: FetchSettings | None = None) -> str | None:
        """Verify `request` with its subscriber, then keep or forget the subscription.

        Returns None when the subscriber confirmed, else why not (and nothing
        changes); SubscriptionError when the callback's host reached its limit meanwhile.
        """
        from .model import Subscription
        from .publish.subscriptions import check_host_limit
        from .remote.callbacks import verify_intent

        refused = verify_intent(request, settings, allow_private=self.config.hub_allow_private)
        if refused is not None:
            return refused
        now = time.time()
        with open_store(self.config) as store:
            if request.mode == "subscribe":
                # Again: requests of one host verified at the same time
                # were each within the limit when they arrived.
                check_host_limit(request, [s for s in store.subscriptions() if s.expires > now],
                                 self.config.hub_max_per_host)
                store.subscribe(Subscription(request.topic, request.callback, request.secret,
                                             now + request.lease_seconds, now))
            else:
                store.unsubscribe(request.topic, request.callback)
        return None

    def distribute(self, settings: FetchSettings | None = None) -> Distributed:
        """Send every subscriber its topic's new content that is due; keep what failed for later.

        Expired subscriptions are dropped first, and so is what they were owed.
        """
        from .model import Delivery
        from .publish.subscriptions import failed_again, plan_deliveries

        hub = self.config.self_hub
        began = time.time()
        with open_store(self.config) as store:
            store.drop_expired(began)
            pending = store.pending_deliveries()
            planned = plan_deliveries(pending, store.subscriptions(), began)
            paths = {url: path for path, url in
                     _topic_urls(self.config, store.output_fingerprints()).items()}
        if hub is None or (not planned.due and not planned.dropped):
            return Distributed(next_try=min((p.next_try for p in pending), default=None))
        deliveries, gone = [], list(planned.dropped)
        for item, sub in planned.due:
            body = _feed_body(self.config, paths.get(item.topic))
            if body is None:
                gone.append(item)  # the feed is no longer written
            else:
                deliveries.append(Delivery(item.topic, item.callback, body[0], body[1],
                                           sub.secret))
        from .remote.callbacks import deliver

        results = {(r.topic, r.callback): r.error for r in deliver(
            deliveries, hub, settings, allow_private=self.config.hub_allow_private)}
        now = time.time()
        delivered, failed = [], []
        for item, _sub in planned.due:
            key = (item.topic, item.callback)
            if key in results and results[key] is None:
                delivered.append(item)
            elif item not in gone:
                error = results.get(key) or "not sent: the round ran out of time"
                failed.append(failed_again(item, error, now, self.config.hub_retry_seconds))
        with open_store(self.config) as store:
            store.settle_deliveries(delivered, failed, gone, began=began)
            left = store.pending_deliveries()
        return Distributed(tuple(delivered), tuple(failed),
                           min((p.next_try for p in left), default=None))

    def build(self, sources: Sequence[SourceConfig], *, fetch: bool = True,
              settings: FetchSettings | None = None,
              progress: Progress | None = None,
              ahead: Ahead | None = None) -> tuple[list[SourceOutcome], Synced]:
        """Refresh the due sources, sync the articles and publish, in one session.

        `ahead` is a walk of the article tree started earlier (see
        `local.walk.walk_ahead`), used unless sources are fetched first: the
        tree is then walked as it is after the fetch.
        """
        with self._session() as store:
            outcomes: list[SourceOutcome] = []
            if fetch and sources:
                if ahead is not None:
                    ahead.close()
                    ahead = None
                # Fetching (httpx, feedparser) is imported only when there are sources.
                from .remote.refresh import refresh as refresh_sources

                outcomes = refresh_sources(self.config, store, sources, only_due=True,
                                           settings=settings, progress=progress)
            return outcomes, self._sync_and_publish(store, ahead=ahead)


@dataclass(frozen=True)
class Distributed:
    """What a round of deliveries to the own hub's subscribers did, and when the next is due."""

    delivered: tuple[PendingDelivery, ...] = ()
    failed: tuple[PendingDelivery, ...] = ()
    next_try: float | None = None


def _topic_urls(config: Config, paths: Iterable[str]) -> dict[str, str]:
    """Feed path → its URL (a topic), for the feed files among `paths` (any format)."""
    from .publish.subscriptions import feed_content_type

    return {path: feed_url(path, config) for path in paths
            if feed_content_type(path) is not None}


def _feed_body(config: Config, path: str | None) -> tuple[bytes, str] | None:
    """A written feed's bytes and content type; None when it is not there."""
    if path is None:
        return None
    from .publish.subscriptions import feed_content_type

    content_type = feed_content_type(path)
    try:
        body = (config.output_dir / path).read_bytes()
    except OSError:
        return None
    return (body, content_type) if content_type is not None else None


def _earliest(pending: Sequence[PendingPing], hubs: Sequence[str]) -> float | None:
    return min((p.next_try for p in pending if p.hub in hubs), default=None)


# --- processes sharing a PostgreSQL store ----------------------------------------


def shared_store_needed(config: Config, what: str) -> None:
    """UsageError unless the project's store can be shared by several processes (PostgreSQL)."""
    if config.store_url is None:
        raise UsageError(
            f"{what} needs a PostgreSQL store, shared by every process (store = "
            f"\"postgresql://…\" in feeds.toml, or FEEDS_STORE); {config.store_path} is a "
            "SQLite file, which one process uses: run plain 'feeds run' instead")


@contextmanager
def _shared_session(config: Config) -> Iterator[SharedStore]:
    shared_store_needed(config, "this")
    store = open_shared(config.store_url)
    assert store is not None
    with store:
        yield store


def beat(config: Config, worker: WorkerState) -> None:
    """Say `worker` is alive in the shared store, and renew the leases it holds."""
    with _shared_session(config) as store:
        store.beat(worker, config.lease_seconds)


def forget_worker(config: Config, worker: str) -> None:
    """A process sharing the store stops cleanly: its heartbeat row and its leases go."""
    with _shared_session(config) as store:
        store.forget_worker(worker)


def workers(config: Config) -> list[WorkerState]:
    """Every process sharing the project's store lately (none for a SQLite store)."""
    if config.store_url is None:
        return []
    with _shared_session(config) as store:
        return store.workers(time.time())


def publisher_seat(config: Config) -> PublisherSeat:
    """The seat only one publisher holds at a time (see `store.coordination.PublisherSeat`)."""
    with _shared_session(config) as store:
        return store.publisher_seat()


def hub_states(config: Config) -> list[HubState]:
    """Each configured hub's state as the store keeps it, in configuration order (without the lock)."""
    from .model import HubState

    with open_store(config) as store:
        known = {state.url: state for state in store.hub_states()}
    return [known.get(hub, HubState(hub)) for hub in config.hubs]


def stored_sources(config: Config) -> list[SourceState]:
    """Every source as the store holds it (for health reports), without the lock.

    Reading needs no lock: the store's snapshot is consistent while another
    process writes.
    """
    with open_store(config) as store:
        return store.sources()


def source_states(config: Config, sources: Sequence[SourceConfig]) -> list[SourceState]:
    """The configured sources' stored states, in the order given, named as configured.

    A title the user configured (`feeds add --title`) names the source; the
    feed's own title, stored by the last fetch, only when there is none.
    """
    with open_store(config) as store:
        store.ensure_sources(s.url for s in sources)
        titles = {store.resolve_key(s.url): s.title for s in sources}
        return [replace(s, title=titles[s.key] or s.title)
                for s in store.sources() if s.key in titles]


def feed_links(config: Config, sources: Sequence[SourceConfig]) -> dict[str, str]:
    """Source URL → the link to its site that its feed gave, for the sources fetched so far.

    A project never built has no store, and asking must not create one.
    """
    if not sources or (config.store_url is None and not config.store_path.is_file()):
        return {}
    links = {}
    with open_store(config) as store:
        for source in sources:
            state = store.source(store.resolve_key(source.url))
            if state is not None and state.feed_link:
                links[source.url] = state.feed_link
    return links


def _fetch_problems(outcomes: Sequence[SourceOutcome]) -> list[Problem]:
    return [Problem(o.url, o.message or o.status) for o in outcomes
            if o.status in ("error", "gone") and o.message]


def sync_articles(config: Config, store: EntryStore,
                  ahead: Ahead | None = None) -> tuple[ArticlesResult, UpsertStats]:
    """Read the articles (re-parsing only changed files) and make the store match them.

    The tree is first compared with what the last sync saw (`local.changes`;
    `ahead`, a walk of it started earlier, is finished there): when that
    tells all that changed, only the changed files are read and nothing else
    of the store's article cache; else every file is sorted against the
    whole cache. The caller lets `ahead` go if it is not used.
    """
    fingerprint = settings_fingerprint(config)
    key = hashlib.sha256(f"{fingerprint}\0{render_fingerprint(config)}".encode()).hexdigest()
    state = store.local_state()
    if state is not None and state.key == key:
        changes = read_changes(config, state, store.article_records, store.article_owners,
                               fingerprint.encode(), ahead)
        if changes is not None:
            if changes.state is state:
                return changes.articles, UpsertStats()  # nothing changed: nothing to write
            with store.local_sync() as sync:
                for parsed in changes.parsed:
                    entry = parsed.entry
                    sync.add(Incoming(entry, entry.updated, None, parsed.text,
                                      parsed.content_digest))
                return changes.articles, sync.finish_changed(
                    changes.cache, changes.state, gone=changes.gone, dropped=changes.dropped,
                    previous=state)
    cache = store.article_cache()
    with store.local_sync() as sync:

        def offer(entry: Entry, encoded: str, digest: str) -> None:
            # Local articles are always published: they are never merged with
            # a remote copy of their source link, so no canonical link is stored.
            sync.add(Incoming(entry, entry.updated, None, encoded, digest))

        articles = read_articles(config, cache, on_entry=offer, on_records=sync.remember,
                                 to_show=ShownChooser(config))
        every = shows_every_article(config)
        kept = None
        # A sync that met a problem keeps no state: the next reads every file
        # again and reports it again.
        if not articles.problems and (every or articles.wanted is not None):
            kept = LocalState(key, articles.files, articles.drafts, articles.articles,
                              articles.stored, None if every else articles.wanted)
        stats = sync.finish(keep=articles.ids, cache=articles.cache_updates,
                            present=articles.present, state=kept)
    return articles, stats


def build(
    config: Config,
    *,
    fetch: bool = True,
    settings: FetchSettings | None = None,
    progress: Progress | None = None,
    notify: bool = True,
    ahead: Ahead | None = None,
) -> BuildResult:
    """Fetch the due sources, read the articles, store both, write every feed and tell the hubs.

    Problems with single articles or sources (a bad entry of the source list
    included) are collected, never raised; an unwritable output directory
    raises OutputError. With `notify`, the WebSub hubs are then told of the
    feeds that changed (and of earlier changes they have not taken yet);
    a hub that fails is no problem of the build: its pings wait in the store.
    `ahead` is a walk of the article tree started earlier (see
    `local.walk.walk_ahead`): finished, or let go, here.
    """
    try:
        listed = read_sources(config)
        pipeline = Pipeline(config)
        outcomes, synced = pipeline.build(listed.sources, fetch=fetch, settings=settings,
                                          progress=progress, ahead=ahead)
    finally:
        if ahead is not None:
            ahead.close()
    notified = pipeline.notify_hubs(settings) if notify else None
    articles, published = synced.articles, synced.published
    return BuildResult(
        files=articles.files,
        drafts=articles.drafts,
        # Articles no feed can show are not stored, yet they are published.
        entries=published.entries + articles.articles - articles.stored,
        feeds=published.feeds,
        problems=(*listed.problems, *articles.problems, *_fetch_problems(outcomes),
                  *published.problems),
        report=published.report,
        fetched=tuple(outcomes),
        local=synced.local,
        hubs=notified,
    )


def check(config: Config) -> BuildResult:
    """Read the source list and the articles, render every feed and page; fetch, store, write nothing."""
    listed = read_sources(config)
    articles = read_articles(config)
    feeds = render_all(articles.entries, config)
    return BuildResult(articles.files, articles.drafts, len(articles.entries), tuple(feeds),
                       (*listed.problems, *articles.problems,
                        *check_pages(articles.entries, config)), None)


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
    listed = read_sources(config)
    if on_problem is not None:
        for problem in listed.problems:
            on_problem(problem)
    return Pipeline(config).refresh(listed.sources, only_due=False, only_url=only_url,
                                    settings=settings, progress=progress)


@dataclass(frozen=True)
class Migrated:
    """What `feeds store migrate` copied: where to, and the rows of each table."""

    target: str
    counts: dict[str, int]


def migrate_store(config: Config, to: str, *, replace: bool = False) -> Migrated:
    """Copy the project's store, whole, to the store `to` names (a PostgreSQL URL or a file's path).

    Either way round, SQLite to PostgreSQL or back. The project's lock is
    held, so no build writes meanwhile; the copy is verified table by table
    (see `Tables.copy_from`). The project goes on using its store until
    its configuration names the new one.
    """
    target = store_location(to, "--to")
    url: str | None = target.get("store_url")
    path = Path(target.get("store_path") or config.store_path).absolute()
    same = (url == config.store_url if url is not None or config.store_url is not None
            else path.resolve() == config.store_path.resolve())
    if same:
        raise UsageError(f"{to}: that is the project's own store; name another to copy it to")
    if config.store_url is None and not config.store_path.is_file():
        raise UsageError(f"{config.store_path}: no store to copy yet; build the project first")
    with (lock_for(config), open_at(config.store_url, config.store_path) as source,
          open_at(url, path) as copy):
        return Migrated(copy.shown, copy.copy_from(source, replace=replace))
