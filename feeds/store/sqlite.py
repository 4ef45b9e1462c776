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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..codec import decode_entry, encode_listing
from ..errors import StoreError
from .dialect import SQLITE, Connection
from .schema import MIGRATIONS, SCHEMA_VERSION
from .tables import Tables


def _checkpoint_every(path: Path, every: float, stop: threading.Event) -> None:
    """Merge the write-ahead log of the store at `path` into it every `every` seconds until `stop`."""
    try:
        db = sqlite3.connect(path, timeout=every, isolation_level=None)
    except sqlite3.Error:
        return  # only speed is lost: the writer merges it all at the end
    try:
        while not stop.wait(every):
            with suppress(sqlite3.Error):
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        db.close()


# How long a statement waits for another connection's write to finish.
_BUSY_SECONDS = 30


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
    def checkpoints_deferred(self, every: float = 2.0) -> Iterator[None]:
        """Many small transactions in a row, the write-ahead log merged back by a helper thread.

        By default SQLite copies its log back into the database (and syncs
        the disk) every 1,000 pages, in the writer's own time; a refresh
        storing 1,000 sources of 50 entries one transaction each spent most of
        its store time there. Here a thread with a connection of its own
        merges the log every `every` seconds instead: a passive checkpoint
        never blocks the writer and SQLite lets go of the GIL while it copies
        and syncs, so the disk works while the parsers do, and little is left
        to merge at the end. Each transaction stays atomic and durable across
        a crash either way.
        """
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        stop = threading.Event()
        helper = threading.Thread(target=_checkpoint_every, args=(self.path, every, stop),
                                  name="store-checkpoints", daemon=True)
        helper.start()
        try:
            yield
        finally:
            stop.set()
            helper.join()
            with suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_autocheckpoint=1000")
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
