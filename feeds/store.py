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

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .codec import (
    content_hash,
    decode_entry,
    decode_head,
    decode_listing,
    encode_head,
    encode_listing,
    stored_form,
)
from .errors import StoreError
from .model import CachedArticle, Entry, Listing, SourceState, StoredForm

LOCAL = "local"  # the origin of local articles in the entries table

_MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE sources (
        key TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        title TEXT,
        status TEXT NOT NULL DEFAULT 'new',
        etag TEXT,
        last_modified TEXT,
        last_fetch REAL,
        last_success REAL,
        last_error TEXT,
        last_error_kind TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        next_due REAL,
        redirect_target TEXT,
        redirect_count INTEGER NOT NULL DEFAULT 0,
        warning TEXT,
        feed_id TEXT,
        feed_link TEXT,
        feed_updated TEXT
    );
    CREATE TABLE aliases (
        url TEXT PRIMARY KEY,
        key TEXT NOT NULL REFERENCES sources(key) ON DELETE CASCADE
    );
    CREATE TABLE domains (
        domain TEXT PRIMARY KEY,
        blocked_until REAL NOT NULL
    );
    CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        origin TEXT NOT NULL,
        canonical_link TEXT,
        content_hash TEXT NOT NULL,
        declared_updated TEXT,
        updated TEXT NOT NULL,
        sort_time REAL NOT NULL,
        first_seen REAL NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX entries_by_origin ON entries(origin, sort_time);
    CREATE INDEX entries_by_canonical ON entries(canonical_link);
    """,
    # 2: parsed local articles, so unchanged files are not parsed again
    """
    CREATE TABLE article_cache (
        path TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        data TEXT
    );
    """,
    # 3: listings beside entries, article files known by their stat, and the
    # fingerprints of written feeds, so a rebuild costs what changed
    """
    ALTER TABLE entries ADD COLUMN listing TEXT;
    DROP TABLE article_cache;
    CREATE TABLE article_cache (
        path TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        entry_id TEXT
    );
    CREATE TABLE outputs (
        path TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        sha256 TEXT NOT NULL
    );
    """,
    # 4: what each article's front matter says of its place in the feeds, so
    # that only the articles a feed can show are parsed and stored
    """
    ALTER TABLE article_cache ADD COLUMN head TEXT;
    """,
    # 5: a local article's `updated` is its file's; earlier versions dated a
    # change that kept the file's dates when they noticed it. Forgetting what
    # was read of every file makes the next build read each one again and
    # store it with its own time.
    """
    DELETE FROM article_cache;
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)


@dataclass(frozen=True)
class UpsertStats:
    """How an update changed the stored entries."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass(frozen=True)
class Incoming:
    """An entry offered to the store with what the store needs to judge it.

    `declared_updated` is the time the entry itself claims (None when it has
    no date: then the store uses the time it was first seen). `encoded` and
    `digest`, when given, are the entry's `encode_entry` and `content_hash`
    worked out already (by a worker process), so the store need not.
    """

    entry: Entry | StoredForm
    declared_updated: datetime | None
    canonical_link: str | None = None
    encoded: str | None = None
    digest: str | None = None


def _stored_form(item: Incoming, updated: datetime) -> StoredForm:
    """What to store of `item`, dated `updated`: the form worked out ahead while that date stands."""
    entry = item.entry
    if isinstance(entry, StoredForm):
        if entry.updated == updated:
            return entry
        entry = decode_entry(entry.data)
    elif item.encoded and entry.updated == updated:
        return StoredForm(entry.id, updated, entry.published, item.encoded,
                          encode_listing(entry), item.digest or content_hash(entry))
    return stored_form(replace(entry, updated=updated))


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


def decide_updated(
    stored: tuple[str, str | None, str] | None,
    new_hash: str,
    declared: datetime | None,
    now: datetime,
) -> tuple[datetime, bool]:
    """The `updated` time to keep for an entry, and whether to write it (pure).

    `stored` is (content hash, declared updated, kept updated) or None for a
    new entry. Unchanged content keeps its time; a changed declared time is
    taken as it is; changed content under the same declared time is dated now.
    """
    declared_text = declared.isoformat() if declared is not None else None
    if stored is None:
        return (declared if declared is not None else now), True
    old_hash, old_declared, old_updated = stored
    if old_hash == new_hash and old_declared == declared_text:
        return datetime.fromisoformat(old_updated), False
    if declared is not None and declared_text != old_declared:
        return declared, True
    return max(now, datetime.fromisoformat(old_updated)), True


def local_updated(
    stored: tuple[str, str | None, str] | None, new_hash: str, updated: datetime
) -> tuple[datetime, bool]:
    """The `updated` time of a local article, and whether to write its entry (pure).

    The article's file decides its time (front matter `updated`, else
    `date`), never the store's history: an edit that keeps the dates, or a
    changed site default such as the author, is then no update, and a fresh
    build of the same files gives the same time. `stored` is as for
    `decide_updated`; the entry is written when its content or its time
    differs from what is stored.
    """
    return updated, stored is None or stored[0] != new_hash or stored[2] != updated.isoformat()

# How long a statement waits for another connection's write to finish.
_BUSY_SECONDS = 30


class Store:
    """The SQLite store behind intention-revealing methods; SQL stays in here."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        try:
            self._use_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
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
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
                for statement in _MIGRATIONS[number].split(";"):
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
            if self._db.in_transaction:
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
            if self._db.in_transaction:
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

    # --- entries ---------------------------------------------------------

    def _upsert(self, origin: str, incoming: Iterable[Incoming],
                now: datetime | None) -> UpsertStats:
        """Store what changed of `incoming` under `origin`.

        `now` dates the remote entries (see `decide_updated`); local articles
        (`now` None) carry their own time (see `local_updated`).
        """
        new = changed = unchanged = 0
        items = list(incoming)
        known = self._known([item.entry.id for item in items])
        for position, item in enumerate(items):
            entry = item.entry
            digest = (entry.digest if isinstance(entry, StoredForm)
                      else item.digest or content_hash(entry))
            stored = known.get(entry.id)
            if now is None:
                updated, write = local_updated(stored, digest, entry.updated)
            else:
                # Items without a date that arrive together would all be dated
                # `now`, one instant for many entries, in no order. Each is seen
                # a microsecond before the one above it, which keeps the feed's
                # own order (newest first) and tells them apart, deterministically.
                seen = now - timedelta(microseconds=position)
                updated, write = decide_updated(stored, digest, item.declared_updated, seen)
            if not write:
                unchanged += 1
                continue
            if stored is None:
                new += 1
            else:
                changed += 1
            form = _stored_form(item, updated)
            # First seen orders remote copies of one link (see published_listings);
            # a local article has no such copy, and its own date will do.
            first_seen = (now or form.sort_time).timestamp()
            declared = None if item.declared_updated is None else item.declared_updated.isoformat()
            known[form.id] = (digest, declared, updated.isoformat())  # an id offered twice
            self._db.execute(
                """INSERT INTO entries (id, origin, canonical_link, content_hash,
                       declared_updated, updated, sort_time, first_seen, data, listing)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET origin = excluded.origin,
                       canonical_link = excluded.canonical_link,
                       content_hash = excluded.content_hash,
                       declared_updated = excluded.declared_updated,
                       updated = excluded.updated, sort_time = excluded.sort_time,
                       data = excluded.data, listing = excluded.listing""",
                (
                    form.id, origin, item.canonical_link, digest, declared,
                    updated.isoformat(), form.sort_time.timestamp(), first_seen,
                    form.data, form.listing,
                ),
            )
        return UpsertStats(new=new, changed=changed, unchanged=unchanged)

    def _known(self, ids: Iterable[str]) -> dict[str, tuple[str, str | None, str]]:
        """Id → (content hash, declared updated, updated) of those of `ids` already stored.

        One query for a source's entries rather than one each: most of the
        cost of a lookup is crossing into SQLite.
        """
        return {entry_id: (digest, declared, updated) for entry_id, digest, declared, updated
                in self._by_ids("content_hash, declared_updated, updated", ids)}

    def _by_ids(self, columns: str, ids: Iterable[str]) -> Iterator[Any]:
        """Rows of (id, `columns`) of the stored entries among `ids`, a query per 500 ids."""
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            yield from self._db.execute(
                f"SELECT id, {columns} FROM entries WHERE id IN ({marks})", chunk).fetchall()

    def sync_local(
        self,
        incoming: Iterable[Incoming],
        *,
        keep: Iterable[str] | None = None,
        cache: Mapping[str, CachedArticle] | None = None,
        present: Iterable[str] | None = None,
    ) -> UpsertStats:
        """Store the local articles that changed and drop the ones that are gone.

        `incoming` are the articles parsed now; `keep` the ids of every article
        still on disk (default: those of `incoming`), so an unchanged article
        need not be offered again. `cache` and `present` update the parse
        cache in the same transaction: a crash cannot leave the cache vouching
        for an article the entries table does not hold.
        """
        with self.local_sync() as sync:
            for item in incoming:
                sync.add(item)
            return sync.finish(keep=keep, cache=cache, present=present)

    @contextmanager
    def local_sync(self) -> Iterator[LocalSync]:
        """`sync_local` for articles offered one at a time, as they are parsed.

        All of it is one transaction, so the entries of a build that fails
        half-way are not stored; but no article is held in memory once
        offered, whatever the size of the corpus. Call `finish` last.
        """
        with self._transaction():
            yield LocalSync(self)

    def _finish_local(
        self,
        offered: set[str],
        keep: Iterable[str] | None,
        cache: Mapping[str, CachedArticle] | None,
        present: Iterable[str] | None,
    ) -> int:
        """Within a local sync: drop the articles gone, update the parse cache; how many dropped."""
        wanted = offered | set(keep or ())
        gone = [
            r[0] for r in self._db.execute("SELECT id FROM entries WHERE origin = ?", (LOCAL,))
            if r[0] not in wanted
        ]
        self._db.executemany("DELETE FROM entries WHERE id = ?", ((i,) for i in gone))
        if cache is not None:
            self._db.executemany(
                "INSERT OR REPLACE INTO article_cache (path, digest, size, mtime_ns, entry_id, head) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                ((path, c.digest, c.size, c.mtime_ns, c.entry_id,
                  None if c.head is None else encode_head(c.head)) for path, c in cache.items()),
            )
        if present is not None:
            on_disk = set(present)
            stale = [r[0] for r in self._db.execute("SELECT path FROM article_cache")
                     if r[0] not in on_disk]
            self._db.executemany("DELETE FROM article_cache WHERE path = ?",
                                 ((p,) for p in stale))
        return len(gone)

    def article_cache(self) -> dict[str, CachedArticle]:
        """Path → what was read of every article file known, and the languages of its stored entry."""
        rows = self._db.execute(
            """SELECT c.path, c.digest, c.size, c.mtime_ns, c.entry_id, c.head, e.listing
               FROM article_cache c
               LEFT JOIN entries e ON e.id = c.entry_id AND e.origin = ?""", (LOCAL,))
        return {
            path: CachedArticle(
                digest, size, mtime, entry_id,
                None if head is None else decode_head(entry_id, head),
                None if listing is None else decode_listing(entry_id, 0, listing).languages)
            for path, digest, size, mtime, entry_id, head, listing in rows
        }

    def entries(self) -> list[Entry]:
        """Every stored entry, newest first (ties by id)."""
        rows = self._db.execute("SELECT data FROM entries ORDER BY sort_time DESC, id")
        return [decode_entry(r[0]) for r in rows]

    def published_listings(self) -> list[Listing]:
        """Every entry to publish, listed without its text, newest first.

        One per canonical link: the same article reached through two sources
        (or re-published under a new guid) is published once, as the copy
        seen first.
        """
        rows = self._db.execute(
            "SELECT id, canonical_link, sort_time, listing FROM entries "
            "ORDER BY first_seen, origin = 'local' DESC, id"
        )
        seen: set[str] = set()
        chosen: list[Listing] = []
        for entry_id, link, sort_time, listing in rows:
            if link is not None:
                if link in seen:
                    continue
                seen.add(link)
            chosen.append(decode_listing(entry_id, sort_time, listing))
        chosen.sort(key=lambda e: (-e.sort_time.timestamp(), e.id))
        return chosen

    def entry_texts(self, ids: Iterable[str]) -> dict[str, str]:
        """Id → the stored (encoded) form of each of `ids` the store holds."""
        return dict(self._by_ids("data", ids))

    def published_entries(self) -> list[Entry]:
        """Every entry to publish, in full, newest first (see `published_listings`)."""
        listings = self.published_listings()
        texts = self.entry_texts(e.id for e in listings)
        return [decode_entry(texts[e.id]) for e in listings]

    def output_fingerprints(self) -> dict[str, tuple[str, str]]:
        """Output path → (fingerprint of what it was rendered from, SHA-256 of its bytes)."""
        rows = self._db.execute("SELECT path, fingerprint, sha256 FROM outputs")
        return {path: (fp, sha) for path, fp, sha in rows}

    def record_outputs(self, outputs: Mapping[str, tuple[str, str]]) -> None:
        """Remember the fingerprints of exactly the feeds now written."""
        with self._transaction():
            self._db.execute("DELETE FROM outputs")
            self._db.executemany(
                "INSERT INTO outputs (path, fingerprint, sha256) VALUES (?, ?, ?)",
                ((path, fp, sha) for path, (fp, sha) in outputs.items()))

    def count_entries(self, origin: str) -> int:
        return int(self._db.execute(
            "SELECT COUNT(*) FROM entries WHERE origin = ?", (origin,)).fetchone()[0])

    # --- sources ---------------------------------------------------------

    def resolve_key(self, url: str) -> str:
        """The source key configured URL `url` belongs to (following aliases)."""
        row = self._db.execute("SELECT key FROM aliases WHERE url = ?", (url,)).fetchone()
        return str(row[0]) if row is not None else url

    def ensure_sources(self, urls: Iterable[str]) -> None:
        """Add configured sources the store does not know yet (status new, due now)."""
        with self._transaction():
            for url in urls:
                key = self.resolve_key(url)
                self._db.execute(
                    "INSERT OR IGNORE INTO sources (key, url) VALUES (?, ?)", (key, url)
                )

    def source(self, key: str) -> SourceState | None:
        row = self._db.execute("SELECT * FROM sources WHERE key = ?", (key,)).fetchone()
        return None if row is None else self._source_state(row)

    def sources(self) -> list[SourceState]:
        rows = self._db.execute("SELECT * FROM sources ORDER BY key").fetchall()
        return [self._source_state(r) for r in rows]

    def _source_state(self, row: sqlite3.Row) -> SourceState:
        values = dict(row)
        values["entry_count"] = self.count_entries(values["key"])
        return SourceState(**values)

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
        allowed = {f.name for f in fields(SourceState)} - {"key", "entry_count"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown source fields: {sorted(unknown)}")
        stats = UpsertStats()
        with self._transaction():
            if changes:
                assignments = ", ".join(f"{name} = ?" for name in changes)
                self._db.execute(
                    f"UPDATE sources SET {assignments} WHERE key = ?", (*changes.values(), key)
                )
            if alias is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO aliases (url, key) VALUES (?, ?)", (alias, key)
                )
            if incoming:
                assert now is not None
                stats = self._upsert(key, incoming, now)
            if retention is not None:
                assert now is not None
                self._retain(key, *retention, now)
        return stats

    def apply_retention(self, key: str, keep_entries: int, keep_days: int, now: datetime) -> int:
        """Drop a source's entries that are neither among its newest nor recent.

        Keeps at least the newest `keep_entries` and everything newer than
        `keep_days` days; returns how many were dropped.
        """
        with self._transaction():
            return self._retain(key, keep_entries, keep_days, now)

    def _retain(self, key: str, keep_entries: int, keep_days: int, now: datetime) -> int:
        cutoff = (now - timedelta(days=keep_days)).timestamp()
        cursor = self._db.execute(
            """DELETE FROM entries WHERE origin = ? AND sort_time < ? AND id NOT IN (
                   SELECT id FROM entries WHERE origin = ?
                   ORDER BY sort_time DESC, id LIMIT ?)""",
            (key, cutoff, key, keep_entries),
        )
        return cursor.rowcount

    # --- domains (Retry-After for a whole site) -----------------------------

    def domain_blocks(self, now: float) -> dict[str, float]:
        rows = self._db.execute(
            "SELECT domain, blocked_until FROM domains WHERE blocked_until > ?", (now,))
        return {r[0]: r[1] for r in rows}

    def block_domain(self, domain: str, until: float) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO domains (domain, blocked_until) VALUES (?, ?) "
                "ON CONFLICT(domain) DO UPDATE SET blocked_until = "
                "MAX(blocked_until, excluded.blocked_until)",
                (domain, until),
            )

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def dumps_state(states: Sequence[SourceState]) -> str:
    """Sources as JSON for scripts (`feeds sources --json`)."""
    return json.dumps(
        [{f.name: getattr(s, f.name) for f in fields(s)} for s in states],
        ensure_ascii=False, indent=2,
    )


class LocalSync:
    """A local-article sync in progress: see `Store.local_sync`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._offered: set[str] = set()
        self._new = self._changed = self._unchanged = 0

    def add(self, item: Incoming) -> None:
        """Store one article parsed now, if it changed."""
        stats = self._store._upsert(LOCAL, (item,), None)
        self._new += stats.new
        self._changed += stats.changed
        self._unchanged += stats.unchanged
        self._offered.add(item.entry.id)

    def finish(
        self,
        *,
        keep: Iterable[str] | None = None,
        cache: Mapping[str, CachedArticle] | None = None,
        present: Iterable[str] | None = None,
    ) -> UpsertStats:
        """Drop the articles not offered nor in `keep`, and update the parse cache (see sync_local)."""
        removed = self._store._finish_local(self._offered, keep, cache, present)
        return UpsertStats(self._new, self._changed, self._unchanged, removed)
