"""Listing and stat-ing the article tree, in as few Python steps per file as it allows.

The walk is most of the cost of a rebuild that changes nothing (see
`changes`). Its parts that need nothing but the standard library are here,
so that a command can start the walk before it imports the rest of the
program (`walk_ahead`): a forked child stats its share of the tree while
this process is still starting.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
from collections.abc import Callable

from ..config import Config, shown_path

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")

# From this many files a tree's stats are shared with a forked process, one
# half each: a fork costs a few milliseconds, the stats of 20,000 files about
# 80 ms. See `changes._stat_shared`.
SHARED_FROM = 20_000

# What the child of a shared walk exits with: its lines sent; a file it could
# not stat; a name that is not a regular file's.
SENT, FAILED, NOT_A_FILE = 0, 1, 2

# The folders of a tree and their article files: each one's path, its path
# below the top, and its article files' names.
Folders = list[tuple[str, str, list[str]]]
# Folders to walk from: each one's path, and its path below the top.
Starts = list[tuple[str, str]]


class NotAFile(Exception):
    """A name listed as an article file's is not a regular file: the tree is listed carefully."""


# About how many bytes a folder's size grows by with each name in it (ext4,
# tmpfs, btrfs and XFS give 20-30 for an article's name): a folder's size
# tells, without listing it, about how many files it holds.
_BYTES_A_NAME = 20


def split_at_the_top(root: str, threshold: int,
                     head_start: int = 0) -> tuple[Folders, Starts, Starts] | None:
    """The top folder's own article files, and its folders in two groups of about as many files
    (the second with `head_start` more: see `walk_ahead`).

    So that listing the tree, a third of the cost of its walk, is shared
    too: each process lists one group. The sizes of the folders tell how
    many names they hold, near enough to share the work (and the same each
    time while no file comes or goes, so the lines keep their order). None
    when the tree is too small to share (see `SHARED_FROM`), or cannot be
    cut in two this way (fewer than two folders at the top, or one that
    holds most of the files): then it is listed whole, and the files are
    shared out.
    """
    files: list[str] = []
    folders: list[tuple[int, str, str, str]] = []
    try:
        with os.scandir(root) as listing:
            for item in listing:
                name = item.name
                if name[0] == ".":
                    continue
                if name.lower().endswith(ARTICLE_SUFFIXES) and item.is_file():
                    files.append(name)
                elif item.is_dir(follow_symlinks=False):
                    size = item.stat(follow_symlinks=False).st_size
                    folders.append((size, name, item.path, f"{name}/"))
    except OSError:
        return None
    total = sum(size for size, *_ in folders) + len(files) * _BYTES_A_NAME
    if len(folders) < 2 or total < threshold * _BYTES_A_NAME:
        return None
    weights = [(len(files) + head_start) * _BYTES_A_NAME, 0]
    groups: tuple[Starts, Starts] = ([], [])
    for size, _name, path, below in sorted(folders, key=lambda f: (-f[0], f[1])):
        lighter = 0 if weights[0] <= weights[1] else 1
        weights[lighter] += size
        groups[lighter].append((path, below))
    if not head_start and min(weights) * 3 < total:
        return None
    return [(root, "", files)], groups[0], groups[1]



def listed_below(here: Folders, starts: Starts, careful: bool) -> Folders | None:
    below = article_names(starts, careful)
    return None if below is None else here + below



def may_fork() -> bool:
    """Whether a second core is there to use, and this process may fork.

    A process running other threads (the daemon) does not: a lock one of
    them holds would stay held, forever, in the child.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) >= 2 and threading.active_count() == 1 and hasattr(os, "fork")



def stat_lines(folders: Folders, prefix: str, careful: bool) -> list[str] | None:
    """The manifest line of each file of `folders`, stat-ed now; None if one cannot be.

    Unless `careful` (every name known to be a file's), a name whose stat
    is not a regular file's raises NotAFile.
    """
    lines: list[str] = []
    regular = stat.S_ISREG
    for folder, below, names in folders:
        shown = prefix + below
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            if _odd(shown) or _odd("\0".join(names)):
                for name in names:  # some line is escaped: the careful way
                    st = os.stat(name, dir_fd=fd)
                    if not (careful or regular(st.st_mode)):
                        raise NotAFile(name)
                    lines.append(_manifest_line(shown + name, st.st_size, st.st_mtime_ns))
                continue
            for name in names:
                st = os.stat(name, dir_fd=fd)
                if not (careful or regular(st.st_mode)):
                    raise NotAFile(name)
                lines.append(f"{st.st_size}\t{st.st_mtime_ns}\t{shown}{name}")
        except FileNotFoundError:
            if not careful:
                raise NotAFile(folder) from None  # a link to nothing, or a file gone
            return None
        except OSError:
            return None
        finally:
            os.close(fd)
    return lines


def _odd(text: str) -> bool:
    """Whether `text` has a character a manifest line escapes."""
    return "\\" in text or "\n" in text



def article_names(starts: Starts, careful: bool) -> Folders | None:
    """Each folder of `starts` and below (its path, its path below the top) and its article files.

    Hidden files and folders (a leading dot) are skipped, as
    `scan.list_articles` skips them; None if a folder cannot be listed.
    Unless `careful`, a folder whose every name is an article file's is
    listed by name only (about half the cost of an entry each), and the
    names are taken for files' (see `_walk`).
    """
    folders = []
    stack = starts[::-1]
    while stack:
        folder, below = stack.pop()
        names = []
        try:
            if not careful:
                names = os.listdir(folder)
                files = [name for name in names if name.lower().endswith(ARTICLE_SUFFIXES)]
                if len(files) == len(names) and "\0." not in "\0" + "\0".join(files):
                    folders.append((folder, below, files))
                    continue
                names = []
            with os.scandir(folder) as listing:
                for item in listing:
                    name = item.name
                    if name[0] == ".":
                        continue
                    if name.lower().endswith(ARTICLE_SUFFIXES) and item.is_file():
                        names.append(name)
                    elif item.is_dir(follow_symlinks=False):
                        stack.append((item.path, f"{below}{name}/"))
        except OSError:
            return None
        folders.append((folder, below, names))
    return folders


def send_lines(folders: Folders, prefix: str, manifest: str | None, careful: bool,
                fd: int) -> bool:
    """A forked child's share of the walk: its lines, or their length if they end `manifest`.

    False, and nothing written, when a file cannot be stat-ed.
    """
    lines = stat_lines(folders, prefix, careful)
    if lines is None:
        return False
    text = "\n".join(lines)  # a line never holds a newline: manifest_line escapes it
    with open(fd, "wb") as out:
        if manifest is not None and manifest.endswith(text):
            out.write(b"=%d" % len(text))
        else:
            out.write(b"+" + text.encode("utf-8", "surrogateescape"))
    return True


# About how many files a walk stats in the time a build takes, once the walk
# ahead's child is forked, to import the rest of the program and read what
# the last build kept (about 0.1 s): the child takes as many files more than
# this process, so that both shares end together.
HEAD_START = 30_000


def tree_prefix(config: Config) -> str:
    """What the article folder's path below the project adds before each file's name."""
    shown_root = shown_path(config.articles_dir, config.root)
    return "" if shown_root in ("", ".") else shown_root.rstrip("/") + "/"


def walk_ahead(config: Config) -> Ahead | None:
    """The article tree's walk, its child forked now: before the command imports the rest.

    A build that changes little spends a third of its time stat-ing the
    tree, shared with a forked child (see `changes._stat_shared`), and a
    fifth before it, importing the program and reading the store. The child
    forked here stats its share during that fifth, and takes the larger
    share (`HEAD_START`); this process stats the rest when it gets to the
    walk (`Ahead.finish`). None where a shared walk would not fork (see
    `may_fork`, `split_at_the_top`): the walk is then all done in its turn.
    """
    root = str(config.articles_dir)
    if not may_fork():
        return None
    split = split_at_the_top(root, SHARED_FROM, HEAD_START)
    if split is None:
        return None
    here, first, second = split
    prefix = tree_prefix(config)
    child = fork_sender(lambda: article_names(second, careful=False), prefix, None, False)
    if child is None:  # no process to be had now: the walk is done in its turn
        return None
    pid, read = child
    return Ahead(root, prefix, pid, read, here, first)


def fork_sender(folders: Callable[[], Folders | None], prefix: str, manifest: str | None,
                careful: bool) -> tuple[int, int] | None:
    """A forked child sending the lines of what `folders()` lists (see `send_lines`): its pid
    and the pipe to read them from (`heard`); None when no process can be had now.

    The child leaves at once, running no cleanup of this process's (its
    store connection is this process's, not the child's); its exit status
    says how it went (SENT, FAILED, NOT_A_FILE).
    """
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # the child
        code = FAILED
        try:
            os.close(read)
            listed = folders()
            if listed is not None and send_lines(listed, prefix, manifest, careful, write):
                code = SENT
        except NotAFile:
            code = NOT_A_FILE
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def heard(pid: int, read: int) -> tuple[int, bytes]:
    """What the child `fork_sender` made sent, once it has ended: its exit status and its bytes."""
    with open(read, "rb") as received:
        data = received.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), data


class Ahead:
    """A walk whose child `walk_ahead` forked: the child's share being stat-ed, this one's to do.

    Either finished (`finish`) or let go (`close`) by whoever holds it.
    """

    def __init__(self, root: str, prefix: str, pid: int, fd: int, here: Folders,
                 mine: Starts) -> None:
        self.root, self.prefix = root, prefix
        self._pid: int | None = pid
        self._fd = fd
        self._here, self._mine = here, mine

    def finish(self) -> tuple[list[str], str] | None:
        """This process's lines (its share stat-ed now) and the text of the child's lines.

        Together they are the tree in the order a shared walk gives it
        (`changes._stat_shared`). None if a folder cannot be listed or a
        file stat-ed; raises NotAFile when a name is not a regular file's.
        """
        pid, self._pid = self._pid, None
        if pid is None:
            raise ValueError("the walk ahead was finished or let go already")
        try:
            folders = listed_below(self._here, self._mine, careful=False)
            lines = None if folders is None else stat_lines(folders, self.prefix, careful=False)
        finally:
            code, data = heard(pid, self._fd)
        if code == NOT_A_FILE:
            raise NotAFile(self.root)
        if lines is None or code != SENT:
            return None
        return lines, data[1:].decode("utf-8", "surrogateescape")

    def close(self) -> None:
        """Let the child go unheard, if it was not heard: its share is not needed."""
        pid, self._pid = self._pid, None
        if pid is None:
            return
        os.close(self._fd)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _manifest_line(path: str, size: int, mtime_ns: int) -> str:
    from ..codec import manifest_line  # a name to escape is rare: the codec is imported for it

    return manifest_line(path, size, mtime_ns)
