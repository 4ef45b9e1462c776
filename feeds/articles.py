"""Reading local articles: Markdown files with YAML front matter → entries.

A file is parsed in isolation (`article.parse_article`, pure) and the
directory walk (`read_articles`) collects both entries and problems, so one
broken file is reported as `path:line: reason` and the rest is still
published. Only changed files are read, and with a cache only the articles
a feed can show are parsed beyond their front matter; on every core when
there are many.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import NamedTuple

from . import __version__
from .codec import stored_form
from .config import Config
from .errors import ArticleError
from .model import ArticleHead, CachedArticle, Entry, Problem

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")

@dataclass(frozen=True)
class ArticlesResult:
    """What reading an articles directory gave.

    `entries` are the articles parsed by this call (every article, without a
    cache); `ids` are the ids of the articles whose stored entries are
    current: parsed now, or known unchanged and stored. `articles` counts
    every article to publish, parsed or not. `encoded` holds each parsed
    entry's stored form and content hash, worked out beside the parse.
    `cache_updates` are the records to remember and `present` the files
    whose records may stay: those that exist, short of any to read again.
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


# How articles are read, beyond the version: changed when an unchanged file
# would now parse differently, so that no store keeps what the old rules gave.
# "languages-2": real languages, script fallback, splits at headings, own titles.
_PARSING = "languages-2"


def settings_fingerprint(config: Config) -> str:
    """What, besides a file's bytes, decides how it parses; part of the cache key."""
    parts = (__version__, _PARSING, config.base_url, config.author, config.timezone,
             config.id_date, ",".join(config.languages), repr(sorted(config.tag_aliases.items())))
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def read_articles(
    config: Config,
    cache: Mapping[str, CachedArticle] | None = None,
    *,
    on_entry: Callable[[Entry, str, str], None] | None = None,
) -> ArticlesResult:
    """Every article under the configured directory, in path order, with problems.

    Drafts are skipped; a second article claiming an id another one has is
    reported and skipped, so ids stay unique.

    Without `cache`, every article is parsed. With one (path → what an
    earlier build read), work is in proportion to what changed and to what
    the feeds can show: a file whose size and modification time are
    unchanged (and were not too recent to trust when it was read: see
    _RACY_NS) is not even read, one whose bytes and settings are unchanged
    is not parsed again, and of a new or changed file only the front matter
    is read, unless some feed could show it (`select.articles_to_show`).

    With `on_entry`, each article parsed is handed to it (entry, stored
    form, content hash) as soon as it is ready and not kept in the result:
    a corpus of any size then costs the memory of a few articles.
    """
    root = config.articles_dir
    if not root.is_dir():
        return ArticlesResult((), (), 0, 0)
    whole = cache is None
    cache = cache or {}
    shown_root = _shown_path(root, config.root)
    files, unlisted = _article_files(root, shown_root)
    problems: list[Problem] = [
        Problem(folder, f"cannot read this folder ({exc.strerror or exc}); its articles "
                        "are kept as they were until it can be read again")
        for folder, exc in unlisted
    ]
    if unlisted:
        files = _with_unlisted(files, unlisted, cache, root, shown_root)
    fingerprint = settings_fingerprint(config).encode()
    updates: dict[str, CachedArticle] = {}
    known: dict[str, CachedArticle] = {}  # shown path → the record of an unchanged file
    # (shown path, slug, file path) of each file to read. The workers read
    # the files themselves: bytes held here would be copied into every one.
    todo: list[tuple[str, str, str]] = []
    stats: dict[str, tuple[int, int]] = {}  # shown path → size, mtime to remember
    settings_tag = _settings_tag(fingerprint)
    trusted_before = time.time_ns() - _RACY_NS
    for shown, rel, path in files:
        cached = cache.get(shown)
        if cached is not None and not cached.digest.startswith(settings_tag):
            cached = None  # read under other settings: its digest cannot match
        try:
            st = os.stat(path)
            if cached is not None:
                if cached.size == st.st_size and cached.mtime_ns == st.st_mtime_ns:
                    known[shown] = cached
                    continue
                with open(path, "rb") as fh:
                    data = fh.read()
                if cached.digest == _digest(fingerprint, data):
                    # Touched but not changed: remember its new stat, parse nothing.
                    known[shown] = updates[shown] = replace(
                        cached, size=st.st_size, mtime_ns=_kept_mtime(st, trusted_before))
                    continue
        except OSError as exc:
            problems.append(Problem(f"{shown}:1", _unreadable(exc)))
            if cache.get(shown) is not None:
                # A file that cannot be read now (its permissions, a folder
                # that cannot be listed) keeps what was published of it.
                known[shown] = cache[shown]
            continue
        stats[shown] = (st.st_size, _kept_mtime(st, trusted_before))
        todo.append((shown, rel, path))
    # Without a cache every file is parsed whole; with one, new and changed
    # files are read for their front matter first.
    step = partial(_read_outcome, config=config, fingerprint=fingerprint, whole=whole)
    outcomes = _parse_many(todo, step, renders=whole)  # in the order of `todo`: path order
    entries: list[Entry] = []
    encoded: dict[str, tuple[str, str]] = {}
    ids: list[str] = []
    owners: dict[str, str] = {}
    heads: dict[str, _Read] = {}  # id → what the front matter said, of every article
    languages: dict[str, tuple[str, ...]] = {}  # id → languages, of the stored entries
    forgotten: set[str] = set()  # files whose records must go, though they exist
    drafts = 0

    def offer(entry: Entry, text: str, content_digest: str) -> None:
        ids.append(entry.id)
        if on_entry is not None:
            on_entry(entry, text, content_digest)
        else:
            entries.append(entry)
            encoded[entry.id] = (text, content_digest)

    try:
        for item in files:
            shown, _rel, path = item
            cached = known.get(shown)
            if cached is not None:
                if cached.head is None:
                    drafts += 1
                elif cached.head.id in owners:
                    # A file earlier in path order took its id since it was read,
                    # and the entry stored under that id may now be that file's:
                    # its record is forgotten, so that it is read again.
                    problems.append(_taken(cached.head.id, owners, shown, path))
                    forgotten.add(shown)
                else:
                    owners[cached.head.id] = shown
                    heads[cached.head.id] = _Read(cached.head, item, cached.digest)
                    if cached.languages is not None:
                        languages[cached.head.id] = cached.languages
                        ids.append(cached.head.id)
                continue
            if shown not in stats:
                continue  # unreadable, reported above
            digest, outcome = next(outcomes)
            size, mtime = stats[shown]
            if isinstance(outcome, ArticleError):
                problems.append(Problem(f"{outcome.path}:{outcome.line}", outcome.reason))
                continue
            if outcome is None:
                drafts += 1
                updates[shown] = CachedArticle(digest, size, mtime, None)
                continue
            head = outcome if isinstance(outcome, ArticleHead) else outcome[0]
            if head.id in owners:
                problems.append(_taken(head.id, owners, shown, path))
                continue  # not cached: it is read again until it has an id of its own
            owners[head.id] = shown
            heads[head.id] = _Read(head, item, digest)
            updates[shown] = CachedArticle(digest, size, mtime, head.id, head)
            if not isinstance(outcome, ArticleHead):
                _head, entry, text, content_digest = outcome
                offer(entry, text, content_digest)
                updates[shown] = replace(updates[shown], languages=entry.languages)
    finally:
        outcomes.close()  # stops the workers, also when a caller's on_entry fails
    if not whole:
        _parse_shown(heads, languages, updates, config, fingerprint, offer, problems)
    return ArticlesResult(tuple(entries), tuple(problems), len(files), drafts, tuple(ids),
                          encoded, updates,
                          tuple(shown for shown, _r, _p in files if shown not in forgotten),
                          len(heads))


def _parse_shown(
    heads: Mapping[str, _Read],
    languages: dict[str, tuple[str, ...]],
    updates: dict[str, CachedArticle],
    config: Config,
    fingerprint: bytes,
    offer: Callable[[Entry, str, str], None],
    problems: list[Problem],
) -> None:
    """Parse, and offer, every article some feed could show that has no current stored entry.

    `languages` (id → languages of a current stored entry) grows with each
    article parsed, which may show that a language's feed needs more. A
    file that changed since its front matter was read is left for the next
    build, which reads it again.
    """
    from .select import articles_to_show

    listed = [read.head for read in heads.values()]
    parse = partial(_read_outcome, config=config, fingerprint=fingerprint, whole=True)
    changed: set[str] = set()
    while True:
        wanted = articles_to_show(listed, languages, config)
        todo = sorted((heads[i] for i in wanted if i not in languages and i not in changed),
                      key=lambda read: read.shown)
        if not todo:
            return
        outcomes = _parse_many([read.file for read in todo], parse, renders=True)
        try:
            for read, (digest, outcome) in zip(todo, outcomes, strict=True):
                if (digest == read.digest and isinstance(outcome, tuple)
                        and outcome[0] == read.head):
                    _head, entry, text, content_digest = outcome
                    offer(entry, text, content_digest)
                    languages[entry.id] = entry.languages
                    if read.shown in updates:
                        updates[read.shown] = replace(updates[read.shown],
                                                      languages=entry.languages)
                    continue
                changed.add(read.head.id)
                updates.pop(read.shown, None)
                problems.append(Problem(f"{read.shown}:1", "changed while it was being read; "
                                        "it is read again by the next build"))
        finally:
            outcomes.close()


# A file modified this recently when it is read may change again within the
# same tick of its file system's clock (a jiffy on Linux, two seconds on
# FAT), keeping its size and modification time while its bytes change. Its
# stat is not trusted next time (its bytes are compared), as git does with
# "racily clean" files; only its stat, not its parse, is at stake.
_RACY_NS = 2_000_000_000
_UNTRUSTED_MTIME = -1  # matches no file's stat


def _kept_mtime(st: os.stat_result, trusted_before: int) -> int:
    """The modification time to remember of a file read now, or one no stat matches."""
    return st.st_mtime_ns if st.st_mtime_ns < trusted_before else _UNTRUSTED_MTIME


def _settings_tag(fingerprint: bytes) -> str:
    return fingerprint[:12].decode("ascii")


def _digest(fingerprint: bytes, data: bytes) -> str:
    """The cache key of a file's bytes: which settings, then what content.

    It starts with a short tag of the settings, so that a file known by its
    stat alone is trusted only under the settings it was parsed with.
    """
    return _settings_tag(fingerprint) + ":" + hashlib.sha256(fingerprint + data).hexdigest()


def _article_files(
    root: Path, shown_root: str
) -> tuple[list[tuple[str, str, str]], list[tuple[str, OSError]]]:
    """(shown path, slug, file path) of every article file below `root`, in path order.

    Also every folder that could not be listed, as (shown path, error): the
    articles in it are not gone, only out of sight, and must not be dropped.
    Hidden files and folders (a leading dot) are skipped. os.scandir with plain
    strings: a Path per file made listing 10,000 articles cost a second.
    """
    found: list[tuple[tuple[str, ...], str]] = []
    unlisted: list[tuple[str, OSError]] = []
    stack: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    prefix = _shown_prefix(shown_root)
    while stack:
        folder, parts = stack.pop()
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    if item.name.startswith("."):
                        continue
                    if item.is_dir(follow_symlinks=False):
                        stack.append((item.path, (*parts, item.name)))
                    elif (item.name.lower().endswith(ARTICLE_SUFFIXES)
                          and item.is_file()):
                        found.append(((*parts, item.name), item.path))
        except OSError as exc:
            unlisted.append((prefix + "/".join(parts) if parts else shown_root, exc))
    found.sort()
    files = []
    for parts, path in found:
        rel = "/".join(parts)
        stem = rel.rsplit(".", 1)[0]
        files.append((prefix + rel, stem, path))
    return files, sorted(unlisted, key=lambda item: item[0])


def _shown_prefix(shown_root: str) -> str:
    """What goes before an article's path below the articles folder to show it."""
    return "" if shown_root in ("", ".") else shown_root.rstrip("/") + "/"


def _with_unlisted(
    files: list[tuple[str, str, str]],
    unlisted: Sequence[tuple[str, OSError]],
    cache: Mapping[str, CachedArticle],
    root: Path,
    shown_root: str,
) -> list[tuple[str, str, str]]:
    """`files` and the articles known to lie in folders that could not be listed.

    Those are then treated like files that cannot be read: reported, and kept
    as the store has them.
    """
    prefix = _shown_prefix(shown_root)
    folders = [prefix if folder == shown_root else folder + "/" for folder, _exc in unlisted]
    listed = {shown for shown, _rel, _path in files}
    hidden = []
    for shown in cache:
        if shown not in listed and any(shown.startswith(folder) for folder in folders):
            rel = shown[len(prefix):]
            hidden.append((shown, rel.rsplit(".", 1)[0], str(root / rel)))
    return sorted([*files, *hidden], key=lambda item: tuple(item[0].split("/")))


# Below this many files a process pool costs more than it saves.
_POOL_MIN = 200
# cmarkgfm never frees the syntax tree and the HTML it makes for a document
# (its bindings expose no way to), about 25 KB an article, so a process grows
# with every file it parses: workers are replaced after this many files, and
# a process that has parsed this many itself (a long-running `feeds run`)
# hands the rest to short-lived workers.
_FILES_PER_WORKER = 500
_parsed_here = 0  # files this process has parsed itself

# What reading a file gives: its head alone, or its head and entry with the
# entry's stored form and content hash; None for a draft, or the problem.
_Parsed = tuple[ArticleHead, Entry, str, str]
_Outcome = _Parsed | ArticleHead | ArticleError | None


class _Read(NamedTuple):
    """An article read, parsed or not: its head, file (shown path, slug, path) and digest."""

    head: ArticleHead
    file: tuple[str, str, str]
    digest: str

    @property
    def shown(self) -> str:
        return self.file[0]


def _unreadable(exc: OSError) -> str:
    return f"cannot read file: {exc.strerror or exc}"


def _taken(entry_id: str, owners: Mapping[str, str], shown: str, path: str) -> Problem:
    """The problem of an article claiming an id a file earlier in path order has."""
    return Problem(f"{shown}:{_id_line(path)}",
                   f"id {entry_id!r} is already used by {owners[entry_id]}")


def _id_line(path: str) -> int:
    """The line of a file's `id` (or `slug`) key, for a message about it."""
    from .article import key_line

    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return 1
    return key_line(text, ("id", "slug"))


def _read_outcome(item: tuple[str, str, str], config: Config, fingerprint: bytes,
                  whole: bool) -> tuple[str, _Outcome]:
    """The digest of a file's bytes as read here, and what parsing them gave.

    All of the file when `whole` (its head, entry, stored form and content
    hash), else only what its front matter says (its head).
    """
    from .article import parse_head, read_article

    shown, rel, path = item
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return "", ArticleError(shown, 1, _unreadable(exc))
    digest = _digest(fingerprint, data)
    try:
        if not whole:
            return digest, parse_head(data, shown, rel, config)
        parsed = read_article(data, shown, rel, config)
    except ArticleError as exc:
        return digest, exc
    if parsed is None:
        return digest, None
    head, entry = parsed
    form = stored_form(entry)
    return digest, (head, entry, form.data, form.digest)


def _parse_many(
    items: Sequence[tuple[str, str, str]],
    step: Callable[[tuple[str, str, str]], tuple[str, _Outcome]],
    *,
    renders: bool,
) -> Generator[tuple[str, _Outcome], None, None]:
    """`step` of each of `items`, in their order, on every core when there are many.

    Outcomes are yielded as they are ready, so the caller can store each one
    and let it go before the last file is even parsed. A few files are
    parsed here, unless this process has already rendered its share of
    Markdown (`renders`: the step renders, see _FILES_PER_WORKER).
    """
    global _parsed_here
    workers = os.cpu_count() or 1
    few = len(items) < _POOL_MIN or workers < 2
    if few and (not renders or _parsed_here + len(items) <= _FILES_PER_WORKER):
        if renders:
            _parsed_here += len(items)
        yield from (step(item) for item in items)
        return
    if few:
        workers = 1
    # Import the parsers before forking, so the workers share them instead
    # of each importing its own.
    from . import article  # noqa: F401
    from .workers import worker_pool

    chunk = max(1, min(200, len(items) // (workers * 8)))
    batch = workers * _FILES_PER_WORKER if renders else len(items)
    for start in range(0, len(items), batch):
        with worker_pool(workers) as pool:
            yield from pool.map(step, items[start : start + batch], chunksize=chunk)


def _shown_path(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
