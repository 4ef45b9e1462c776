"""Every table a store keeps, in the order a copy fills them, with the plain reads and writes of a copy.

`Tables` composes the per-domain parts (sources, entries, hubs,
subscriptions, pages); the SQLite and PostgreSQL stores add a connection, its
transactions and their schema. `feeds store migrate` copies one store
into another table by table through `rows` and `load`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Self

from ..errors import StoreError
from .entries import EntryTables
from .hubs import HubTables
from .pages import PageTables
from .sources import SourceTables
from .subscriptions import SubscriptionTables

# Table → its columns; a table comes after those it refers to.
TABLES: dict[str, tuple[str, ...]] = {
    "sources": ("key", "url", "title", "status", "etag", "last_modified", "last_fetch",
                "last_success", "last_error", "last_error_kind", "error_count", "next_due",
                "redirect_target", "redirect_count", "warning", "feed_id", "feed_link",
                "feed_updated", "page_error"),
    "aliases": ("url", "key"),
    "domains": ("domain", "blocked_until"),
    "entries": ("id", "origin", "canonical_link", "content_hash", "declared_updated", "updated",
                "sort_time", "first_seen", "data", "listing"),
    "article_cache": ("path", "digest", "size", "mtime_ns", "entry_id", "head"),
    "outputs": ("path", "fingerprint", "sha256"),
    "hub_pings": ("hub", "url", "attempts", "next_try", "last_error", "owed"),
    "hubs": ("hub", "last_success", "last_error", "last_failure"),
    "hub_subscriptions": ("topic", "callback", "secret", "expires", "created"),
    "hub_deliveries": ("topic", "callback", "attempts", "next_try", "last_error", "owed"),
    "pages": ("link", "url", "fetched", "content_html", "error", "entry_digest", "etag",
              "last_modified"),
}


class Tables(SourceTables, EntryTables, HubTables, SubscriptionTables, PageTables):
    """All of a store's tables over one connection; a session, closed when its block ends."""

    shown: str  # how messages name the store

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def snapshot(self) -> AbstractContextManager[None]:
        """Several reads that all see the same committed state."""
        raise NotImplementedError

    def checkpoints_deferred(self) -> AbstractContextManager[None]:
        """Many small transactions in a row, made cheap while it lasts."""
        raise NotImplementedError

    def row_counts(self) -> dict[str, int]:
        """Table → how many rows it holds."""
        return {table: int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in TABLES}

    def rows(self, table: str) -> Iterator[Sequence[Any]]:
        """Every row of `table`, its columns in `TABLES` order."""
        yield from self._db.execute(f"SELECT {', '.join(TABLES[table])} FROM {table}")

    def load(self, table: str, rows: Iterable[Sequence[Any]]) -> None:
        """Add `rows` to `table` (within a transaction the caller holds)."""
        columns = TABLES[table]
        self._db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            (tuple(row) for row in rows))

    def empty(self) -> None:
        """Delete every row of every table (within a transaction the caller holds)."""
        # What the last sync saw of its tree is not copied: it vouches for
        # the article cache it was made with, and the next build makes it anew.
        self._db.execute("DELETE FROM local_state")
        self._db.execute("DELETE FROM local_manifest")
        for table in reversed(TABLES):
            self._db.execute(f"DELETE FROM {table}")

    def copy_from(self, source: Tables, *, replace: bool = False) -> dict[str, int]:
        """Copy every row of `source` into this store, in one transaction; table → rows copied.

        A store that holds anything is refused unless `replace` says to
        delete it first: a copy never merges two stores. The rows are read
        from one snapshot of `source`, and the counts of each table are
        compared before the copy commits, so a store is either copied whole
        or left as it was.
        """
        with source.snapshot():
            counts = source.row_counts()
            with self._transaction():
                held = {table: n for table, n in self.row_counts().items() if n}
                if held and not replace:
                    listed = ", ".join(f"{n} in {table}" for table, n in held.items())
                    raise StoreError(f"{self.shown}: the store to copy to is not empty ({listed} "
                                     "rows); choose another, or replace what it holds")
                self.empty()
                for table in TABLES:
                    self.load(table, source.rows(table))
                copied = self.row_counts()
                wrong = [f"{table}: {copied[table]} of {n}" for table, n in counts.items()
                         if copied[table] != n]
                if wrong:
                    raise StoreError(f"{self.shown}: the copy does not hold every row "
                                     f"({'; '.join(wrong)}); nothing was copied")
        return counts
