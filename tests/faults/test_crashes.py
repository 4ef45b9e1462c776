"""Faults a real deployment meets: kill -9, a full disk, a read-only output, two builds at once.

Everything is real: the CLI runs as subprocesses on files in a temporary
project with its SQLite store, remote feeds come from the loopback feed
server, and every feed left behind is read back with `assert_valid_atom`.
The kills during builds and fetches run on a PostgreSQL store too (the
`backend` fixture): a client killed mid-transaction must leave the store
and the feeds whole there as well. The full disk and the project lock are
about the project's own files, and stay on SQLite.
The kill moments come from a seeded generator, so a failing round can be
replayed; the round and the delay are in every assertion message.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from atomcheck import assert_valid_atom
from conftest import REPO, CliRunner, child_env
from feedserver import FeedServer, RecordedRequest, Response
from filemodes import obey_file_modes, read_only_is_enforced
from htmlcheck import HtmlChecker
from lxml import etree
from remote_feeds import atom, json_feed, rss

from feeds import build
from feeds.cli import main
from feeds.config import load_config
from feeds.lock import ProjectLock
from feeds.publish.write import TMP_PREFIX
from feeds.store import LOCAL, Store, open_at

SEED = 20260124
ENV = dict(os.environ, PYTHONPATH=str(REPO))
STORE = Path(".feeds") / "state.sqlite3"

# --- processes -----------------------------------------------------------------


def _start(args: list[str], cwd: Path, **options: Any) -> subprocess.Popen[str]:
    """`python -m feeds ARGS` in its own session, so helpers it forks can be found."""
    options.setdefault("stdout", subprocess.DEVNULL)
    options.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen([sys.executable, "-m", "feeds", *args], cwd=cwd, env=child_env(),
                            text=True,
                            start_new_session=True, **options)


def _session(sid: int) -> list[int]:
    """Live processes of session `sid` (a killed leader's forked helpers, if any)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == sid and state != "Z":
            members.append(int(entry.name))
    return members


def _kill_9(proc: subprocess.Popen[str]) -> list[int]:
    """SIGKILL `proc` by its pid, then any process it left behind; returns those pids."""
    proc.kill()
    proc.wait(timeout=10)
    time.sleep(0.05)
    left = _session(proc.pid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def _check(result: subprocess.CompletedProcess[str], where: str) -> str:
    """The stdout of a run that must have succeeded cleanly."""
    assert result.returncode == 0, f"{where}: exit {result.returncode}\n{result.stderr}"
    assert "Traceback" not in result.stderr, f"{where}:\n{result.stderr}"
    return result.stdout


# --- articles in the shape of the seed article ---------------------------------------

ZH_WORDS = ("储能", "电站", "并网", "发电", "芯片", "封装", "工厂", "湿地", "调查", "铁路",
            "货运", "数字化", "茶叶", "出口", "编译器", "热泵", "销售", "城市", "图书馆")
EN_WORDS = ("storage", "plant", "grid", "chip", "packaging", "wetland", "survey", "rail",
            "freight", "tea", "exports", "compiler", "heat", "pump", "sales", "library")


@dataclass
class Corpus:
    """Generated bilingual articles and what publishing them must give."""

    folder: Path
    words: int = 20  # per paragraph: longer articles make larger feeds, slower to check
    versions: dict[int, int] = field(default_factory=dict)  # article number → version

    def revise(self, rng: random.Random, count: int, share: float, version: int) -> None:
        """Keep articles 0..count-1: write new ones, rewrite about `share` of the rest."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for number in [n for n in self.versions if n >= count]:
            (self.folder / f"brief-{number:04d}.md").unlink()
            del self.versions[number]
        for number in range(count):
            if number not in self.versions or rng.random() < share:
                self._write(number, version)

    def _write(self, number: int, version: int) -> None:
        rng = random.Random(number * 7919 + version)
        zh = "".join(rng.choice(ZH_WORDS) for _ in range(self.words))
        en = " ".join(rng.choice(EN_WORDS) for _ in range(self.words * 3)).capitalize()
        link = f"https://news.example.org/{number}"
        hour = f"{number // 24 + 1:02d}T{number % 24:02d}"
        tags = "".join(f"- {tag}\n" for tag in self.tags(number))
        text = (
            f"---\ntitle: {self.title(number, version)}\n"
            f"date: 2025-01-{hour}:00:00Z\nupdated: 2025-03-{hour}:{version % 60:02d}:00Z\n"
            f"description: Brief {number}, version {version}, on storage and the grid\n"
            f"tags: \n{tags}author: desk\n---\n\n[原文链接]({link})\n\n{zh}\n\n"
            f"**储能快讯**\n\n- {zh[::-1]}。\n\n---\n\n **Summary**\n\n- {en}.\n\n"
            f"[Source Link]({link})\n"
        )
        (self.folder / f"brief-{number:04d}.md").write_text(text, encoding="utf-8")
        self.versions[number] = version

    @staticmethod
    def title(number: int, version: int) -> str:
        return f"第{number}号快讯：储能与电网（第{version}版）"

    @staticmethod
    def tags(number: int) -> list[str]:
        return [f"topic{number % 4}", *(["科技"] if number % 3 == 0 else [])]

    def assert_published(self, feeds: Mapping[str, Any], store: Path, summary: str,
                         where: str, per_feed: int = 50) -> None:
        """The feeds (`per_feed` newest entries each) and the store hold the current articles."""
        n = len(self.versions)
        assert f"read {n} articles, published {n} entries" in summary, f"{where}: {summary}"
        with open_at(os.environ.get("FEEDS_STORE"), store) as opened:
            # Every article is known; only those a feed can show need be stored.
            assert len(opened.article_cache()) == n, where
            assert opened.count_entries(LOCAL) <= n, where
        newest = sorted(self.versions, reverse=True)  # dated in the order of their numbers
        expected = {
            "all.atom": [self.title(k, self.versions[k]) for k in newest[:per_feed]],
            "lang/zh.atom": [self.title(k, self.versions[k]) for k in newest[:per_feed]],
            "lang/en.atom": [f"Brief {k}, version {self.versions[k]}, on storage and the grid"
                             for k in newest[:per_feed]],
        }
        for tag in {tag for k in newest for tag in self.tags(k)}:
            tagged = [k for k in newest if tag in self.tags(k)][:per_feed]
            expected[f"tags/{tag}.atom"] = [self.title(k, self.versions[k]) for k in tagged]
        got = {rel: [e.title for e in feed.entries] for rel, feed in feeds.items()}
        assert got == expected, where


# --- checking what a crash left behind --------------------------------------------------


class OutputChecker:
    """Validates every feed of an output directory, each file version only once.

    Files are replaced by rename, so a path whose inode, size and mtime are
    unchanged since it was last validated holds the same bytes.
    """

    def __init__(self, output: Path) -> None:
        self.output = output
        self._seen: dict[str, tuple[tuple[int, int, int], Any]] = {}

    def check(self, where: str) -> dict[str, Any]:
        """Every feed parsed by relative path; AssertionError if one is not complete."""
        feeds: dict[str, Any] = {}
        for path in sorted(self.output.rglob("*.atom")):
            rel = path.relative_to(self.output).as_posix()
            st = path.stat()
            key = (st.st_ino, st.st_size, st.st_mtime_ns)
            if rel not in self._seen or self._seen[rel][0] != key:
                try:
                    self._seen[rel] = (key, assert_valid_atom(path))
                except AssertionError as exc:
                    raise AssertionError(f"{where}: {exc}") from None
            feeds[rel] = self._seen[rel][1]
        assert "all.atom" in feeds, f"{where}: all.atom is missing"
        etree.parse(str(self.output / "feeds.opml"))  # complete XML
        index = (self.output / "index.html").read_text(encoding="utf-8")
        assert index.rstrip().endswith("</html>"), f"{where}: index.html is cut short"
        return feeds


def _temporary_files(output: Path) -> list[Path]:
    return sorted(output.rglob(TMP_PREFIX + "*"))


def _assert_store_sound(path: Path, where: str) -> None:
    """The store at `path` passes SQLite's integrity check and opens as a feeds store."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where
        assert db.execute("PRAGMA foreign_key_check").fetchall() == [], where
    finally:
        db.close()
    with Store(path) as store:
        assert store.integrity_ok(), where


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below `folder` (temporary ones included) with its bytes and mtime."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _contents(folder: Path) -> dict[str, bytes]:
    return {k: v[0] for k, v in _snapshot(folder).items()}


# --- 1. kill -9 during a build ------------------------------------------------------------

BUILD_ROUNDS = 25
PG_BUILD_ROUNDS = 6
ARTICLES = 240
CHANGED = 0.1  # the share of articles rewritten per round
PER_FEED = 20  # entries per feed: each costs ~1.5 ms to validate


def _build_in_process(project: Path, capsys: pytest.CaptureFixture[str], where: str) -> str:
    """`feeds build` through the CLI's own entry point; its summary line.

    The builds that are killed run as subprocesses; the one after each kill
    runs here, which spares it the start-up (imports) of a process per
    round and checks the same exit status.
    """
    status = main(["build", "--root", str(project)])
    out, err = capsys.readouterr()
    assert (status, err) == (0, ""), f"{where}: next build: exit {status}\n{err}"
    return out


@pytest.mark.slow
def test_kill_9_during_builds_leaves_valid_feeds_and_store(
        backend: str, project: Path, run_cli: CliRunner,
        capsys: pytest.CaptureFixture[str]) -> None:
    # On PostgreSQL a few rounds: the server keeps its transactions whole; what is
    # checked there is what a killed build committed against the files it wrote.
    rounds = BUILD_ROUNDS if backend == "sqlite" else PG_BUILD_ROUNDS
    rng = random.Random(SEED)
    (project / "feeds.toml").write_text(f"entries_per_feed = {PER_FEED}\n", encoding="utf-8")
    corpus = Corpus(project / "sources" / "articles")
    output = project / "output"
    checker = OutputChecker(output)
    corpus.revise(rng, ARTICLES, 1.0, 0)
    _check(run_cli("build", cwd=project), "first build")
    # One round's build, timed: the kills fall anywhere from start-up to exit.
    corpus.revise(rng, ARTICLES, CHANGED, rounds + 1)
    started = time.monotonic()
    _check(run_cli("build", cwd=project), "timed build")
    duration = time.monotonic() - started
    running = stored = replaced = left = 0
    for round_ in range(1, rounds + 1):
        corpus.revise(rng, rng.randint(ARTICLES - 20, ARTICLES + 20), CHANGED, round_)
        before = _contents(output)
        proc = _start(["build"], project)
        where, waited = _kill_moment(proc, rng, round_, duration, _writing_output(output))
        hit = proc.poll() is None
        running += hit
        if not hit and waited is not None:
            # Builds run faster now than the timed one did (the machine was
            # busier then): aim the next kills within the time this one took.
            duration = max(waited * 0.9, 0.05)
        assert _kill_9(proc) == [], f"{where}: the killed build left processes behind"
        checker.check(where)
        _store_sound(project, where)
        stored += _holds_version(project, round_)
        after = _contents(output)
        replaced += any(after.get(k) != v for k, v in before.items())
        left += any(TMP_PREFIX in rel for rel in after)

        summary = _build_in_process(project, capsys, where)
        assert _temporary_files(output) == [], where
        corpus.assert_published(checker.check(where), project / STORE, summary, where,
                                per_feed=PER_FEED)
    # And the command itself still exits 0, with nothing left to do.
    assert " 0 files written" in _check(run_cli("build", cwd=project), "last build")
    print(f"\nbuild takes {duration:.2f} s; of {rounds} kills {running} hit a running "
          f"build, {stored} after it stored articles, {replaced} after it replaced files, "
          f"{left} left temporary files")
    # Most kills must hit a running build, or the rounds prove little.
    assert running >= rounds * 0.6


def _wait_until(proc: subprocess.Popen[str], seen: Callable[[], bool]) -> bool:
    """Poll until `seen()` is true while `proc` runs; whether it became true."""
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if seen():
            return True
        time.sleep(0.0005)
    return False


def _writing_output(output: Path) -> Callable[[], bool]:
    """Whether a temporary file exists in `output`: a build is writing its files."""

    def seen() -> bool:
        for folder in (output, *(output / d for d in ("lang", "tags"))):
            with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
                if any(e.name.startswith(TMP_PREFIX) for e in entries):
                    return True
        return False

    return seen


def _writing_store(project: Path) -> Callable[[], bool]:
    """Whether the store's write-ahead log has grown: a transaction has been written.

    SQLite removes the log when the last connection closes, as every check
    here does, so each command starts without one.
    """
    wal = project / STORE.with_name(STORE.name + "-wal")

    def seen() -> bool:
        with contextlib.suppress(FileNotFoundError):
            return wal.stat().st_size > 0
        return False

    return seen


def _kill_moment(proc: subprocess.Popen[str], rng: random.Random, round_: int, duration: float,
                 busy: Callable[[], bool]) -> tuple[str, float | None]:
    """Wait for a random moment of `proc`'s run; describe it, and the random delay waited.

    Two rounds in three wait a random delay up to a whole run. Storing and
    writing take a few milliseconds of it, so every third round waits until
    `busy()` says that has begun, then a random few milliseconds more.
    """
    if round_ % 3:
        delay = rng.uniform(0, duration)
        time.sleep(delay)
        return f"round {round_}: killed after {delay:.3f} s of {duration:.2f} s", delay
    assert _wait_until(proc, busy), f"round {round_}: the moment to kill never came"
    delay = rng.uniform(0, 0.02)
    time.sleep(delay)
    return f"round {round_}: killed {delay:.3f} s after it began to write", None


def _holds_version(project: Path, version: int) -> bool:
    """Whether the store holds an article of this version (a killed build stored them)."""
    mark = f"version {version}, on storage"
    with open_at(os.environ.get("FEEDS_STORE"), project / STORE) as store:
        return any(mark in row[8] for row in store.rows("entries"))


# --- 2. kill -9 during a store update ---------------------------------------------------------

FETCH_ROUNDS = 6
SOURCES = 4  # two per host: a fetch takes a second of politeness delays


def _entries(round_: int) -> int:
    return 40 + 10 * round_


def _remote_feed(k: int, round_: int) -> Response:
    """Source k as served in round `round_`: every entry and the title carry the round."""
    items = [(f"s{k}-e{i}", f"Source {k} item {i}", f"Item {i} of source {k}, rnd{round_}z. "
              + "Grid storage and rail freight news. " * 4) for i in range(_entries(round_))]
    title = f"Source {k} rnd{round_}z"
    kind = k % 3
    if kind == 0:
        return Response(body=rss(items, title=title))
    if kind == 1:
        return Response(body=atom(items, title=title).replace("urn:loop:feed", f"urn:loop:{k}"))
    return Response(body=json_feed(items, title=title), content_type="application/feed+json")


def _serve_sources(server: FeedServer, project: Path, rounds: dict[str, int],
                   count: int = SOURCES) -> list[str]:
    """`count` feeds on two hosts (two politeness domains), listed in links.toml."""
    urls = []
    for k in range(count):
        def answer(_request: RecordedRequest, k: int = k) -> Response:
            return _remote_feed(k, rounds["now"])

        server.route(f"/feed-{k}", answer)
        urls.append(server.url(f"/feed-{k}", host="127.0.0.1" if k % 2 else "localhost"))
    (project / "sources" / "links.toml").write_text(
        "".join(f'[[source]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8")
    (project / "feeds.toml").write_text("retention_entries = 100000\n", encoding="utf-8")
    return urls


def _stored_rounds(project: Path) -> dict[str, tuple[int | None, set[int], int]]:
    """Per source URL: the round in its stored title, the rounds in its entries, their count."""
    with open_at(os.environ.get("FEEDS_STORE"), project / STORE) as store:
        titles = {key: title for key, _, title, *_ in store.rows("sources")}
        entries: dict[str, list[str]] = {key: [] for key in titles}
        for _, origin, *_, data, _ in store.rows("entries"):
            entries.setdefault(origin, []).append(data)
    result = {}
    for key, title in titles.items():
        found = re.search(r"rnd(\d+)z", title or "")
        marks = {int(m) for data in entries[key] for m in re.findall(r"rnd(\d+)z", data)}
        result[key] = (int(found.group(1)) if found else None, marks, len(entries[key]))
    return result


def _store_sound(project: Path, where: str) -> None:
    """The project's store is sound: SQLite's checks pass; a PostgreSQL store opens and reads.

    PostgreSQL keeps its own files whole when a client dies; what a killed
    client leaves there is only what it committed, which the callers check.
    """
    url = os.environ.get("FEEDS_STORE")
    if url is None:
        _assert_store_sound(project / STORE, where)
        return
    with open_at(url, project / STORE) as store:
        assert sum(store.row_counts().values()), where


@contextlib.contextmanager
def _committing(project: Path, round_: int) -> Iterator[Callable[[], bool]]:
    """Whether a fetch of `round_` has committed a source: the store is being written.

    On SQLite, its write-ahead log has grown (see `_writing_store`); on
    PostgreSQL, a source's row holds this round's title.
    """
    url = os.environ.get("FEEDS_STORE")
    if url is None:
        yield _writing_store(project)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        def seen() -> bool:
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM sources WHERE title LIKE %s)",
                               (f"%rnd{round_}z%",)).fetchone()
            return bool(row and row[0])

        yield seen


@pytest.mark.slow
def test_kill_9_during_fetches_stores_each_source_whole(
        backend: str, project: Path, feed_server: FeedServer, run_cli: CliRunner) -> None:
    rng = random.Random(SEED + 1)
    rounds = {"now": 0}
    urls = _serve_sources(feed_server, project, rounds)
    started = time.monotonic()
    _check(run_cli("fetch", cwd=project), "timed fetch")
    duration = time.monotonic() - started
    killed_running = changed = 0
    for round_ in range(1, FETCH_ROUNDS + 1):
        rounds["now"] = round_
        before = _stored_rounds(project)
        proc = _start(["fetch"], project)
        with _committing(project, round_) as busy:
            where, waited = _kill_moment(proc, rng, round_, duration, busy)
        hit = proc.poll() is None
        killed_running += hit
        if not hit and waited is not None:
            duration = max(waited * 0.9, 0.05)  # as for builds: aim within the time it took
        _kill_9(proc)
        _store_sound(project, where)
        stored = _stored_rounds(project)
        for url, (title_round, entry_rounds, count) in stored.items():
            # One transaction per source: its title, its entries and their number
            # all come from the same fetch, never from two.
            assert title_round is not None, f"{where}: {url}"
            assert entry_rounds == {title_round}, f"{where}: {url} mixes rounds {entry_rounds}"
            assert count == _entries(title_round), f"{where}: {url} holds {count} entries"
        changed += sum(stored[url] != before[url] for url in urls)
    summary = _check(run_cli("fetch", cwd=project), "fetch after the last kill")
    assert f"fetched {SOURCES} sources ({SOURCES} ok)" in summary, summary
    stored = _stored_rounds(project)
    assert sorted(stored) == sorted(urls)
    for url, state in stored.items():
        assert state == (FETCH_ROUNDS, {FETCH_ROUNDS}, _entries(FETCH_ROUNDS)), url
    _check(run_cli("build", "--offline", cwd=project), "build after the fetches")
    feeds = OutputChecker(project / "output").check("build after the fetches")
    assert len(feeds["all.atom"].entries) == 50  # entries_per_feed
    print(f"\nfetch takes {duration:.2f} s; {killed_running}/{FETCH_ROUNDS} killed while running;"
          f" {changed} source updates were stored before a kill")
    assert killed_running >= FETCH_ROUNDS // 2


@pytest.mark.slow
@pytest.mark.parametrize("command", ["fetch", "build"])
def test_kill_9_with_worker_processes_alive_frees_the_project(
        command: str, project: Path, feed_server: FeedServer) -> None:
    # Eight sources, or 240 new articles, are parsed in a pool of forked workers.
    if command == "fetch":
        _serve_sources(feed_server, project, {"now": 1}, count=8)
    else:
        Corpus(project / "sources" / "articles").revise(random.Random(SEED), ARTICLES, 1.0, 0)
    proc = _start([command], project)
    deadline = time.monotonic() + 20
    while len(_session(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is not None or len(_session(proc.pid)) < 2:
        _kill_9(proc)
        pytest.skip(f"feeds {command} started no worker processes to leave behind")
    proc.kill()
    proc.wait(timeout=10)
    time.sleep(0.5)  # time enough for workers to notice that their parent is gone
    try:
        # Workers forked while the lock was held must not keep it.
        with ProjectLock(project / ".feeds" / "lock", wait=0):
            pass
        _assert_store_sound(project / STORE, f"killed {command}")
    finally:
        orphans = _kill_9(proc)
    assert not orphans, f"{len(orphans)} forked workers outlived the killed {command}"


def _workers(proc: subprocess.Popen[str]) -> set[int]:
    """The live processes `proc` forked (its session, less itself)."""
    return set(_session(proc.pid)) - {proc.pid}


def _kill_workers_while(proc: subprocess.Popen[str], start: Callable[[], bool], *,
                        every: bool) -> tuple[set[int], set[int]]:
    """Once `start()`, SIGKILL `proc`'s workers: the first one seen, or `every` one until it
    ends. Returns the workers killed and those seen after the first kill."""
    deadline = time.monotonic() + 60
    killed: set[int] = set()
    seen_after: set[int] = set()
    while proc.poll() is None and time.monotonic() < deadline:
        workers = _workers(proc) - killed
        if killed:
            seen_after |= workers
        if start() and workers and (every or not killed):
            victim = min(workers)
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
            killed.add(victim)
        time.sleep(0.002)
    return killed, seen_after


def _run_killing_workers(args: list[str], project: Path, start: Callable[[], bool], *,
                         every: bool) -> tuple[set[int], set[int], int, str, str]:
    """`feeds ARGS` with its workers killed (see `_kill_workers_while`): the workers killed,
    those seen after, and its exit status, stdout and stderr."""
    proc = _start(args, project, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        killed, after = _kill_workers_while(proc, start, every=every)
        out, err = proc.communicate(timeout=120)
    finally:
        _kill_9(proc)
    assert killed, "no worker to kill"
    return killed, after, proc.returncode, out, err


@pytest.mark.slow
def test_a_parse_worker_killed_mid_fetch_costs_no_source(
        project: Path, feed_server: FeedServer) -> None:
    """A worker's death breaks its whole pool: the bodies it held are parsed again, one
    at a time, and a fresh pool takes the rest; every source is stored."""
    urls = _serve_sources(feed_server, project, {"now": 1}, count=40)
    def answered() -> bool:
        return sum(len(feed_server.requests_for(f"/feed-{k}")) for k in range(40)) >= 6

    killed, after, status, _, err = _run_killing_workers(["fetch", "--quiet"], project, answered,
                                                         every=False)
    assert len(killed) == 1
    assert after, "the fetch went on without a new worker: the kill came too late to matter"
    assert status == 0 and "Traceback" not in err, err
    assert err == "", err
    stored = _stored_rounds(project)
    assert sorted(stored) == sorted(urls)
    for url, state in stored.items():
        assert state == (1, {1}, _entries(1)), url


@pytest.mark.slow
def test_a_feed_that_kills_every_parse_worker_fails_alone(
        project: Path, feed_server: FeedServer) -> None:
    """Every worker dies (as one would on a body that crashes a parser): each body is tried
    alone, each source whose worker died that way fails with the reason, the rest is kept."""
    urls = _serve_sources(feed_server, project, {"now": 1}, count=12)
    _, _, status, _, err = _run_killing_workers(["fetch", "--quiet"], project, lambda: True,
                                                every=True)
    assert status == 0 and "Traceback" not in err, err
    lost = [line for line in err.splitlines() if "ended without an answer" in line]
    assert lost and all(line.split(": ", 1)[0] in urls for line in lost), err
    assert len(err.splitlines()) == len(lost), err
    failed = {line.split(": ", 1)[0] for line in lost}
    stored = _stored_rounds(project)
    assert sorted(stored) == sorted(urls)
    for url in urls:  # a source either failed alone or was stored whole
        expected = (None, set(), 0) if url in failed else (1, {1}, _entries(1))
        assert stored[url] == expected, url


@pytest.mark.slow
def test_a_read_worker_killed_mid_build_costs_no_article(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A cold build's worker dies: the files it held are read again, one at a time, and
    fresh workers read the rest; every article is published as by an undisturbed build."""
    (project / "feeds.toml").write_text(f"entries_per_feed = {PER_FEED}\n", encoding="utf-8")
    corpus = Corpus(project / "sources" / "articles", words=400)
    corpus.revise(random.Random(SEED), ARTICLES, 1.0, 0)
    killed, after, status, out, err = _run_killing_workers(["build"], project, lambda: True,
                                                           every=False)
    assert len(killed) == 1
    assert after, "the build went on without a new worker: the kill came too late to matter"
    assert (status, err) == (0, ""), err
    corpus.assert_published(OutputChecker(project / "output").check("after the kill"),
                            project / STORE, out, "after the kill", per_feed=PER_FEED)


@pytest.mark.slow
def test_an_article_that_kills_every_read_worker_fails_alone(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every worker dies (as one would on a file that crashes a parser): each file whose
    worker died alone is a `path:1: reason` problem, the rest is published, and the next
    build reads them again."""
    (project / "feeds.toml").write_text(f"entries_per_feed = {PER_FEED}\n", encoding="utf-8")
    corpus = Corpus(project / "sources" / "articles")
    corpus.revise(random.Random(SEED), ARTICLES, 1.0, 0)
    _, _, status, out, err = _run_killing_workers(["build"], project, lambda: True, every=True)
    assert "Traceback" not in err, err
    lost = re.findall(r"^sources/articles/(brief-\d{4}\.md):1: the process reading this file "
                      r"ended without an answer", err, re.MULTILINE)
    assert lost and len(lost) == len(err.splitlines()), err
    assert status == 0, (status, err)  # problems fail only with --strict
    assert f"read {ARTICLES} articles, " in out and f"; {len(lost)} problems →" in out, out
    OutputChecker(project / "output").check("with files lost")
    summary = _build_in_process(project, capsys, "the next build")
    corpus.assert_published(OutputChecker(project / "output").check("the next build"),
                            project / STORE, summary, "the next build", per_feed=PER_FEED)


# --- 3. a full or read-only output directory ---------------------------------------------------

def _file_size_limit(limit: int) -> Callable[[], None]:
    """preexec_fn: no file of the child may grow beyond `limit` bytes."""

    def limit_writes() -> None:
        # Ignored, SIGXFSZ turns an oversized write into the error EFBIG.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_writes


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    result = subprocess.run(["unshare", "-Urm", "mount", "-t", "tmpfs", "-o", "size=64k",
                             "probe", "/mnt"], capture_output=True, check=False)
    return result.returncode == 0


def _pages(size: int) -> int:
    return math.ceil(size / 4096) * 4096


def _on_small_tmpfs(folder: Path, room: int, stash: Path, seen: Path,
                    command: list[str]) -> list[str]:
    """`command` run with `folder` on a tmpfs holding its files and `room` bytes more.

    The tmpfs is mounted in a private user and mount namespace (no root
    needed) and disappears with it, so what it held at the end is copied to
    `seen`; `stash` is scratch space for the files it starts with.
    """
    shutil.copytree(folder, stash, dirs_exist_ok=True)
    size = sum(_pages(p.stat().st_size) for p in folder.rglob("*") if p.is_file()) + room
    script = ('size=$1 dir=$2 stash=$3 seen=$4; shift 4; '
              'mount -t tmpfs -o "size=$size" full "$dir" && cp -a "$stash/." "$dir/" || exit 99; '
              '"$@"; status=$?; cp -a "$dir/." "$seen/"; exit $status')
    return ["unshare", "-Urm", "sh", "-c", script, "sh", str(size), str(folder), str(stash),
            str(seen), *command]


@dataclass(frozen=True)
class Fault:
    """How one build is broken, and what its error message must say."""

    name: str
    how: str  # "tmpfs" (a full disk), "fsize" (a file size limit) or "read-only"
    folder: str  # the folder that is broken
    blames: str  # the path the message must start with
    says: str


FAULTS = [
    Fault("output disk full", "tmpfs", "output", "output/lang", "no space left on device"),
    Fault("output file size limit", "fsize", "output", "output/lang", "File too large"),
    Fault("read-only output", "read-only", "output", "output", "permission denied"),
    Fault("read-only subfolder", "read-only", "output/lang", "output/lang", "permission denied"),
    Fault("store disk full", "tmpfs", ".feeds", str(STORE), "cannot write the store"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name.replace(" ", "-"))
def test_full_or_read_only_disk_is_a_clear_error_and_keeps_old_feeds(
        fault: Fault, project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    corpus = Corpus(project / "sources" / "articles", words=40)
    corpus.revise(random.Random(SEED), 40, 1.0, 0)
    settings = project / "feeds.toml"
    # Feeds only: the sizes below are those of the feeds.
    settings.write_text('entries_per_feed = 1000\ntitle = "Before"\npages = false\n',
                        encoding="utf-8")
    build(load_config(project), fetch=False)
    output, broken = project / "output", project / fault.folder
    old = _snapshot(output)
    if fault.folder == ".feeds":
        corpus.revise(random.Random(SEED), 40, 1.0, 1)  # so the store must change
    else:
        # A new title changes every feed and nothing in the store.
        settings.write_text('entries_per_feed = 1000\ntitle = "After the fault"\npages = false\n',
                            encoding="utf-8")
    reference = tmp_path_factory.mktemp("reference")
    shutil.copytree(project, reference, dirs_exist_ok=True)
    build(load_config(reference), fetch=False)
    new = _contents(reference / "output")
    assert new.keys() == old.keys()
    # Room for the new files at the top (all.*, feeds.opml and index.html,
    # written first), not for the larger lang/en.atom after them.
    top = [len(data) for name, data in new.items() if "/" not in name]
    room = (sum(_pages(size) for size in top) if fault.folder == "output" else 0) + 8192
    assert len(new["lang/en.atom"]) > max(top) + 8192

    command = [sys.executable, "-m", "feeds", "build"]
    options: dict[str, Any] = {}
    seen = broken  # the broken folder as the build left it
    if fault.how == "tmpfs":
        if not _can_mount_tmpfs():
            pytest.skip("no user namespaces here to mount a small tmpfs (unshare -Urm)")
        if fault.folder == ".feeds":
            room += 32768  # SQLite's WAL index
        seen = tmp_path_factory.mktemp("seen")
        command = _on_small_tmpfs(broken, room, tmp_path_factory.mktemp("stash"), seen, command)
    elif fault.how == "fsize":
        options["preexec_fn"] = _file_size_limit(max(top) + 1)
    else:
        broken.chmod(0o555)
        if not read_only_is_enforced(broken):
            broken.chmod(0o755)
            pytest.skip("cannot drop root's CAP_DAC_OVERRIDE here, so no directory is read-only")
        options["preexec_fn"] = obey_file_modes
    try:
        result = subprocess.run(command, cwd=project, env=ENV, capture_output=True, text=True,
                                timeout=120, check=False, **options)
    finally:
        broken.chmod(0o755)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    [message] = result.stderr.splitlines()
    assert message.startswith(f"feeds: {project / fault.blames}: "), message
    assert fault.says in message, message
    # Byte for byte, mtimes too, and no temporary file left.
    assert _snapshot(seen if fault.how == "tmpfs" and fault.folder == "output" else output) == old
    if fault.how == "tmpfs" and fault.folder == ".feeds":
        _assert_store_sound(seen / STORE.name, fault.name)
    # Once the fault is gone, the next build catches up completely.
    _assert_store_sound(project / STORE, fault.name)
    build(load_config(project), fetch=False)
    assert _contents(output) == new


# --- 4. two builds at once ---------------------------------------------------------------------


@pytest.mark.slow
def test_two_builds_at_once_take_turns(project: Path,
                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    rng = random.Random(SEED + 2)
    corpus = Corpus(project / "sources" / "articles")
    for round_ in range(3):
        corpus.revise(rng, rng.randint(100, 140), 0.5, round_)
        procs = [_start(["build"], project, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(2)]
        runs = [p.communicate(timeout=120) for p in procs]
        written = []
        for proc, (out, err) in zip(procs, runs, strict=True):
            where = f"round {round_}, pid {proc.pid}"
            assert proc.returncode == 0, f"{where}: {err}"
            assert err == "", f"{where}: {err}"  # no 'database is locked', no traceback
            n = len(corpus.versions)
            assert f"read {n} articles, published {n} entries" in out, f"{where}: {out}"
            found = re.search(r"(\d+) files written", out)
            assert found is not None, out
            written.append(int(found.group(1)))
        # Taking turns, the second finds everything done by the first.
        assert sorted(written)[0] == 0 < sorted(written)[1], written
    fresh = tmp_path_factory.mktemp("fresh")
    shutil.copytree(project / "sources", fresh / "sources")
    build(load_config(fresh), fetch=False)
    assert _contents(project / "output") == _contents(fresh / "output")
    OutputChecker(project / "output").check("after the last round")


@pytest.fixture(autouse=True)
def _no_stray_processes(html_checker: HtmlChecker | None) -> Iterator[None]:
    """Fail a test that leaves a child process behind (killed or not, unwaited).

    The W3C HTML checker's server is the test run's, not a test's.
    """
    yield
    run_wide = {html_checker.pid} if html_checker is not None else set()
    assert [pid for pid in _children(os.getpid()) if pid not in run_wide] == [], (
        "child processes left behind")


def _children(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                children.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return children

