"""WebSub publishing: hubs are told of exactly the feeds that changed, and nothing is lost.

The hub is a real HTTP server on 127.0.0.1 recording each POST; builds run
in-process where only the library matters and as `python -m feeds` where
the exit status and what is printed matter; the store is a real SQLite file.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from conftest import child_env, feeds_daemon
from feedserver import FeedServer, Response
from hypothesis import given
from hypothesis import strategies as st

from feeds import build
from feeds.config import Config, FetchSettings, load_config
from feeds.model import PendingPing, Ping, PingResult
from feeds.pipeline import BuildResult, hub_states, open_store
from feeds.publish.paths import feed_url
from feeds.publish.websub import MAX_RETRY_SECONDS, owed_pings, plan_round, retry_delay, settle
from feeds.serve import health_report, health_status
from feeds.store import Store, Tables

FEED_SUFFIXES = (".atom", ".rss", ".json")
ACCEPTED = Response(status=204, content_type=None)
# Short enough that a hanging hub costs a test little, long enough for a loopback answer.
QUICK = FetchSettings(connect_timeout=1.0, read_timeout=1.0, total_timeout=1.0)


def _article(project: Path, name: str, title: str, tags: list[str], body: str) -> None:
    (project / "sources" / "articles" / f"{name}.md").write_text(
        f"---\ntitle: {title}\ndate: 2025-03-14T08:30:00Z\ntags: {tags}\n---\n\n{body}\n",
        encoding="utf-8")


def _project(project: Path, *hubs: str) -> Config:
    listed = ", ".join(f'"{hub}"' for hub in hubs)
    (project / "feeds.toml").write_text(
        f'base_url = "https://feeds.example.org/"\nlanguages = ["en"]\nhubs = [{listed}]\n'
        'hub_retry = "1s"\n', encoding="utf-8")
    _article(project, "models", "Small models run on phones",
             ["ai"], "Researchers ran a small language model on a phone.")
    _article(project, "storage", "Storage plant goes online",
             ["energy"], "A grid-scale storage plant went online in the north-west.")
    return load_config(project)


def _pinged(server: FeedServer, path: str) -> list[str]:
    """The feed URL of each ping `path` received, checking each is a WebSub publish form."""
    urls = []
    for request in server.requests_for(path):
        assert request.method == "POST"
        assert request.header("Content-Type") == "application/x-www-form-urlencoded"
        assert (request.header("User-Agent") or "").startswith("feeds/")
        form = parse_qs(request.body.decode("ascii"), strict_parsing=True)
        assert form["hub.mode"] == ["publish"]
        [url] = form["hub.url"]
        urls.append(url)
    return urls


def _written_feeds(result: BuildResult, config: Config) -> set[str]:
    assert result.report is not None
    return {feed_url(path, config) for path in result.report.written if path.endswith(FEED_SUFFIXES)}


def _closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _feeds_cli(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "feeds", "--root", str(root), *args],
                          env=child_env(), capture_output=True, text=True, timeout=120,
                          check=False)


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def _wait_until_due(config: Config) -> None:
    """Sleep until every pending ping is due again (hub_retry is a second here)."""
    due = max((h.next_try for h in hub_states(config) if h.next_try is not None), default=0.0)
    time.sleep(max(0.0, due - time.time()) + 0.05)


# --- which feeds are pinged --------------------------------------------------


def test_hubs_are_told_of_exactly_the_feeds_whose_bytes_changed(
        project: Path, feed_server: FeedServer) -> None:
    """Rule: one ping per hub and changed feed file (any format), none for pages, OPML or no change."""
    hub_a = feed_server.route("/hub-a", ACCEPTED)
    hub_b = feed_server.route("/hub-b", ACCEPTED)
    config = _project(project, hub_a, hub_b)

    first = build(config)
    every_feed = {feed_url(f.path, config) for f in first.feeds}
    assert {"all", "lang/en", "tags/ai", "tags/energy"} <= {f.spec.file("x")[:-2] for f in first.feeds}
    assert _written_feeds(first, config) == every_feed
    for hub in ("/hub-a", "/hub-b"):
        pinged = _pinged(feed_server, hub)
        assert sorted(pinged) == sorted(every_feed)  # each feed file once
    assert first.hubs is not None and not first.hubs.failed
    assert len(first.hubs.delivered) == 2 * len(every_feed)

    before = len(feed_server.requests)
    again = build(config)
    assert again.report is not None and not again.report.written
    assert len(feed_server.requests) == before  # nothing changed: no ping at all

    _article(project, "models", "Small models run on phones",
             ["ai"], "Researchers ran a small language model on a phone, offline.")
    edited = build(config)
    changed = _written_feeds(edited, config)
    assert edited.report is not None
    assert any(path.endswith(".html") for path in edited.report.written)  # pages changed too
    for hub in ("/hub-a", "/hub-b"):
        pinged = _pinged(feed_server, hub)[len(every_feed):]
        assert sorted(pinged) == sorted(changed)
    assert {feed_url(f"tags/ai.{fmt}", config) for fmt in ("atom", "rss", "json")} <= changed
    assert not {url for url in changed if "/tags/energy." in url}
    assert all(h.pending == 0 and h.last_success is not None for h in hub_states(config))


def test_no_hub_configured_sends_nothing(backend: str, project: Path,
                                         feed_server: FeedServer) -> None:
    """Rule: without `hubs` a build pings nobody and owes nothing."""
    config = replace(_project(project, feed_server.route("/hub", ACCEPTED)), hubs=())
    result = build(config)
    assert result.report is not None and result.report.written
    assert feed_server.requests == [] and hub_states(config) == []
    with open_store(config) as store:
        assert store.pending_pings() == []


# --- a failing hub ------------------------------------------------------------


@pytest.fixture
def reopened_hub() -> Iterator[Callable[[int], FeedServer]]:
    """Start a hub on a given port later in a test; stopped after it."""
    started: list[FeedServer] = []

    def start(port: int) -> FeedServer:
        server = FeedServer(port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.mark.parametrize(("failure", "cause"), [
    ("refused", "connection refused"),
    ("error", "the hub answered HTTP 500"),
    ("worded", "the hub answered HTTP 500 Not now, thanks"),
    ("hangs", "timed out after"),
])
def test_a_failing_hub_fails_no_build_and_its_pings_wait_in_the_store(
        backend: str, project: Path, feed_server: FeedServer,
        reopened_hub: Callable[[int], FeedServer], failure: str, cause: str) -> None:
    """Rule: a hub that refuses, errs or hangs leaves the build published and exit 0; its
    pings are pending with the cause, shown by `feeds sources` and /healthz, and the next
    build once the hub works delivers them all and empties the list."""
    port = _closed_port()
    hub = f"http://127.0.0.1:{port}/hub" if failure == "refused" else feed_server.route(
        "/hub", Response(status=500, body="no") if failure == "error" else
        # Its own reason phrase, with control characters no message keeps.
        Response(status=500, reason="Not\x01 now,\x1f thanks") if failure == "worded" else
        Response(status=204, content_type=None, delay=30))
    config = _project(project, hub)
    if failure == "hangs":
        # In-process, with time-outs of a second: the CLI's would take five.
        result = build(config, settings=QUICK)
        assert result.hubs is not None and len(result.hubs.failed) == len(result.feeds)
    else:
        # Even --strict: a hub's failure is not a problem of what was published.
        done = _feeds_cli("build", "--strict", root=project)
        assert done.returncode == 0, done.stderr
        assert f"{hub}: WebSub hub not notified ({cause}" in done.stderr
    written = sorted(p.relative_to(config.output_dir).as_posix()
                     for p in config.output_dir.rglob("*") if p.suffix in FEED_SUFFIXES)
    assert "tags/ai.atom" in written and "all.json" in written

    with open_store(config) as store:
        pending = store.pending_pings()
    assert sorted(p.url for p in pending) == sorted(feed_url(path, config) for path in written)
    assert all(p.hub == hub and p.attempts == 1 and cause in (p.last_error or "")
               for p in pending)

    listing = _feeds_cli("sources", root=project)
    assert listing.returncode == 0, listing.stderr
    assert f"hub {hub}\n  status: {len(written)} pending" in listing.stdout
    assert cause in listing.stdout

    report = health_report(config, details=False)
    assert report["status"] == "degraded"  # not down: the feeds are served all the same
    [shown] = report["hubs"]["list"]
    assert shown["url"] == hub and shown["pending"] == len(written)
    assert cause in shown["last_error"] and shown["last_success"] is None

    # The hub works again; the next build (nothing changed) delivers what waits.
    server = reopened_hub(port) if failure == "refused" else feed_server
    server.route("/hub", ACCEPTED)
    already = len(_pinged(server, "/hub"))
    _wait_until_due(config)
    retried = build(config, settings=QUICK)
    assert retried.report is not None and not retried.report.written
    assert sorted(_pinged(server, "/hub")[already:]) == sorted(p.url for p in pending)
    [state] = hub_states(config)
    assert state.pending == 0 and state.last_success is not None
    assert health_report(config, details=False)["status"] == "ok"
    assert "status: ok" in _feeds_cli("sources", root=project).stdout


def test_offline_build_keeps_its_pings_for_later(project: Path, feed_server: FeedServer) -> None:
    """Rule: `build --offline` reaches for no network, hubs included; what it owes waits,
    untried, which is no failure of the hub."""
    hub = feed_server.route("/hub", ACCEPTED)
    config = _project(project, hub)
    done = _feeds_cli("build", "--offline", root=project)
    assert done.returncode == 0, done.stderr
    assert feed_server.requests == []
    [state] = hub_states(config)
    assert state.pending > 0 and state.failing == 0 and state.last_error is None
    report = health_report(config, details=False)
    assert report["status"] == "ok" and report["hubs"]["list"][0]["status"] == "pending"
    build(config)
    assert len(_pinged(feed_server, "/hub")) == state.pending
    assert hub_states(config)[0].pending == 0


def test_a_removed_hub_is_owed_nothing(backend: str, project: Path,
                                       feed_server: FeedServer) -> None:
    """Rule: pings for a hub taken out of the configuration are dropped, never sent."""
    gone = f"http://127.0.0.1:{_closed_port()}/hub"
    config = _project(project, gone)
    build(config, settings=QUICK)
    assert hub_states(config)[0].pending > 0
    kept = feed_server.route("/hub", ACCEPTED)
    config = replace(config, hubs=(kept,))
    _wait_until_due(replace(config, hubs=(gone,)))
    build(config, settings=QUICK)
    with open_store(config) as store:
        assert store.pending_pings() == []
    assert [h.url for h in hub_states(config)] == [kept]


# --- the daemon -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _attempts(config: Config) -> int:
    """The most failed tries of any pending ping, read as another process would."""
    if not config.store_path.is_file():
        return 0
    db = sqlite3.connect(config.store_path, timeout=10)
    try:
        row = db.execute("SELECT MAX(attempts) FROM hub_pings").fetchone()
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()
    return int(row[0] or 0)


@pytest.mark.slow
def test_the_daemon_retries_with_backoff_until_the_hub_takes_its_pings(
        project: Path, feed_server: FeedServer) -> None:
    """Rule: `feeds run` keeps trying a hub that hangs, waiting longer each time, never stalls
    its rebuilds for it, and delivers every pending ping once the hub answers."""
    port = _free_port()
    hub = feed_server.route("/hub", Response(status=204, content_type=None, delay=60))
    config = _project(project, hub)
    (project / "feeds.toml").write_text(
        (project / "feeds.toml").read_text(encoding="utf-8").replace(
            "https://feeds.example.org/", f"http://127.0.0.1:{port}/"), encoding="utf-8")
    config = load_config(project)
    log = (project / "daemon.log").open("ab")
    proc = subprocess.Popen(
        feeds_daemon("run", "--serve", "--port", str(port), "--root", str(project),
                     "--log-level", "info"),
        stdout=log, stderr=subprocess.STDOUT, env=child_env())
    base = f"http://127.0.0.1:{port}/"

    def health() -> dict[str, object] | None:
        assert proc.poll() is None, (project / "daemon.log").read_text(encoding="utf-8")
        try:
            return dict(httpx.get(base + "healthz", timeout=2).json())
        except httpx.HTTPError:
            return None

    try:
        # The first round times out; the next comes a second later.
        _wait(lambda: _attempts(config) >= 1, 30, "a failed try")
        report = health()
        assert report is not None and report["status"] == "degraded"
        hubs = report["hubs"]
        assert isinstance(hubs, dict)
        [shown] = hubs["list"]
        assert shown["pending"] > 0 and "timed out after 5 s" in shown["last_error"]
        # A rebuild is not held up meanwhile, though rounds of pings keep hanging.
        _article(project, "later", "Tidal turbines tested",
                 ["energy"], "Tidal turbines were tested in a strait.")
        _wait(lambda: b"Tidal turbines tested" in httpx.get(base + "all.atom", timeout=2).content,
              20, "the edit published")
        _wait(lambda: _attempts(config) >= 2, 30, "a second failed try")
        feed_server.route("/hub", ACCEPTED)
        _wait(lambda: hub_states(config)[0].pending == 0, 40, "the pings delivered")
        feeds = {p.relative_to(config.output_dir).as_posix()
                 for p in config.output_dir.rglob("*") if p.suffix in FEED_SUFFIXES}
        assert set(_pinged(feed_server, "/hub")) == {feed_url(path, config) for path in feeds}
        _wait(lambda: (health() or {}).get("status") == "ok", 10, "health back to ok")
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
        log.close()
    text = (project / "daemon.log").read_text(encoding="utf-8")
    assert f"websub: {hub}: timed out after 5 s" in text
    assert f"websub: {hub} took its pings" in text


# --- the decisions, with plain values -------------------------------------------

CONFIG = Config(root=Path("/nowhere"), base_url="https://feeds.example.org/site/",
                hubs=("https://hub-a.example/", "https://hub-b.example/"))


def test_owed_pings_are_the_written_feeds_per_hub() -> None:
    """Rule: each hub gets each written feed file's URL; pages, index, OPML and unwritten feeds nothing."""
    written = ["tags/科技.atom", "all.rss", "index.html", "feeds.opml", "tags/ai.html",
               "entries/x.en.html", "lang/en.json"]
    feeds = {"all.atom", "all.rss", "lang/en.json", "tags/科技.atom", "tags/energy.atom"}
    owed = owed_pings(written, feeds, CONFIG)
    urls = ["https://feeds.example.org/site/all.rss",
            "https://feeds.example.org/site/lang/en.json",
            "https://feeds.example.org/site/tags/%E7%A7%91%E6%8A%80.atom"]
    assert owed == [Ping(hub, url) for hub in CONFIG.hubs for url in urls]
    assert owed_pings([], feeds, CONFIG) == []
    assert owed_pings(written, feeds, replace(CONFIG, hubs=())) == []


def test_retry_delay_doubles_from_the_first_wait_up_to_an_hour() -> None:
    """Rule: 1 min, 2, 4, ... capped at an hour; nothing failed yet means no wait."""
    assert [retry_delay(n, 60) for n in range(0, 9)] == [
        0, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retry_delay(10_000, 60) == MAX_RETRY_SECONDS
    assert retry_delay(3, 1) == 4
    assert retry_delay(5, 7200) == 7200  # a first wait above the cap is the cap


@given(st.integers(1, 200), st.floats(0.5, 7200))
def test_retry_delay_never_shrinks_and_stays_capped(attempts: int, first: float) -> None:
    """Rule: each failure waits at least as long as the one before, never beyond the cap."""
    assert first <= retry_delay(attempts, first) <= max(first, MAX_RETRY_SECONDS)
    assert retry_delay(attempts + 1, first) >= retry_delay(attempts, first)


def test_a_round_sends_the_due_pings_and_forgets_removed_hubs() -> None:
    """Rule: only pings due by now to configured hubs are sent; a removed hub's are dropped."""
    due = PendingPing("https://hub-a.example/", "u1", 2, 100.0, "refused")
    later = PendingPing("https://hub-a.example/", "u2", 3, 101.0, "refused")
    removed = PendingPing("https://old.example/", "u1", 1, 50.0, "refused")
    planned = plan_round([due, later, removed], CONFIG.hubs, now=100.0)
    assert planned.due == (due,) and planned.stale == (removed,)


def test_settle_forgets_delivered_pings_and_backs_off_failed_ones() -> None:
    """Rule: a 2xx delivers; a failure, or no answer in time, counts one more try, due later."""
    sent = [PendingPing("h", "ok", 0, 0.0), PendingPing("h", "bad", 2, 0.0, "old cause"),
            PendingPing("h", "cut", 0, 0.0)]
    results = [PingResult("h", "ok"), PingResult("h", "bad", "the hub answered HTTP 500")]
    settled = settle(sent, results, now=1000.0, first=60)
    assert settled.delivered == (Ping("h", "ok"),)
    assert settled.failed == (
        PendingPing("h", "bad", 3, 1000.0 + 240, "the hub answered HTTP 500"),
        PendingPing("h", "cut", 1, 1000.0 + 60, "not sent: the round ran out of time"))


def test_hub_failing_makes_health_degraded_never_down() -> None:
    """Rule: a hub with pending pings degrades health; only a stopped scheduler is down."""
    assert health_status(running=True, failing=0, total=0, build_error=False,
                         hubs_failing=1) == "degraded"
    assert health_status(running=True, failing=0, total=0, build_error=False) == "ok"
    assert health_status(running=False, failing=0, total=0, build_error=False,
                         hubs_failing=1) == "down"


# --- the store ------------------------------------------------------------------


def test_pending_pings_survive_a_reopened_store_and_a_new_change_comes_forward(
        store_at: Callable[[], Tables]) -> None:
    """Rule: undelivered pings are kept across restarts; a feed changed again is due at once,
    its failures still counted; a delivery forgets it and notes the hub's success, unless
    the feed changed again after the round began."""
    with store_at() as store:
        store.owe_pings([Ping("h", "u1"), Ping("h", "u2")], now=10.0)
        store.settle_pings([], [PendingPing("h", "u1", 1, 70.0, "refused"),
                                PendingPing("h", "u2", 1, 70.0, "refused")], [], now=10.0,
                           began=10.0)
    with store_at() as store:
        assert [(p.url, p.attempts, p.next_try) for p in store.pending_pings()] == [
            ("u1", 1, 70.0), ("u2", 1, 70.0)]
        store.owe_pings([Ping("h", "u2")], now=20.0)
        assert [(p.url, p.attempts, p.next_try) for p in store.pending_pings()] == [
            ("u2", 1, 20.0), ("u1", 1, 70.0)]
        store.owe_pings([Ping("h", "u3")], now=25.0)
        [state] = store.hub_states()
        assert (state.pending, state.failing, state.last_error, state.next_try) == (
            3, 2, "refused", 20.0)
        # A round that read the pings at 22 delivered all three; u3, owed again
        # at 25, may have been fetched before that change: it stays, due.
        store.settle_pings([Ping("h", "u1"), Ping("h", "u2"), Ping("h", "u3")], [], [], now=30.0,
                           began=22.0)
        assert [(p.url, p.next_try) for p in store.pending_pings()] == [("u3", 25.0)]
        store.settle_pings([], [PendingPing("h", "u3", 1, 90.0, "refused")], [], now=31.0,
                           began=22.0)
        assert [(p.url, p.next_try) for p in store.pending_pings()] == [("u3", 25.0)]
        store.settle_pings([Ping("h", "u3")], [], [], now=30.0, began=30.0)
        [state] = store.hub_states()
        assert (state.pending, state.failing, state.last_success, state.next_try) == (
            0, 0, 30.0, None)


def test_a_store_of_the_previous_schema_gains_the_hub_tables(tmp_path: Path) -> None:
    """Rule: migration 6 adds the WebSub tables and keeps everything stored before."""
    from feeds.store.schema import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "s.sqlite3"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:5]:
        db.executescript(script)
    db.execute("INSERT INTO sources (key, url) VALUES ('k', 'https://example.org/feed')")
    db.execute("PRAGMA user_version=5")
    db.commit()
    db.close()
    with Store(path) as store:
        assert [s.key for s in store.sources()] == ["k"]
        assert store.pending_pings() == [] and store.hub_states() == []
        store.owe_pings([Ping("h", "u")], now=1.0)
        assert store.pending_pings() == [PendingPing("h", "u", 0, 1.0)]
    assert SCHEMA_VERSION >= 6  # later migrations add tables of their own
