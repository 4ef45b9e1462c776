"""What the pipeline and the refresh need of a store, as a Protocol.

The SQLite `Store` and the `PostgresStore` (a database many machines can
share) both provide these methods, and the pipeline uses either
unchanged. Methods a store offers beyond them (inspection for tests,
integrity checks, copying a whole store) are its own business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Self

from ..model import CachedArticle, Incoming, Listing, LocalState, UpsertStats

if TYPE_CHECKING:  # made when first used (see `feeds.model`)
    from ..model import (
        CachedPage,
        HubState,
        PendingDelivery,
        PendingPing,
        Ping,
        SourceState,
        Subscription,
        WorkerState,
    )


class LocalArticles(Protocol):
    """A sync of the local articles in progress: each offered, then the rest dropped."""

    def add(self, item: Incoming) -> None:
        """Store one article parsed now, if it changed: with a batch of them, by `finish` at the latest."""

    def remember(self, cache: Mapping[str, CachedArticle]) -> None:
        """Remember these records of the parse cache now, as `finish`'s `cache` would."""

    def finish(self, *, keep: Iterable[str] | None = None,
               cache: Mapping[str, CachedArticle] | None = None,
               present: Iterable[str] | None = None,
               state: LocalState | None = None) -> UpsertStats:
        """Drop the articles neither offered nor kept; remember the parse cache and `state`."""

    def finish_changed(self, cache: Mapping[str, CachedArticle], state: LocalState, *,
                       gone: Iterable[str] = (), dropped: Iterable[str] = (),
                       previous: LocalState | None = None) -> UpsertStats:
        """Remember the records of the files changed since the last sync and `state`; forget `gone`.

        `previous` is the state the store held: only what differs from it is written.
        """


class PublishedEntries(Protocol):
    """What publishing needs of a store: its published entries, and what was written last."""

    def snapshot(self) -> AbstractContextManager[None]:
        """Reads that all see the same committed state."""

    def published_listings(self) -> list[Listing]:
        """Every entry to publish, without its text, newest first."""

    def entry_texts(self, ids: Iterable[str]) -> dict[str, str]:
        """Id → the stored form of each entry of `ids`."""

    def entry_versions(self) -> dict[str, tuple[str, bool]]:
        """Id → (a token that changes whenever what a page shows of it changes, is it local)."""

    def output_fingerprints(self) -> dict[str, tuple[str, str]]:
        """Output path → (fingerprint it was rendered from, SHA-256 of its bytes)."""

    def record_outputs(self, outputs: Mapping[str, tuple[str, str]],
                       before: Mapping[str, tuple[str, str]] | None = None) -> None:
        """Remember the fingerprints of exactly the files now written (`before`: as read)."""


class EntryStore(PublishedEntries, Protocol):
    """A store session: opened for one step of the pipeline, closed after it."""

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    # --- local articles
    def article_cache(self) -> dict[str, CachedArticle]:
        """Shown path → what was read of each article file."""

    def article_records(self, paths: Iterable[str]) -> dict[str, CachedArticle]:
        """Shown path → what was read of each of `paths` the cache knows."""

    def article_owners(self, ids: Iterable[str]) -> dict[str, str]:
        """Id → the shown path of the file whose cache record holds it, of those of `ids` held."""

    def local_state(self) -> LocalState | None:
        """What the last sync of the local articles saw, if it is kept."""

    def local_sync(self) -> AbstractContextManager[LocalArticles]:
        """A sync of the local articles, stored as one transaction."""

    # --- remote sources
    def ensure_sources(self, urls: Iterable[str]) -> None:
        """Know every configured source, new ones included."""

    def resolve_key(self, url: str) -> str:
        """The key of the source `url` is, or was, the address of."""

    def resolve_keys(self, urls: Iterable[str]) -> dict[str, str]:
        """Each of `urls` → its source's key (`resolve_key` for many, in one query)."""

    def source(self, key: str) -> SourceState | None: ...

    def sources(self) -> list[SourceState]: ...

    def sources_of(self, keys: Iterable[str]) -> list[SourceState]:
        """The states of the sources `keys` name (those the store knows), by key."""

    def update_source(self, key: str, changes: dict[str, Any],
                      incoming: Sequence[Incoming] | None = None, now: datetime | None = None,
                      *, alias: str | None = None,
                      retention: tuple[int, int] | None = None) -> UpsertStats:
        """Record a fetch's outcome and its entries in one transaction."""

    def domain_blocks(self, now: float) -> dict[str, float]:
        """Registrable domain → the time before which it asked not to be asked.

        A source whose Retry-After pauses only itself (`retry_after_scope =
        "source"`) is kept here too, under its URL: a key holding `://` is a
        source, any other a domain.
        """

    def block_domain(self, domain: str, until: float) -> None:
        """Keep a pause of `domain` (or of one source, by its URL) until `until`."""

    def checkpoints_deferred(self) -> AbstractContextManager[None]:
        """Many small transactions in a row, made cheap while it lasts."""

    # --- full-text pages
    def cached_pages(self, links: Iterable[str]) -> dict[str, CachedPage]:
        """Canonical link → the article page kept for it, of those of `links` that have one."""

    def record_pages(self, pages: Iterable[CachedPage]) -> None:
        """Keep `pages` by their links; forget pages no stored entry links to."""

    # --- WebSub hubs
    def owe_pings(self, pings: Iterable[Ping], now: float) -> None:
        """Remember pings a build owes, due at `now` (an older one for the same feed comes forward)."""

    def pending_pings(self) -> list[PendingPing]:
        """Every ping no hub has taken yet, the earliest due first."""

    def settle_pings(self, delivered: Iterable[Ping], failed: Iterable[PendingPing],
                     dropped: Iterable[Ping], now: float, *, began: float) -> None:
        """Forget the delivered and dropped pings, keep the failed ones as given, note each hub's answer.

        A ping owed again after `began` (when the round read what to send) stays, due at once.
        """

    def hub_states(self) -> list[HubState]:
        """Every hub pinged or owed a ping: pending count, last success and failure."""

    # --- feeds' own WebSub hub
    def subscribe(self, subscription: Subscription) -> None:
        """Keep a verified subscription (one for the same topic and callback is renewed)."""

    def unsubscribe(self, topic: str, callback: str) -> None:
        """Forget a subscription and whatever was still owed to it."""

    def subscriptions(self) -> list[Subscription]:
        """Every subscription kept, expired ones included."""

    def drop_expired(self, now: float) -> int:
        """Forget the subscriptions whose lease ended by `now`; returns how many."""

    def owe_deliveries(self, topics: Iterable[str], now: float) -> None:
        """Owe every live subscription to `topics` their new content, due at `now`."""

    def pending_deliveries(self) -> list[PendingDelivery]:
        """Every delivery not taken yet, the earliest due first."""

    def settle_deliveries(self, delivered: Iterable[PendingDelivery],
                          failed: Iterable[PendingDelivery], dropped: Iterable[PendingDelivery],
                          *, began: float) -> None:
        """Forget the delivered and dropped deliveries, keep the failed ones as given.

        A delivery owed again after `began` stays, due as owed.
        """


class PublisherSeat(Protocol):
    """The one publisher's seat in a shared store (see `coordination.PublisherSeat`)."""

    def try_take(self) -> bool:
        """Take the seat if nobody holds it; whether this process holds it now."""

    def wait_for_entries(self, timeout: float) -> bool:
        """Wait up to `timeout` s for a commit that brought entries; StoreError if the seat is lost."""

    def close(self) -> None:
        """Give up the seat."""


class SharedStore(EntryStore, Protocol):
    """A store several processes on several hosts share (PostgreSQL): leases, turns, heartbeats."""

    def list_sources(self, urls: Sequence[str], claimable: Sequence[str], fingerprint: str,
                     now: float) -> bool:
        """Make the store's source list the one `fingerprint` names; whether it changed."""

    def claim_listed(self, worker: str, now: float, lease: float, limit: int) -> list[str]:
        """Lease to `worker` up to `limit` listed sources that are due and free; the keys leased."""

    def work_as(self, worker: str) -> None:
        """Store only sources `worker` holds a lease on."""

    def release_leases(self, worker: str) -> None:
        """End every lease `worker` still holds."""

    def take_site(self, domain: str, url: str, worker: str, now: float, spacing: float,
                  hold: float) -> tuple[str, float]:
        """Take `domain`'s turn for `url`: ("taken", 0), ("wait", when) or ("blocked", until)."""

    def leave_site(self, domain: str, worker: str) -> None:
        """End `worker`'s turn at `domain`."""

    def beat(self, worker: WorkerState, lease: float) -> None:
        """Say `worker` is alive; renew its leases."""

    def forget_worker(self, worker: str) -> None:
        """A worker stopping cleanly: its row and leases go."""

    def workers(self, now: float) -> list[WorkerState]:
        """Every process sharing the store lately."""

    def publisher_seat(self) -> PublisherSeat:
        """The publisher's seat, on a connection of its own."""
