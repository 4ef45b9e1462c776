"""The parse workers' pools: an answer never left half-written in the pool's pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from feeds.workers import worker_pool

# A pool whose worker writes half of any pipe write longer than PIPE_BUF and dies there, as
# a worker killed in the middle of sending a large answer would. The pool's reading thread
# then waits for the rest of the message for ever, unless answers that large never cross
# the pipe whole. It runs in a process of its own so that a hang is a timeout here.
_DYING_MID_WRITE = textwrap.dedent("""
    import os, select, sys
    from multiprocessing import connection
    from feeds.workers import worker_pool

    def die_mid_write():
        send = connection.Connection._send

        def half_then_die(self, buf, write=os.write):
            if len(buf) > select.PIPE_BUF:
                send(self, buf[: len(buf) // 2])
                os._exit(1)
            send(self, buf)

        connection.Connection._send = half_then_die

    pool = worker_pool(1)
""")
# Its task answers `size` bytes.
_ANSWERS = textwrap.dedent("""
    def answer_then_die_mid_write(size):
        die_mid_write()
        return b"x" * size

    answer = pool.submit(answer_then_die_mid_write, int(sys.argv[1])).result(timeout=60)
    pool.shutdown()
    print(len(answer), answer == b"x" * int(sys.argv[1]))
""")
# Its task raises an exception quoting `size` bytes of what it read.
_RAISES = textwrap.dedent("""
    def raise_then_die_mid_write(size):
        die_mid_write()
        raise ValueError("x" * size)

    try:
        pool.submit(raise_then_die_mid_write, int(sys.argv[1])).result(timeout=60)
    except ValueError as exc:
        notes = "".join(getattr(exc, "__notes__", ()))
        print(len(str(exc)), str(exc) == "x" * int(sys.argv[1]),
              "raise_then_die_mid_write" in notes)
    pool.shutdown()
""")


def _dying_mid_write(task: str, size: int) -> tuple[int, str, str]:
    """Exit status, output and errors of the pool dying mid-write, given `task` of `size`."""
    proc = subprocess.Popen([sys.executable, "-c", _DYING_MID_WRITE + task, str(size)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()  # its own PID
        proc.communicate()
        pytest.fail("the pool waited for ever for the rest of a half-written message")
    return proc.returncode, out, err


@pytest.mark.parametrize("size", [100, 5_000, 3_000_000])
def test_an_answer_of_any_size_crosses_the_pipe_in_writes_never_split(size: int) -> None:
    assert _dying_mid_write(_ANSWERS, size) == (0, f"{size} True\n", "")


@pytest.mark.parametrize("size", [100, 5_000, 3_000_000])
def test_an_exception_of_any_size_crosses_the_pipe_in_writes_never_split(size: int) -> None:
    # Raised again as itself, the whole message; one sent through a file with the worker's
    # frames noted, as the text of the pool's own traceback then holds only the handing over.
    assert _dying_mid_write(_RAISES, size) == (0, f"{size} True {size > 1024}\n", "")


def _answer(size: int) -> bytes:
    return bytes(range(256)) * (size // 256)


def _die() -> None:
    os._exit(3)


def test_answers_come_back_whole_and_leave_no_file(tmp_path: Path) -> None:
    from feeds import workers

    sizes = [0, 256, 4096, 1 << 20, 3 << 20]
    with worker_pool(2) as pool:
        assert [len(a) for a in pool.map(_answer, sizes)] == sizes
        assert pool.submit(_answer, 1 << 20).result() == _answer(1 << 20)
    folder = workers._answers_folder()
    assert os.path.isdir(folder) and os.listdir(folder) == []


def test_a_dead_worker_still_breaks_its_pool() -> None:
    from concurrent.futures.process import BrokenProcessPool

    pool = worker_pool(1)
    try:
        with pytest.raises(BrokenProcessPool):
            pool.submit(_die).result(timeout=60)
    finally:
        pool.shutdown(wait=False)


def test_an_answer_its_file_cannot_hold_comes_back_through_the_pipe() -> None:
    """No room for the file (here: its folder gone): the answer crosses the pipe, as before."""
    import shutil

    from feeds import workers

    with worker_pool(1) as pool:
        shutil.rmtree(workers._answers_folder())
        assert pool.submit(_answer, 1 << 20).result() == _answer(1 << 20)
    assert os.path.isdir(workers._answers_folder())  # the next pool makes it again


def test_the_answers_folder_of_a_killed_process_is_removed_by_the_next() -> None:
    """A build killed (kill -9) leaves its answers' folder; the next process to make its own
    removes it, and leaves alone those of processes still running."""
    import signal

    from feeds import workers

    make = ("import os, sys; from feeds import workers; print(workers._answers_folder(), "
            "flush=True); sys.stdin.read()")
    gone = subprocess.Popen([sys.executable, "-c", make], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    alive = subprocess.Popen([sys.executable, "-c", make], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert gone.stdout is not None and alive.stdout is not None
        left, kept = gone.stdout.readline().strip(), alive.stdout.readline().strip()
        Path(left, "123-4").write_bytes(b"half an answer")
        os.kill(gone.pid, signal.SIGKILL)  # its own PID
        gone.wait()
        assert os.path.isdir(left)
        workers._sweep(os.path.dirname(left))
        assert not os.path.exists(left) and os.path.isdir(kept)
    finally:
        for proc in (gone, alive):
            proc.kill()
            proc.wait()
        workers._sweep(os.path.dirname(workers._answers_folder()))
