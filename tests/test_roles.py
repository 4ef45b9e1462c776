"""`feeds run --role fetch` and `--role publish` as real processes sharing a PostgreSQL store.

Each test gets a database of its own (tests/pgcluster.py) and loopback
feed servers on several addresses (127.0.0.2, .3, …), each a site of its
own whose request log says when every request started and ended. Nothing
here measures time: the tests wait, generously, for outcomes, then read
the logs, the store and the output.
"""

from __future__ import annotations

import itertools
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from atomcheck import assert_valid_atom
from conftest import CountingConnection, add_fixture, child_env, feeds_daemon, write_links
from feedserver import FeedServer, Response
from remote_feeds import rss

from feeds.store import open_at
from feeds.store.coordination import Coordination

CONFIG = ('title = "Shared"\nbase_url = "http://127.0.0.1:8080/"\nevery = "1h"\n'
          'lease = "3s"\nheartbeat = "1s"\n')


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Run:
    """A `feeds run` subprocess on the shared store, its log in a file, stopped by its own PID."""

    def __init__(self, project: Path, store: str, name: str, *args: str) -> None:
        self.log_path = project.parent / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            feeds_daemon("run", "--log-level", "debug", *args),
            cwd=project, env=child_env(FEEDS_STORE=store), stdout=self._log,
            stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: no cleanup, no goodbye in the store."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        finally:
            self._log.close()


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    """The processes a test starts; any left running are stopped after it."""
    started: list[Run] = []
    yield started
    for run in started:
        if run.alive():
            run.stop()
        else:
            run._log.close()


def _start_sites(count: int) -> Iterator[list[FeedServer]]:
    """`count` sites, each a feed server on a loopback address of its own (127.0.0.2, .3, …)."""
    servers: list[FeedServer] = []
    try:
        servers += (FeedServer(host=f"127.0.0.{n}").start() for n in range(2, 2 + count))
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def sites() -> Iterator[list[FeedServer]]:
    """Four sites."""
    yield from _start_sites(4)


@pytest.fixture
def many_sites() -> Iterator[list[FeedServer]]:
    """Twenty-five sites: a site's requests are spaced (a tenth of a second by default),
    so 500 sources over 25 sites are 20 turns a site, fetched in a couple of seconds."""
    yield from _start_sites(25)


def _serve_sources(sites: list[FeedServer], count: int, delay: float = 0.02) -> list[str]:
    """`count` feeds of two entries each, spread over the sites; their URLs."""
    urls = []
    for i in range(count):
        body = rss([(f"s{i}a", f"Story {i} first", f"Text {i} a."),
                    (f"s{i}b", f"Story {i} second", f"Text {i} b.")])
        urls.append(sites[i % len(sites)].route(f"/f{i}.xml", Response(
            body=body, content_type="application/rss+xml", delay=delay, etag=f'"{i}"')))
    return urls


def _project(root: Path, urls: list[str]) -> Path:
    (root / "sources" / "articles").mkdir(parents=True)
    (root / "feeds.toml").write_text(CONFIG, encoding="utf-8")
    write_links(root, *urls)
    add_fixture(root, "bilingual.md", "only-required.md")
    return root


def _output(project: Path) -> dict[str, bytes]:
    out = project / "output"
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


def _stored(url: str) -> dict[str, tuple[float | None, int]]:
    """Source URL → (last success, entries stored), as the shared store holds them."""
    with open_at(url, Path()) as store:
        return {s.url: (s.last_success, s.entry_count) for s in store.sources()}


def _all_fetched(url: str, count: int) -> Callable[[], bool]:
    def check() -> bool:
        stored = _stored(url)
        return len(stored) == count and all(when is not None for when, _ in stored.values())
    return check


def _one_at_a_time(site: FeedServer) -> None:
    """No two requests to `site` were ever in flight at once, from any worker."""
    assert site.max_in_flight == 1, site.host
    spans = sorted((r.started, r.finished) for r in site.requests)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end is not None and end <= start, site.host


def _fetched_by(run: Run) -> set[str]:
    return set(re.findall(r"fetch ok: (\S+) ", run.text()))


def test_a_fetch_worker_needs_a_postgresql_store(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", [])
    done = subprocess.run([sys.executable, "-m", "feeds", "run", "--role", "fetch"], cwd=project,
                          env=child_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert "feeds run --role fetch needs a PostgreSQL store" in done.stderr
    assert "state.sqlite3 is a SQLite file" in done.stderr


def test_a_worker_that_lost_its_lease_stores_nothing_over_the_new_holder(
        pg_url: str) -> None:
    url = "http://127.0.0.2:9/feed.xml"
    with open_at(pg_url, Path()) as slow, open_at(pg_url, Path()) as quick:
        assert isinstance(slow, Coordination) and isinstance(quick, Coordination)
        slow.list_sources([url], [url], "one source", time.time())
        now = time.time()
        assert slow.claim_listed("slow", now, 3.0, 10) == [url]
        # Leased: nobody else may claim it, even at once.
        assert quick.claim_listed("quick", now, 3.0, 10) == []
        # The slow worker pauses past its lease; the quick one claims and stores it.
        assert quick.claim_listed("quick", now + 4, 3.0, 10) == [url]
        quick.work_as("quick")
        quick.update_source(url, {"title": "stored by quick", "next_due": now + 3600})
        slow.work_as("slow")
        slow.update_source(url, {"title": "stored by slow", "next_due": now + 60})
        state = quick.source(url)
        assert state is not None
        assert (state.title, state.next_due) == ("stored by quick", now + 3600)
        # Stored, the source is not due again before its time.
        assert quick.claim_listed("quick", now + 5, 3.0, 10) == []


def test_a_turn_taken_as_its_last_holder_lets_go_sees_the_pause_that_holder_kept(
        pg_url: str) -> None:
    import psycopg

    site, url = "127.0.0.2", "http://127.0.0.2:9/feed.xml"
    with open_at(pg_url, Path()) as first, open_at(pg_url, Path()) as second, \
            psycopg.connect(pg_url, autocommit=True) as watcher, \
            psycopg.connect(pg_url) as letting_go:
        assert isinstance(first, Coordination) and isinstance(second, Coordination)
        now = time.time()
        assert first.take_site(site, url, "first", now, 0.0, 30.0) == ("taken", 0.0)
        # The first worker lets go of the turn (uncommitted yet) while the
        # second asks for it: the second has read that no pause is kept, and
        # waits on the site's row.
        letting_go.execute("UPDATE sites SET busy_until = NULL, busy_by = NULL "
                           "WHERE domain = %s", (site,))
        answers: list[tuple[str, float]] = []
        asking = threading.Thread(target=lambda: answers.append(
            second.take_site(site, url, "second", now, 0.0, 30.0)))
        asking.start()

        def second_waits_on_the_row() -> bool:
            row = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                                  "datname = current_database() AND wait_event_type = 'Lock'"
                                  ).fetchone()
            return row is not None and row[0] == 1
        _wait(second_waits_on_the_row, 10, "the second worker to wait for the site's row")
        # The site's answer asked for a pause, kept before the turn is given back.
        first.block_domain(site, now + 3600)
        letting_go.commit()
        asking.join(10)
        assert answers == [("blocked", now + 3600)]
        # And the turn stays free for whoever asks once the pause is over.
        assert first.take_site(site, url, "first", now + 3601, 0.0, 30.0) == ("taken", 0.0)


def test_a_worker_batch_asks_the_store_as_often_for_3_sources_listed_as_for_600(
        tmp_path: Path, pg_url: str) -> None:
    """A batch reads the source list's keys, adds new sources and reads the claimed
    states in a query each: a round trip per listed source would cost a worker more than
    the batch's own fetches (thousands of statements for a batch of a few sources)."""
    from feeds.config import load_config
    from feeds.model import SourceConfig
    from feeds.remote.refresh import Claim, refresh_claimed

    config = load_config(_project(tmp_path / "p", []))
    counts = []
    for listed in (3, 600):
        # Nothing listens on port 9: each claimed source fails at once, and is stored so.
        # A site of its own for each (127/8 is all loopback): no turn is waited for, so
        # no statement is repeated for the spacing between two requests to one site.
        sources = [SourceConfig(f"http://127.{1 + n // 250}.{listed % 250}.{1 + n % 250}:9/f.xml")
                   for n in range(listed)]
        with open_at(pg_url, Path()) as store:
            assert isinstance(store, Coordination)
            counting = CountingConnection(store._db)
            store._db = counting  # type: ignore[misc]
            outcomes = refresh_claimed(config, store, sources, Claim("w", 30.0, 2))  # type: ignore[arg-type]
        assert [o.status for o in outcomes] == ["error", "error"]
        counts.append(counting.statements)
    assert counts[1] == counts[0], counts


def test_a_worker_batch_sends_the_store_no_more_for_2000_sources_listed_than_for_50(
        tmp_path: Path, pg_url: str) -> None:
    """Once the list is in the store, a batch sends nothing the size of the list: the
    server's work per source fetched stays the same however long the list grows."""
    from feeds.config import load_config
    from feeds.model import SourceConfig
    from feeds.remote.refresh import Claim, refresh_claimed

    config = load_config(_project(tmp_path / "p", []))
    batches: list[tuple[int, int]] = []
    for listed in (50, 2000):
        # Nothing listens on port 9: each claimed source fails at once, and is stored so;
        # a site of its own for each, so that no turn is waited for.
        sources = [SourceConfig(f"http://127.{100 + listed % 7}.{n // 200}.{n % 200}:9/f.xml")
                   for n in range(listed)]
        with open_at(pg_url, Path()) as store:
            # The first batch puts the list in the store; the next one is counted.
            refresh_claimed(config, store, sources, Claim("w", 30.0, 2))  # type: ignore[arg-type]
            assert isinstance(store, Coordination)
            counting = CountingConnection(store._db)
            store._db = counting  # type: ignore[misc]
            outcomes = refresh_claimed(config, store, sources, Claim("w", 30.0, 2))  # type: ignore[arg-type]
        assert [o.status for o in outcomes] == ["error", "error"]
        batches.append((counting.statements, counting.sent))
    (few, few_sent), (many, many_sent) = batches
    assert many == few, batches
    # The 1,950 more URLs would be some 60,000 bytes more, in each of two statements.
    assert many_sent < few_sent + 500, batches


def test_a_batch_claims_only_sources_the_current_list_holds(tmp_path: Path,
                                                              pg_url: str) -> None:
    """A source taken off the list takes no place in a batch, however long it has been
    due: else a few removed sources would fill every batch, and listed ones wait."""
    from feeds.config import load_config
    from feeds.model import SourceConfig
    from feeds.remote.refresh import Claim, refresh_claimed

    config = load_config(_project(tmp_path / "p", []))
    gone, kept = "http://127.0.0.2:9/gone.xml", "http://127.0.0.3:9/kept.xml"

    def batch(*listed: str, limit: int = 1) -> list[str]:
        with open_at(pg_url, Path()) as store:
            return sorted(o.url for o in refresh_claimed(  # type: ignore[arg-type]
                config, store, [SourceConfig(u) for u in listed], Claim("w", 30.0, limit)))

    def due(url: str, when: float) -> None:
        with open_at(pg_url, Path()) as store:
            store.update_source(url, {"next_due": when})

    assert batch(gone, kept, limit=2) == [gone, kept]
    due(gone, 1.0)
    due(kept, 2.0)
    assert batch(kept) == [kept]
    # Listed again, it is claimed again, in its place.
    due(gone, 1.0)
    assert batch(kept, gone) == [gone]


def _requests(site: FeedServer, url: str) -> int:
    return len(site.requests_for(httpx.URL(url).path))


def test_a_source_listed_or_unlisted_while_workers_run_is_fetched_or_dropped(
        tmp_path: Path, sites: list[FeedServer], runs: list[Run], pg_url: str) -> None:
    import psycopg

    first, kept, added = _serve_sources(sites[:1], 3)
    site = sites[0]
    project = _project(tmp_path / "p", [first, kept])
    runs += [Run(project, pg_url, f"worker{n}", "--role", "fetch") for n in (1, 2)]
    _wait(_all_fetched(pg_url, 2), 60, "the two listed sources fetched")

    # Listed while the workers run: fetched soon, by one of them.
    write_links(project, kept, added)
    _wait(lambda: _stored(pg_url).get(added, (None, 0))[0] is not None, 60,
          "the source added to the list to be fetched")
    assert _requests(site, added) == 1
    # Taken off the list: not fetched again, even when due before one that is listed.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE sources SET next_due = 1 WHERE url = %s", (first,))
        conn.execute("UPDATE sources SET next_due = 2 WHERE url = %s", (kept,))
    _wait(lambda: _requests(site, kept) == 2, 60, "the listed source fetched again")
    for run in runs:
        assert run.stop() == 0, run.text()
    assert _requests(site, first) == 1
    assert first in _stored(pg_url)  # its row and entries stay, as with SQLite


def test_two_fetch_workers_and_a_publisher_publish_what_one_sqlite_process_does(
        tmp_path: Path, many_sites: list[FeedServer], runs: list[Run], pg_url: str) -> None:
    sites = many_sites
    urls = _serve_sources(sites, 500)
    project = _project(tmp_path / "shared", urls)
    alone = tmp_path / "alone"
    shutil.copytree(project, alone)  # the same articles, their times kept

    runs.append(Run(project, pg_url, "publisher", "--role", "publish"))
    runs += [Run(project, pg_url, f"worker{n}", "--role", "fetch") for n in (1, 2)]
    _wait(_all_fetched(pg_url, 500), 120, "every source fetched by the workers")
    for run in runs[1:]:
        assert run.stop() == 0, run.text()
    # Stopped cleanly, a worker leaves the workers, and holds no lease.
    with open_at(pg_url, Path()) as store:
        assert {w.pid for w in store.workers(time.time())} == {runs[0].pid}
        assert all(w.in_flight == 0 for w in store.workers(time.time()))
    # Each source was asked for exactly once, by one worker or the other.
    for i, url in enumerate(urls):
        asked = sites[i % len(sites)].requests_for(f"/f{i}.xml")
        assert len(asked) == 1, (url, len(asked))
    worker1, worker2 = (_fetched_by(run) for run in runs[1:])
    assert worker1 and worker2 and not worker1 & worker2
    assert worker1 | worker2 == set(urls)
    for site in sites:
        _one_at_a_time(site)
    assert all(entries == 2 for _, entries in _stored(pg_url).values())

    # One process on a SQLite store, fetching the same sources, writes the same bytes.
    done = subprocess.run([sys.executable, "-m", "feeds", "build"], cwd=alone, env=child_env(),
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    expected = _output(alone)
    assert len(expected) > 10 and b"<title>Story " in expected["all.atom"]
    _wait(lambda: _output(project) == expected, 60, "the publisher's output to match")
    publisher = runs[0]
    assert "publisher: took the seat; publishing" in publisher.text()
    assert "new remote entries" in publisher.text()


def test_a_worker_killed_holding_leases_leaves_its_sources_to_another(
        tmp_path: Path, sites: list[FeedServer], runs: list[Run], pg_url: str) -> None:
    # Slow answers: the worker holds leases (and a site's turn) when it dies.
    urls = _serve_sources(sites[:2], 16, delay=0.4)
    project = _project(tmp_path / "p", urls)
    first = Run(project, pg_url, "first", "--role", "fetch")
    runs.append(first)

    def holding() -> bool:
        with open_at(pg_url, Path()) as store:
            return any(w.in_flight for w in store.workers(time.time())) and any(
                when is not None for when, _ in _stored(pg_url).values())
    _wait(holding, 60, "the first worker to store a source and hold leases")
    first.kill()
    left = {url for url, (when, _) in _stored(pg_url).items() if when is None}
    assert left

    second = Run(project, pg_url, "second", "--role", "fetch")
    runs.append(second)
    _wait(_all_fetched(pg_url, 16), 120, "the second worker to fetch what the first held")
    assert left <= _fetched_by(second)
    # Every entry stored once: two per source, none lost, none twice.
    assert all(entries == 2 for _, entries in _stored(pg_url).values())
    with open_at(pg_url, Path()) as store:
        assert store.row_counts()["entries"] == 2 * 16
    for site in sites[:2]:
        _one_at_a_time(site)

    # `feeds sources` names both workers: the killed one gone, the other alive.
    def listed() -> str:
        done = subprocess.run([sys.executable, "-m", "feeds", "sources"], cwd=project,
                              env=child_env(FEEDS_STORE=pg_url), capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout
    _wait(lambda: re.search(rf"worker \S+ pid {first.pid} \(fetch\)\n  status: gone",
                            listed()) is not None, 60, "the killed worker shown as gone")
    shown = listed()
    assert re.search(rf"worker \S+ pid {second.pid} \(fetch\)\n  status: alive", shown), shown


def test_a_standby_publisher_takes_over_when_the_publisher_is_killed(
        tmp_path: Path, sites: list[FeedServer], runs: list[Run], pg_url: str) -> None:
    urls = _serve_sources(sites[:1], 2)
    project = _project(tmp_path / "p", urls)
    ports = {}
    for name in ("one", "two"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports[name] = s.getsockname()[1]
    one, two = (Run(project, pg_url, name, "--role", "publish", "--serve", "--port",
                    str(ports[name])) for name in ("one", "two"))
    runs += [one, two, Run(project, pg_url, "worker", "--role", "fetch")]
    seated = "publisher: took the seat; publishing"
    standing = "publisher: standby; another publisher holds the seat"
    _wait(lambda: (seated in one.text()) != (seated in two.text()), 60, "a publisher seated")
    holder, standby = (one, two) if seated in one.text() else (two, one)
    _wait(lambda: standby in runs and standing in standby.text(), 60, "the other on standby")

    def titles() -> set[str]:
        path = project / "output" / "all.atom"
        # Read at any moment, the feed is whole: files are only renamed into place.
        return {e.title for e in assert_valid_atom(path.read_bytes()).entries} \
            if path.exists() else set()
    _wait(lambda: {"Story 0 first", "Story 1 second"} <= titles(), 60, "the first publish")
    holder.kill()
    # A source added now is fetched by the worker and published by the standby alone.
    fresh = sites[0].route("/fresh.xml", Response(
        body=rss([("fresh", "Fresh after failover", "New.")]),
        content_type="application/rss+xml"))
    write_links(project, *urls, fresh)
    _wait(lambda: "Fresh after failover" in titles(), 60, "the standby to publish")
    assert seated in standby.text()
    assert standby.alive()

    # /healthz of the survivor lists every process sharing the store, the killed one gone.
    port = ports["one" if standby is one else "two"]

    def sharing() -> dict[int, tuple[str, str]]:
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
        assert health["role"] == "publish"
        return {w["pid"]: (w["role"], w["status"]) for w in health["workers"]}
    _wait(lambda: sharing().get(holder.pid) == ("publish", "gone"), 60,
          "the killed publisher shown as gone")
    assert sharing()[standby.pid] == ("publish", "alive")
    assert sharing()[runs[2].pid] == ("fetch", "alive")


def test_a_worker_and_a_publisher_go_on_when_postgresql_restarts_under_them(
        tmp_path: Path, sites: list[FeedServer], runs: list[Run], pg_url: str,
        pg_cluster: object) -> None:
    from pgcluster import Cluster

    assert isinstance(pg_cluster, Cluster)
    urls = _serve_sources(sites[:2], 4)
    project = _project(tmp_path / "p", urls)
    worker = Run(project, pg_url, "worker", "--role", "fetch")
    publisher = Run(project, pg_url, "publisher", "--role", "publish")
    runs += [worker, publisher]
    _wait(_all_fetched(pg_url, 4), 60, "the first sources fetched")
    _wait(lambda: b"Story 3 second" in _output(project).get("all.atom", b""), 60,
          "the first publish")
    pg_cluster.restart()
    # The store is told of a new source only through the worker, after the restart.
    more = _serve_sources(sites[:2], 6)
    write_links(project, *more)
    _wait(_all_fetched(pg_url, 6), 60, "the worker to fetch a source added after the restart")
    assert worker.alive()
    assert all(entries == 2 for _, entries in _stored(pg_url).values())
    assert more[5] in _fetched_by(worker)
    # The publisher lost its seat with its connection, took it again, and publishes.
    _wait(lambda: b"Story 5 second" in _output(project).get("all.atom", b""), 60,
          "the publisher to publish after the restart")
    assert publisher.alive()
    assert publisher.text().count("publisher: took the seat; publishing") == 2


def test_a_pause_one_worker_is_asked_for_holds_every_worker(
        tmp_path: Path, sites: list[FeedServer], runs: list[Run], pg_url: str) -> None:
    busy = sites[0]
    urls = [busy.route(f"/p{i}.xml", Response(status=429, headers={"Retry-After": "3600"},
                                             delay=0.1)) for i in range(100)]
    project = _project(tmp_path / "p", urls)
    runs += [Run(project, pg_url, f"worker{n}", "--role", "fetch") for n in (1, 2)]

    def settled() -> bool:
        with open_at(pg_url, Path()) as store:
            states = store.sources()
        return len(states) == 100 and all(s.last_fetch is not None for s in states)
    _wait(settled, 60, "every source tried or deferred")
    # The site asked once and said wait an hour: neither worker asked it again.
    assert len(busy.requests) == 1, [r.path for r in busy.requests]
    assert all(run.alive() and "fetch deferred: " in run.text() for run in runs)


def test_workers_killed_at_random_moments_lose_and_repeat_no_entry(
        tmp_path: Path, sites: list[FeedServer], runs: list[Run], pg_url: str) -> None:
    urls = _serve_sources(sites[:3], 45, delay=0.5)
    project = _project(tmp_path / "p", urls)
    steady = Run(project, pg_url, "steady", "--role", "fetch")
    runs.append(steady)
    seed = random.randrange(1 << 30)
    moments = random.Random(seed)
    killed = []
    for round_ in range(4):
        flaky = Run(project, pg_url, f"flaky{round_}", "--role", "fetch")
        runs.append(flaky)
        time.sleep(moments.uniform(1.0, 3.0))  # a random moment of its work, not a measure
        flaky.kill()
        killed.append(flaky)
    _wait(_all_fetched(pg_url, 45), 120, f"every source stored (seed {seed})")
    stored = _stored(pg_url)
    assert all(entries == 2 for _, entries in stored.values()), seed
    with open_at(pg_url, Path()) as store:
        assert store.row_counts()["entries"] == 90, seed

    def listed() -> dict[int, bool]:
        """Pid → gone, of the killed workers that lived long enough to say they were alive."""
        with open_at(pg_url, Path()) as store:
            now = time.time()
            return {w.pid: w.gone(now) for w in store.workers(now)
                    if w.pid in {run.pid for run in killed}}
    assert listed(), seed
    _wait(lambda: all(listed().values()), 60, f"the killed workers shown as gone (seed {seed})")
    for site in sites[:3]:
        _one_at_a_time(site)


def test_feeds_run_without_a_role_claims_its_sources_and_publishes_only_from_the_seat(
        tmp_path: Path, many_sites: list[FeedServer], runs: list[Run], pg_url: str) -> None:
    urls = _serve_sources(many_sites, 150)
    project = _project(tmp_path / "p", urls)
    publisher = Run(project, pg_url, "publisher", "--role", "publish")
    runs.append(publisher)
    seated = "publisher: took the seat; publishing"
    _wait(lambda: seated in publisher.text(), 60, "the publisher seated")
    both = Run(project, pg_url, "both")  # no --role: fetches and publishes
    worker = Run(project, pg_url, "worker", "--role", "fetch")
    runs += [both, worker]
    _wait(_all_fetched(pg_url, 150), 120, "every source fetched")
    # It claims sources as the worker does: each asked for once, by one or the other.
    for i, url in enumerate(urls):
        assert len(many_sites[i % len(many_sites)].requests_for(f"/f{i}.xml")) == 1, url
    by_both, by_worker = _fetched_by(both), _fetched_by(worker)
    assert by_both and by_worker and not by_both & by_worker
    assert by_both | by_worker == set(urls)
    for site in many_sites:
        _one_at_a_time(site)

    def published() -> bool:
        path = project / "output" / "all.atom"
        entries = assert_valid_atom(path.read_bytes()).entries if path.exists() else []
        return len(entries) == 50 and all(e.title.startswith("Story ") for e in entries)
    _wait(published, 60, "the publisher to publish the fetched stories")
    # The seat is taken: it waits as a standby, and takes over when the publisher stops.
    assert "publisher: standby; another publisher holds the seat" in both.text()
    assert seated not in both.text() and "rebuilt" not in both.text()
    assert publisher.stop() == 0
    _wait(lambda: seated in both.text(), 60, "the process without a role to take the seat")
    with open_at(pg_url, Path()) as store:
        roles = {w.pid: w.role for w in store.workers(time.time())}
    assert roles == {both.pid: "fetch+publish", worker.pid: "fetch"}
