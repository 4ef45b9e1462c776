"""The sources tables: each remote source's fetch state, its old addresses, and sites that asked for a pause.

`SourceTables` is the part of a store that keeps them, over the connection
and transactions the store opens; its SQL runs on SQLite and PostgreSQL
alike (see `dialect`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from .. import model
from ..model import Incoming, UpsertStats
from .dialect import Connection, Dialect

if TYPE_CHECKING:  # made when first used (see `feeds.model`)
    from ..model import SourceState


@cache
def _state_columns() -> tuple[str, ...]:
    """The columns a SourceState is read from, named: a store may keep more in
    a source's row (a worker's lease, say) than the state the pipeline sees."""
    return tuple(f.name for f in fields(model.SourceState) if f.name != "entry_count")


class SourceTables:
    """Sources, aliases and domain blocks, over the store's connection."""

    _db: Connection
    _dialect: Dialect
    _transaction: Callable[[], AbstractContextManager[None]]

    # Provided by EntryTables, which keeps the entries a source brings.
    _upsert: Callable[[str, Iterable[Incoming], datetime | None], UpsertStats]
    _retain: Callable[[str, int, int, datetime], int]
    count_entries: Callable[[str], int]

    def resolve_key(self, url: str) -> str:
        """The source key configured URL `url` belongs to (following aliases)."""
        row = self._db.execute("SELECT key FROM aliases WHERE url = ?", (url,)).fetchone()
        return str(row[0]) if row is not None else url

    def resolve_keys(self, urls: Iterable[str]) -> dict[str, str]:
        # Only moved sources have aliases: the table is small beside the sources.
        aliases = {str(url): str(key) for url, key in
                   self._db.execute("SELECT url, key FROM aliases").fetchall()}
        return {url: aliases.get(url, url) for url in urls}

    def ensure_sources(self, urls: Iterable[str]) -> None:
        """Add configured sources the store does not know yet (status new, due now)."""
        with self._transaction():
            for url in urls:
                key = self.resolve_key(url)
                self._db.execute(
                    "INSERT INTO sources (key, url) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                    (key, url))

    def source(self, key: str) -> SourceState | None:
        found = self._source_rows("WHERE key = ?", (key,))
        return found[0] if found else None

    def sources(self) -> list[SourceState]:
        return self._source_rows("ORDER BY key", ())

    def sources_of(self, keys: Iterable[str]) -> list[SourceState]:
        wanted = list(dict.fromkeys(keys))
        found: list[SourceState] = []
        # A batch of keys per query: SQLite takes at most 32,766 parameters.
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start:start + 1000]
            found += self._source_rows(f"WHERE key IN ({', '.join('?' * len(chunk))})", chunk)
        return sorted(found, key=lambda s: s.key)

    def _source_rows(self, clause: str, parameters: Sequence[Any]) -> list[SourceState]:
        # Each source's entries counted in the same query: one round trip, not one per source.
        rows = self._db.execute(
            f"SELECT {', '.join(_state_columns())}, (SELECT COUNT(*) FROM entries "
            f"WHERE entries.origin = sources.key) FROM sources {clause}", parameters).fetchall()
        states = []
        for row in rows:
            values = dict(zip(_state_columns(), row[:-1], strict=True))
            states.append(model.SourceState(**values, entry_count=int(row[-1])))
        return states

    def update_source(
        self,
        key: str,
        changes: dict[str, Any],
        incoming: Sequence[Incoming] | None = None,
        now: datetime | None = None,
        *,
        alias: str | None = None,
        retention: tuple[int, int] | None = None,
    ) -> UpsertStats:
        """Record a fetch's outcome and its entries in one transaction.

        `changes` sets SourceState fields; `incoming` (on success) is upserted
        with the source as origin. Entries already stored are deleted only by
        `retention` (keep entries, keep days: see `apply_retention`), applied
        after the upsert in the same transaction, so a failing source keeps
        what it had.
        """
        unknown = set(changes) - set(_state_columns()[1:])
        if unknown:
            raise ValueError(f"unknown source fields: {sorted(unknown)}")
        stats = UpsertStats()
        with self._transaction():
            if not self._lease_held(key):
                return stats  # another fetch worker holds the source now: its fetch stands
            if changes:
                assignments = ", ".join(f"{name} = ?" for name in changes)
                self._db.execute(
                    f"UPDATE sources SET {assignments} WHERE key = ?", (*changes.values(), key)
                )
            if alias is not None:
                self._db.execute(
                    "INSERT INTO aliases (url, key) VALUES (?, ?) "
                    "ON CONFLICT(url) DO UPDATE SET key = excluded.key", (alias, key))
            if incoming:
                assert now is not None
                stats = self._upsert(key, incoming, now)
            if retention is not None:
                assert now is not None
                self._retain(key, *retention, now)
            self._updated(key, stats)
        return stats

    def _lease_held(self, key: str) -> bool:
        """Whether this session may store the source `key` (in the transaction storing it).

        Always, for a store one process writes; a shared store checks the
        fetch worker's lease (see `coordination`).
        """
        return True

    def _updated(self, key: str, stats: UpsertStats) -> None:
        """The source `key` was just stored (in its transaction): nothing more to do here."""

    def domain_blocks(self, now: float) -> dict[str, float]:
        rows = self._db.execute(
            "SELECT domain, blocked_until FROM domains WHERE blocked_until > ?", (now,))
        return {r[0]: r[1] for r in rows}

    def block_domain(self, domain: str, until: float) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO domains (domain, blocked_until) VALUES (?, ?) "
                "ON CONFLICT(domain) DO UPDATE SET blocked_until = "
                f"{self._dialect.greatest}(domains.blocked_until, excluded.blocked_until)",
                (domain, until),
            )
