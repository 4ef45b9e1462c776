"""One writer per project: an advisory lock next to the store.

`feeds build`, `feeds fetch` and `feeds run` take it before touching the
store or the output; a second one waits for it a while, then gives up with a
message saying who holds it. The kernel drops the lock when its holder
dies, so a `kill -9` never leaves a stale lock behind.

An flock belongs to the open file, and a forked child shares it: a parse
worker forked while the lock is held would keep the project locked after
its parent was killed. Forked children therefore close their copy at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from .errors import LockedError

# Descriptors of the locks this process holds; see the module docstring.
_held: set[int] = set()


def _forget_in_child() -> None:
    # Closing the child's copy leaves the parent's lock alone (unlocking would not).
    for fd in _held:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_forget_in_child)


class ProjectLock:
    """An exclusive flock on `path`, taken on enter and released on exit."""

    def __init__(self, path: Path, wait: float = 60.0) -> None:
        self.path = path
        self.wait = wait
        self._fd: int | None = None
        self._owner = 0  # the pid that took it: a forked copy must not release it

    def __enter__(self) -> ProjectLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        _held.add(fd)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                    _held.discard(fd)
                    os.close(fd)
                    raise LockedError(
                        f"{self.path}: another feeds process ({holder or 'unknown'}) is using "
                        f"this project; waited {self.wait:g} s. Try again when it has finished."
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._fd = fd
        self._owner = os.getpid()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None and self._owner == os.getpid():
            _held.discard(self._fd)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
