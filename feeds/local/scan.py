"""Finding article files and telling which changed since the store last read them.

This is the input edge of the local side: it lists folders and stats (or,
when the stat is not enough, reads and digests) files, comparing each with
what the store remembers of it (`CachedArticle`). Parsing happens elsewhere
(`local.read`); a file whose bytes and settings are unchanged is never
parsed again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from ..about import __version__
from ..config import Config, shown_path
from ..model import CachedArticle, Problem
from .walk import ARTICLE_SUFFIXES

# An article is a page of text (the largest real ones are some hundred KB): a
# file past this is not one (a data file, a log), and reading it whole would
# cost a worker its size in memory and Markdown its time. No more is read.
MAX_ARTICLE_BYTES = 8 * 2**20

# How articles are read, beyond the version: changed when an unchanged file
# would now parse differently, so that no store keeps what the old rules gave.
# "languages-2": real languages, script fallback, splits at headings, own titles.
# "controls-3": DEL removed from text like the other control characters.
# "code-4": a fenced code block's language no longer in `<pre lang>`.
_PARSING = "code-4"

# A file modified this recently when it is read may change again within the
# same tick of its file system's clock (a jiffy on Linux, two seconds on
# FAT), keeping its size and modification time while its bytes change. Its
# stat is not trusted next time (its bytes are compared), as git does with
# "racily clean" files; only its stat, not its parse, is at stake.
RACY_NS = 2_000_000_000
UNTRUSTED_MTIME = -1  # matches no file's stat


class ArticleFile(NamedTuple):
    """An article file: how messages show it, its default slug, where it is."""

    shown: str
    slug: str
    path: str


def settings_fingerprint(config: Config) -> str:
    """What, besides a file's bytes, decides how it parses; part of the cache key."""
    parts = (__version__, _PARSING, config.base_url, config.author, config.timezone,
             config.id_date, ",".join(config.languages), repr(sorted(config.tag_aliases.items())))
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def settings_tag(fingerprint: bytes) -> str:
    return fingerprint[:12].decode("ascii")


def digest(fingerprint: bytes, data: bytes) -> str:
    """The cache key of a file's bytes: which settings, then what content.

    It starts with a short tag of the settings, so that a file known by its
    stat alone is trusted only under the settings it was parsed with.
    """
    return settings_tag(fingerprint) + ":" + hashlib.sha256(fingerprint + data).hexdigest()


def kept_mtime(mtime_ns: int, trusted_before: int) -> int:
    """The modification time to remember of a file read now, or one no stat matches."""
    return mtime_ns if mtime_ns < trusted_before else UNTRUSTED_MTIME


# A file's size and modification time (ns), or why it could not be stat-ed.
Stat = tuple[int, int] | str


def stat_paths(paths: Sequence[str]) -> list[Stat]:
    """The stat of each of `paths` (see `Stat`), in order."""
    return [_stat(path) for path in paths]


def _stat(path: str) -> Stat:
    try:
        st = os.stat(path)
    except OSError as exc:
        return unreadable(exc)
    return st.st_size, st.st_mtime_ns


def read_bounded(path: str) -> bytes:
    """The bytes of a file, no more than `MAX_ARTICLE_BYTES` + 1 of them.

    Asking for the limit itself costs every read a buffer of its size (an
    allocation of 8 MB and the kernel's work to map and unmap it: about
    three times the read of a page of text). The first read asks for
    `_FIRST_READ` bytes, more than most articles hold, so that most files
    cost no stat (each system call saved is worth more than its own time:
    the code after it runs faster); a file that fills it is asked for what
    its size says is left, plus a byte. The read goes on until the file has
    no more to give (it grew since, or its size says nothing, as /proc's).
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        parts: list[bytes] = []
        left = MAX_ARTICLE_BYTES + 1
        want = _FIRST_READ
        while left > 0:
            chunk = os.read(fd, min(want, left))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
            if want == _FIRST_READ and len(chunk) == want:
                want = max(os.fstat(fd).st_size - len(chunk) + 1, _FIRST_READ)
    finally:
        os.close(fd)
    return b"".join(parts)


# What the first read of an article asks for: a buffer this small costs nothing to allocate.
_FIRST_READ = 2**16


def unreadable(exc: OSError) -> str:
    return f"cannot read file: {exc.strerror or exc}"


@dataclass
class Listing:
    """Every article file to consider, in path order, and the folders that could not be listed."""

    files: list[ArticleFile]
    problems: list[Problem] = field(default_factory=list)


def list_articles(config: Config, cache: Mapping[str, CachedArticle]) -> Listing:
    """Every article file below the articles folder, and those known in folders out of sight.

    A folder that cannot be listed is reported, and the articles the cache
    knows in it are listed all the same: they are not gone, only out of
    sight, and are then treated like files that cannot be read (reported,
    and kept as the store has them).
    """
    root = config.articles_dir
    shown_root = shown_path(root, config.root)
    files, unlisted = _article_files(root, shown_root)
    problems = [
        Problem(folder, f"cannot read this folder ({exc.strerror or exc}); its articles "
                        "are kept as they were until it can be read again")
        for folder, exc in unlisted
    ]
    if unlisted:
        files = _with_unlisted(files, unlisted, cache, root, shown_root)
    return Listing(files, problems)


def _article_files(
    root: Path, shown_root: str
) -> tuple[list[ArticleFile], list[tuple[str, OSError]]]:
    """Every article file below `root`, in path order, and every folder that could not be listed.

    Hidden files and folders (a leading dot) are skipped. os.scandir with plain
    strings: a Path per file made listing 10,000 articles cost a second. Each
    folder's names are sorted on their own and its subfolders walked where
    their names fall, which is path order (one path's parts against
    another's) without sorting a hundred thousand tuples of parts.
    """
    files: list[ArticleFile] = []
    unlisted: list[tuple[str, OSError]] = []
    prefix = _shown_prefix(shown_root)
    # (what is left of a folder's sorted names, the folder's path below `root` with a "/")
    stack = [(iter(_folder(str(root), shown_root, unlisted)), "")]
    while stack:
        names, rel = stack[-1]
        for name, path, is_dir in names:
            if is_dir:
                inner = f"{rel}{name}/"
                stack.append((iter(_folder(path, prefix + inner[:-1], unlisted)), inner))
                break
            shown = rel + name
            files.append(ArticleFile(prefix + shown, shown.rsplit(".", 1)[0], path))
        else:
            stack.pop()
    return files, sorted(unlisted, key=lambda item: item[0])


def _folder(folder: str, shown: str, unlisted: list[tuple[str, OSError]]) -> list[tuple[str, str, bool]]:
    """The subfolders and article files of `folder` sorted by name: (name, path, is a folder).

    A folder that fails part way keeps what it listed, and is added to `unlisted`.
    """
    found: list[tuple[str, str, bool]] = []
    try:
        with os.scandir(folder) as listing:
            for item in listing:
                name = item.name
                if name.startswith("."):
                    continue
                if item.is_dir(follow_symlinks=False):
                    found.append((name, item.path, True))
                elif name.lower().endswith(ARTICLE_SUFFIXES) and item.is_file():
                    found.append((name, item.path, False))
    except OSError as exc:
        unlisted.append((shown, exc))
    found.sort()
    return found


def _shown_prefix(shown_root: str) -> str:
    """What goes before an article's path below the articles folder to show it."""
    return "" if shown_root in ("", ".") else shown_root.rstrip("/") + "/"


def _with_unlisted(
    files: list[ArticleFile],
    unlisted: Sequence[tuple[str, OSError]],
    cache: Mapping[str, CachedArticle],
    root: Path,
    shown_root: str,
) -> list[ArticleFile]:
    """`files` and the articles the cache knows in folders that could not be listed."""
    prefix = _shown_prefix(shown_root)
    folders = [prefix if folder == shown_root else folder + "/" for folder, _exc in unlisted]
    listed = {file.shown for file in files}
    hidden = []
    for shown in cache:
        if shown not in listed and any(shown.startswith(folder) for folder in folders):
            rel = shown[len(prefix):]
            hidden.append(ArticleFile(shown, rel.rsplit(".", 1)[0], str(root / rel)))
    return sorted([*files, *hidden], key=lambda file: tuple(file.shown.split("/")))


@dataclass
class Scan:
    """Each listed file against the cache: known unchanged, or to be read.

    `known` maps a file to the record of an unchanged file (or of one that
    cannot be read now, which keeps what was published of it); `to_read`
    are the new and changed files, in path order, with the stat to remember
    of each (`stats`). `updates` are records to remember already: files
    touched but not changed.
    """

    known: dict[str, CachedArticle] = field(default_factory=dict)
    updates: dict[str, CachedArticle] = field(default_factory=dict)
    to_read: list[ArticleFile] = field(default_factory=list)
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def scan(files: Sequence[ArticleFile], cache: Mapping[str, CachedArticle], fingerprint: bytes,
         trusted_before: int, stats: Sequence[Stat] | None = None) -> Scan:
    """Sort `files` into known and to read, in proportion to what changed.

    A file whose size and modification time are unchanged (and were not too
    recent to trust when it was read: see RACY_NS) is not even read; one
    whose bytes and settings are unchanged is not parsed again. Records made
    under other settings are ignored: their digests cannot match. `stats`,
    when given, are those of `files` (see `stat_paths`), taken before any of
    them is read; else each file is stat-ed here.
    """
    result = Scan()
    tag = settings_tag(fingerprint)
    for file, stat in zip(files, stats if stats is not None else map(_stat, (f.path for f in files)),
                          strict=True):
        shown = file.shown
        cached = cache.get(shown)
        if cached is not None and not cached.digest.startswith(tag):
            cached = None  # read under other settings: its digest cannot match
        if cached is not None and not isinstance(stat, str):
            checked = _against(file, cached, stat, fingerprint, trusted_before, result)
            if checked is None:
                continue
            stat = checked
        if isinstance(stat, str):
            result.problems.append(Problem(f"{shown}:1", stat))
            if cache.get(shown) is not None:
                # A file that cannot be read now (its permissions, a folder
                # that cannot be listed) keeps what was published of it.
                result.known[shown] = cache[shown]
            continue
        size, mtime = stat
        result.stats[shown] = (size, kept_mtime(mtime, trusted_before))
        result.to_read.append(file)
    return result


def _against(file: ArticleFile, cached: CachedArticle, stat: tuple[int, int], fingerprint: bytes,
             trusted_before: int, result: Scan) -> Stat | None:
    """None if `file` is known by `cached` (put in `result`), else its stat or why it cannot be read."""
    size, mtime = stat
    if cached.size == size and cached.mtime_ns == mtime:
        result.known[file.shown] = cached
        return None
    try:
        data = read_bounded(file.path)
    except OSError as exc:
        return unreadable(exc)
    if cached.digest == digest(fingerprint, data):
        # Touched but not changed: remember its new stat, parse nothing.
        result.known[file.shown] = result.updates[file.shown] = replace(
            cached, size=size, mtime_ns=kept_mtime(mtime, trusted_before))
        return None
    return stat
