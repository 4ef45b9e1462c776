"""Telling what changed in the article tree since the last sync in one pass, and reading only that.

A rebuild used to ask the store for a record of every article file, decode
each, and choose again what every feed could show among all of them: about
two seconds for 100,000 articles when nothing had changed. Here the tree is
listed and stat-ed once and its lines are compared, as one set, with the
manifest the last sync kept (`LocalState`, `codec.manifest_line`); only the
files whose line differs are looked at, their records read by path. When
no line differs, nothing else is read: the store holds what the last sync
left, and that sync met no problem.

It trusts a file's stat as `scan` does, no more: a file whose size and
modification time (in nanoseconds) are as remembered is unchanged, and one
saved within two seconds of being read is not trusted by its stat (see
`scan.RACY_NS`).

Only changes that cannot let another article into a feed are taken here:
an edit that keeps the file's head (id, dates, tags, authors, declared
language) and, when its entry is stored, its languages; a new file, read
and stored whole (an entry stored beyond what the feeds show changes no
feed); a file gone whose article no feed showed (with pages, any). Anything
else (a head or languages changed, a shown article gone, an id two files
claim, a problem) returns None, and the caller sorts every file against
the whole cache, as before; so does a sync with no state kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from itertools import compress, count
from operator import ne

from ..codec import MANIFEST_PART, cached_head, manifest_line, manifest_parts
from ..config import Config
from ..model import CachedArticle, LocalState
from .pool import PARSE_POOL, Parsed, read_file
from .read import ArticlesResult
from .scan import RACY_NS, UNTRUSTED_MTIME, ArticleFile, scan
from .walk import (
    NOT_A_FILE,
    SENT,
    SHARED_FROM,
    Ahead,
    Folders,
    NotAFile,
    article_names,
    fork_sender,
    heard,
    listed_below,
    may_fork,
    split_at_the_top,
    stat_lines,
    tree_prefix,
)

# The records of the files named, as the store's cache holds them.
Records = Callable[[Iterable[str]], Mapping[str, CachedArticle]]
# Id → the path of the file whose record holds it, of the ids named.
Owners = Callable[[Iterable[str]], Mapping[str, str]]


@dataclass(frozen=True)
class Changes:
    """What the files changed since the last sync bring: what to store, and the sync's new state.

    `parsed` are the articles to offer the store, `cache` the records of
    the changed and new files, `gone` the files no longer there and
    `dropped` the ids of their stored entries; `state` is the whole new
    state, manifest included.
    """

    articles: ArticlesResult
    parsed: tuple[Parsed, ...]
    cache: dict[str, CachedArticle]
    state: LocalState
    gone: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()


def read_changes(config: Config, state: LocalState, records: Records, owners: Owners,
                 fingerprint: bytes, ahead: Ahead | None = None) -> Changes | None:
    """The articles as the last sync left them plus what changed since; None to read them all.

    `fingerprint` is `scan.settings_fingerprint`'s; `state.key` must
    already be known to match the configuration. `ahead`, a walk of the
    tree started earlier (`walk.walk_ahead`), is finished here.
    """
    if not config.articles_dir.is_dir():
        return None
    prefix = tree_prefix(config)
    walked = _walk(str(config.articles_dir), prefix, "\n".join(state.manifest), ahead=ahead)
    if walked is None:
        return None  # a folder or a file that cannot be stat-ed: reported by a whole read
    tree, same = walked
    if same:
        return Changes(_result(state), (), {}, state)
    added, removed, at = _differences(tree, state.manifest)
    if not added and not removed:
        # The same lines in another order (a sync of every file keeps them in
        # the store's): kept in the walk's, so that the next rebuild with
        # nothing changed compares one text, not two sets of 100,000 lines.
        kept = replace(state, manifest=manifest_parts(tree))
        return Changes(_result(kept), (), {}, kept)
    if any("\\" in line for line in (*added, *removed)):
        return None  # a name that had to be escaped: left to the whole read
    files = sorted((_article_file(config, prefix, _path_of(line)[len(prefix):])
                    for line in added), key=lambda file: file.shown)
    gone = sorted(map(_path_of, removed))
    cache = records([*(file.shown for file in files), *gone])
    old = [file for file in files if file.shown in cache]
    new = [file for file in files if file.shown not in cache]
    gone = [path for path in gone if path not in {file.shown for file in old}]
    if len(cache) != len(old) + len(gone):
        return None
    counts = _Counts(state)
    dropped = _drop(state, [cache[path] for path in gone], counts)
    if dropped is None:
        return None
    taken = _take(config, state, old, cache, fingerprint)
    if taken is None:
        return None
    parsed, updates = taken
    if len(updates) != len(old):
        return None  # a file its stat calls unchanged after all: its record is not current
    stats = {_path_of(line): line for line in added}
    added_taken = _add(config, [(file, stats[file.shown]) for file in new],
                       {cache[path].entry_id for path in gone}, owners, fingerprint, counts)
    if added_taken is None:
        return None
    parsed += added_taken[0]
    updates.update(added_taken[1])
    if updates.keys() != stats.keys():
        return None  # a record for each file that changed, and none other
    # Each changed file's line is its record's, in the order of the walk: the
    # next rebuild's walk, if nothing changes, gives the same text. A record
    # saved too recently to trust (see RACY_NS) has a line that matches no
    # stat: its file is looked at again next time.
    fresh = {line: manifest_line(path, updates[path].size, updates[path].mtime_ns)
             for path, line in stats.items()}
    wanted = state.wanted
    if wanted is not None:
        wanted = wanted.union(e.entry.id for e in added_taken[0])
    kept = replace(state, files=counts.files, drafts=counts.drafts, articles=counts.articles,
                   stored=counts.stored, wanted=wanted,
                   manifest=_new_manifest(state.manifest, tree, at, fresh))
    return Changes(_result(kept), tuple(parsed), updates, kept, tuple(gone), tuple(dropped))


def _differences(tree: list[str],
                 parts: tuple[str, ...]) -> tuple[list[str], set[str], list[int] | None]:
    """The lines of `tree` the manifest `parts` lack, the manifest's lines the tree lacks, and
    where in the tree those lines are (None when they were compared as sets).

    The manifest is kept in the order of the walk (see `read_changes`): a
    tree that did not change is the same text, which the caller tells by one
    comparison, and one whose files were only edited has the same paths in
    the same places, told apart part by part (a part's lines joined are
    compared with it in C; only a part that differs is split) and then line
    by line. Anything else (a file added or gone, a manifest in another
    order) is compared as sets.
    """
    if len(parts) == -(-len(tree) // MANIFEST_PART):
        at: list[int] = []
        before: list[str] = []
        for number, part in enumerate(parts):
            start = number * MANIFEST_PART
            lines = tree[start:start + MANIFEST_PART]
            if "\n".join(lines) == part:
                continue
            remembered = part.split("\n")
            if len(remembered) != len(lines):
                break
            changed = list(compress(count(), map(ne, lines, remembered)))  # in C: a part is long
            if any(_path_of(lines[i]) != _path_of(remembered[i]) for i in changed):
                break
            at.extend(start + i for i in changed)
            before.extend(remembered[i] for i in changed)
        else:
            return [tree[i] for i in at], set(before), at
    lines_kept = {line for part in parts for line in part.split("\n")}
    return [line for line in tree if line not in lines_kept], lines_kept.difference(tree), None


def _new_manifest(parts: tuple[str, ...], tree: list[str], at: list[int] | None,
                  fresh: Mapping[str, str]) -> tuple[str, ...]:
    """The manifest of `tree` with the lines of `fresh` put for theirs, in parts.

    When the changed lines are known to be at `at`, in a tree as long as
    the manifest, only their parts are made again: the others are the same
    strings, which the store tells apart without comparing them.
    """
    if at is None:
        return manifest_parts([fresh.get(line, line) for line in tree])
    new = list(parts)
    for number in sorted({i // MANIFEST_PART for i in at}):
        start = number * MANIFEST_PART
        new[number] = "\n".join([fresh.get(line, line)
                                 for line in tree[start:start + MANIFEST_PART]])
    return tuple(new)


class _Counts:
    """The counts a sync reports, as files come and go."""

    def __init__(self, state: LocalState) -> None:
        self.files, self.drafts = state.files, state.drafts
        self.articles, self.stored = state.articles, state.stored


def _result(state: LocalState) -> ArticlesResult:
    return ArticlesResult((), (), state.files, state.drafts, articles=state.articles,
                          stored=state.stored, wanted=state.wanted)


def _drop(state: LocalState, gone: list[CachedArticle], counts: _Counts) -> list[str] | None:
    """The ids of the stored entries of files gone; None if a feed showed one.

    An article no feed could show leaves the others where they were; one a
    feed showed lets an older one in, which the whole read finds. With
    pages every article is shown and stored, and none has to be let in.
    """
    dropped = []
    for cached in gone:
        counts.files -= 1
        if cached.entry_id is None:
            counts.drafts -= 1
            continue
        if state.wanted is not None and cached.entry_id in state.wanted:
            return None
        counts.articles -= 1
        if cached.languages is not None:
            counts.stored -= 1
            dropped.append(cached.entry_id)
    return dropped


def _add(config: Config, new: list[tuple[ArticleFile, str]], freed: set[str | None],
         owners: Owners, fingerprint: bytes,
         counts: _Counts) -> tuple[list[Parsed], dict[str, CachedArticle]] | None:
    """New files, parsed whole and stored; None if one has a problem or an id another file has.

    A new article is stored whether or not a feed shows it: an entry
    stored beyond what the feeds show changes no feed (they show only the
    newest of each), as an article pushed out of every feed stays stored.
    """
    parsed: list[Parsed] = []
    updates: dict[str, CachedArticle] = {}
    if not new:
        return parsed, updates
    trusted_before = time.time_ns() - RACY_NS
    step = partial(read_file, config=config, fingerprint=fingerprint, whole=True)
    reads = list(PARSE_POOL.map(step, [file for file, _line in new], renders=True))
    ids = [read.head.id for read in reads if read.head is not None]
    taken = set(owners(ids)) - freed
    if len(set(ids)) != len(ids) or taken.intersection(ids):
        return None  # an id another file has: which keeps it is the whole read's to say
    for (file, line), read in zip(new, reads, strict=True):
        if read.problem is not None:
            return None
        # The stat the tree was listed with, taken before the file was read.
        size, mtime = (int(part) for part in line.split("\t", 2)[:2])
        mtime = mtime if mtime < trusted_before else UNTRUSTED_MTIME
        counts.files += 1
        if read.head is None or read.parsed is None:
            counts.drafts += 1
            updates[file.shown] = CachedArticle(read.digest, size, mtime, None)
            continue
        counts.articles += 1
        counts.stored += 1
        parsed.append(read.parsed)
        updates[file.shown] = CachedArticle(read.digest, size, mtime, read.head.id, read.head,
                                            read.parsed.entry.languages)
    return parsed, updates


def _take(config: Config, state: LocalState, files: list[ArticleFile],
          cache: Mapping[str, CachedArticle],
          fingerprint: bytes) -> tuple[list[Parsed], dict[str, CachedArticle]] | None:
    """The articles to store and the records to remember of `files`; None if they move the feeds."""
    found = scan(files, cache, fingerprint, time.time_ns() - RACY_NS)
    if found.problems:
        return None
    updates = dict(found.updates)
    stored = [f for f in found.to_read if cache[f.shown].languages is not None]
    heads_only = [f for f in found.to_read if cache[f.shown].languages is None]
    parsed: list[Parsed] = []
    step = partial(read_file, config=config, fingerprint=fingerprint)
    for whole, group in ((True, stored), (False, heads_only)):
        reads = PARSE_POOL.map(partial(step, whole=whole), group, renders=whole)
        try:
            for file, read in zip(group, reads, strict=True):
                cached = cache[file.shown]
                if read.problem is not None or read.head != cached_head(cached):
                    return None
                size, mtime = found.stats[file.shown]
                if read.head is None:  # a draft still
                    updates[file.shown] = CachedArticle(read.digest, size, mtime, None)
                    continue
                shown = state.wanted is None or read.head.id in state.wanted
                if shown != whole:
                    return None  # stored but no longer shown, or the other way round
                languages = None
                if read.parsed is not None:
                    languages = read.parsed.entry.languages
                    if languages != cached.languages:
                        return None  # the language feeds may show others
                    parsed.append(read.parsed)
                updates[file.shown] = CachedArticle(read.digest, size, mtime, read.head.id,
                                                    read.head, languages)
        finally:
            reads.close()
    return parsed, updates


def _article_file(config: Config, prefix: str, below: str) -> ArticleFile:
    return ArticleFile(prefix + below, below.rsplit(".", 1)[0], str(config.articles_dir / below))


def _path_of(line: str) -> str:
    return line.split("\t", 2)[-1]


# The manifest lines of a tree, and whether they are the manifest kept, line
# for line (then the lines may be left out: nothing else is needed of them).
Walked = tuple[list[str], bool]


def _stat_tree(root: str, prefix: str, shared_from: int | None = None) -> list[str] | None:
    """Each article file's manifest line, of its stat now (`prefix` before its path below `root`).

    The same files `scan.list_articles` finds. None if a folder cannot be
    listed or a file stat-ed. See `_walk`.
    """
    walked = _walk(root, prefix, None, shared_from)
    return None if walked is None else walked[0]


def _walk(root: str, prefix: str, manifest: str | None,
          shared_from: int | None = None, ahead: Ahead | None = None) -> Walked | None:
    """The tree's manifest lines (see `_stat_tree`), and whether they are `manifest`'s.

    It is most of the cost of a rebuild that changes nothing, so the tree is
    listed first and each folder's files are then stat-ed by name, relative
    to the folder (the kernel does not walk the whole path again), in as few
    Python steps per file as the walk allows; from `shared_from` files on
    (`SHARED_FROM` unless given), on two cores: the folders at the top
    shared out when they can be (`split_at_the_top`), else the files once
    listed. A folder holding nothing but article files is listed by name
    only, and each name's stat tells whether it is a regular file; if one is
    not (a folder named like an article, a link to nothing), the whole tree
    is listed again entry by entry, as `scan.list_articles` lists it.

    `ahead`, a walk of the same tree whose child was forked earlier (see
    `walk.walk_ahead`), is finished instead: its child's share stat-ed
    already.
    """
    try:
        if ahead is not None and (ahead.root, ahead.prefix) == (root, prefix):
            finished = ahead.finish()
            return None if finished is None else _joined(*finished, manifest)
        return _walk_listed(root, prefix, manifest, shared_from, careful=False)
    except NotAFile:
        return _walk_listed(root, prefix, manifest, shared_from, careful=True)


def _walk_listed(root: str, prefix: str, manifest: str | None, shared_from: int | None,
                 careful: bool) -> Walked | None:
    threshold = SHARED_FROM if shared_from is None else shared_from
    if may_fork():
        split = split_at_the_top(root, threshold)
        if split is not None:  # each process lists its own folders
            here, first, second = split
            return _stat_shared(
                lambda: listed_below(here, first, careful),
                lambda: article_names(second, careful), prefix, manifest, careful)
    folders = article_names([(root, "")], careful)
    if folders is None:
        return None
    files = sum(len(names) for _folder, _below, names in folders)
    if files >= threshold and may_fork():
        mine, theirs = _halves(folders)
        return _stat_shared(lambda: mine, lambda: theirs, prefix, manifest, careful)
    lines = stat_lines(folders, prefix, careful)
    if lines is None:
        return None
    return lines, manifest is not None and "\n".join(lines) == manifest


def _stat_shared(mine: Callable[[], Folders | None], theirs: Callable[[], Folders | None],
                 prefix: str, manifest: str | None, careful: bool) -> Walked | None:
    """`_walk` of the folders `mine` and `theirs` list, `theirs` listed and stat-ed by a forked child.

    Each stat costs the kernel twice what it costs Python, and os.stat
    holds the interpreter lock for Python's share, so threads would wait on
    each other; a child has an interpreter of its own. It leaves at once,
    running no cleanup of this process's (its store connection is this
    process's, not the child's). When its lines end the manifest, as they
    do when nothing changed, it says only how long they are (this process
    holds the manifest too); else it sends them through a pipe (see
    `walk.fork_sender`).
    """
    child = fork_sender(theirs, prefix, manifest, careful)
    if child is None:  # no process to be had now: the stats are all this one's
        first, second = mine(), theirs()
        if first is None or second is None:
            return None
        lines = stat_lines(first + second, prefix, careful)
        return None if lines is None else (lines, "\n".join(lines) == manifest)
    pid, read = child
    try:
        folders = mine()
        lines = None if folders is None else stat_lines(folders, prefix, careful)
    finally:
        code, data = heard(pid, read)
    if code == NOT_A_FILE:
        raise NotAFile
    if lines is None or code != SENT:
        return None
    if data[:1] == b"=":
        size = int(data[1:])
        assert manifest is not None
        theirs_text = manifest[len(manifest) - size:] if size else ""
    else:
        theirs_text = data[1:].decode("utf-8", "surrogateescape")
    return _joined(lines, theirs_text, manifest)


def _joined(mine: list[str], theirs: str, manifest: str | None) -> Walked:
    """`mine` and the lines of `theirs` (their text), and whether together they are `manifest`.

    Told without making the text of all of them: when they are the
    manifest, the lines are left out.
    """
    text = "\n".join(mine)
    both = bool(text) and bool(theirs)
    if (manifest is not None and len(manifest) == len(text) + both + len(theirs)
            and manifest.startswith(text) and manifest.endswith(theirs)
            and (not both or manifest[len(text)] == "\n")):
        return [], True
    return mine + (theirs.split("\n") if theirs else []), False


def _halves(folders: Folders) -> tuple[Folders, Folders]:
    """`folders` cut in two with as many files each, whatever the shape of the tree."""
    half = sum(len(names) for _folder, _below, names in folders) // 2
    first: Folders = []
    second: Folders = []
    seen = 0
    for folder, below, names in folders:
        cut = min(len(names), max(0, half - seen))
        if cut:
            first.append((folder, below, names[:cut]))
        if cut < len(names):
            second.append((folder, below, names[cut:]))
        seen += len(names)
    return first, second
