"""The PostgreSQL store: the same tables and semantics as the SQLite file, in a database many machines share.

Sessions borrow connections from one pool per database URL, kept for the
life of the process (the daemon opens a session per step, on threads of
its own). The schema is migrated once per process, when its pool is made,
under an advisory lock, so processes starting together migrate it once.
Each write is one transaction, as with SQLite; reads outside a transaction
each see the state committed when they run, and a `snapshot` makes
several reads see one state (REPEATABLE READ).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import pq
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import StoreError
from .coordination import Coordination, PublisherSeat
from .dialect import POSTGRESQL, Cursor
from .pgschema import MIGRATIONS, SCHEMA_VERSION
from .tables import Tables

# Connections one process holds at most: the daemon's steps and its server
# each hold one while they work.
_POOL_SIZE = 8
# How long to wait for a connection, from the server or from the pool.
_CONNECT_SECONDS = 10
# The key of the advisory lock migrations are made under (any constant will do).
_MIGRATION_LOCK = 0x66656564  # "feed"


def shown_url(url: str) -> str:
    """`url` as messages show it: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


@cache
def _placeholders(sql: str) -> str:
    """SQL written with `?` placeholders as psycopg takes it (`%s`, a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Connection:
    """A psycopg connection answering as the tables expect (see `dialect.Connection`)."""

    def __init__(self, conn: psycopg.Connection[Any], shown: str) -> None:
        self._conn = conn
        self._shown = shown

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        try:
            return self._conn.execute(_placeholders(sql), parameters)
        except psycopg.OperationalError as exc:
            # The server went away (restarted, unreachable): a StoreError
            # the daemon logs and retries at its next step, on a connection
            # the pool checks first.
            raise StoreError(f"{self._shown}: lost the connection to the store: {exc}") from exc

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Cursor:
        cursor = self._conn.cursor()
        try:
            cursor.executemany(_placeholders(sql), seq_of_parameters)
        except psycopg.OperationalError as exc:
            raise StoreError(f"{self._shown}: lost the connection to the store: {exc}") from exc
        return cursor


_pools: dict[str, ConnectionPool[Any]] = {}
_pools_lock = threading.Lock()


def _pool(url: str) -> ConnectionPool[Any]:
    """The process's pool of connections to `url`, made (and the schema migrated) on first use."""
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=_CONNECT_SECONDS) as conn:
                    _migrate(conn, shown_url(url))
            except psycopg.Error as exc:
                raise StoreError(f"{shown_url(url)}: cannot open the store: {exc}") from exc
            pool = ConnectionPool(
                url, min_size=1, max_size=_POOL_SIZE, open=False, num_workers=1,
                timeout=_CONNECT_SECONDS, check=ConnectionPool.check_connection,
                kwargs={"autocommit": True, "connect_timeout": _CONNECT_SECONDS},
                name="feeds-store")
            pool.open()
            _pools[url] = pool
        return pool


def close_pools() -> None:
    """Close every pool this process opened (their connections with them)."""
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


atexit.register(close_pools)


def _migrate(conn: psycopg.Connection[Any], shown: str) -> None:
    """Bring the database's schema to this version's, or refuse a newer one."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS feeds_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM feeds_schema").fetchone()
        if row is None:
            conn.execute("INSERT INTO feeds_schema (version) VALUES (0)")
        version = 0 if row is None else int(row[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{shown}: the store has schema version {version}, newer than this "
                f"feeds ({SCHEMA_VERSION}); upgrade feeds")
        for number in range(version, SCHEMA_VERSION):
            conn.execute(MIGRATIONS[number])
        conn.execute("UPDATE feeds_schema SET version = %s", (SCHEMA_VERSION,))


class PostgresStore(Coordination, Tables):
    """The PostgreSQL store behind the same methods as the SQLite one."""

    _dialect = POSTGRESQL

    def __init__(self, url: str) -> None:
        self.url = url
        self.shown = shown_url(url)
        self._pool = _pool(url)
        try:
            self._conn = self._pool.getconn()
        except PoolTimeout as exc:
            raise StoreError(f"{self.shown}: no connection to the store: {exc}") from exc
        self._db = _Connection(self._conn, self.shown)

    def close(self) -> None:
        self._pool.putconn(self._conn)

    def ensure_sources(self, urls: Iterable[str]) -> None:
        """Add configured sources the store does not know yet, in one statement.

        Every fetch worker's batch starts with this over the whole source
        list: one round trip, where one per source would cost thousands.
        The first of several URLs naming one source (by its aliases) is kept,
        as with SQLite.
        """
        listed = list(urls)
        if not listed:
            return
        with self._transaction():
            self._db.execute(
                "INSERT INTO sources (key, url) "
                "SELECT COALESCE(a.key, u.url), u.url FROM unnest(?::text[]) WITH ORDINALITY "
                "AS u(url, n) LEFT JOIN aliases a ON a.url = u.url "
                "WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.key = COALESCE(a.key, u.url)) "
                "ORDER BY u.n ON CONFLICT (key) DO NOTHING", (listed,))

    def empty(self) -> None:
        """As `Tables.empty`, and the source list goes with the sources it marked."""
        super().empty()
        self._db.execute("DELETE FROM source_list")

    def publisher_seat(self) -> PublisherSeat:
        """The publisher's seat in this database, on a connection of its own (see `PublisherSeat`)."""
        return PublisherSeat(self.url, self.shown)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: all of it is stored, or none of it."""
        try:
            with self._conn.transaction():
                yield
        except psycopg.Error as exc:
            raise StoreError(f"{self.shown}: cannot write the store: {exc}") from exc

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Several reads that all see the same committed state (see `Store.snapshot`)."""
        self._db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            yield
        finally:
            if self._conn.info.transaction_status != pq.TransactionStatus.IDLE:
                with suppress(psycopg.Error):
                    self._conn.execute("COMMIT")

    @contextmanager
    def checkpoints_deferred(self) -> Iterator[None]:
        """Nothing to defer: the server keeps its own write-ahead log."""
        yield
