"""Reading and parsing article files, on every core when there are many.

`read_file` turns one file into a `FileRead`: all of it, or only what its
front matter says. A `ParsePool` runs it over many files in path order,
handing each result over as soon as it is ready, so that a corpus of any
size costs the memory of a few articles.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from ..codec import stored_form
from ..config import Config
from ..errors import ArticleError
from ..model import ArticleHead, Entry
from .scan import (
    MAX_ARTICLE_BYTES,
    ArticleFile,
    Stat,
    digest,
    read_bounded,
    stat_paths,
    unreadable,
)

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor  # imported with the first pool


class Parsed(NamedTuple):
    """An article read whole: its entry, and the entry's stored form and content hash."""

    entry: Entry
    text: str
    content_digest: str


@dataclass(frozen=True)
class FileRead:
    """What reading one file gave.

    `digest` is that of the bytes read ("" when none could be). `head` is
    None for a draft and for a file with a `problem`; `parsed` is set only
    when the file was read whole and is no draft.
    """

    digest: str
    head: ArticleHead | None = None
    parsed: Parsed | None = None
    problem: ArticleError | None = None

    def __reduce__(self) -> tuple[Callable[..., FileRead], tuple[Any, ...]]:
        """Pickled as its fields (see `ArticleHead.__reduce__`): one crosses from a worker per file.

        The common one, a head alone, crosses as one flat tuple, and is made
        again without the frozen dataclasses' `__init__`.
        """
        head = self.head
        if head is not None and self.parsed is None and self.problem is None:
            return _head_read, (self.digest, head.id, head.sort_time, head.tags, head.authors,
                                head.lang)
        return FileRead, (self.digest, self.head, self.parsed, self.problem)


_new = object.__new__
_set = object.__setattr__


def _head_read(digest: str, entry_id: str, sort_time: datetime, tags: tuple[str, ...],
               authors: tuple[str, ...], lang: str | None) -> FileRead:
    """The FileRead of a head, as the main process unpickles one for every article read.

    The fields are set as the dataclasses' `__init__` sets them, less the
    calls of one function through another: this is most of the unpickling.
    """
    head = _new(ArticleHead)
    _set(head, "id", entry_id)
    _set(head, "sort_time", sort_time)
    _set(head, "tags", tags)
    _set(head, "authors", authors)
    _set(head, "lang", lang)
    read = _new(FileRead)
    read.__dict__.update(digest=digest, head=head, parsed=None, problem=None)
    return read


def read_file(file: ArticleFile, config: Config, fingerprint: bytes, whole: bool) -> FileRead:
    """Read and parse one file: all of it when `whole`, else only its front matter."""
    try:
        data = read_bounded(file.path)
    except OSError as exc:
        return FileRead("", problem=ArticleError(file.shown, 1, unreadable(exc)))
    if len(data) > MAX_ARTICLE_BYTES:
        return FileRead("", problem=ArticleError(
            file.shown, 1, f"larger than the {MAX_ARTICLE_BYTES // 2**20} MB an article may hold "
                           "(a data file or a log?): left out"))
    key = digest(fingerprint, data)
    try:
        if not whole:
            parse_head = _HEAD_PARSER or _import_head_parser()
            return FileRead(key, parse_head(data, file.shown, file.slug, config))
        read = (_ARTICLE_PARSER or _import_article_parser())(data, file.shown, file.slug, config)
    except ArticleError as exc:
        return FileRead(key, problem=exc)
    if read is None:
        return FileRead(key)
    head, entry = read
    form = stored_form(entry)
    return FileRead(key, head, Parsed(entry, form.data, form.digest))


# The parsers, imported by the first read: they are heavy, and a build with nothing
# to read never imports them; one that reads only front matter (an article no feed
# shows, edited) imports its parser alone (`local.front`: PyYAML), not the body's
# (`local.article`: cmark-gfm, lxml, CLD2). Kept here, as an import statement in
# `read_file` would cost every file a microsecond.
_HeadParser = Callable[[bytes, str, str, Config], ArticleHead | None]
_ArticleParser = Callable[[bytes, str, str, Config], tuple[ArticleHead, Entry] | None]
_HEAD_PARSER: _HeadParser | None = None
_ARTICLE_PARSER: _ArticleParser | None = None


def _import_head_parser() -> _HeadParser:
    global _HEAD_PARSER
    from .front import parse_head

    _HEAD_PARSER = parse_head
    return parse_head


def _import_article_parser() -> _ArticleParser:
    global _ARTICLE_PARSER
    from .article import read_article

    _ARTICLE_PARSER = read_article
    return read_article


class ParsePool:
    """Runs a step over files in their order, in worker processes when there are many.

    cmarkgfm never frees the syntax tree and the HTML it makes for a
    document (its bindings expose no way to), about 25 KB an article, so a
    process grows with every file it renders: workers are replaced after
    `files_per_worker` files, and this process, once it has rendered that
    many itself (a long-running `feeds run`), hands the rest to short-lived
    workers. One pool per process (`PARSE_POOL`) keeps that count.
    """

    def __init__(self, pool_min: int, files_per_worker: int) -> None:
        self.pool_min = pool_min  # below this many files a process pool costs more than it saves
        self.files_per_worker = files_per_worker
        self.rendered_here = 0  # files this process has rendered itself
        self._keeping = False
        self._kept: _KeptWorkers | None = None

    @contextmanager
    def kept(self, *, start: bool = False) -> Iterator[None]:
        """Within the block, the workers the first `map` starts serve every later one, while
        they have renders to spare; with `start`, they are started at once.

        A worker forked from this process starts as large as it is, and
        counts as large. A read forks its workers before it has grown with
        the heads of every article, and keeps them for the articles its
        feeds show: about 1,100 when feeds show 50 entries, whatever the
        number of articles, which two workers render without being
        replaced. A read that knows it will read every file (a cold build)
        starts them before even listing the files: the listing of 100,000
        articles alone is 50 MB, which each worker forked after it would
        count again.
        """
        self._keeping = True
        try:
            if start and (os.cpu_count() or 1) >= 2:
                self._start_kept(os.cpu_count() or 1)
            yield
        finally:
            self._retire_kept()

    def _start_kept(self, workers: int) -> _KeptWorkers | None:
        """Fork the kept workers now, with the parsers imported for them to share (None if
        one died at once: the reads then start their own)."""
        from concurrent.futures.process import BrokenProcessPool

        from ..workers import started, worker_pool
        from . import article  # noqa: F401

        pool = worker_pool(workers)
        try:
            started(pool)
        except BrokenProcessPool:
            pool.shutdown(wait=False)
            return None
        self._kept = _KeptWorkers(pool, workers * self.files_per_worker)
        return self._kept

    def _retire_kept(self) -> None:
        """Stop the kept workers, and keep none for the rest of the block."""
        self._keeping = False
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.pool.shutdown(cancel_futures=True)

    def stat(self, paths: Sequence[str]) -> list[Stat] | None:
        """`scan.stat_paths` of `paths` on the kept workers; None when there are none (or too
        few paths to be worth sending, or a worker died): the caller stats them itself.

        The workers a cold read starts before listing the files have nothing
        to do until the files are sorted against the cache, which is their
        stats: 100,000 took 0.4 s of this process, and take half that on two.
        """
        kept = self._kept
        if kept is None or len(paths) < self.pool_min:
            return None
        from concurrent.futures.process import BrokenProcessPool

        size = -(-len(paths) // (8 * (os.cpu_count() or 1)))
        try:
            parts = kept.pool.map(stat_paths, [paths[i : i + size]
                                               for i in range(0, len(paths), size)])
            return [stat for part in parts for stat in part]
        except BrokenProcessPool:
            self._retire_kept()  # gone: the block's later reads start their own
            return None

    def map(self, step: Callable[[ArticleFile], FileRead], files: Sequence[ArticleFile], *,
            renders: bool) -> Generator[FileRead, None, None]:
        """`step` of each file, in order, yielded as they are ready.

        `renders` says that the step renders Markdown (counted against
        this process's share); a few files are stepped here, the rest on
        every core. Closing the iterator stops the workers.
        """
        workers = os.cpu_count() or 1
        few = len(files) < self.pool_min or workers < 2
        if few and (not renders or self.rendered_here + len(files) <= self.files_per_worker):
            if renders:
                self.rendered_here += len(files)
            yield from (step(file) for file in files)
            return
        if few:
            workers = 1
        chunk = max(1, min(200, len(files) // (workers * 8)))
        kept = self._kept_workers(workers)
        if kept is not None and renders and len(files) > kept.renders_left:
            self._retire_kept()  # more than they may render: not idle beside fresh ones
            kept = None
        if kept is not None:
            kept.renders_left -= len(files) if renders else 0
        # Import the parsers before forking, so the workers share them instead
        # of each importing its own.
        from concurrent.futures.process import BrokenProcessPool

        from . import article  # noqa: F401

        batch = workers * self.files_per_worker if renders else len(files)

        def run(rest: Sequence[ArticleFile]) -> Iterator[FileRead]:
            nonlocal kept
            if kept is not None:
                pool, kept = kept.pool, None
                try:
                    yield from pool.map(step, rest, chunksize=chunk)
                except BrokenProcessPool:
                    self._retire_kept()  # gone: the block's later reads start their own
                    raise
                return
            from ..workers import worker_pool

            for start in range(0, len(rest), batch):
                with worker_pool(workers) as pool:
                    yield from pool.map(step, rest[start : start + batch], chunksize=chunk)

        # ProcessPoolExecutor sends a worker at most one chunk beyond the one it
        # runs, so the chunks a dying worker took down are near the first unread.
        window = min(self.files_per_worker, (2 * workers + 2) * chunk)
        yield from _surviving(run, step, files, window)

    def _kept_workers(self, workers: int) -> _KeptWorkers | None:
        """The workers kept for the block (see `kept`), started now if not yet; None outside one."""
        if not self._keeping:
            return None
        return self._kept if self._kept is not None else self._start_kept(workers)


# What a file's read records when the process reading it ended without an answer.
WORKER_LOST = ("the process reading this file ended without an answer (it crashed or was "
               "killed); the file is read again at the next build")


def _surviving(run: Callable[[Sequence[ArticleFile]], Iterator[FileRead]],
               step: Callable[[ArticleFile], FileRead], files: Sequence[ArticleFile],
               window: int) -> Generator[FileRead, None, None]:
    """`run(files)`, going on past a worker that dies.

    A worker's death (a crash in a parser's C code, the out-of-memory
    killer, a kill) breaks its whole pool, and every file it held fails
    alike. The next `window` files from the first unread one are read again
    one at a time in a worker of their own, so that only a file that kills
    its worker again is a problem, and `run` takes the rest. Each round
    reads at least one file: a dying file beyond the window is caught by a
    later round.
    """
    from concurrent.futures.process import BrokenProcessPool

    done = 0
    while done < len(files):
        try:
            for read in run(files[done:]):
                done += 1
                yield read
            return
        except BrokenProcessPool:
            suspects = files[done : done + max(1, window)]
            yield from _one_at_a_time(step, suspects)
            done += len(suspects)


def _one_at_a_time(step: Callable[[ArticleFile], FileRead],
                   files: Sequence[ArticleFile]) -> Iterator[FileRead]:
    """`step` of each file in a worker of its own; a file whose worker dies is a problem."""
    from concurrent.futures.process import BrokenProcessPool

    from ..workers import worker_pool

    pool = worker_pool(1)
    try:
        for file in files:
            try:
                yield pool.submit(step, file).result()
            except BrokenProcessPool:
                pool.shutdown(wait=False)
                pool = worker_pool(1)
                yield FileRead("", problem=ArticleError(file.shown, 1, WORKER_LOST))
    finally:
        pool.shutdown(cancel_futures=True)


@dataclass
class _KeptWorkers:
    """Workers kept for a read, and how many more files they may render between them."""

    pool: ProcessPoolExecutor
    renders_left: int


# 750 files: about 19 MB of cmarkgfm's leftovers a worker, and two kept workers render
# what the feeds of a cold build show (1,073 articles of 100,000, at 50 entries a feed).
PARSE_POOL = ParsePool(pool_min=200, files_per_worker=750)
