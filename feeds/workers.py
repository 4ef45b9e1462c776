"""Pools of worker processes for CPU-bound parsing, which never outlive their parent.

Parsing articles and feeds is CPU-bound, so it runs on every core in forked
workers (forked, so they share the already-loaded modules and language
model). A worker blocked on its task queue would not notice a `kill -9` of
the process that forked it and would linger; on Linux each worker therefore
asks the kernel to send it SIGKILL when its parent goes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def worker_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A pool of `workers` forked processes (one per core by default)."""
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                               mp_context=multiprocessing.get_context("fork"),
                               initializer=_die_with_parent, initargs=(os.getpid(),))


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
