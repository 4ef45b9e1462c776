"""The store: update decisions, transactions, retention, migrations."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.errors import StoreError
from feeds.model import CachedArticle, Entry, Incoming, LocalState, Variant
from feeds.store import SCHEMA_VERSION, Store, Tables, decide_updated, local_updated

# Opens a session of a test's store, on the backend the test runs on (see conftest's `store_at`).
OpenStore = Callable[[], Tables]

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _entry(i: int, text: str = "body", when: datetime = T0) -> Entry:
    return Entry(id=f"urn:e{i}", variants=(Variant("en", f"t{i}", f"<p>{text}</p>"),),
                 updated=when, published=when, origin="src")


def test_decide_updated_rules() -> None:
    assert decide_updated(None, "h", None, NOW) == (NOW, True)  # no date: first seen
    assert decide_updated(None, "h", T0, NOW) == (T0, True)
    kept = ("h", T0.isoformat(), T0.isoformat())
    assert decide_updated(kept, "h", T0, NOW) == (T0, False)
    assert decide_updated(kept, "h2", T0, NOW) == (NOW, True)  # silent edit: dated now
    later = T0 + timedelta(days=1)
    assert decide_updated(kept, "h2", later, NOW) == (later, True)
    # A silent edit never moves an entry back in time, whatever the clock says.
    ahead = ("h", T0.isoformat(), (NOW + timedelta(days=1)).isoformat())
    assert decide_updated(ahead, "h2", T0, NOW) == (NOW + timedelta(days=1), True)


def test_local_updated_is_the_files_own() -> None:
    kept = ("h", T0.isoformat(), T0.isoformat())
    assert local_updated(None, "h", T0) == (T0, True)
    assert local_updated(kept, "h", T0) == (T0, False)
    assert local_updated(kept, "h2", T0) == (T0, True)  # an edit keeping its dates keeps them
    later = T0 + timedelta(days=1)
    assert local_updated(kept, "h", later) == (later, True)
    # A time an earlier version gave a silent edit is put back to the file's.
    assert local_updated(("h", T0.isoformat(), NOW.isoformat()), "h", T0) == (T0, True)


def test_a_local_article_edited_and_reverted_keeps_its_time(store_at: OpenStore) -> None:
    from dataclasses import replace

    article = replace(_entry(1), origin="sources/articles/a.md")
    edited = replace(_entry(1, "edited"), origin="sources/articles/a.md")
    with store_at() as store:
        for offered, stats in ((article, (1, 0, 0)), (edited, (0, 1, 0)), (edited, (0, 0, 1)),
                               (article, (0, 1, 0))):
            result = store.sync_local([Incoming(offered, T0)])
            assert (result.new, result.changed, result.unchanged) == stats
            assert store.entries() == [offered]  # dated T0, as its file says


def test_unchanged_entries_keep_their_time_and_changes_bump_it(store_at: OpenStore) -> None:
    with store_at() as store:
        store.ensure_sources(["src"])
        stats = store.update_source("src", {}, [Incoming(_entry(1), None)], T0)
        assert stats.new == 1
        stats = store.update_source("src", {}, [Incoming(_entry(1), None)], NOW)
        assert stats.unchanged == 1
        [e] = store.entries()
        assert e.updated == T0
        stats = store.update_source("src", {}, [Incoming(_entry(1, "edited"), None)], NOW)
        assert stats.changed == 1
        [e] = store.entries()
        assert e.updated == NOW and e.variants[0].content_html == "<p>edited</p>"


def test_a_silent_edit_is_kept_dated_now_beside_the_entry_too(store_at: OpenStore) -> None:
    """Changed content under the same declared time is dated now: in the entry, and in the
    time the store keeps beside it, which the next fetch and the pages' versions read."""
    with store_at() as store:
        store.ensure_sources(["src"])
        assert store.update_source("src", {}, [Incoming(_entry(1), T0)], T0).new == 1
        [(first, _local)] = store.entry_versions().values()
        assert f"@{T0.isoformat()}@" in first
        assert store.update_source("src", {}, [Incoming(_entry(1, "edited"), T0)], NOW).changed == 1
        [e] = store.entries()
        assert e.updated == NOW
        [(version, _local)] = store.entry_versions().values()
        assert f"@{NOW.isoformat()}@" in version, version


@pytest.mark.parametrize("ahead", ["no", "stored form", "encoded", "encoded without digest"])
def test_an_entry_encoded_ahead_is_stored_with_the_time_the_store_decides(
    store_at: OpenStore, ahead: str
) -> None:
    """Workers hand over stored forms; a silent edit still gets the store's own date."""
    from dataclasses import replace

    from feeds.codec import content_hash, encode_entry, stored_form

    def offered(entry: Entry) -> Incoming:
        # As a remote entry without a date of its own: dated when first seen.
        if ahead.startswith("encoded"):
            digest = None if ahead.endswith("without digest") else content_hash(entry)
            return Incoming(entry, None, encoded=encode_entry(entry), digest=digest)
        return Incoming(stored_form(entry) if ahead == "stored form" else entry, None)

    with store_at() as store:
        store.ensure_sources(["src"])
        first = replace(_entry(1, when=T0), published=T0 - timedelta(days=1))
        assert store.update_source("src", {}, [offered(first)], T0).new == 1
        [listing] = store.published_listings()  # listed by when it was published
        assert (listing.id, listing.sort_time, listing.languages) == ("urn:e1", first.published,
                                                                      ("en",))
        later = replace(_entry(1, "edited", when=NOW), published=None)
        assert store.update_source("src", {}, [offered(later)], NOW).changed == 1
        # The worker dated it NOW as well, so its form was stored as it came.
        assert store.entries() == [later]
        [listing] = store.published_listings()
        assert (listing.id, listing.sort_time, listing.languages) == ("urn:e1", NOW, ("en",))
        again = replace(_entry(1, "edited again", when=NOW), published=None)
        after = NOW + timedelta(hours=1)
        assert store.update_source("src", {}, [offered(again)], after).changed == 1
        # Dated by the store (`after`), not as the form said (NOW): encoded again.
        [kept] = store.entries()
        assert kept == replace(again, updated=after)
        [listing] = store.published_listings()
        assert (listing.id, listing.sort_time, listing.languages) == ("urn:e1", after, ("en",))


def test_a_stored_form_holds_what_the_entry_encodes_to() -> None:
    from feeds.codec import content_hash, decode_entry, encode_entry, encode_listing, stored_form
    from feeds.model import SourceRef

    entry = Entry(id="urn:s", variants=(Variant("zh", "标题", "<p>正文</p>", "摘要"),),
                  updated=NOW, published=T0, authors=("desk",), tags=("科技",),
                  link="https://example.org/a", origin="https://example.org/feed",
                  source=SourceRef("urn:feed", "Feed", "https://example.org/", NOW))
    form = stored_form(entry)
    assert (form.data, form.listing, form.digest) == (
        encode_entry(entry), encode_listing(entry), content_hash(entry))
    assert decode_entry(form.data) == entry and form.sort_time == T0


@pytest.mark.parametrize("text", [
    "plain", "标题 \u2028\u2029 \ufeff é 😀", "controls \x00\x01\x1f\x7f\x80\x9f \b\f\n\r\t",
    'quotes " \\ / </script>',
    "lone \ud800 surrogate",  # orjson refuses it: written by json
])
@pytest.mark.parametrize("length", [None, 7, 2**64])  # beyond 64 bits: written by json
def test_a_stored_form_is_what_json_writes(text: str, length: int | None) -> None:
    """The stored JSON and the content hash are exactly json.dumps's, whichever encoder wrote them."""
    import hashlib
    import json

    from feeds.codec import decode_entry, entry_to_dict, stored_form
    from feeds.model import Enclosure, Episode, SourceRef

    entry = Entry(id=f"urn:{text}", variants=(Variant("zh", text, f"<p>{text}</p>", text),),
                  updated=NOW, published=None, authors=(text,), tags=(text,),
                  link="https://example.org/a", origin="o",
                  source=SourceRef("urn:feed", text, None, NOW),
                  enclosures=(Enclosure("https://example.org/a.mp3", "audio/mpeg", length, 60,
                                        text),),
                  episode=Episode(True, 3, None, "full"))
    payload = entry_to_dict(entry)
    form = stored_form(entry)
    assert form.data == json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    assert decode_entry(form.data) == entry
    del payload["updated"], payload["origin"]
    payload["source"] = payload["source"][:3]
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert form.digest == hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


@pytest.mark.parametrize("text", [
    "plain", "标题 \u2028\u2029 \ufeff é 😀", "controls \x00\x01\x1f\x7f\x80\x9f \b\f\n\r\t",
    'quotes " \\ / </script>',
    "lone \ud800 surrogate",  # orjson refuses it: written by json
])
def test_a_stored_head_is_what_json_writes(text: str) -> None:
    """An article's head in the cache is exactly json.dumps's, whichever encoder wrote it."""
    import json

    from feeds.codec import decode_head, encode_head
    from feeds.model import ArticleHead

    head = ArticleHead(f"urn:{text}", T0, (text, "b"), (text,), None if "lone" in text else text)
    encoded = encode_head(head)
    assert encoded == json.dumps([T0.isoformat(), head.tags, head.authors, head.lang],
                                 ensure_ascii=False, separators=(",", ":"))
    assert decode_head(head.id, encoded) == head


def test_an_id_offered_twice_in_one_update_is_stored_once(store_at: OpenStore) -> None:
    with store_at() as store:
        store.ensure_sources(["src"])
        twice = [Incoming(_entry(1), None), Incoming(_entry(1), None),
                 Incoming(_entry(1, "edited"), None)]
        stats = store.update_source("src", {}, twice, T0)
        assert (stats.new, stats.unchanged, stats.changed) == (1, 1, 1)
        [kept] = store.entries()
        assert kept.variants[0].content_html == "<p>edited</p>"


def test_failed_transaction_stores_nothing(store_at: OpenStore) -> None:
    with store_at() as store:
        store.ensure_sources(["src"])
        with pytest.raises(ValueError):
            store.update_source("src", {"no_such_field": 1}, [Incoming(_entry(1), None)], NOW)
        assert store.entries() == []
        store.update_source("src", {"title": "T"}, [Incoming(_entry(1), None)], NOW)
        source = store.source("src")
        assert source is not None and source.title == "T" and source.entry_count == 1


def test_duplicates_by_canonical_link_are_published_once(store_at: OpenStore) -> None:
    with store_at() as store:
        store.ensure_sources(["a", "b"])
        store.update_source("a", {}, [Incoming(_entry(1), None, "//x.org/1")], T0)
        store.update_source("b", {}, [Incoming(_entry(2), None, "//x.org/1"),
                                      Incoming(_entry(3), None, "//x.org/3")], NOW)
        assert [e.id for e in store.published_entries()] == ["urn:e1", "urn:e3"]


def test_retention_keeps_newest_and_recent(store_at: OpenStore) -> None:
    with store_at() as store:
        store.ensure_sources(["src"])
        incoming = [Incoming(_entry(i, when=NOW - timedelta(days=i * 10)), None)
                    for i in range(10)]
        store.update_source("src", {}, incoming, NOW)
        dropped = store.apply_retention("src", keep_entries=3, keep_days=45, now=NOW)
        # Newer than 45 days: e0..e4; the newest three are among them.
        assert dropped == 5
        assert sorted(e.id for e in store.entries()) == [f"urn:e{i}" for i in range(5)]


def test_retention_applies_with_the_update_that_brought_the_entries(store_at: OpenStore) -> None:
    with store_at() as store:
        store.ensure_sources(["src"])
        incoming = [Incoming(_entry(i, when=NOW - timedelta(days=i * 10)), None)
                    for i in range(10)]
        stats = store.update_source("src", {"status": "ok"}, incoming, NOW, retention=(3, 45))
        assert stats.new == 10
        assert sorted(e.id for e in store.entries()) == [f"urn:e{i}" for i in range(5)]
        # A failed fetch brings nothing and drops nothing.
        store.update_source("src", {"status": "error"})
        assert len(store.entries()) == 5


def test_schema_version_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this feeds"):
        Store(path)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged or not a feeds store"):
        Store(path)


def test_migration_lists_entries_stored_by_an_older_schema(tmp_path: Path) -> None:
    from feeds.codec import encode_entry
    from feeds.store.schema import MIGRATIONS as _MIGRATIONS

    path = tmp_path / "s.sqlite3"
    db = sqlite3.connect(path)
    for script in _MIGRATIONS[:2]:
        db.executescript(script)
    entry = Entry(id="urn:old", variants=(Variant("zh", "旧", "<p>旧</p>"), Variant("en", "Old", "")),
                  updated=T0, published=T0, tags=("科技",), authors=("desk",), origin="src")
    db.execute("INSERT INTO entries (id, origin, content_hash, updated, sort_time, first_seen, data)"
               " VALUES (?, 'src', 'h', ?, ?, ?, ?)",
               (entry.id, T0.isoformat(), T0.timestamp(), T0.timestamp(), encode_entry(entry)))
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    with Store(path) as store:
        [listing] = store.published_listings()
        assert (listing.id, listing.languages, listing.tags, listing.authors) == (
            "urn:old", ("zh", "en"), ("科技",), ("desk",))
        assert listing.sort_time == T0
        assert store.published_entries() == [entry]


def test_a_store_from_an_earlier_version_reads_every_article_again(tmp_path: Path) -> None:
    """Earlier versions dated silent edits when noticed; their records are forgotten."""
    from feeds.store.schema import MIGRATIONS as _MIGRATIONS

    path = tmp_path / "s.sqlite3"
    db = sqlite3.connect(path)
    for script in _MIGRATIONS[:4]:
        db.executescript(script)
    db.executemany("INSERT INTO article_cache (path, digest, size, mtime_ns, entry_id, head) "
                   "VALUES (?, 'd', 1, 1, ?, ?)",
                   [("a.md", "urn:a", '["2025-01-01T00:00:00+00:00",[],[],null]'),
                    ("draft.md", None, None)])
    db.execute("PRAGMA user_version=4")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.article_cache() == {}


def test_article_records_know_the_languages_of_their_stored_entry(store_at: OpenStore) -> None:
    from feeds.model import ArticleHead, CachedArticle

    with store_at() as store:
        head = ArticleHead("urn:a", T0, ("科技",), ("desk",), "zh")
        entry = Entry(id="urn:a", variants=(Variant("zh", "新", "<p>新</p>"),), updated=T0,
                      published=T0, tags=("科技",), authors=("desk",))
        store.sync_local([Incoming(entry, T0)], keep=(), cache={
            "a.md": CachedArticle("e", 2, 2, "urn:a", head),
            "draft.md": CachedArticle("d", 1, 1, None)})
        assert _decoded(store.article_cache()) == {
            "a.md": CachedArticle("e", 2, 2, "urn:a", head, ("zh",)),
            "draft.md": CachedArticle("d", 1, 1, None)}
        store.sync_local([], keep=(), cache={})  # the entry goes; the record stays
        assert _decoded(store.article_cache())["a.md"] == CachedArticle("e", 2, 2, "urn:a", head)


def test_an_article_record_handed_back_with_its_head_undecoded_keeps_it(
        store_at: OpenStore) -> None:
    """A rebuild that only touched a file writes its record back without decoding the head."""
    from feeds.model import ArticleHead, CachedArticle

    with store_at() as store:
        head = ArticleHead("urn:a", T0, ("科技",), ("desk",), "zh")
        store.sync_local([], keep=(), cache={"a.md": CachedArticle("e", 2, 2, "urn:a", head)})
        kept = store.article_cache()["a.md"]
        assert kept.head is None and kept.head_text is not None  # as the store keeps it
        store.sync_local([], keep=(), cache={"a.md": replace(kept, size=3, mtime_ns=3)})
        assert _decoded(store.article_cache()) == {
            "a.md": CachedArticle("e", 3, 3, "urn:a", head)}


def _decoded(cache: Mapping[str, CachedArticle]) -> dict[str, CachedArticle]:
    """Each record with its head decoded, as a rebuild that needs it sees it."""
    from feeds.codec import cached_head

    return {path: replace(c, head=cached_head(c), head_text=None) for path, c in cache.items()}


def test_deferred_checkpoints_merge_the_log_and_keep_it_bounded(tmp_path: Path) -> None:
    """During a long run of transactions the log is merged and written again from its start.

    A log that is never all merged grows by every page written; here it
    stays within a few steps of `pages`, and nothing is lost.
    """
    path = tmp_path / "s.sqlite3"
    log = tmp_path / "s.sqlite3-wal"
    with Store(path) as store:
        store.ensure_sources(["src"])
        before = path.stat().st_size
        largest = 0
        with store.checkpoints_deferred(pages=40):
            for i in range(150):
                store.update_source("src", {}, [Incoming(_entry(i, "x" * 5000), None)], T0)
                largest = max(largest, log.stat().st_size)
        grown = path.stat().st_size
        assert grown > before + 500_000  # merged into the database file during the run
        # 150 entries of 5 KB wrote some 750 pages to the log: it held a few dozen at most.
        assert largest < 80 * (4096 + 24)
        assert len(store.entries()) == 150
    with Store(path) as reopened:
        assert len(reopened.entries()) == 150


def test_connections_opening_a_new_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    # The daemon's fetching and publishing threads and its health check open
    # a new project's store at the same moment; each can use all of it at once.
    import threading

    for round_ in range(15):
        path = tmp_path / f"{round_}.sqlite3"
        barrier = threading.Barrier(4)
        errors: list[Exception] = []

        def open_store(path: Path = path, barrier: threading.Barrier = barrier,
                       errors: list[Exception] = errors) -> None:
            barrier.wait()
            try:
                with Store(path) as store:
                    store.record_outputs({"all.atom": ("f", "s")})  # tables of later versions
                    store.sync_local([], cache={})
            except (StoreError, sqlite3.Error) as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.close()


# An entry as the previous release stored it, without author contacts, and its content hash then.
_STORED_BEFORE = (
    '{"id":"urn:e1","variants":[["en","t1","<p>body</p>",null]],'
    '"updated":"2025-01-01T00:00:00+00:00","published":"2025-01-01T00:00:00+00:00",'
    '"authors":["Jo"],"tags":[],"link":null,"origin":"src",'
    '"source":["urn:s","S","http://example.org/","2025-01-01T00:00:00+00:00"]}'
)
_HASH_BEFORE = "7c1925a8164e082e4a8d70363af54d065bb4c164eb5e5411a5f26683ddd844cf"


def test_author_contacts_change_only_entries_that_have_them(store_at: OpenStore) -> None:
    """Entries stored without contacts still load and hash as before; a dropped email is stored once."""
    from feeds.codec import decode_entry, stored_form
    from feeds.model import Person

    old = decode_entry(_STORED_BEFORE)
    assert old.contacts == () and old.authors == ("Jo",)
    assert stored_form(old).data == _STORED_BEFORE
    assert stored_form(old).digest == _HASH_BEFORE
    with store_at() as store:
        store.update_source("src", {}, [Incoming(old, T0)], NOW)
        assert store.update_source("src", {}, [Incoming(old, T0)], NOW).unchanged == 1
        reachable = replace(old, contacts=(Person("Jo", "jo@example.org", "https://jo.example/"),))
        assert store.update_source("src", {}, [Incoming(reachable, T0)], NOW).changed == 1
        assert store.update_source("src", {}, [Incoming(reachable, T0)], NOW).unchanged == 1
        [loaded] = store.published_entries()
        assert loaded.contacts == reachable.contacts


# --- Opening, busy stores and failed writes ------------------------------------


def test_a_store_that_cannot_be_created_names_its_path(tmp_path: Path) -> None:
    """A store path under a file (no folder can be made there) is an error naming that path."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    path = blocker / "s.sqlite3"
    with pytest.raises(StoreError, match=f"^{re.escape(str(path))}: cannot open the store: "):
        Store(path)


def test_a_new_store_waits_for_another_connection_to_let_it_go(tmp_path: Path) -> None:
    """Switching to WAL is refused at once while another connection writes; opening retries.

    Should the store be opened only after the lock is gone, the test still
    passes: it cannot fail for a slow machine, only for a store that gives up.
    """
    import threading

    path = tmp_path / "s.sqlite3"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # what another process starting its first write holds
    opened: list[int] = []
    errors: list[StoreError] = []

    def open_store() -> None:
        try:
            with Store(path) as store:
                store.ensure_sources(["src"])
                opened.append(len(store.sources()))
        except StoreError as exc:
            errors.append(exc)

    thread = threading.Thread(target=open_store)
    thread.start()
    thread.join(0.3)  # long enough, on an idle machine, for the store to have met the lock
    other.execute("ROLLBACK")
    other.close()
    thread.join()
    assert (opened, errors) == ([1], [])


def test_a_store_written_by_another_for_too_long_says_it_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that waited its whole busy timeout fails naming the store, and stores nothing."""
    import feeds.store.sqlite

    path = tmp_path / "s.sqlite3"
    Store(path).close()
    monkeypatch.setattr(feeds.store.sqlite, "_BUSY_SECONDS", 0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        busy = f"^{re.escape(str(path))}: the store is busy: "
        with Store(path) as store, pytest.raises(StoreError, match=busy):
            store.ensure_sources(["src"])
    finally:
        other.close()
    with Store(path) as store:
        assert store.sources() == []


def test_a_write_sqlite_refuses_stores_nothing_of_its_transaction(tmp_path: Path) -> None:
    """A sync whose parse-cache update SQLite refuses stores none of its articles either.

    The error names the store, and the store can be written again at once:
    the failed transaction was rolled back, not left open.
    """
    from feeds.model import CachedArticle

    path = tmp_path / "s.sqlite3"
    with Store(path) as store:
        store.sync_local([Incoming(_entry(1), T0)])
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("CREATE TRIGGER refuse BEFORE INSERT ON article_cache "
                      "BEGIN SELECT RAISE(ABORT, 'refused here'); END")
        refused = f"^{re.escape(str(path))}: cannot write the store: refused here$"
        with pytest.raises(StoreError, match=refused):
            store.sync_local([Incoming(_entry(2), T0)],
                             cache={"b.md": CachedArticle("d", 1, 1, "urn:e2")})
        assert [e.id for e in store.entries()] == ["urn:e1"]
        other.execute("DROP TRIGGER refuse")
        other.close()
        assert store.sync_local([Incoming(_entry(2), T0)], keep=["urn:e1"]).new == 1


def test_an_error_while_syncing_articles_stores_none_of_them(store_at: OpenStore) -> None:
    """A build that fails half-way through its articles stores none of those it had offered."""
    with store_at() as store:
        with pytest.raises(RuntimeError, match="parser broke"), store.local_sync() as sync:
            sync.add(Incoming(_entry(1), T0))
            raise RuntimeError("parser broke")
        assert store.entries() == []
        assert store.sync_local([Incoming(_entry(1), T0)]).new == 1


def test_the_integrity_check_tells_a_damaged_store_from_a_healthy_one(tmp_path: Path) -> None:
    """Indexes that no longer match their table are damage the check reports."""
    path = tmp_path / "s.sqlite3"
    with Store(path) as store:
        store.update_source("src", {}, [Incoming(_entry(i), None, f"//x.org/{i}")
                                        for i in range(5)], NOW)
        assert store.integrity_ok() is True
    db = sqlite3.connect(path)
    roots = dict(db.execute("SELECT name, rootpage FROM sqlite_master WHERE name IN "
                            "('entries_by_origin', 'entries_by_canonical')").fetchall())
    db.execute("PRAGMA writable_schema=ON")  # each index now reads the other's pages
    for name, other in (("entries_by_origin", "entries_by_canonical"),
                        ("entries_by_canonical", "entries_by_origin")):
        db.execute("UPDATE sqlite_master SET rootpage = ? WHERE name = ?", (roots[other], name))
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.integrity_ok() is False


# --- Local articles: what is kept, what is forgotten -------------------------------


def test_an_article_not_parsed_again_stays_while_its_file_does(store_at: OpenStore) -> None:
    """A rebuild offers only changed articles: those kept stay, the others are dropped."""
    with store_at() as store:
        store.sync_local([Incoming(_entry(i), T0) for i in (1, 2, 3)])
        stats = store.sync_local([Incoming(_entry(3, "edited"), T0)], keep=["urn:e1"])
        assert (stats.changed, stats.removed) == (1, 1)
        assert sorted(e.id for e in store.entries()) == ["urn:e1", "urn:e3"]
        # Without `keep`, the articles offered are all there is.
        assert store.sync_local([Incoming(_entry(3, "edited"), T0)]).removed == 1
        assert [e.id for e in store.entries()] == ["urn:e3"]


def test_the_records_of_article_files_gone_are_forgotten(store_at: OpenStore) -> None:
    """`present` names the files on disk; a record of any other is dropped, and none without it."""
    from feeds.model import CachedArticle

    a, b = CachedArticle("a", 1, 1, None), CachedArticle("b", 2, 2, None)
    with store_at() as store:
        store.sync_local([], cache={"a.md": a, "b.md": b})
        store.sync_local([])
        assert store.article_cache() == {"a.md": a, "b.md": b}
        store.sync_local([], present=["a.md", "new.md"])
        assert store.article_cache() == {"a.md": a}


# --- Sources ---------------------------------------------------------------------


def test_a_moved_feed_configured_at_its_new_address_stays_one_source(store_at: OpenStore) -> None:
    """Once a permanent move is adopted, its new URL in the source list names the same source.

    So a user who updates the list keeps the source's entries (and their
    ids, derived from the key) instead of getting a second copy of the feed.
    """
    old, new = "http://a.example/feed", "https://a.example/feed"
    with store_at() as store:
        store.ensure_sources([old])
        store.update_source(old, {"url": new}, [Incoming(_entry(1), None)], NOW, alias=new)
        assert store.resolve_key(new) == old
        assert store.source(new) is None  # a source is found by its key, not by an alias
        assert store.resolve_key("http://b.example/feed") == "http://b.example/feed"
        store.ensure_sources([new])
        assert [(s.key, s.url, s.entry_count) for s in store.sources()] == [(old, new, 1)]


def test_storing_a_fetch_of_50_entries_sends_the_store_as_many_statements_as_of_2(
        store_at: OpenStore) -> None:
    """The entries of a fetch go in one `executemany`: on PostgreSQL one pipeline, not a
    round trip per entry."""
    from conftest import CountingConnection

    counts = []
    for n in (2, 50):
        with store_at() as store:
            store.ensure_sources([f"src{n}"])
            counting = CountingConnection(store._db)
            store._db = counting  # type: ignore[misc]
            stats = store.update_source(f"src{n}", {}, [
                Incoming(replace(_entry(n * 100 + i), origin=f"src{n}"), None) for i in range(n)],
                NOW)
            assert stats.new == n
            counts.append(counting.statements)
    assert counts[0] == counts[1], counts
    with store_at() as store:
        assert [s.entry_count for s in store.sources()] == [2, 50]


def test_syncing_200_articles_sends_the_store_as_many_statements_as_2(store_at: OpenStore) -> None:
    """Articles offered one at a time are stored a batch at a time: one query for those
    stored and one `executemany` a batch, not two statements an article."""
    from conftest import CountingConnection

    counts = []
    for n in (2, 200):
        with store_at() as store:
            counting = CountingConnection(store._db)
            store._db = counting  # type: ignore[misc]
            with store.local_sync() as sync:
                for i in range(n):
                    sync.add(Incoming(_entry(n * 1000 + i), T0))
                stats = sync.finish()
            assert stats.new == n
            counts.append(counting.statements)
        with store_at() as store:
            assert len(store.entries()) == n
    assert counts[0] == counts[1], counts


def test_many_urls_resolve_and_many_sources_are_read_as_one_at_a_time_would_be(
        store_at: OpenStore) -> None:
    """What a fetch worker's batch asks the store in one query each: keys, new sources, states."""
    old, new = "http://a.example/feed", "https://a.example/feed"
    b, c = "http://b.example/feed", "http://c.example/feed"
    with store_at() as store:
        store.ensure_sources([old, b])
        store.update_source(old, {"url": new}, [Incoming(_entry(1), None)], NOW, alias=new)
        assert store.resolve_keys([new, b, c]) == {new: old, b: b, c: c}
        assert store.resolve_keys([new, b, c]) == {u: store.resolve_key(u) for u in (new, b, c)}
        # The moved source's new address names it; a URL listed twice is one source.
        store.ensure_sources([new, c, c, b])
        assert [(s.key, s.url, s.entry_count) for s in store.sources()] == [
            (old, new, 1), (b, b, 0), (c, c, 0)]
        assert store.sources_of([c, "http://unknown.example/", old, c]) == [
            store.source(old), store.source(c)]
        assert store.sources_of([]) == []
        assert store.sources_of(s.key for s in store.sources()) == store.sources()


@pytest.mark.parametrize("field", ["key", "entry_count", "colour"])
def test_a_source_change_must_name_a_field_a_fetch_can_set(store_at: OpenStore, field: str) -> None:
    """The key is the source's identity and the entry count is counted: neither can be set."""
    with store_at() as store:
        store.ensure_sources(["src"])
        with pytest.raises(ValueError, match=rf"^unknown source fields: \['{field}'\]$"):
            store.update_source("src", {field: "x", "title": "T"})
        assert [(s.key, s.title, s.entry_count) for s in store.sources()] == [("src", None, 0)]


def test_a_fetch_that_brings_no_entries_counts_none(store_at: OpenStore) -> None:
    """An empty feed, a 304 or a failure changes no entry, and the counts say so."""
    from feeds.model import UpsertStats

    with store_at() as store:
        store.ensure_sources(["src"])
        assert store.update_source("src", {"status": "ok"}, [], NOW) == UpsertStats()
        assert store.update_source("src", {"status": "error"}) == UpsertStats()


def test_a_sync_counts_every_article_it_was_offered(store_at: OpenStore) -> None:
    """The build's summary counts each new, edited and unchanged article, not the last one's kind."""
    from feeds.model import UpsertStats

    with store_at() as store:
        first = [Incoming(_entry(i), T0) for i in (1, 2, 3, 4)]
        assert store.sync_local(first) == UpsertStats(new=4)
        offered = [Incoming(_entry(5), T0), Incoming(_entry(1), T0),
                   Incoming(_entry(3, "edited"), T0), Incoming(_entry(6), T0),
                   Incoming(_entry(2), T0), Incoming(_entry(4, "edited"), T0)]
        assert store.sync_local(offered) == UpsertStats(new=2, changed=2, unchanged=2)


def test_a_local_article_is_published_rather_than_a_copy_seen_at_its_time(store_at: OpenStore) -> None:
    """Of a site's own article and a feed's copy of it first seen at the same instant, the
    article is published; the feed newest first, whatever order the copies came in."""
    article = replace(_entry(9), updated=NOW, published=NOW, origin="sources/articles/a.md")
    with store_at() as store:
        store.sync_local([Incoming(article, NOW, "//x.org/a")])
        store.update_source("src", {}, [Incoming(_entry(1), None, "//x.org/a"),
                                        Incoming(_entry(2, when=T0), T0)], NOW)
        assert [e.id for e in store.published_listings()] == ["urn:e9", "urn:e2"]


def test_an_update_counts_every_entry_it_brought(store_at: OpenStore) -> None:
    """A fetch's summary counts each new, changed and unchanged entry of the feed."""
    from feeds.model import UpsertStats

    with store_at() as store:
        store.update_source("src", {}, [Incoming(_entry(i), None) for i in (1, 2, 3, 4)], T0)
        offered = [Incoming(_entry(1, "edited"), None), Incoming(_entry(2), None),
                   Incoming(_entry(5), None), Incoming(_entry(3, "edited"), None),
                   Incoming(_entry(4), None), Incoming(_entry(6), None)]
        assert store.update_source("src", {}, offered, NOW) == UpsertStats(2, 2, 2)


def test_undated_entries_fetched_together_keep_the_feeds_order(store_at: OpenStore) -> None:
    """Entries without dates are listed as their feed lists them, newest (first) on top."""
    with store_at() as store:
        feed_order = [Incoming(replace(_entry(i), published=None), None) for i in (3, 1, 2)]
        store.update_source("src", {}, feed_order, NOW)
        assert [e.id for e in store.published_listings()] == ["urn:e3", "urn:e1", "urn:e2"]


def test_a_source_with_more_entries_than_one_query_takes_is_known_in_full(store_at: OpenStore) -> None:
    """Entries are looked up 500 at a time; a large feed is recognised and published whole."""
    many = [Incoming(_entry(i), None) for i in range(1201)]
    with store_at() as store:
        store.update_source("src", {}, many, T0)
        assert store.update_source("src", {}, many, NOW).unchanged == 1201
        assert len(store.published_entries()) == 1201


def test_a_store_in_folders_not_made_yet_makes_them(tmp_path: Path) -> None:
    path = tmp_path / "new" / "project" / ".feeds" / "s.sqlite3"
    with Store(path) as store:
        store.ensure_sources(["src"])
    assert path.is_file()


def test_a_store_another_connection_migrated_part_way_is_migrated_the_rest(tmp_path: Path) -> None:
    """An older feeds may have taken a new store to its own schema meanwhile: opening finishes it.

    Should the store be opened only after the other connection is done, the
    test still passes: it cannot fail for a slow machine.
    """
    import threading

    from feeds.store.schema import MIGRATIONS as _MIGRATIONS

    path = tmp_path / "s.sqlite3"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")
    errors: list[Exception] = []

    def open_store() -> None:
        try:
            with Store(path) as store:
                store.record_outputs({"all.atom": ("f", "s")})  # a table of version 3
        except (StoreError, sqlite3.Error) as exc:
            errors.append(exc)

    thread = threading.Thread(target=open_store)
    thread.start()
    thread.join(0.3)  # long enough, on an idle machine, for the store to wait for the lock
    for statement in _MIGRATIONS[0].split(";"):
        if statement.strip():
            other.execute(statement)
    other.execute("PRAGMA user_version=1")
    other.execute("COMMIT")
    other.close()
    thread.join()
    assert errors == []
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_the_store_remembers_exactly_the_feeds_last_written(store_at: OpenStore) -> None:
    """A feed no longer written is forgotten, so a build that brings it back writes it again."""
    with store_at() as store:
        assert store.output_fingerprints() == {}
        store.record_outputs({"all.atom": ("f1", "s1"), "lang/en.atom": ("f2", "s2")})
        store.record_outputs({"all.atom": ("f3", "s3"), "tag/x.atom": ("f4", "s4")})
    with store_at() as store:
        assert store.output_fingerprints() == {"all.atom": ("f3", "s3"), "tag/x.atom": ("f4", "s4")}


def test_an_entry_version_changes_with_everything_its_pages_and_archives_show(store_at: OpenStore) -> None:
    """Pages and archives are kept while their entries' versions are: a version must change
    whenever what the store holds of an entry changes, its source feed's date included."""
    from dataclasses import replace

    from feeds.model import SourceRef

    entry = replace(_entry(1), source=SourceRef("urn:feed", "Feed", "https://example.org/", T0))
    with store_at() as store:
        store.ensure_sources(["src"])
        pairs = []
        for changed in (entry,
                        replace(entry, source=replace(entry.source, updated=NOW)),  # the feed's date
                        replace(entry, updated=NOW),
                        replace(entry, updated=NOW, tags=("new",))):
            store.update_source("src", {}, [Incoming(changed, changed.updated)], NOW)
            [stored] = store.entries()
            [(version, local)] = store.entry_versions().values()
            assert not local
            pairs.append((version, repr(stored)))
        # One version per distinct stored form: none missed, none invented.
        versions, forms = {v for v, _ in pairs}, {f for _, f in pairs}
        assert len(versions) == len(forms) == len(set(pairs)) >= 3


# --- Either backend ------------------------------------------------------------------


def test_reads_in_a_snapshot_see_one_state_while_another_session_writes(
        store_at: OpenStore) -> None:
    """A publish lists entries, then reads their texts: a refresh committing meanwhile changes
    neither; once the snapshot ends, its reads see the new state."""
    with store_at() as reader, store_at() as writer:
        writer.update_source("src", {}, [Incoming(_entry(1), None)], T0)
        with reader.snapshot():
            assert [e.id for e in reader.published_listings()] == ["urn:e1"]
            writer.update_source("src", {}, [Incoming(_entry(2), None),
                                             Incoming(_entry(1, "edited"), None)], NOW)
            assert [e.id for e in reader.published_listings()] == ["urn:e1"]
            assert "edited" not in reader.entry_texts(["urn:e1"])["urn:e1"]
        assert sorted(e.id for e in reader.published_listings()) == ["urn:e1", "urn:e2"]


def test_every_table_is_counted_copied_and_emptied(store_at: OpenStore, tmp_path: Path) -> None:
    """What `feeds store migrate` builds on: rows read from one store load into another whole."""
    from feeds.model import CachedArticle, CachedPage, Ping, Subscription
    from feeds.store.tables import TABLES

    with store_at() as store:
        store.ensure_sources(["a"])
        store.update_source("a", {"etag": '"x"', "next_due": 1.5}, [Incoming(_entry(1), None)],
                            NOW, alias="b")
        store.block_domain("example.org", 9.0)
        store.sync_local([Incoming(replace(_entry(2), origin="a.md"), T0)],
                         cache={"a.md": CachedArticle("d", 1, 2**40, "urn:e2")})
        store.record_outputs({"all.atom": ("f", "s")})
        store.owe_pings([Ping("h", "u")], 1.0)
        store.settle_pings([Ping("h", "u")], [], [], 2.0, began=1.5)
        store.subscribe(Subscription("t", "c", None, 9e9, 1.0))
        store.owe_deliveries(["t"], 3.0)
        store.owe_pings([Ping("h", "u")], 4.0)
        store.update_source("a", {"page_error": "p: HTTP 404"},
                            [Incoming(_entry(3), None, "example.org/3")], NOW)
        store.record_pages([CachedPage("example.org/3", "http://example.org/3", 5.0, "<p>A</p>")])
        counts = store.row_counts()
        assert set(counts) == set(TABLES) and all(counts.values()), counts
        copy = Store(tmp_path / "copy.sqlite3")
        with copy, copy._transaction():
            for table in TABLES:
                copy.load(table, store.rows(table))
        with Store(tmp_path / "copy.sqlite3") as copy:
            assert copy.row_counts() == counts
            assert copy.sources() == store.sources()
            assert copy.published_entries() == store.published_entries()
            assert copy.article_cache() == store.article_cache()
            assert copy.cached_pages(["example.org/3"]) == store.cached_pages(["example.org/3"])
            with copy._transaction():
                copy.empty()
            assert set(copy.row_counts().values()) == {0}


# --- PostgreSQL --------------------------------------------------------------------


def test_a_postgresql_store_newer_than_this_feeds_is_refused(pg_url: str) -> None:
    import psycopg

    from feeds.store import open_at
    from feeds.store.pgschema import SCHEMA_VERSION as PG_VERSION
    from feeds.store.postgres import close_pools

    open_at(pg_url, Path()).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM feeds_schema").fetchall() == [(PG_VERSION,)]
        conn.execute("UPDATE feeds_schema SET version = version + 1")
    close_pools()  # a new process, as far as the store can tell
    with pytest.raises(StoreError, match=f"^{re.escape(pg_url)}: the store has schema version "
                                         f"{PG_VERSION + 1}, newer than this feeds"):
        open_at(pg_url, Path())


def test_processes_opening_a_new_postgresql_store_at_once_migrate_it_once(pg_url: str) -> None:
    """Workers started together each migrate under one advisory lock: one does, the rest wait."""
    import subprocess
    import sys

    from conftest import child_env

    code = ("import sys; from pathlib import Path; from feeds.store import open_at\n"
            "with open_at(sys.argv[1], Path()) as s: s.ensure_sources([sys.argv[2]])\n")
    children = [subprocess.Popen([sys.executable, "-c", code, pg_url, f"src{n}"],
                                 env=child_env(), stderr=subprocess.PIPE, text=True)
                for n in range(4)]
    errors = [child.communicate(timeout=120)[1] for child in children]
    assert [child.returncode for child in children] == [0] * 4, errors
    from feeds.store import open_at

    with open_at(pg_url, Path()) as store:
        assert [s.key for s in store.sources()] == [f"src{n}" for n in range(4)]


def test_an_unreachable_postgresql_store_is_named_without_its_password() -> None:
    from feeds.store import open_at

    url = "postgresql://feeds:s3cret@127.0.0.1:1/nothing"
    with pytest.raises(StoreError) as raised:
        open_at(url, Path())
    message = str(raised.value)
    assert message.startswith("postgresql://feeds:***@127.0.0.1:1/nothing: cannot open the store: ")
    assert "s3cret" not in message


def test_a_postgresql_store_without_its_driver_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from feeds.store import open_at

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "feeds.store.postgres", raising=False)
    with pytest.raises(StoreError, match=r"pip install 'feeds\[postgresql\]'"):
        open_at("postgresql://127.0.0.1/db", Path())


def test_a_write_postgresql_refuses_stores_nothing_of_its_transaction(pg_url: str) -> None:
    """As with SQLite: the error names the store, nothing of the transaction stays, and the
    session can write again at once."""
    import psycopg

    from feeds.model import CachedArticle
    from feeds.store import open_at

    with open_at(pg_url, Path()) as store, psycopg.connect(pg_url, autocommit=True) as other:
        store.sync_local([Incoming(_entry(1), T0)])
        other.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                      "$$ BEGIN RAISE EXCEPTION 'refused here'; END $$")
        other.execute("CREATE TRIGGER refuse BEFORE INSERT ON article_cache "
                      "FOR EACH ROW EXECUTE FUNCTION refuse()")
        with pytest.raises(StoreError, match=f"^{re.escape(pg_url)}: cannot write the store: "
                                             "refused here"):
            store.sync_local([Incoming(_entry(2), T0)],
                             cache={"b.md": CachedArticle("d", 1, 1, "urn:e2")})
        assert [e.id for e in store.entries()] == ["urn:e1"]
        other.execute("DROP TRIGGER refuse ON article_cache")
        assert store.sync_local([Incoming(_entry(2), T0)], keep=["urn:e1"]).new == 1


def test_rows_come_in_code_point_order_whatever_the_databases_locale(store_at: OpenStore) -> None:
    """SQLite orders text by its bytes; a PostgreSQL database in a language's order would list
    sources, and break ties between entries, otherwise (the tests' databases sort as English)."""
    from feeds.model import Ping

    keys = ["b", "B", "a", "a-c", "ab", "é"]
    with store_at() as store:
        store.ensure_sources(keys)
        assert [s.key for s in store.sources()] == sorted(keys) == ["B", "a", "a-c", "ab", "b", "é"]
        store.update_source("b", {}, [Incoming(replace(_entry(0), id=f"urn:{k}"), T0)
                                      for k in keys], NOW)
        assert [e.id for e in store.published_listings()] == [f"urn:{k}" for k in sorted(keys)]
        store.owe_pings([Ping("h", k) for k in keys], 1.0)
        assert [p.url for p in store.pending_pings()] == sorted(keys)


def test_the_local_state_keeps_its_manifest_part_by_part(tmp_path: Path) -> None:
    """Parts added, changed, dropped against the state held; every part without one."""
    state = LocalState("k", 3, 0, 3, 3, frozenset({"a"}), ("p0", "p1", "p2"))
    with Store(tmp_path / "s.db") as store:
        assert store.local_state() is None
        with store.local_sync() as sync:
            sync.finish_changed({}, state)
        assert store.local_state() == state
        for parts in [("p0", "p1 edited", "p2"), ("p0", "p1 edited"), ("p0", "x", "y", "z"), ()]:
            previous, state = state, replace(state, files=len(parts), manifest=parts)
            with store.local_sync() as sync:
                sync.finish_changed({}, state, previous=previous)
            assert store.local_state() == state
        with store.local_sync() as sync:
            sync.finish_changed({}, replace(state, manifest=("q",)))
        assert store.local_state() == replace(state, manifest=("q",))
