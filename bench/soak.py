"""Scenario 7, the soak: `feeds run --serve` over a shortened day, its memory sampled over time.

A day of the daemon is hundreds of poll rounds over the same sources, with
articles saved now and then and readers fetching the feeds. The soak runs
exactly that, only faster: the real `feeds run --serve` as a child process,
on a project of a few thousand generated articles and M loopback feeds,
with `every = "1s"` (the shortest interval the configuration accepts, a
documented value), so a new round starts a second after the last one ends
and the rounds go as fast as the feed server's latency and the politeness
settings allow.

The feeds change from round to round as real ones do (`SoakPlan`): each
request to a feed may bring a new item or an edited one, fail with a 500,
drop the connection, answer an HTML page instead of a feed, or be
unchanged (a 304 to a conditional request); a few feeds turn 410 Gone, a
few move for good (301), and three hang past feeds' read timeout once
each. Every draw is a function of the seed, the feed and its request
count, so two runs serve the same day.

Meanwhile the harness saves an article every few seconds (a new one, or
an edit of a recent one: the daemon's watcher picks them up), asks the
server for /healthz (which also tells how many rounds have run), the front
page and `all.atom` (conditionally, as a reader would), and samples the
resident memory of the daemon and of its worker processes from /proc.

The verdict is the growth of that memory after warm-up: the RSS of the
process tree after the first `warmup` rounds (the median of the next few
samples) against the RSS at the end (the median of the last few). The
target is less than 10 %: a long-running process whose memory grows with
the number of rounds would, over weeks, not be one.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

from bench.corpus import (
    EN_TITLES,
    ZH_TITLES,
    edit_article,
    generate_article,
    render_feeds_article,
    write_feeds_corpus,
)
from bench.measure import (
    busy_seconds,
    cpu_seconds,
    own_cpu_seconds,
    process_tree,
    pss_bytes,
    rss_bytes,
)
from bench.remote import FeedServer, entry_html, etag_matches, loopback_hosts

__all__ = ["GROWTH_TARGET", "Sample", "SoakPlan", "SoakResult", "SoakServer", "run_soak",
           "soak_report", "write_samples"]

GROWTH_TARGET = 0.10  # RSS after warm-up may grow by less than this fraction
# feeds' read timeout (FetchSettings.read_timeout): a hanging feed is answered after it.
READ_TIMEOUT = 30.0
# Samples whose median is the warm-up RSS, and the final one.
WINDOW = 5


@dataclass(frozen=True)
class SoakPlan:
    """How the served feeds change: the odds per request, and the feeds that turn bad for good."""

    seed: int
    new_item: float = 0.03  # a new item at the top (the oldest one leaves the window)
    edit: float = 0.015  # the second item's text changes (Atom: and its `updated`)
    error: float = 0.01  # 500 Internal Server Error
    reset: float = 0.005  # the connection is closed without an answer
    garbage: float = 0.003  # 200 with an HTML page instead of a feed
    gone_from: int = 12  # request from which the gone feeds answer 410
    moved_from: int = 8  # request from which the moved feeds answer 301
    hang_seconds: float = READ_TIMEOUT + 5

    def gone(self, number: int) -> bool:
        """One feed in 200 is taken down for good (410 Gone) after a while."""
        return number % 200 == 5

    def moved(self, number: int) -> bool:
        """One feed in 200 moves for good (301) to /moved/… after a while."""
        return number % 200 == 3

    def hangs_at(self, number: int) -> int | None:
        """The request of feed `number` that hangs past the read timeout, if any (three feeds)."""
        return {11: 25, 511: 60, 911: 100}.get(number)

    def draw(self, number: int, request: int) -> str:
        """What request number `request` to feed `number` meets (never the first)."""
        if request <= 1:
            return "same"
        roll = random.Random(f"{self.seed}:soak:{number}:{request}").random()
        for what, odds in (("new", self.new_item), ("edit", self.edit), ("error", self.error),
                           ("reset", self.reset), ("garbage", self.garbage)):
            if roll < odds:
                return what
            roll -= odds
        return "same"


@dataclass
class _Feed:
    """One served feed's state: which items it shows, their times and revisions."""

    number: int
    host_index: int
    path: str
    entries: int
    newest: int  # number of the newest item; the feed shows newest-entries+1 … newest
    when: dict[int, datetime] = field(default_factory=dict)
    revisions: dict[int, int] = field(default_factory=dict)
    requests: int = 0
    body: bytes = b""
    etag: str = ""

    @property
    def kind(self) -> str:
        return "rss" if self.number % 2 == 0 else "atom"


def _item(seed: int, feed: _Feed, k: int) -> str:
    """Item `k` of `feed`: the same bytes for the same revision, wherever the window stands."""
    rng = random.Random(f"{seed}:soak-item:{feed.number}:{k}")
    chinese = feed.number % 3 == 2
    site = f"https://site{feed.number:04d}.example.com"
    link = f"{site}/posts/{feed.number}-{k}"
    title = escape(f"{rng.choice(ZH_TITLES if chinese else EN_TITLES)} #{feed.number}.{k}")
    revision = feed.revisions.get(k, 0)
    html = entry_html(rng, chinese, link)
    if revision:
        html += f"\n<p>Update {revision}: the story has moved on.</p>"
    body = escape(html)
    when = feed.when[k]
    category = "科技" if chinese else "technology"
    if feed.kind == "rss":
        return (f"<item><title>{title}</title><link>{link}</link>"
                f'<guid isPermaLink="false">soak-{seed}-{feed.number}-{k}</guid>'
                f"<pubDate>{format_datetime(when)}</pubDate>"
                f"<category>{category}</category><description>{body}</description></item>")
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    updated = (when + timedelta(minutes=revision)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f'<entry><title>{title}</title><link href="{link}"/>'
            f"<id>tag:site{feed.number:04d}.example.com,2025:soak-{seed}-{k}</id>"
            f"<published>{stamp}</published><updated>{updated}</updated>"
            f"<author><name>Desk</name></author><category term=\"{category}\"/>"
            f'<content type="html">{body}</content></entry>')


def _render(seed: int, feed: _Feed) -> None:
    """Write `feed`'s document and ETag for its current window and revisions."""
    items = "".join(_item(seed, feed, k)
                    for k in range(feed.newest, feed.newest - feed.entries, -1))
    site = f"https://site{feed.number:04d}.example.com"
    lang = "zh-CN" if feed.number % 3 == 2 else "en"
    if feed.kind == "rss":
        doc = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
               f"<title>Soak feed {feed.number}</title><link>{site}/</link>"
               f"<description>Soak feed {feed.number}</description><language>{lang}</language>"
               + items + "</channel></rss>\n")
    else:
        newest = max(feed.when.values()).strftime("%Y-%m-%dT%H:%M:%SZ")
        doc = ('<?xml version="1.0" encoding="utf-8"?>\n'
               f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">'
               f"<title>Soak feed {feed.number}</title><id>{site}/</id>"
               f'<link rel="alternate" href="{site}/"/><updated>{newest}</updated>'
               + items + "</feed>\n")
    feed.body = doc.encode()
    feed.etag = f'"{feed.number}-{feed.newest}-{sum(feed.revisions.values())}"'


_GARBAGE = b"<!DOCTYPE html><html><head><title>Maintenance</title></head>" \
           b"<body><p>Back soon.</p></body></html>\n"


class SoakServer(FeedServer):
    """The loopback feed server, serving feeds that change from request to request."""

    def __init__(self, plan: SoakPlan, count: int, entries: int, hosts: Sequence[str],
                 latency: float) -> None:
        super().__init__([], hosts, latency)
        self.plan = plan
        start = datetime.now(UTC).replace(microsecond=0)
        self._soak: dict[str, _Feed] = {}
        self.events: Counter[str] = Counter()
        for number in range(count):
            feed = _Feed(number, number % len(hosts), f"/feeds/{number:05d}.xml", entries,
                         newest=entries - 1)
            rng = random.Random(f"{plan.seed}:soak-times:{number}")
            for k in range(entries):
                feed.when[k] = start - timedelta(hours=(entries - 1 - k) * 7 + rng.randrange(7),
                                                 minutes=rng.randrange(60))
            _render(plan.seed, feed)
            self._soak[feed.path] = feed
            self._soak[f"/moved{feed.path}"] = feed

    def urls(self) -> list[str]:
        """The address of every feed, in order (the server must be started)."""
        return [self.url_at(f.host_index, f.path)
                for path, f in self._soak.items() if path == f.path]

    async def _answer(
        self, method: str, target: str, headers: dict[str, str]
    ) -> tuple[int, bytes, bytes] | None:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        path = target.split("?", 1)[0]
        feed = self._soak.get(path)
        if feed is None:
            return 404, b"Content-Type: text/plain\r\n", b"not found\n"
        feed.requests += 1
        plan, n, r = self.plan, feed.number, feed.requests
        if plan.gone(n) and r >= plan.gone_from:
            self.events["gone"] += 1
            return 410, b"Content-Type: text/plain\r\n", b"gone\n"
        if plan.moved(n) and r >= plan.moved_from and path == feed.path:
            self.events["moved"] += 1
            location = f"Location: /moved{feed.path}\r\n".encode()
            return 301, location + b"Content-Type: text/plain\r\n", b"moved\n"
        if plan.hangs_at(n) == r:
            self.events["hang"] += 1
            await asyncio.sleep(plan.hang_seconds)
            return None
        what = plan.draw(n, r)
        self.events[what] += 1
        if what == "error":
            return 500, b"Content-Type: text/plain\r\n", b"internal error\n"
        if what == "reset":
            return None
        if what == "garbage":
            return 200, b"Content-Type: text/html; charset=utf-8\r\n", _GARBAGE
        if what == "new":
            feed.newest += 1
            feed.when[feed.newest] = datetime.now(UTC).replace(microsecond=0)
            feed.when.pop(feed.newest - feed.entries, None)
            feed.revisions.pop(feed.newest - feed.entries, None)
            _render(plan.seed, feed)
        elif what == "edit":
            k = feed.newest - 1 if feed.entries > 1 else feed.newest
            feed.revisions[k] = feed.revisions.get(k, 0) + 1
            _render(plan.seed, feed)
        tag = f"ETag: {feed.etag}\r\n".encode()
        inm = headers.get("if-none-match")
        if inm is not None and etag_matches(inm, feed.etag):
            return 304, tag, b""
        kind = "rss" if feed.kind == "rss" else "atom"
        head = tag + f"Content-Type: application/{kind}+xml; charset=utf-8\r\n".encode()
        return 200, head, b"" if method == "HEAD" else feed.body


# --- Sampling ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """The daemon's process tree at one moment of the soak."""

    seconds: float  # since the daemon started
    rounds: int  # poll rounds begun (/healthz)
    daemon_rss_mb: float  # the `feeds run` process alone
    tree_rss_mb: float  # it and its worker processes
    tree_pss_mb: float
    processes: int
    cpu_seconds: float  # the tree's CPU so far, reaped workers included


def sample_tree(pid: int, started: float, rounds: int) -> Sample:
    """One sample of `pid` and its descendants, read from /proc."""
    pids = process_tree(pid)
    cpu = cpu_seconds(pid, reaped=True) + sum(cpu_seconds(p) for p in pids[1:])
    return Sample(
        seconds=time.monotonic() - started, rounds=rounds,
        daemon_rss_mb=rss_bytes(pid) / 2**20,
        tree_rss_mb=sum(rss_bytes(p) for p in pids) / 2**20,
        tree_pss_mb=sum(pss_bytes(p) for p in pids) / 2**20,
        processes=len(pids), cpu_seconds=cpu)


@dataclass
class SoakResult:
    """What the soak measured, and what it checked along the way."""

    minutes: float
    feeds: int
    articles: int
    warmup: int  # rounds before the warm-up RSS is taken
    command: str = "feeds run --serve --root DIR"
    samples: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    wall: float = 0.0
    cpu: float = 0.0  # wait4: the daemon and every worker it reaped
    others_cores: float = 0.0
    load: tuple[str, str] = ("?", "?")

    @property
    def rounds(self) -> int:
        return self.samples[-1].rounds if self.samples else 0

    def _warm_index(self) -> int | None:
        for i, s in enumerate(self.samples):
            if s.rounds > self.warmup:  # the warm-up rounds are done once the next has begun
                return i
        return None

    def _median(self, samples: Sequence[Sample], attr: str) -> float:
        return float(statistics.median(getattr(s, attr) for s in samples))

    def warm(self, attr: str = "daemon_rss_mb") -> float | None:
        """RSS just after warm-up: the median of the first samples after it."""
        i = self._warm_index()
        if i is None or len(self.samples) - i < 2 * WINDOW:
            return None
        return self._median(self.samples[i:i + WINDOW], attr)

    def final(self, attr: str = "daemon_rss_mb") -> float | None:
        """RSS at the end: the median of the last samples."""
        return self._median(self.samples[-WINDOW:], attr) if self.samples else None

    def growth(self, attr: str = "daemon_rss_mb") -> float | None:
        warm, final = self.warm(attr), self.final(attr)
        return None if warm is None or final is None else (final - warm) / warm

    def peak(self, attr: str = "daemon_rss_mb") -> float:
        return max((getattr(s, attr) for s in self.samples), default=0.0)

    def cpu_per_round(self) -> float | None:
        """CPU seconds per round after warm-up (the tree's, workers included)."""
        i = self._warm_index()
        if i is None or not self.samples:
            return None
        first, last = self.samples[i], self.samples[-1]
        rounds = last.rounds - first.rounds
        return (last.cpu_seconds - first.cpu_seconds) / rounds if rounds > 0 else None

    def slope_mb_per_hour(self, attr: str = "daemon_rss_mb") -> float | None:
        """Least-squares slope of RSS over time after warm-up, MiB per hour."""
        i = self._warm_index()
        if i is None or len(self.samples) - i < 3:
            return None
        xs = [s.seconds / 3600 for s in self.samples[i:]]
        ys = [getattr(s, attr) for s in self.samples[i:]]
        return statistics.linear_regression(xs, ys).slope

    @property
    def met(self) -> bool | None:
        growth = self.growth()
        return None if self.error is not None or growth is None else growth < GROWTH_TARGET


# --- The run ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) of a GET; 0 when nothing answered."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, b"", dict(exc.headers.items())
    except (urllib.error.URLError, OSError):
        return 0, b"", {}


class _Reader:
    """What a person and a feed reader do meanwhile: save articles, read the served feeds."""

    def __init__(self, base: str, articles_dir: Path, seed: int, articles: int) -> None:
        self.base = base
        self.articles_dir = articles_dir
        self.seed = seed
        self.next_number = articles
        self.recent = [generate_article(seed, n) for n in range(max(0, articles - 20), articles)]
        self.saved: list[str] = []
        self.served: Counter[int] = Counter()
        self._etag: str | None = None

    def save_article(self) -> None:
        """A new article every other time, else an edit of a recent one."""
        if len(self.saved) % 2 == 0 or not self.recent:
            article = generate_article(self.seed, self.next_number)
            self.next_number += 1
            path = self.articles_dir / article.relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".part")
            partial.write_text(render_feeds_article(article), encoding="utf-8")
            partial.replace(path)  # saved at once, as an editor's rename does
            self.recent.append(article)
        else:
            article = self.recent[len(self.saved) % len(self.recent)]
            edit_article(self.articles_dir, article, len(self.saved))
        self.saved.append(Path(article.relpath).name)

    def rounds(self) -> int | None:
        """Poll rounds begun, from /healthz; None when it does not answer."""
        status, body, _ = _get(self.base + "healthz")
        self.served[status] += 1
        if status not in (200, 503) or not body:
            return None
        scheduler = json.loads(body).get("scheduler") or {}
        return int(scheduler.get("polls", 0))

    def read_feeds(self) -> None:
        """The front page, and all.atom as a reader polls it (If-None-Match)."""
        status, _, _ = _get(self.base)
        self.served[status] += 1
        status, _, headers = _get(self.base + "all.atom",
                                  {"If-None-Match": self._etag} if self._etag else None)
        self.served[status] += 1
        self._etag = headers.get("etag", self._etag)


def write_samples(path: Path, samples: Sequence[Sample]) -> None:
    """The time series as CSV, one row per sample."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["seconds", "rounds", "daemon_rss_mb", "tree_rss_mb", "tree_pss_mb",
                      "processes", "cpu_seconds"])
        for s in samples:
            out.writerow([f"{s.seconds:.1f}", s.rounds, f"{s.daemon_rss_mb:.1f}",
                          f"{s.tree_rss_mb:.1f}", f"{s.tree_pss_mb:.1f}", s.processes,
                          f"{s.cpu_seconds:.2f}"])


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


@dataclass(frozen=True)
class SoakOptions:
    """The soak's sizes and pace."""

    minutes: float
    feeds: int
    entries: int
    articles: int
    latency: float  # seconds per request
    seed: int
    warmup: int  # rounds
    interval: float = 2.0  # seconds between samples
    save_every: float = 5.0  # seconds between saved articles
    hosts: int = 50
    # Run the daemon under tracemalloc (bench/tracedaemon.py), writing its reports here.
    trace: Path | None = None


def run_soak(python: Path, work: Path, opts: SoakOptions,
             log: Callable[[str], None]) -> SoakResult:
    """Run the soak in `work` with `python -m feeds`; never raises for a failed run."""
    result = SoakResult(opts.minutes, opts.feeds, opts.articles, opts.warmup)
    try:
        _soak(python, work, opts, log, result)
    except (OSError, subprocess.SubprocessError, ValueError, RuntimeError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    if result.error is not None:
        log(f"soak: FAILED: {result.error}")
    return result


def _project(work: Path, opts: SoakOptions, port: int, urls: Sequence[str]) -> Path:
    project = work / "soak"
    if project.exists():
        shutil.rmtree(project)
    write_feeds_corpus(project / "sources" / "articles", opts.seed, opts.articles)
    # The project's defaults (every format, the pages), polled as often as allowed.
    (project / "feeds.toml").write_text(
        f'base_url = "http://127.0.0.1:{port}/"\nevery = "1s"\n', encoding="utf-8")
    (project / "sources" / "links.toml").write_text(
        "".join(f'[[source]]\nurl = "{url}"\n\n' for url in urls), encoding="utf-8")
    return project


def _soak(python: Path, work: Path, opts: SoakOptions, log: Callable[[str], None],
          result: SoakResult) -> None:
    hosts = loopback_hosts(min(opts.hosts, opts.feeds))
    plan = SoakPlan(opts.seed)
    log(f"soak: generating {opts.feeds} changing feeds × {opts.entries} entries and "
        f"{opts.articles} articles ...")
    with SoakServer(plan, opts.feeds, opts.entries, hosts, opts.latency) as server:
        port = _free_port()
        project = _project(work, opts, port, server.urls())
        reader = _Reader(f"http://127.0.0.1:{port}/", project / "sources" / "articles",
                         opts.seed, opts.articles)
        daemon_log = work / "soak-daemon.log"
        argv = [str(python), "-m", "feeds", "run", "--serve", "--port", str(port),
                "--root", str(project), "--log-level", "info"]
        env = None
        if opts.trace is not None:
            argv[1:3] = ["-m", "bench.tracedaemon"]
            repo = str(Path(__file__).resolve().parent.parent)
            path = os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p)
            warm = opts.minutes * 60 / 4
            env = dict(os.environ, PYTHONPATH=path, FEEDS_TRACE_OUT=str(opts.trace.absolute()),
                       FEEDS_TRACE_WARMUP=f"{warm:g}", FEEDS_TRACE_EVERY=f"{warm / 2:g}")
            result.command = "python -m bench.tracedaemon run --serve --root DIR"
        result.load = (_load(), "?")
        busy_before, own_before = busy_seconds(), own_cpu_seconds()
        with daemon_log.open("wb") as out:
            proc = subprocess.Popen(argv, cwd=project, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=out, env=env)
        started = time.monotonic()
        log(f"soak: feeds run --serve (pid {proc.pid}) for {opts.minutes:g} min, "
            f"a sample every {opts.interval:g} s")
        try:
            _drive(proc, started, opts, reader, result, log)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            status, cpu = _reap(proc)
        result.wall = time.monotonic() - started
        result.cpu = cpu
        others = busy_seconds() - busy_before - (own_cpu_seconds() - own_before) - cpu
        result.others_cores = max(0.0, others) / result.wall if result.wall > 0 else 0.0
        result.load = (result.load[0], _load())
        counts, peak = server.take_stats()
        events = server.events
    text = daemon_log.read_text(encoding="utf-8", errors="replace")
    _check(result, opts, text, status, counts, peak, events, reader)


def _drive(proc: subprocess.Popen[bytes], started: float, opts: SoakOptions, reader: _Reader,
           result: SoakResult, log: Callable[[str], None]) -> None:
    """Sample, save and read until the soak's time is up."""
    deadline = started + opts.minutes * 60
    next_save = started + opts.save_every
    rounds = 0
    last_log = started
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"feeds run exited early with status {proc.returncode}")
        rounds = reader.rounds() or rounds
        if rounds:
            result.samples.append(sample_tree(proc.pid, started, rounds))
            reader.read_feeds()
        now = time.monotonic()
        # None in the last seconds: each saved article must have been seen when it stops.
        if now >= next_save and rounds and now < deadline - 2.0:
            reader.save_article()
            next_save = now + opts.save_every
        if now - last_log >= 60 and result.samples:
            s = result.samples[-1]
            log(f"soak: {s.seconds / 60:.0f} min, {s.rounds} rounds, daemon "
                f"{s.daemon_rss_mb:.0f} MB, tree {s.tree_rss_mb:.0f} MB ({s.processes} processes)")
            last_log = now
        time.sleep(max(0.0, opts.interval - (time.monotonic() - now)))


def _reap(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Wait for the daemon (killing it after 30 s); its exit status and CPU seconds."""
    timer = threading.Timer(30.0, proc.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def _check(result: SoakResult, opts: SoakOptions, text: str, status: int, counts: Counter[int],
           peak: int, events: Counter[str], reader: _Reader) -> None:
    """Did the soak do a day's work? Notes what it saw; sets `result.error` when it did not."""
    if status != 0:
        result.error = f"feeds run exited with status {status}: {text.strip()[-400:]}"
        return
    if "Traceback" in text:
        result.error = "the daemon logged a traceback: " + text[text.index("Traceback"):][:400]
        return
    if result.rounds <= opts.warmup:
        result.error = f"only {result.rounds} rounds, not past the {opts.warmup} of warm-up"
        return
    by = ", ".join(f"{n}×{s or 'dropped'}" for s, n in sorted(counts.items()))
    result.notes.append(f"feed server: {sum(counts.values())} requests ({by}), at most {peak} "
                        "at once")
    result.notes.append("feeds served: " + ", ".join(
        f"{n} {k}" for k, n in sorted(events.items())))
    rebuilt = text.count(" rebuilt (")
    seen = sum(1 for name in set(reader.saved) if f"changed: {name}" in text or name in text)
    result.notes.append(f"{len(reader.saved)} articles saved ({len(set(reader.saved))} files), "
                        f"{seen} seen by the watcher; {rebuilt} rebuilds that wrote files")
    served = ", ".join(f"{n}×{s or 'failed'}" for s, n in sorted(reader.served.items()))
    result.notes.append(f"served to the reader (/healthz, /, /all.atom): {served}")
    if not rebuilt or (reader.saved and not seen):
        result.error = "the daemon did not publish what changed (see the notes)"


# --- Report ---------------------------------------------------------------------------------


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} MB"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} %"


def soak_report(result: SoakResult, csv_path: Path | None) -> str:
    """The soak's table and notes, in the style of the benchmark's report."""
    lines = [
        "",
        f"### 7. soak: the daemon over a shortened day ({result.minutes:g} min, "
        f"{result.feeds} changing feeds, {result.articles} articles)",
        "",
        "| scenario | command | length | rounds | RSS after warm-up | final RSS | growth "
        "| peak RSS | tree with workers: peak RSS, peak PSS | CPU per round | target | met "
        "| others' load |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    target = f"growth < {GROWTH_TARGET * 100:.0f} %"
    if result.error is not None:
        reason = result.error.replace("|", "\\|").replace("\n", " ")[:200]
        lines.append(f"| 7. soak | `{result.command}` | failed | – | – | – | – | – | – | – "
                     f"| {target} | **{reason}** | – |")
    else:
        met = result.met
        verdict = "–" if met is None else "yes" if met else "**no**"
        per_round = result.cpu_per_round()
        tree = f"{_mb(result.peak('tree_rss_mb'))}, {_mb(result.peak('tree_pss_mb'))}"
        lines.append(
            f"| 7. soak | `{result.command}` | {result.wall / 60:.1f} min | {result.rounds} | "
            f"{_mb(result.warm())} (after round {result.warmup}) | {_mb(result.final())} | "
            f"{_pct(result.growth())} | {_mb(result.peak())} | {tree} | "
            f"{'–' if per_round is None else f'{per_round:.2f} s'} | {target} | {verdict} | "
            f"{result.others_cores:.2f} cores |")
    slope = result.slope_mb_per_hour()
    lines += [
        "",
        "RSS is the resident memory of the `feeds run` process, sampled from /proc every few "
        f"seconds ({len(result.samples)} samples); warm-up and final RSS are medians of {WINDOW} "
        f"samples, just after round {result.warmup} and at the end. The parsing workers are "
        "forked for a round and gone after it, so the tree's sum comes and goes with them (its "
        "RSS counts the pages they share with the daemon once per process; PSS shares them "
        "out); the verdict is on the process that lives all day. CPU per round is the "
        "tree's user + system time after warm-up divided by the rounds run meanwhile "
        f"(whole run: {result.cpu:.0f} s of CPU). Load average (1 min) {result.load[0]} at the "
        f"start, {result.load[1]} at the end.",
        "",
    ]
    if slope is not None:
        lines.append(f"- RSS trend after warm-up (least squares): {slope:+.1f} MB per hour")
    pss = result.growth("tree_pss_mb")
    if pss is not None:
        lines.append(f"- tree PSS after warm-up → final: {_mb(result.warm('tree_pss_mb'))} → "
                     f"{_mb(result.final('tree_pss_mb'))} ({_pct(pss)})")
    lines += [f"- {note}" for note in result.notes]
    if csv_path is not None:
        lines.append(f"- time series: {csv_path}")
    return "\n".join(lines) + "\n"
