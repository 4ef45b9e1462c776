"""The entries tables: what a fetch or a sync stores, what publishing lists and reads.

`EntryTables` is the part of a store that keeps entries, the article cache
and the fingerprints of written files; it works on the connection and
transactions the store opens, and its SQL runs on SQLite and PostgreSQL
alike (see `dialect`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ..codec import (
    content_hash,
    decode_entry,
    decode_listing,
    encode_head,
    encode_listing,
    listing_languages,
    manifest_line,
    manifest_parts,
    stored_form,
)
from ..model import CachedArticle, Entry, Incoming, Listing, LocalState, StoredForm, UpsertStats
from .dates import decide_updated, local_updated
from .dialect import Connection, Dialect
from .schema import LOCAL


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


class EntryTables:
    """Entries, the article cache and retention, over the Store's connection."""

    _db: Connection
    _dialect: Dialect
    _transaction: Callable[[], AbstractContextManager[None]]

    def _upsert(self, origin: str, incoming: Iterable[Incoming],
                now: datetime | None) -> UpsertStats:
        """Store what changed of `incoming` under `origin`.

        `now` dates the remote entries (see `decide_updated`); local articles
        (`now` None) carry their own time (see `local_updated`).
        """
        new = changed = unchanged = 0
        items = list(incoming)
        known = self._known([item.entry.id for item in items])
        rows: list[tuple[Any, ...]] = []
        # First seen orders remote copies of one link (see published_listings);
        # a local article has no such copy, and its own date will do.
        seen_at = None if now is None else now.timestamp()
        for position, item in enumerate(items):
            entry = item.entry
            digest = (entry.digest if isinstance(entry, StoredForm)
                      else item.digest or content_hash(entry))
            stored = known.get(entry.id)
            declared = item.declared_updated
            if now is None:
                updated, write = local_updated(stored, digest, entry.updated)
            else:
                # Items without a date that arrive together would all be dated
                # `now`, one instant for many entries, in no order. Each is seen
                # a microsecond before the one above it, which keeps the feed's
                # own order (newest first) and tells them apart, deterministically.
                seen = now - timedelta(microseconds=position)
                updated, write = decide_updated(stored, digest, declared, seen)
            if not write:
                unchanged += 1
                continue
            if stored is None:
                new += 1
            else:
                changed += 1
            form = _stored_form(item, updated)
            sort_time = form.sort_time.timestamp()
            declared_text = None if declared is None else declared.isoformat()
            # Most entries are dated by their own declared time: its text is written once.
            updated_text = (declared_text if declared_text is not None and updated is declared
                            else updated.isoformat())
            known[form.id] = (digest, declared_text, updated_text)  # an id offered twice
            rows.append((form.id, origin, item.canonical_link, digest, declared_text,
                         updated_text, sort_time, sort_time if seen_at is None else seen_at,
                         form.data, form.listing))
        if rows:
            # All of them at once: PostgreSQL is sent them in one pipeline, not
            # a round trip per entry (SQLite runs the same statement per row).
            self._db.executemany(
                """INSERT INTO entries (id, origin, canonical_link, content_hash,
                       declared_updated, updated, sort_time, first_seen, data, listing)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET origin = excluded.origin,
                       canonical_link = excluded.canonical_link,
                       content_hash = excluded.content_hash,
                       declared_updated = excluded.declared_updated,
                       updated = excluded.updated, sort_time = excluded.sort_time,
                       data = excluded.data, listing = excluded.listing""", rows)
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
        state: LocalState | None = None,
    ) -> int:
        """Within a local sync: drop the articles gone, update the parse cache; how many dropped.

        `state` (its manifest left empty) is kept with a manifest of the cache
        as it now is; without it, the state kept before is forgotten, as it
        no longer describes the cache.
        """
        wanted = offered | set(keep or ())
        gone = [
            r[0] for r in self._db.execute("SELECT id FROM entries WHERE origin = ?", (LOCAL,))
            if r[0] not in wanted
        ]
        self._db.executemany("DELETE FROM entries WHERE id = ?", ((i,) for i in gone))
        if cache is not None:
            self._remember_articles(cache)
        if present is not None:
            on_disk = set(present)
            stale = [r[0] for r in self._db.execute("SELECT path FROM article_cache")
                     if r[0] not in on_disk]
            self._db.executemany("DELETE FROM article_cache WHERE path = ?",
                                 ((p,) for p in stale))
        if state is None:
            self._db.execute("DELETE FROM local_state")
            self._db.execute("DELETE FROM local_manifest")
        else:
            rows = self._db.execute("SELECT path, size, mtime_ns FROM article_cache")
            self._keep_local_state(replace(state, manifest=manifest_parts(
                [manifest_line(path, size, mtime) for path, size, mtime in rows])))
        return len(gone)

    def _remember_articles(self, cache: Mapping[str, CachedArticle]) -> None:
        self._db.executemany(
            "INSERT INTO article_cache (path, digest, size, mtime_ns, entry_id, head) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
            "digest = excluded.digest, size = excluded.size, mtime_ns = excluded.mtime_ns, "
            "entry_id = excluded.entry_id, head = excluded.head",
            ((path, c.digest, c.size, c.mtime_ns, c.entry_id,
              c.head_text if c.head is None else encode_head(c.head))
             for path, c in cache.items()),
        )

    def _keep_local_state(self, state: LocalState, previous: LocalState | None = None) -> None:
        """Keep `state`; of its manifest, only the parts that differ from `previous`'s.

        `previous` is the state this store holds (as `local_state` read it
        in the same sync); without it, every part is written.
        """
        wanted = None if state.wanted is None else json.dumps(sorted(state.wanted),
                                                               ensure_ascii=False)
        self._db.execute(
            "INSERT INTO local_state (id, key, files, drafts, articles, stored, wanted) "
            "VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET key = excluded.key, "
            "files = excluded.files, drafts = excluded.drafts, articles = excluded.articles, "
            "stored = excluded.stored, wanted = excluded.wanted",
            (state.key, state.files, state.drafts, state.articles, state.stored, wanted))
        parts = state.manifest
        kept = previous.manifest if previous is not None else ()
        if previous is None:
            self._db.execute("DELETE FROM local_manifest")
        elif len(kept) > len(parts):
            self._db.execute("DELETE FROM local_manifest WHERE part >= ?", (len(parts),))
        self._db.executemany(
            "INSERT INTO local_manifest (part, lines) VALUES (?, ?) "
            "ON CONFLICT(part) DO UPDATE SET lines = excluded.lines",
            ((number, part) for number, part in enumerate(parts)
             if number >= len(kept) or (part is not kept[number] and part != kept[number])))

    def local_state(self) -> LocalState | None:
        """What the last sync of the local articles saw (see `LocalState`); None when unknown."""
        row = self._db.execute("SELECT key, files, drafts, articles, stored, wanted "
                               "FROM local_state").fetchone()
        if row is None:
            return None
        key, files, drafts, articles, stored, wanted = row
        parts = tuple(part for part, in self._db.execute(
            "SELECT lines FROM local_manifest ORDER BY part"))
        return LocalState(key, files, drafts, articles, stored,
                          None if wanted is None else frozenset(json.loads(wanted)), parts)

    def article_owners(self, ids: Iterable[str]) -> dict[str, str]:
        """Id → the path of the file whose cache record holds it, of those of `ids` held."""
        wanted = list(dict.fromkeys(ids))
        owners: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            owners.update((entry_id, path) for entry_id, path in self._db.execute(
                "SELECT entry_id, path FROM article_cache "
                f"WHERE entry_id IN ({','.join('?' * len(chunk))})", chunk))
        return owners

    def article_records(self, paths: Iterable[str]) -> dict[str, CachedArticle]:
        """Path → what was read of each of `paths` the cache knows (as `article_cache` gives it)."""
        wanted = list(dict.fromkeys(paths))
        records: dict[str, CachedArticle] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = self._db.execute(
                f"""SELECT c.path, c.digest, c.size, c.mtime_ns, c.entry_id, c.head, e.listing
                    FROM article_cache c
                    LEFT JOIN entries e ON e.id = c.entry_id AND e.origin = ?
                    WHERE c.path IN ({",".join("?" * len(chunk))})""", (LOCAL, *chunk))
            records.update(_cached_articles(rows))
        return records

    def article_cache(self) -> dict[str, CachedArticle]:
        """Path → what was read of every article file known, and the languages of its stored entry."""
        rows = self._db.execute(
            """SELECT c.path, c.digest, c.size, c.mtime_ns, c.entry_id, c.head, e.listing
               FROM article_cache c
               LEFT JOIN entries e ON e.id = c.entry_id AND e.origin = ?""", (LOCAL,))
        return _cached_articles(rows)

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
        chosen: list[tuple[float, str, str]] = []
        for entry_id, link, sort_time, listing in rows:
            if link is not None:
                if link in seen:
                    continue
                seen.add(link)
            chosen.append((-sort_time, entry_id, listing))
        chosen.sort()  # newest first, ties by id
        return [decode_listing(entry_id, -negated, listing)
                for negated, entry_id, listing in chosen]

    def entry_texts(self, ids: Iterable[str]) -> dict[str, str]:
        """Id → the stored (encoded) form of each of `ids` the store holds."""
        return dict(self._by_ids("data", ids))

    def entry_versions(self) -> dict[str, tuple[str, bool]]:
        """Id → (a version of all a page or an archive shows of it, whether it is a local article).

        The content digest covers everything a reader sees but `updated`
        (see `codec.content_hash`), so the two together tell a page that must
        be rendered again from one that need not, without loading any text.
        Local articles have pages of their own; remote entries link theirs.
        """
        # The digest leaves out the origin and the source feed's `updated`
        # (volatile, so not a change of the entry), which an Atom entry shows.
        rows = self._db.execute(
            "SELECT id, content_hash, updated, origin, CASE WHEN origin = ? THEN NULL "
            f"ELSE {self._dialect.source_updated} END FROM entries", (LOCAL,))
        return {entry_id: (f"{digest}@{updated}@{origin}@{source_updated}", origin == LOCAL)
                for entry_id, digest, updated, origin, source_updated in rows}

    def published_entries(self) -> list[Entry]:
        """Every entry to publish, in full, newest first (see `published_listings`)."""
        listings = self.published_listings()
        texts = self.entry_texts(e.id for e in listings)
        return [decode_entry(texts[e.id]) for e in listings]

    def count_entries(self, origin: str) -> int:
        return int(self._db.execute(
            "SELECT COUNT(*) FROM entries WHERE origin = ?", (origin,)).fetchone()[0])

    # --- written files ------------------------------------------------------

    def output_fingerprints(self) -> dict[str, tuple[str, str]]:
        """Output path → (fingerprint of what it was rendered from, SHA-256 of its bytes)."""
        rows = self._db.execute("SELECT path, fingerprint, sha256 FROM outputs")
        return {path: (fp, sha) for path, fp, sha in rows}

    def record_outputs(self, outputs: Mapping[str, tuple[str, str]],
                       before: Mapping[str, tuple[str, str]] | None = None) -> None:
        """Remember the fingerprints of exactly the files now written.

        Only what changed is written: a rebuild keeps most of its pages.
        `before` is what `output_fingerprints` said, if the caller has it.
        """
        with self._transaction():
            if before is None:
                before = self.output_fingerprints()
            self._db.executemany("DELETE FROM outputs WHERE path = ?",
                                 ((path,) for path in before.keys() - outputs.keys()))
            self._db.executemany(
                "INSERT INTO outputs (path, fingerprint, sha256) VALUES (?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET fingerprint = excluded.fingerprint, "
                "sha256 = excluded.sha256",
                ((path, fp, sha) for path, (fp, sha) in outputs.items()
                 if before.get(path) != (fp, sha)))

    # --- retention ---------------------------------------------------------

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


def _cached_articles(rows: Iterable[Any]) -> dict[str, CachedArticle]:
    return {
        path: CachedArticle(
            digest, size, mtime, entry_id, None,
            None if listing is None else listing_languages(listing), head)
        for path, digest, size, mtime, entry_id, head, listing in rows
    }


class LocalSync:
    """A local-article sync in progress: see `Store.local_sync`.

    Articles are stored `BATCH` at a time, as a fetch's entries are: one
    query for those already stored and one `executemany`, rather than two
    statements an article (on PostgreSQL, two round trips), while only a
    batch of parsed articles is held.
    """

    BATCH = 250

    def __init__(self, store: EntryTables) -> None:
        self._store = store
        self._offered: set[str] = set()
        self._pending: list[Incoming] = []
        self._new = self._changed = self._unchanged = 0

    def add(self, item: Incoming) -> None:
        """Store one article parsed now, if it changed (with the batch it completes)."""
        self._offered.add(item.entry.id)
        self._pending.append(item)
        if len(self._pending) >= self.BATCH:
            self._flush()

    def remember(self, cache: Mapping[str, CachedArticle]) -> None:
        """Remember these records of the parse cache now, as `finish`'s `cache` would.

        A read hands them over in batches as it goes, while its workers
        still read: written at the end, a hundred thousand of them were a
        second during which nothing else ran.
        """
        self._store._remember_articles(cache)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        stats = self._store._upsert(LOCAL, pending, None)
        self._new += stats.new
        self._changed += stats.changed
        self._unchanged += stats.unchanged

    def finish(
        self,
        *,
        keep: Iterable[str] | None = None,
        cache: Mapping[str, CachedArticle] | None = None,
        present: Iterable[str] | None = None,
        state: LocalState | None = None,
    ) -> UpsertStats:
        """Drop the articles not offered nor in `keep`, and update the parse cache (see sync_local).

        `state` is what this sync saw (its manifest is made here, from the
        cache as updated); without it, no state is kept.
        """
        self._flush()
        removed = self._store._finish_local(self._offered, keep, cache, present, state)
        return UpsertStats(self._new, self._changed, self._unchanged, removed)

    def finish_changed(self, cache: Mapping[str, CachedArticle], state: LocalState, *,
                       gone: Iterable[str] = (), dropped: Iterable[str] = (),
                       previous: LocalState | None = None) -> UpsertStats:
        """End a sync that looked only at the files changed since the last one.

        `cache` holds the records of the changed and new files, `gone` the
        files no longer there and `dropped` the ids of their stored entries;
        `state` is the whole new state, manifest included, made by the
        caller from `previous`, the last one, as this store holds it: only
        the parts of the manifest that differ from its are written.
        """
        self._flush()
        db = self._store._db
        ids = [(entry_id, LOCAL) for entry_id in dropped]
        db.executemany("DELETE FROM entries WHERE id = ? AND origin = ?", ids)
        db.executemany("DELETE FROM article_cache WHERE path = ?", ((p,) for p in gone))
        self._store._remember_articles(cache)
        self._store._keep_local_state(state, previous)
        return UpsertStats(self._new, self._changed, self._unchanged, len(ids))
