"""`feeds serve` under real use: what /healthz tells, and a flood of slow clients."""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from atomcheck import assert_valid_atom
from conftest import CliRunner, add_fixture, child_env, feeds_daemon, write_links
from feedserver import FeedServer, Response
from remote_feeds import rss

from feeds.serve import FAILING_SHARE, HEADER_TIMEOUT, connection_cap, health_status

SECRET = "s3cr3t-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 1.0) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=timeout)
    except httpx.HTTPError:
        return None


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Serve:
    """A `feeds serve` subprocess, optionally under a lower open-file limit."""

    def __init__(self, root: Path, *extra: str, nofile: int | None = None) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}/"

        def limit() -> None:  # runs in the child only
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            feeds_daemon("serve", "--port", str(self.port), "--root", str(root), *extra),
            env=child_env(),
            stderr=subprocess.PIPE, text=True, preexec_fn=limit)
        deadline = time.monotonic() + 15
        while (_get(self.base + "healthz") is None):
            assert self.proc.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.05)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, err


@pytest.fixture
def fetched(project: Path, feed_server: FeedServer, run_cli: CliRunner) -> Iterator[Path]:
    """A project with one healthy source and one failing whose URL carries a token."""
    ok = feed_server.route("/ok.xml", Response(body=rss([("a", "Fine", "Fine.")])))
    bad = feed_server.route(f"/bad.xml?token={SECRET}", Response(status=500)).replace(
        "127.0.0.1", "localhost")
    write_links(project, ok, bad)
    add_fixture(project, "only-required.md")
    run_cli("fetch", cwd=project)
    assert run_cli("build", cwd=project).returncode in (0, 1)
    yield project


def test_healthz_names_no_source_and_says_degraded(fetched: Path) -> None:
    server = Serve(fetched)
    try:
        response = httpx.get(server.base + "healthz", timeout=5)
    finally:
        assert server.stop()[0] == 0
    # Failing sources are "degraded", still 200: load balancers read 503 as down.
    assert response.status_code == 200
    assert SECRET not in response.text and "/bad.xml" not in response.text
    report = response.json()
    assert report["status"] == "degraded"
    sources = report["sources"]
    assert (sources["total"], sources["failing"], sources["failing_by_kind"]) == (2, 1, {"http": 1})
    assert [s["index"] for s in sources["list"]] == [1, 2]
    times = [report["checked"], *(s[k] for s in sources["list"]
                                  for k in ("last_success", "next_due") if s[k])]
    assert len(times) >= 3
    assert all(datetime.fromisoformat(t).utcoffset() is not None for t in times)


def test_healthz_details_only_when_asked(fetched: Path) -> None:
    server = Serve(fetched, "--health-details")
    try:
        report = httpx.get(server.base + "healthz", timeout=5).json()
    finally:
        assert server.stop()[0] == 0
    failing = [s for s in report["sources"]["list"] if s["status"] == "error"]
    assert len(failing) == 1 and SECRET in failing[0]["url"] and failing[0]["last_error"]


@pytest.mark.parametrize(("running", "failing", "total", "build_error", "expected"), [
    (True, 0, 0, False, "ok"),
    (True, 1, 4, False, "ok"),         # a quarter failing is tolerated
    (True, 2, 4, False, "degraded"),   # more is not
    (True, 1, 1, False, "degraded"),
    (True, 0, 3, True, "degraded"),    # the last build failed
    (False, 0, 3, False, "down"),      # nothing keeps the feeds fresh
])
def test_health_status_rule(running: bool, failing: int, total: int, build_error: bool,
                            expected: str) -> None:
    assert FAILING_SHARE == 0.25
    assert health_status(running=running, failing=failing, total=total,
                         build_error=build_error) == expected


@pytest.mark.slow
def test_a_flood_of_slow_clients_does_not_lock_the_others_out(
    project: Path, run_cli: CliRunner
) -> None:
    add_fixture(project, "only-required.md")
    assert run_cli("build", cwd=project).returncode == 0
    nofile = 256
    flood = 2 * nofile  # far more connections than the server has descriptors
    assert connection_cap(nofile) < nofile
    server = Serve(project, nofile=nofile)
    clients: list[socket.socket] = []
    selector = selectors.DefaultSelector()
    try:
        # All connect at once; each sends half a request and then nothing.
        for _ in range(flood):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", server.port))
            selector.register(s, selectors.EVENT_WRITE)
            clients.append(s)
        connecting = set(clients)
        deadline = time.monotonic() + 10
        while connecting and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                with contextlib.suppress(OSError):  # dropped already: fine
                    sock.send(b"GET /all.atom HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                selector.modify(sock, selectors.EVENT_READ)
                connecting.discard(sock)
        assert not connecting
        started = time.monotonic()
        # Health checks and feeds keep answering while the flood holds on.
        answered = {}
        for path in ("healthz", "all.atom", "healthz"):
            response = None
            # The window is for a busy machine: what counts is an answer.
            while response is None and time.monotonic() - started < 20:
                response = _get(server.base + path, timeout=3)
            assert response is not None and response.status_code == 200, path
            answered[path] = response
        assert_valid_atom(answered["all.atom"].content)
        # Its descriptors never ran out (as the log also says, below).
        assert _open_files(server.proc.pid) < nofile
        for s in clients:
            selector.unregister(s)
            s.close()
        clients.clear()
        # The server closes its ends of the flood in its own time (a loaded
        # machine's loop turns slowly); until then it is at its cap and drops
        # a newcomer at once, which is not what is tested next.
        settled = time.monotonic() + 60
        while (_open_files(server.proc.pid) >= connection_cap(nofile)
               and time.monotonic() < settled):
            time.sleep(0.2)
        # A client that sends half its headers is cut off when its time is up.
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as slow:
            slow.sendall(b"GET /all.atom HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.settimeout(HEADER_TIMEOUT + 10)
            sent = time.monotonic()
            assert slow.recv(4096) == b""
            # Never before its time; the upper bound only leaves room for load.
            assert HEADER_TIMEOUT - 1 < time.monotonic() - sent < HEADER_TIMEOUT + 10
        assert server.proc.poll() is None
    finally:
        selector.close()
        for s in clients:
            s.close()
        code, err = server.stop()
    assert code == 0
    assert "Too many open files" not in err and "Traceback" not in err, err


@pytest.mark.parametrize(("host", "base", "warns"), [
    ("127.0.0.1", "http://127.0.0.1:9000/", False),
    ("::1", "http://[::1]:9000/", False),
    ("feeds.internal", "http://feeds.internal:9000/", False),
    ("0.0.0.0", "http://127.0.0.1:9000/", True),  # names no address a reader can use
])
def test_without_base_url_the_served_address_is_published(
    project: Path, host: str, base: str, warns: bool
) -> None:
    from feeds.config import load_config
    from feeds.serve import served_config

    (project / "feeds.toml").write_text('title = "t"\n', encoding="utf-8")
    config, note = served_config(load_config(project), host, 9000)
    assert config.base_url == base
    assert note is not None and base in note and ("set base_url" in note) == warns
    (project / "feeds.toml").write_text('base_url = "https://example.org/f/"\n',
                                        encoding="utf-8")
    configured, note = served_config(load_config(project), host, 9000)
    assert configured.base_url == "https://example.org/f/" and note is None


def test_each_format_is_served_with_its_media_type(project: Path, run_cli: CliRunner) -> None:
    """Clients choose a parser by media type: RSS as application/rss+xml, JSON Feed as feed+json."""
    add_fixture(project, "only-required.md")
    assert run_cli("build", cwd=project).returncode == 0
    server = Serve(project)
    try:
        types = {name: httpx.get(server.base + name, timeout=5).headers["content-type"]
                 for name in ("all.atom", "all.rss", "all.json", "index.html")}
    finally:
        server.stop()
    assert types == {"all.atom": "application/atom+xml; charset=utf-8",
                     "all.rss": "application/rss+xml; charset=utf-8",
                     "all.json": "application/feed+json",
                     "index.html": "text/html; charset=utf-8"}


def test_a_file_replaced_while_served_is_sent_whole_in_one_version(
    project: Path, run_cli: CliRunner
) -> None:
    """A rebuild replaces files under readers: each answer is one version, whole.

    The headers (Content-Length, ETag, Last-Modified) and the body must come
    from the same file: a length taken from the old one and bytes read from
    the new one is a truncated feed, or a connection dropped mid-answer.
    """
    add_fixture(project, "only-required.md")
    assert run_cli("build", cwd=project).returncode == 0
    path = project / "output" / "all.atom"
    small = path.read_bytes()
    head, _, tail = small.partition(b"?>")
    large = head + b"?>\n<!-- " + b"padding " * 40_000 + b"-->" + tail
    versions = {small, large}
    stop = False

    def replace_again_and_again() -> None:
        temporary = path.with_name(".all.atom.swap")
        for n in range(1_000_000):
            if stop:
                break
            temporary.write_bytes(large if n % 2 else small)
            os.replace(temporary, path)

    server = Serve(project)
    swapper = threading.Thread(target=replace_again_and_again)
    swapper.start()
    answers, broken = 0, []
    try:
        for _ in range(200):
            if len(broken) >= 5:
                break
            try:
                response = httpx.get(server.base + "all.atom", timeout=5,
                                     headers={"accept-encoding": "identity"})
            except httpx.HTTPError as exc:
                broken.append(repr(exc))
                continue
            answers += 1
            if (response.content not in versions
                    or int(response.headers["content-length"]) != len(response.content)):
                broken.append(f"{len(response.content)} bytes, "
                              f"Content-Length {response.headers['content-length']}")
    finally:
        stop = True
        swapper.join()
        path.write_bytes(small)
        server.stop()
    assert not broken, broken
    assert answers == 200
