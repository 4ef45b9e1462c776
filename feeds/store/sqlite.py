"""The store: one SQLite file that keeps entries and sources between runs.

Everything published goes through it, local articles too. A remote
entry's `updated` time is decided here once (when its content really
changes) and survives refreshes; a local article's is its file's, so a
rebuild gives the bytes a fresh build of the same files gives. Each
source's update is one transaction: a crash in the middle loses nothing
that was already stored. WAL mode lets a server or a
`feeds sources` read while a build writes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..codec import decode_entry, encode_listing
from ..errors import StoreError
from .dialect import SQLITE, Connection
from .schema import MIGRATIONS, SCHEMA_VERSION
from .tables import Tables

# How long a statement waits for another connection's write to finish.
_BUSY_SECONDS = 30
# Pages the write-ahead log takes before the writer merges it back, during many small
# transactions in a row (see `checkpoints_deferred`): 16 MB of 4 KB pages.
_CHECKPOINT_PAGES = 4096


class Store(Tables):
    """The SQLite store behind intention-revealing methods; SQL stays in here and in its tables."""

    _dialect = SQLITE

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.shown = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._sqlite = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc
        self._db: Connection = self._sqlite
        try:
            self._use_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._sqlite.close()
            raise StoreError(f"{self.path}: the store is damaged or not a feeds store: {exc}") from exc

    def _use_wal(self) -> None:
        """Put the store in WAL mode, waiting for other connections as any statement does.

        Switching a new store's journal mode needs it to itself, and SQLite
        answers "database is locked" at once, without its busy timeout, when
        another connection (the daemon's other thread, a health check) is
        opening the same new store at that moment.
        """
        deadline = time.monotonic() + _BUSY_SECONDS
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        self._sqlite.close()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: the store has schema version {version}, newer than this "
                f"feeds ({SCHEMA_VERSION}); upgrade feeds"
            )
        for number in range(version, SCHEMA_VERSION):
            with self._transaction():
                # Another connection may have migrated since the version was
                # read (the daemon's threads and its health check open a new
                # store at once): read it again under the write lock.
                if self._db.execute("PRAGMA user_version").fetchone()[0] > number:
                    continue
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                if number + 1 == 3:
                    self._fill_listings()
                self._db.execute(f"PRAGMA user_version={number + 1}")

    def _fill_listings(self) -> None:
        rows = self._db.execute("SELECT id, data FROM entries").fetchall()
        self._db.executemany("UPDATE entries SET listing = ? WHERE id = ?",
                             ((encode_listing(decode_entry(data)), i) for i, data in rows))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: all of it is stored, or none of it."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: the store is busy: {exc}") from exc
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            # A failed COMMIT (a full disk) leaves the transaction open too.
            if self._sqlite.in_transaction:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{self.path}: cannot write the store: {exc}") from exc
            raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Several reads that all see the same committed state.

        In WAL mode a read transaction keeps the snapshot of its first read
        until it ends, whatever other connections commit meanwhile: the
        daemon publishes while a refresh stores source after source, and an
        entry listed must still be there when its text is read.
        """
        self._db.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            if self._sqlite.in_transaction:
                with suppress(sqlite3.Error):
                    self._db.execute("COMMIT")

    @contextmanager
    def checkpoints_deferred(self, pages: int = _CHECKPOINT_PAGES) -> Iterator[None]:
        """Many small transactions in a row, the write-ahead log merged back in large steps.

        By default SQLite copies its log back into the database (and syncs
        the disk) every 1,000 pages; here every `pages` pages, so a refresh
        storing 1,000 sources one transaction each syncs the disk a few
        times rather than fifty. The writer merges the log itself, between
        two transactions, so that all of it is merged and the next
        transaction writes the log again from its beginning: a log merged
        by another connection while the writer goes on is never all merged,
        and grows by every page written (300 MB for such a refresh), each
        page appended to a growing file and each read looking it up in a
        growing index. Each transaction stays atomic and durable across a
        crash either way.
        """
        self._db.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
        try:
            yield
        finally:
            with suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_autocheckpoint=1000")

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
