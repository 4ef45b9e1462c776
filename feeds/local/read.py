"""Reading local articles: Markdown files with YAML front matter → entries.

A file is parsed in isolation (`article`, pure) and the walk here collects
both entries and problems, so one broken file is reported as `path:line:
reason` and the rest is still published. Only changed files are read
(`scan`), and given which articles a feed can show (`to_show`) only those
are parsed beyond their front matter; on every core when there are many
(`pool`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from ..codec import cached_head
from ..config import Config
from ..model import ArticleHead, CachedArticle, Entry, Headed, Problem
from .pool import PARSE_POOL, FileRead, Parsed, read_file
from .scan import (
    MAX_ARTICLE_BYTES,
    RACY_NS,
    ArticleFile,
    list_articles,
    read_bounded,
    scan,
    settings_fingerprint,
)

# Which of the articles (their heads, and the languages of those already
# parsed) some feed could show: see `select.articles_to_show`.
ToShow = Callable[[Sequence[Headed], Mapping[str, tuple[str, ...]]], set[str]]
# Handed each article parsed: its entry, stored form and content hash.
OnEntry = Callable[[Entry, str, str], None]
# Handed the records to remember (path → record) in batches, as the files are read.
OnRecords = Callable[[Mapping[str, CachedArticle]], None]


@dataclass(frozen=True)
class ArticlesResult:
    """What reading an articles directory gave.

    `entries` are the articles parsed by this call (every article, without
    `to_show`); `ids` are the ids of the articles whose stored entries are
    current: parsed now, or known unchanged and stored. `articles` counts
    every article to publish, parsed or not. `encoded` holds each parsed
    entry's stored form and content hash, worked out beside the parse.
    `cache_updates` are the records to remember (short of those handed to
    `on_records` already, which they may set back to what the cache held)
    and `present` the files whose records may stay: those that exist, short
    of any to read again.
    `stored` counts the articles whose entries are stored, and `wanted`
    holds the ids some feed could show, as `to_show` last said (None when
    it was not asked).
    """

    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...]
    files: int
    drafts: int
    ids: tuple[str, ...] = ()
    encoded: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    cache_updates: Mapping[str, CachedArticle] = field(default_factory=dict)
    present: tuple[str, ...] = ()
    articles: int = 0
    stored: int = 0
    wanted: frozenset[str] | None = None


def read_articles(
    config: Config,
    cache: Mapping[str, CachedArticle] | None = None,
    *,
    to_show: ToShow | None = None,
    on_entry: OnEntry | None = None,
    on_records: OnRecords | None = None,
) -> ArticlesResult:
    """Every article under the configured directory, in path order, with problems.

    Drafts are skipped; a second article claiming an id another one has is
    reported and skipped, so ids stay unique.

    With `cache` (path → what an earlier build read), work is in proportion
    to what changed: unchanged files are not read again (see `scan`). With
    `to_show`, of a new or changed file only the front matter is read, and
    only the articles some feed could show are parsed whole.

    With `on_entry`, each article parsed is handed to it (entry, stored
    form, content hash) as soon as it is ready and not kept in the result;
    with `on_records`, the records to remember are handed to it in batches
    as the files are read (a cold build's hundred thousand are written
    while the workers read, not after), and not kept.
    """
    if not config.articles_dir.is_dir():
        return ArticlesResult((), (), 0, 0)
    # Without a cache every file is read: the workers start before the listing grows this process.
    with PARSE_POOL.kept(start=not cache):
        return _read_articles(config, cache or {}, to_show, on_entry, on_records)


def _read_articles(config: Config, cache: Mapping[str, CachedArticle], to_show: ToShow | None,
                   on_entry: OnEntry | None, on_records: OnRecords | None) -> ArticlesResult:
    listing = list_articles(config, cache)
    fingerprint = settings_fingerprint(config).encode()
    trusted_before = time.time_ns() - RACY_NS
    # A cold read's workers, idle until the files are sorted, take their stats.
    stats = None if cache else PARSE_POOL.stat([file.path for file in listing.files])
    found = scan(listing.files, cache, fingerprint, trusted_before, stats)
    walk = _Walk(found.updates, on_entry, [*listing.problems, *found.problems], cache, on_records)
    whole = to_show is None
    step = partial(read_file, config=config, fingerprint=fingerprint, whole=whole)
    reads = PARSE_POOL.map(step, found.to_read, renders=whole)  # in path order
    try:
        for file in listing.files:
            cached = found.known.get(file.shown)
            if cached is not None:
                walk.known(file, cached)
            elif file.shown in found.stats:  # else unreadable, reported by the scan
                walk.read(file, next(reads), found.stats[file.shown])
    finally:
        reads.close()  # stops the workers, also when a caller's on_entry fails
    if to_show is not None:
        walk.parse_shown(to_show, partial(read_file, config=config, fingerprint=fingerprint,
                                          whole=True))
    return ArticlesResult(tuple(walk.entries), tuple(walk.problems), len(listing.files),
                          walk.drafts, tuple(walk.ids), walk.encoded, walk.updates,
                          tuple(f.shown for f in listing.files if f.shown not in walk.forgotten),
                          len(walk.heads), len(set(walk.ids)),
                          None if walk.wanted is None else frozenset(walk.wanted))


class _Head:
    """An article read, parsed or not: its id, file, digest and head.

    The head of an unchanged file is decoded from its cache record only
    when more than its id is asked for: a rebuild whose feeds can show
    every article never is.
    """

    __slots__ = ("_cached", "_head", "digest", "file", "id")

    def __init__(self, entry_id: str, file: ArticleFile, digest: str,
                 head: ArticleHead | None = None, cached: CachedArticle | None = None) -> None:
        self.id = entry_id
        self.file = file
        self.digest = digest
        self._head = head
        self._cached = cached

    @property
    def head(self) -> ArticleHead:
        if self._head is None:
            assert self._cached is not None  # one of the two is always given
            self._head = cached_head(self._cached)
            assert self._head is not None  # a record with an id has a head
        return self._head

    @property
    def sort_time(self) -> datetime:
        return self.head.sort_time

    @property
    def tags(self) -> tuple[str, ...]:
        return self.head.tags

    @property
    def authors(self) -> tuple[str, ...]:
        return self.head.authors

    @property
    def lang(self) -> str | None:
        return self.head.lang


class _Walk:
    """The articles met so far, in path order: who owns which id, what to remember."""

    RECORDS_BATCH = 2000  # records handed to `on_records` at a time

    def __init__(self, updates: dict[str, CachedArticle], on_entry: OnEntry | None,
                 problems: list[Problem], cache: Mapping[str, CachedArticle] | None = None,
                 on_records: OnRecords | None = None) -> None:
        self.updates = updates  # the records to remember not handed to `on_records` yet
        self.problems = problems
        self._on_entry = on_entry
        self._cache = cache or {}
        self._on_records = on_records
        self.entries: list[Entry] = []
        self.encoded: dict[str, tuple[str, str]] = {}
        self.ids: list[str] = []
        self.owners: dict[str, str] = {}  # id → the shown path of the file that has it
        self.heads: dict[str, _Head] = {}  # id → what the front matter said, of every article
        self.languages: dict[str, tuple[str, ...]] = {}  # id → languages, of stored entries
        self.forgotten: set[str] = set()  # files whose records must go, though they exist
        self.wanted: set[str] | None = None  # what `to_show` said last
        self.drafts = 0
        # One copy of each list of tags, of authors and of each language among the heads
        # read: a hundred thousand articles share a few thousand of them.
        self._lists: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._langs: dict[str | None, str | None] = {}

    def known(self, file: ArticleFile, cached: CachedArticle) -> None:
        """An unchanged file: its record says what it holds."""
        if cached.entry_id is None or (cached.head is None and cached.head_text is None):
            self.drafts += 1
        elif not self._claim(_Head(cached.entry_id, file, cached.digest, cached.head, cached)):
            # A file earlier in path order took its id since it was read, and
            # the entry stored under that id may now be that file's: its
            # record is forgotten, so that it is read again.
            self.forgotten.add(file.shown)
        elif cached.languages is not None:
            self.languages[cached.entry_id] = cached.languages
            self.ids.append(cached.entry_id)

    def read(self, file: ArticleFile, read: FileRead, stat: tuple[int, int]) -> None:
        """A new or changed file, read now."""
        if read.problem is not None:
            self.problems.append(Problem(f"{read.problem.path}:{read.problem.line}",
                                         read.problem.reason))
            return
        size, mtime = stat
        if read.head is None:
            self.drafts += 1
            self._remember(file.shown, CachedArticle(read.digest, size, mtime, None))
            return
        head = self._compact(read.head)
        if not self._claim(_Head(head.id, file, read.digest, head)):
            return  # not cached: it is read again until it has an id of its own
        self._remember(file.shown, CachedArticle(read.digest, size, mtime, head.id, head))
        if read.parsed is not None:
            self._offer(file, read.parsed)

    def _remember(self, shown: str, record: CachedArticle) -> None:
        self.updates[shown] = record
        if self._on_records is not None and len(self.updates) >= self.RECORDS_BATCH:
            updates, self.updates = self.updates, {}
            self._on_records(updates)

    def _keep_record(self, shown: str) -> None:
        """Remember of a file to read again next time what the cache held of it, or nothing."""
        self.updates.pop(shown, None)
        if self._on_records is not None:  # its new record may be handed over already
            held = self._cache.get(shown)
            if held is None:
                self.forgotten.add(shown)
            else:
                self.updates[shown] = held

    def _compact(self, head: ArticleHead) -> ArticleHead:
        """`head`, equal, with the copies of its tags, authors and language that the others use."""
        lists = self._lists
        tags = lists.setdefault(head.tags, head.tags)
        authors = lists.setdefault(head.authors, head.authors)
        lang = self._langs.setdefault(head.lang, head.lang)
        if tags is head.tags and authors is head.authors and lang is head.lang:
            return head
        return ArticleHead(head.id, head.sort_time, tags, authors, lang)

    def _claim(self, read: _Head) -> bool:
        """Give `read`'s id to its file, unless an earlier file has it (a problem then)."""
        file, entry_id = read.file, read.id
        if entry_id in self.owners:
            self.problems.append(Problem(f"{file.shown}:{_id_line(file.path)}",
                                         f"id {entry_id!r} is already used by "
                                         f"{self.owners[entry_id]}"))
            return False
        self.owners[entry_id] = file.shown
        self.heads[entry_id] = read
        return True

    def _offer(self, file: ArticleFile, parsed: Parsed) -> None:
        entry = parsed.entry
        self.ids.append(entry.id)
        self.languages[entry.id] = entry.languages
        if file.shown in self.updates:
            self.updates[file.shown] = replace(self.updates[file.shown],
                                               languages=entry.languages)
        if self._on_entry is not None:
            self._on_entry(entry, parsed.text, parsed.content_digest)
        else:
            self.entries.append(entry)
            self.encoded[entry.id] = (parsed.text, parsed.content_digest)

    def parse_shown(self, to_show: ToShow, step: Callable[[ArticleFile], FileRead]) -> None:
        """Parse, and offer, every article some feed could show that has no current stored entry.

        The languages learnt grow with each article parsed, which may show
        that a language's feed needs more. A file that changed since its
        front matter was read is left for the next build, which reads it
        again.
        """
        listed = list(self.heads.values())
        if self.languages.keys() >= self.heads.keys():
            # Every article is stored as it is now: nothing a feed shows is
            # missing. What the feeds could show is still kept, for the next
            # build to tell an edit that moves nothing (see `local.changes`).
            self.wanted = to_show(listed, self.languages)
            return
        changed: set[str] = set()
        while True:
            wanted = to_show(listed, self.languages)
            todo = sorted((self.heads[i] for i in wanted
                           if i not in self.languages and i not in changed),
                          key=lambda read: read.file.shown)
            if not todo:
                self.wanted = wanted
                return
            reads = PARSE_POOL.map(step, [r.file for r in todo], renders=True)
            try:
                for known, read in zip(todo, reads, strict=True):
                    if (read.digest == known.digest and read.parsed is not None
                            and read.head == known.head):
                        self._offer(known.file, read.parsed)
                        continue
                    changed.add(known.id)
                    self._keep_record(known.file.shown)
                    if read.problem is not None and read.digest in ("", known.digest):
                        # Not changed, but not read whole either (its worker
                        # died, it cannot be opened now, its body is bad).
                        self.problems.append(Problem(f"{read.problem.path}:{read.problem.line}",
                                                     read.problem.reason))
                        continue
                    self.problems.append(Problem(
                        f"{known.file.shown}:1",
                        "changed while it was being read; it is read again by the next build"))
            finally:
                reads.close()


def _id_line(path: str) -> int:
    """The line of a file's `id` (or `slug`) key, for a message about it."""
    from .front import key_line

    try:
        text = read_bounded(path)[:MAX_ARTICLE_BYTES].decode("utf-8", "replace")
    except OSError:
        return 1
    return key_line(text, ("id", "slug"))
