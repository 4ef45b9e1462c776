"""Pools of worker processes for CPU-bound parsing, which never outlive their parent.

Parsing articles and feeds is CPU-bound, so it runs on every core in forked
workers (forked, so they share the already-loaded modules and language
model). A worker blocked on its task queue would not notice a `kill -9` of
the process that forked it and would linger; on Linux each worker therefore
asks the kernel to send it SIGKILL when its parent goes.

A worker's answer does not travel whole through the pool's result pipe.
The pool's thread reading that pipe waits for the whole of a message it
has begun to read: a worker killed halfway through writing a large answer
(by the out-of-memory killer, or any kill) left half a message there, and
the thread, and the refresh or build waiting on it, waited for ever
instead of seeing the worker gone. A large answer is written to a file,
and only the file's name crosses the pipe, in one write the kernel makes
whole (a pipe's writes of up to PIPE_BUF bytes are never split): a worker
killed while writing the file sent nothing, and the pool finds it dead.
An exception a task raises is an answer too: a large one (a message that
quotes what it read) goes back the same way, and is raised again as itself.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import itertools
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, ParamSpec, TypeVar

_PR_SET_PDEATHSIG = 1
# An answer pickled in at most this many bytes crosses the pipe itself: with
# the pool's own framing it stays well under PIPE_BUF (4,096 bytes on Linux,
# at least 512 by POSIX, which the framing alone never reaches).
_SENT_WHOLE = 1024

P = ParamSpec("P")
T = TypeVar("T")


class _Pool(ProcessPoolExecutor):
    """A process pool whose workers hand large answers back through files (see above)."""

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                         initializer=_die_with_parent, initargs=(os.getpid(),))
        self._folder = _answers_folder()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        # `map` submits its chunks through here too.
        return super().submit(_answered, self._folder, fn, args, kwargs)


def worker_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A pool of `workers` forked processes (one per core by default)."""
    return _Pool(workers or os.cpu_count() or 1)


_folder: str | None = None
_numbers = itertools.count()  # a worker's answers, numbered (its files are named pid-number)


def _answers_folder() -> str:
    """This process's folder for its workers' answers, made once, removed at exit.

    In memory (/dev/shm) where there is one: an answer is written once, read
    once and deleted at once. A file left by a worker killed while writing
    it stays until then; the folder of a process killed before its exit is
    removed by the next one that makes its own.
    """
    global _folder
    if _folder is None or not os.path.isdir(_folder):
        shm = "/dev/shm"
        where = shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None
        _folder = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=where)
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
        _sweep(os.path.dirname(_folder))
    return _folder


_PREFIX = "feeds-answers-"


def _sweep(where: str) -> None:
    """Remove the answers' folders of processes gone (killed before they could remove them)."""
    with contextlib.suppress(OSError), os.scandir(where) as listing:
        for item in listing:
            owner = item.name.removeprefix(_PREFIX).partition("-")[0]
            if item.name.startswith(_PREFIX) and owner.isdigit() and not _alive(int(owner)):
                shutil.rmtree(item.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: alive
        pass
    return True


def _answered(folder: str, fn: Callable[..., Any], args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Any:
    """`fn(*args, **kwargs)` in a worker, as the pool should send it back: itself when small,
    else a `_Handoff` of the file holding it (raised as a `_Raised` when `fn` raised)."""
    try:
        answer = fn(*args, **kwargs)
    except Exception as exc:
        # Handed off, the traceback the pool sends is that of the handing
        # over: the frames that raised go with the exception, as a note.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        path = _handed_off(folder, (exc, frames))
        if path is None:
            raise
        raise _Raised(path, type(exc).__name__) from None
    path = _handed_off(folder, answer)
    return answer if path is None else _Handoff(path)


def _handed_off(folder: str, answer: Any) -> str | None:
    """The file `answer` was written to, when it is too large to cross the pipe itself.

    None when it is small enough, cannot be pickled (the pool then says so
    itself), or finds no room (no space, the folder gone): it then crosses
    the pipe, as any pool sends it.
    """
    try:
        data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
    except Exception:
        return None
    if len(data) <= _SENT_WHOLE:
        return None
    path = f"{folder}/{os.getpid()}-{next(_numbers)}"
    try:
        _write_new(path, data)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return None
    return path


def _write_new(path: str, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # left by a killed worker that had this process's number
        os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


class _Handoff:
    """An answer waiting in a file: what crosses the pipe is its name, and unpickling it in
    the pool's parent reads the answer (and deletes the file)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Callable[[str], Any], tuple[str]]:
        return _taken_back, (self.path,)


def _taken_back(path: str) -> Any:
    """The answer a worker left in `path`, read once."""
    with open(path, "rb", buffering=0) as file:
        data = file.readall()
    os.unlink(path)
    return pickle.loads(data)


class _Raised(Exception):
    """An exception a worker raised, waiting in a file: what crosses the pipe is this, and
    unpickling it in the pool's parent gives back the exception itself."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(f"{kind} raised in a worker; its frames follow it as a note")
        self.path = path

    def __reduce__(self) -> tuple[Callable[[str], BaseException], tuple[str]]:
        return _raised_back, (self.path,)


def _raised_back(path: str) -> BaseException:
    """The exception a worker left in `path`, with the worker's frames as a note."""
    exc, frames = _taken_back(path)
    exc.add_note(f"raised in a worker process:\n{frames.rstrip()}")
    return exc  # type: ignore[no-any-return]


def started(pool: ProcessPoolExecutor) -> ProcessPoolExecutor:
    """`pool` with its workers forked now, rather than by its first task."""
    pool.submit(_nothing).result()
    return pool


def _nothing() -> None:
    """A task that only makes a pool start its workers."""


def _die_with_parent(parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)
