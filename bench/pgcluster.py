"""A throwaway PostgreSQL cluster for the tests and the benchmark: `initdb` and `pg_ctl` in a folder.

The server listens on a free loopback port (and a Unix socket in its own
folder) and trusts every local connection; it is stopped by `pg_ctl stop`
on its own data folder, which signals its own postmaster. PostgreSQL
refuses to run as root: run as root (as CI is), the cluster belongs to the
`postgres` system user and its commands are run through `runuser`.
Each test (each benchmark run) gets a database of its own (`new_database`).
A watcher process stops the server and removes its folder when the process
that started it ends without stopping it (killed, or its run cut short), so
no server outlives the run that made it.

The tests run it without durability (no fsync); the benchmark runs it with
PostgreSQL's defaults, as a server in service would, and reads the CPU
its processes used (`server_cpu_seconds`), which are not its children.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# The superuser the cluster is made with; every test connects as it.
USER = "feeds"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


class ClusterError(RuntimeError):
    """PostgreSQL could not be started for the tests or the benchmark."""


def _bin_dir() -> Path:
    """The folder of PostgreSQL's server programs: on PATH, else Debian's newest."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name))
    if not candidates:
        raise ClusterError("PostgreSQL's initdb is not installed (Debian: apt-get install postgresql)")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running cluster: where it lives, the port it listens on, who runs it."""

    folder: Path
    port: int
    bin_dir: Path
    run_as: str | None
    _names: itertools.count[int] = field(default_factory=itertools.count)
    _watcher: int | None = None  # a pidfd of the watcher

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, name: str | None = None) -> str:
        """The URL of a new, empty database (named `name`, or a name of its own).

        Its default collation is English's (ICU), which orders "a" before "B"
        as no SQLite store does: the store must ask for code point order
        itself, whatever the database's locale.
        """
        import psycopg

        name = name or f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                         "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
        return self.url(name)

    def restart(self) -> None:
        """Stop the server (closing every connection) and start it again on the same port."""
        _run(self, "pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "server.log"),
             "-m", "fast", "-w", "-t", "60", "restart")

    def postmaster_pid(self) -> int:
        """The server's main process (the first line of its postmaster.pid)."""
        text = (self.folder / "data" / "postmaster.pid").read_text()
        return int(text.split()[0])

    def server_cpu_seconds(self) -> float:
        """User + system CPU seconds of the server so far: the postmaster, the backends
        and helpers alive now, and those it has reaped (a closed connection's backend)."""
        main = self.postmaster_pid()
        total = _cpu_seconds(main, reaped=True)
        for child in _children(main):
            total += _cpu_seconds(child)
        return total

    def stop(self) -> None:
        if self._watcher is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._watcher, signal.SIGKILL)
            os.close(self._watcher)
            self._watcher = None
        _run(self, "pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _watch(self) -> None:
        """Start the watcher that stops the server once this process has ended."""
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"),
                   "-m", "fast", "-w", "stop"]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        # The watcher forks once more and its first process exits: it is no child of
        # this one (the tests count a process's children), and in a session of its
        # own an interrupt of the run's process group leaves it be.
        starter = subprocess.run(
            [sys.executable, "-c", _WATCHER, str(os.getpid()), str(self.folder),
             json.dumps(command)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=True)
        self._watcher = os.pidfd_open(int(starter.stdout))


# Waits for the owner (a pidfd becomes readable when the process ends), then
# stops the cluster by its own data folder and removes the folder.
_WATCHER = """
import json, os, select, shutil, subprocess, sys
owner, folder, command = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
pid = os.fork()
if pid:
    print(pid, flush=True)
    os._exit(0)
os.setsid()
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
try:
    fd = os.pidfd_open(owner)
except ProcessLookupError:
    pass
else:
    select.select([fd], [], [])
subprocess.run(command, capture_output=True, timeout=120, check=False)
shutil.rmtree(folder, ignore_errors=True)
"""


def _run(cluster: Cluster, program: str, *args: str) -> None:
    command = [str(cluster.bin_dir / program), *args]
    if cluster.run_as is not None:
        command = ["runuser", "-u", cluster.run_as, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        log = cluster.folder / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise ClusterError(f"{program} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU of `pid` (with `reaped`, of the children it waited for too); 0 once gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + ((cutime + cstime) if reaped else 0)) / _CLK_TCK


def installed() -> bool:
    """Whether PostgreSQL's server programs can be found."""
    try:
        _bin_dir()
    except ClusterError:
        return False
    return True


def start_cluster(*, durable: bool = False, settings: dict[str, str] | None = None) -> Cluster:
    """Make and start a cluster in a new temporary folder; ClusterError if it cannot run.

    Without `durable`, commits are not flushed to disk (the tests look at
    what is stored, not whether it survives a power cut); `settings` are
    further server settings (`-c name=value`).
    """
    run_as = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="feeds-pg-"))
    if run_as is not None:
        try:
            user = pwd.getpwnam(run_as)
        except KeyError as exc:
            raise ClusterError("running as root, and there is no 'postgres' user to run "
                               "PostgreSQL as (Debian's postgresql package makes it)") from exc
        os.chown(folder, user.pw_uid, user.pw_gid)
    cluster = Cluster(folder, _free_port(), _bin_dir(), run_as)
    _run(cluster, "initdb", "-D", str(folder / "data"), "-U", USER, "--auth=trust",
         "--encoding=UTF8", "--no-sync")
    options = f"-h 127.0.0.1 -p {cluster.port} -k {folder} -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    for name, value in (settings or {}).items():
        options += f" -c {name}={value}"
    _run(cluster, "pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "server.log"),
         "-o", options, "-w", "-t", "60", "start")
    cluster._watch()
    return cluster
