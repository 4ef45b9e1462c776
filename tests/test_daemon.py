"""`feeds run --serve` as a real process: polling, watching, serving, signals."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from atomcheck import assert_valid_atom
from conftest import REPO, CliRunner, add_fixture, child_env, feeds_daemon, write_links
from feedcheck import assert_valid_feed
from feedserver import FeedServer, Response
from remote_feeds import rss

ITEMS = [("d1", "Ocean drones map the seabed", "Autonomous drones mapped a trench."),
         ("d2", "Wind farm output hits a record", "Output rose in the windy season.")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Daemon:
    """A `feeds run --serve` subprocess, stopped by its own PID."""

    def __init__(self, root: Path, port: int, *extra: str, log_level: str = "debug") -> None:
        self.root, self.port = root, port
        self.base = f"http://127.0.0.1:{port}/"
        env = child_env()
        self.log = (root / "daemon.log").open("ab")
        self.proc = subprocess.Popen(
            feeds_daemon("run", "--serve", "--port", str(port), "--root", str(root),
                         "--log-level", log_level, *extra),
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )
        _wait(self._healthy, 30, "the daemon's health endpoint")

    def _healthy(self) -> bool:
        assert self.proc.poll() is None, self.output()
        try:
            return httpx.get(self.base + "healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(self.base + path, headers=headers, timeout=5)

    def titles(self, path: str = "all.atom") -> set[str]:
        response = self.get(path)
        if response.status_code != 200:
            return set()
        return {e.title for e in assert_valid_atom(response.content).entries}

    def output(self) -> str:
        return (self.root / "daemon.log").read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()


@pytest.fixture
def daemon_project(project: Path, feed_server: FeedServer) -> Iterator[tuple[Path, int]]:
    port = _free_port()
    (project / "feeds.toml").write_text(
        f'base_url = "http://127.0.0.1:{port}/"\nevery = "2s"\n', encoding="utf-8")
    url = feed_server.route("/feed.xml", Response(body=rss(ITEMS), etag='"v1"'))
    (project / "sources" / "links.toml").write_text(f'[[source]]\nurl = "{url}"\n',
                                                   encoding="utf-8")
    add_fixture(project, "bilingual.md", "only-required.md")
    yield project, port


def _newsboat_items(opml_url: str, work: Path) -> dict[str, tuple[str, str]]:
    """Subscribe newsboat to every feed of the OPML, reload, and read its cache.

    newsboat keys items by guid across feeds (the same Atom id is the same
    entry), so this returns guid → (title, link).
    """
    work.mkdir()
    opml = work / "feeds.opml"
    opml.write_bytes(httpx.get(opml_url, timeout=5).content)
    env = dict(os.environ, HOME=str(work))
    urls, cache, conf = work / "urls", work / "cache.db", work / "config"
    conf.write_text("", encoding="utf-8")
    run = [shutil.which("newsboat") or "newsboat", "-u", str(urls), "-c", str(cache),
           "-C", str(conf)]
    subprocess.run([*run, "-i", str(opml)], env=env, check=True, capture_output=True, timeout=60)
    # Each line is a URL and the OPML folder it came from, as a tag. This
    # newsboat reads Atom and RSS; JSON Feed is left to readers that take it.
    lines = [ln.split() for ln in urls.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert {" ".join(line[1:]) for line in lines} == {'"Atom feeds"', '"RSS feeds"', '"JSON Feed feeds"'}
    subscribed = [line[0] for line in lines if not line[0].endswith(".json")]
    urls.write_text("\n".join(subscribed) + "\n", encoding="utf-8")
    assert len(subscribed) == len(set(subscribed)) >= 8
    subprocess.run([*run, "-x", "reload"], env=env, check=True, capture_output=True, timeout=120)
    db = sqlite3.connect(cache)
    feeds = {row[0] for row in db.execute("SELECT rssurl FROM rss_feed")}
    assert feeds == set(subscribed)
    items = {guid: (title, url) for guid, title, url in
             db.execute("SELECT guid, title, url FROM rss_item")}
    db.close()
    return items


@pytest.mark.slow
def test_daemon_polls_watches_serves_and_stops_cleanly(
    daemon_project: tuple[Path, int], feed_server: FeedServer, tmp_path: Path
) -> None:
    root, port = daemon_project
    daemon = Daemon(root, port)
    try:
        _wait(lambda: "Ocean drones map the seabed" in daemon.titles(), 20, "remote entries")
        # A new remote entry appears after the source's next poll.
        newer = [("d3", "Glacier retreat measured by satellite", "Ice loss was measured."), *ITEMS]
        feed_server.route("/feed.xml", Response(body=rss(newer), etag='"v2"'))
        _wait(lambda: "Glacier retreat measured by satellite" in daemon.titles(), 15,
              "the new remote entry")
        # An edited local article is served within two seconds.
        article = root / "sources" / "articles" / "only-required.md"
        text = article.read_text(encoding="utf-8")
        title_line = next(ln for ln in text.splitlines() if ln.startswith("title:"))
        article.write_text(text.replace(title_line, "title: Edited while running"),
                           encoding="utf-8")
        elapsed = _wait(lambda: "Edited while running" in daemon.titles(), 5, "the edit")
        assert elapsed < 2.0, f"the edit took {elapsed:.2f} s to be served"
        # The server: content type, validators, 304, gzip, HEAD, index, no escape.
        first = daemon.get("all.atom")
        assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
        etag = first.headers["etag"]
        assert daemon.get("all.atom", **{"If-None-Match": etag}).status_code == 304
        assert daemon.get("all.atom", **{"Accept-Encoding": "gzip"}).headers.get(
            "content-encoding") == "gzip"
        head = httpx.head(daemon.base + "lang/en.atom", timeout=5)
        assert head.status_code == 200 and head.content == b""
        index = daemon.get("")
        assert index.status_code == 200 and "text/html" in index.headers["content-type"]
        assert "application/atom+xml" in index.text
        assert daemon.get("feeds.opml").headers["content-type"].startswith("text/x-opml")
        escape = httpx.get(daemon.base + "..%2f..%2fetc%2fpasswd", timeout=5)
        assert escape.status_code == 404 and "root:" not in escape.text
        health = daemon.get("healthz").json()
        assert health["status"] == "ok" and health["scheduler"]["running"]
        assert health["sources"]["list"][0]["status"] == "ok"
        # A real feed reader subscribed to every feed of feeds.opml lists every entry.
        if shutil.which("newsboat") is None and os.environ.get("CI"):
            pytest.fail("newsboat is not installed; .ci/run installs it")
        if shutil.which("newsboat"):
            items = _newsboat_items(daemon.base + "feeds.opml", tmp_path / "newsboat")
            expected: dict[str, str] = {}
            for path in sorted((root / "output").rglob("*.atom")) + sorted(
                    (root / "output").rglob("*.rss")):
                served = assert_valid_feed(daemon.get(path.relative_to(root / "output")
                                                      .as_posix()).content, path.suffix[1:])
                expected |= {e.id: e.title for e in served.entries}
            assert {guid: title for guid, (title, _) in items.items()} == expected
            # It opens an article's own page, and a remote entry's original
            # article, never a translation's page or feed.
            pages = {guid: url for guid, (_, url) in items.items() if "remote/" not in guid}
            assert pages and all(url.startswith(daemon.base + "entries/") for url in pages.values())
            assert all(url.startswith("http://example.com/rss/")
                       for guid, (_, url) in items.items() if "remote/" in guid)
            for guid, url in pages.items():
                lang = "en" if guid.endswith("/en") else None
                page = daemon.get(url.removeprefix(daemon.base))
                assert page.status_code == 200 and "text/html" in page.headers["content-type"]
                assert lang is None or f'<html lang="{lang}"' in page.text
        # A second instance refuses with a clear message.
        second = subprocess.run(
            [sys.executable, "-m", "feeds", "run", "--root", str(root), "--port",
             str(_free_port())], env=child_env(),
            capture_output=True, text=True, timeout=30, check=False)
        assert second.returncode == 1 and "already running" in second.stderr
    finally:
        started = time.monotonic()
        code = daemon.stop()
        stopped_in = time.monotonic() - started
    assert code == 0, daemon.output()
    assert stopped_in < 10
    assert not list((root / "output").rglob(".feeds-tmp-*"))
    for path in (root / "output").rglob("*.atom"):
        assert_valid_atom(path)


@pytest.mark.slow
def test_kill_9_and_restart_loses_nothing(daemon_project: tuple[Path, int]) -> None:
    root, port = daemon_project
    daemon = Daemon(root, port)
    _wait(lambda: "Ocean drones map the seabed" in daemon.titles(), 20, "remote entries")
    before = daemon.titles()
    assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    db = sqlite3.connect(root / ".feeds" / "state.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    restarted = Daemon(root, port)
    try:
        assert restarted.titles() == before
        health = restarted.get("healthz").json()
        assert health["sources"]["list"][0]["entries"] == len(ITEMS)
    finally:
        assert restarted.stop() == 0


def _lines(text: str, needle: str) -> list[str]:
    return [ln for ln in text.splitlines() if needle in ln]


SLOW_ITEMS = [("s1", "Slow source finally answers", "It took its time.")]
FAST_ITEMS = [("f1", "Fast source answers first", "Quick.")]


@pytest.mark.slow
def test_articles_and_finished_sources_are_published_while_a_slow_fetch_runs(
    project: Path, feed_server: FeedServer
) -> None:
    port = _free_port()
    (project / "feeds.toml").write_text(
        f'base_url = "http://127.0.0.1:{port}/"\nevery = "1h"\n', encoding="utf-8")
    # Two sites, so the fast one is not queued behind the slow one (one
    # connection per site).
    slow = feed_server.route("/slow.xml", Response(body=rss(SLOW_ITEMS), delay=9.0))
    fast = feed_server.route("/fast.xml", Response(body=rss(FAST_ITEMS))).replace(
        "127.0.0.1", "localhost")
    write_links(project, slow, fast)
    add_fixture(project, "only-required.md")
    daemon = Daemon(project, port)
    try:
        def slow_pending() -> bool:
            requests = feed_server.requests_for("/slow.xml")
            return not requests or requests[0].finished is None

        # The local article is published before the first refresh ends...
        _wait(lambda: "Only the required fields" in daemon.titles(), 4, "the local article")
        # ...and so is the source that finished, while the slow one is on the wire.
        _wait(lambda: "Fast source answers first" in daemon.titles(), 6, "the fast source")
        assert slow_pending()
        log = daemon.output()
        assert _lines(log, f"fetch ok: {fast}") and not _lines(log, f"fetch ok: {slow}")
        # An article saved meanwhile is served within two seconds.
        article = project / "sources" / "articles" / "only-required.md"
        article.write_text(article.read_text(encoding="utf-8").replace(
            "title: Only the required fields", "title: Saved during the fetch"), encoding="utf-8")
        elapsed = _wait(lambda: "Saved during the fetch" in daemon.titles(), 4, "the edit")
        assert elapsed < 2.0, f"the edit took {elapsed:.2f} s to be served"
        assert slow_pending()
        # The slow source's entries follow once it finishes.
        _wait(lambda: "Slow source finally answers" in daemon.titles(), 15, "the slow source")
    finally:
        assert daemon.stop() == 0
    log = daemon.output()
    assert log.rstrip().splitlines()[-1].endswith("INFO stopped")
    assert "maximum number of running instances" not in log
    for path in (project / "output").rglob("*.atom"):
        assert_valid_atom(path)


@pytest.mark.slow
def test_logs_are_watchable_and_edits_to_the_configuration_are_picked_up(
    daemon_project: tuple[Path, int], feed_server: FeedServer
) -> None:
    root, port = daemon_project
    daemon = Daemon(root, port, log_level="info")
    articles = root / "sources" / "articles"
    try:
        _wait(lambda: "Ocean drones map the seabed" in daemon.titles(), 20, "remote entries")
        # A broken article is reported once, not on every rebuild after it.
        shutil.copy(REPO / "tests" / "data" / "articles" / "bad-yaml.md", articles / "bad.md")
        _wait(lambda: bool(_lines(daemon.output(), "bad.md")), 5, "the warning")
        for n in range(2):
            article = articles / "only-required.md"
            article.write_text(re.sub(r"(?m)^title: .*$", f"title: Edit {n}",
                                      article.read_text(encoding="utf-8")), encoding="utf-8")
            _wait(lambda n=n: f"Edit {n}" in daemon.titles(), 5, f"edit {n}")
        assert len(_lines(daemon.output(), "WARNING sources/articles/bad.md")) == 1, \
            daemon.output()
        # The source answers 304 on its polls every 2 s; at info level they are quiet.
        _wait(lambda: len(feed_server.requests_for("/feed.xml")) >= 3, 10, "two more polls")
        assert not _lines(daemon.output(), "not-modified")
        # A page template saved in the project is picked up; a broken one is
        # reported once, and the pages stay as they were.
        templates = root / "templates"
        templates.mkdir()
        (templates / "front.html").write_text("{% extends 'base.html' %}{% block main %}"
                                              "{{ nothing.here }}{% endblock %}", encoding="utf-8")
        _wait(lambda: bool(_lines(daemon.output(), "WARNING templates/front.html:1: page template")),
              5, "the template warning")
        assert "Ocean drones map the seabed" in daemon.get("").text  # the page as it was
        (templates / "front.html").write_text("{% extends 'base.html' %}{% block main %}"
                                              "<p>Our own front page</p>{% endblock %}", encoding="utf-8")
        _wait(lambda: "Our own front page" in daemon.get("").text, 5, "the new template")
        assert len(_lines(daemon.output(), "templates/front.html")) == 1, daemon.output()
        # feeds.toml edited: reloaded and published with the new title.
        toml = root / "feeds.toml"
        toml.write_text(toml.read_text(encoding="utf-8") + 'title = "Renamed site"\n',
                        encoding="utf-8")
        _wait(lambda: "Renamed site" in daemon.get("all.atom").text, 5, "the new title")
        assert _lines(daemon.output(), "configuration reloaded")
        # A setting that cannot change while running says so, and the rest goes on.
        toml.write_text(toml.read_text(encoding="utf-8") + 'store = "elsewhere.sqlite3"\n',
                        encoding="utf-8")
        _wait(lambda: bool(_lines(daemon.output(), "restart feeds run")), 5, "restart notice")
        assert not (root / "elsewhere.sqlite3").exists()
        # A broken feeds.toml is reported and the configuration in use is kept.
        toml.write_text(toml.read_text(encoding="utf-8") + "bogus_key = 1\n", encoding="utf-8")
        _wait(lambda: bool(_lines(daemon.output(), "keeping the configuration in use")), 5,
              "the configuration error")
        # A source added to links.toml is fetched and published.
        second = feed_server.route(
            "/second.xml", Response(body=rss(SLOW_ITEMS))).replace("127.0.0.1", "localhost")
        with (root / "sources" / "links.toml").open("a", encoding="utf-8") as f:
            f.write(f'[[source]]\nurl = "{second}"\n')
        _wait(lambda: "Slow source finally answers" in daemon.titles(), 6, "the new source")
        assert "Renamed site" in daemon.get("all.atom").text
        assert daemon.get("healthz").json()["sources"]["total"] == 2
    finally:
        assert daemon.stop() == 0
    log = daemon.output()
    assert log.rstrip().splitlines()[-1].endswith("INFO stopped")
    assert "maximum number of running instances" not in log
    assert "Traceback" not in log


@pytest.mark.slow
def test_without_base_url_links_follow_the_port_served(project: Path, run_cli: CliRunner
                                                       ) -> None:
    add_fixture(project, "only-required.md")
    port = _free_port()
    daemon = Daemon(project, port)
    try:
        _wait(lambda: bool(daemon.titles()), 10, "the feed")
        feed = assert_valid_atom(daemon.get("all.atom").content)
        links = [feed.feed.id, *(link.href for link in feed.feed.links)]
        assert all(link.startswith(f"http://127.0.0.1:{port}/") for link in links
                   if link.startswith("http")), links
        assert _lines(daemon.output(), f"publishing feed links under http://127.0.0.1:{port}/")
    finally:
        assert daemon.stop() == 0


def test_serve_warns_when_the_output_was_built_for_another_address(
    project: Path, run_cli: CliRunner
) -> None:
    add_fixture(project, "only-required.md")
    assert run_cli("build", cwd=project).returncode == 0  # for the default 127.0.0.1:8080
    port = _free_port()
    server = subprocess.Popen(
        feeds_daemon("serve", "--port", str(port), "--root", str(project)),
        env=child_env(), stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 10, "the server")
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=10)
    assert server.returncode == 0
    assert "links to http://127.0.0.1:8080/" in err and f"127.0.0.1:{port}/" in err
    assert "run 'feeds build'" in err and err.rstrip().endswith("INFO stopped")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# A test run's stand-in: starts a daemon as the tests do, says its PID, and waits to be killed.
_TEST_RUN = """
import subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from conftest import child_env, feeds_daemon
log = open(sys.argv[3], "ab")
daemon = subprocess.Popen(feeds_daemon("run", "--root", sys.argv[2], "--log-level", "info"),
                          stdout=log, stderr=subprocess.STDOUT, env=child_env())
print(daemon.pid, flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal")
def test_a_daemon_a_killed_test_run_started_stops_with_it(project: Path) -> None:
    log = project / "daemon.log"
    run = subprocess.Popen([sys.executable, "-c", _TEST_RUN, str(REPO / "tests"), str(project),
                            str(log)], stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert run.stdout is not None
        daemon = int(run.stdout.readline())
        _wait(lambda: "rebuilt (start)" in log.read_text(encoding="utf-8", errors="replace"), 30,
              "the daemon's first build")
        assert _running(daemon)
    finally:
        run.kill()  # as a test run is when it times out: no chance to stop what it started
        run.wait()
    try:
        _wait(lambda: not _running(daemon), 30, "the daemon to stop with the run that started it")
    finally:
        if _running(daemon):  # not left running when the test fails
            os.kill(daemon, signal.SIGKILL)
    assert log.read_text(encoding="utf-8").rstrip().endswith("stopped")
