"""Run one command as a child process and measure it as the kernel saw it.

Wall time is taken around the child's whole life (spawn to reap). CPU time
comes from `os.wait4`, i.e. from the kernel's accounting of that child: user
+ system time of the child and of every descendant it waited for.

Memory is sampled from /proc over the whole process tree, because a process
pool's workers are separate processes: the largest sum of RSS seen (every
20 ms), which counts a page shared by forked workers once per process (an
upper bound), and of PSS (about once a second), which splits each shared
page among its sharers (what the tree really costs, though a peak between
two samples can be missed). Each process's own high-water mark (VmHWM) is
read too, so a single process's spike between two samples is not lost:
`Measurement.peak_mb` is the larger of the RSS sum and the largest VmHWM.

wait4's ru_maxrss is kept but not used for the peak: Linux charges a child
spawned by vfork + exec (as subprocess does) with its parent's resident set
at the moment of the exec, so it reports at least the harness's own size,
which holds every served feed in memory.

The machine may be shared. `Measurement.others_cpu` is the CPU time every
other process spent while the command ran: the machine's busy time from
/proc/stat less the command's own and the harness's. Divided by the wall
time it says how many cores something else was using, i.e. how far to
trust that run's wall time (its CPU time is hardly affected).
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["Measurement", "busy_seconds", "cpu_seconds", "own_cpu_seconds", "process_tree",
           "pss_bytes", "rss_bytes", "run_measured"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Measurement:
    """One run of one command."""

    wall: float  # seconds
    cpu: float  # user + system seconds of the child and its reaped descendants
    peak_rss_mb: float  # the largest VmHWM of any process of the tree, MiB
    tree_rss_mb: float  # largest sampled RSS sum over the process tree, MiB (0 if unsampled)
    returncode: int
    stderr_tail: str
    stdout_tail: str = ""
    tree_pss_mb: float = 0.0  # largest sampled PSS sum over the process tree, MiB (0 if unsampled)
    timed_out: bool = False
    maxrss_mb: float = 0.0  # wait4's ru_maxrss, MiB: includes the harness's RSS (see above)
    others_cpu: float = 0.0  # CPU seconds used meanwhile by processes outside the tree and harness

    @property
    def others_cores(self) -> float:
        """Cores busy with other work on average while the command ran."""
        return self.others_cpu / self.wall if self.wall > 0 else 0.0

    @property
    def peak_mb(self) -> float:
        """Peak resident memory of the whole tree: the sampled sum, or one process's peak if larger."""
        return max(self.tree_rss_mb, self.peak_rss_mb)

    @property
    def ok(self) -> bool:
        """Whether the command exited 0 in time."""
        return self.returncode == 0 and not self.timed_out


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot (0 where /proc/stat is missing)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return 0.0
    # cpu user nice system idle iowait irq softirq steal ...: idle, iowait and
    # steal are not time any process ran.
    user, nice, system, irq, softirq = (int(fields[i]) for i in (1, 2, 3, 6, 7))
    return (user + nice + system + irq + softirq) / _CLK_TCK


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children(pid: int) -> list[int]:
    """The children of every thread of `pid` (a child belongs to the thread that forked it)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        found.extend(int(p) for p in text.split())
    return found


def rss_bytes(pid: int) -> int:
    """The resident set of `pid` in bytes (statm); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * _PAGE


def _hwm_bytes(pid: int) -> int:
    """The process's peak resident set (VmHWM); 0 when unreadable or a kernel thread."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size from smaps_rollup (Linux 4.14+); 0 when unreadable."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def process_tree(pid: int) -> list[int]:
    """`pid` and every descendant of it alive now."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    return pids


class _TreeSampler(threading.Thread):
    """Samples the process tree's total RSS (every tick) and PSS (every `pss_every` ticks).

    RSS comes from statm, which is cheap (about 0.1 ms a tick for three
    processes). PSS needs the kernel to walk every page table of the process
    (about 13 ms for 500 MB), and the sampler shares the machine with what it
    measures, so PSS is taken about once a second (and when the tree has grown
    by a quarter since the last time): a few percent of one core.
    """

    def __init__(self, pid: int, interval: float = 0.02, pss_every: int = 50) -> None:
        super().__init__(name=f"rss-sampler-{pid}", daemon=True)
        self.pid = pid
        self.interval = interval
        self.pss_every = pss_every
        self.peak = 0
        self.peak_pss = 0
        self.peak_hwm = 0
        self.done = threading.Event()

    def run(self) -> None:
        tick, last_tick, last_rss = 0, 0, 0
        while not self.done.is_set():
            pids = process_tree(self.pid)
            rss = sum(rss_bytes(p) for p in pids)
            # Also when the tree has grown by a quarter since the last PSS
            # sample (at most every 100 ms), so a short run gets one near its top.
            grown = rss > last_rss * 1.25 and tick - last_tick >= 5
            if tick % self.pss_every == 0 or grown:
                self.peak_pss = max(self.peak_pss, sum(pss_bytes(p) for p in pids))
                last_tick, last_rss = tick, rss
            self.peak = max(self.peak, rss)
            self.peak_hwm = max([self.peak_hwm, *(_hwm_bytes(p) for p in pids)])
            tick += 1
            self.done.wait(self.interval)


def run_measured(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 3600.0,
) -> Measurement:
    """Run `argv` to completion; return its wall, CPU and memory figures.

    The ends of stdout and stderr are kept (a summary line; the lines that
    explain a failure); both go to temporary files, never through a pipe the
    harness would have to drain. A child still running after `timeout`
    seconds is killed, and the measurement says so (`timed_out`).
    """
    killed = threading.Event()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before, own_before = busy_seconds(), own_cpu_seconds()
        started = time.perf_counter()
        proc = subprocess.Popen(
            [os.fspath(a) for a in argv], cwd=cwd, env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
        )
        sampler = _TreeSampler(proc.pid)
        sampler.start()

        def kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            # wait4 reaps the child itself, so Popen must not: mark it done afterwards.
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            sampler.done.set()
            sampler.join()
        wall = time.perf_counter() - started
        busy, own = busy_seconds() - busy_before, own_cpu_seconds() - own_before
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_tail, err_tail = _tail(out), _tail(err)
    return Measurement(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=sampler.peak_hwm / 2**20,
        maxrss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=sampler.peak / 2**20,
        returncode=proc.returncode,
        stderr_tail=err_tail,
        stdout_tail=out_tail,
        tree_pss_mb=sampler.peak_pss / 2**20,
        timed_out=killed.is_set(),
        others_cpu=max(0.0, busy - own - (usage.ru_utime + usage.ru_stime)),
    )


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds `pid` has used so far (0 when it is gone).

    With `reaped`, also those of the children it has waited for (what
    wait4 would report), so a pool of workers that came and went is counted.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may hold spaces: count fields after its ')'.
    fields = text.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + ((cutime + cstime) if reaped else 0)) / _CLK_TCK


def _tail(file: IO[bytes], size: int = 2000) -> str:
    """The last `size` bytes of a temporary file, as text."""
    file.seek(0, os.SEEK_END)
    file.seek(max(0, file.tell() - size))
    return file.read().decode("utf-8", "replace")

