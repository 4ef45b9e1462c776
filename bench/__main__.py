"""`python -m bench`: how fast feeds builds and refreshes, next to Pelican and reader.

Every scenario runs the real command line as a child process and measures
it from outside (see bench/measure.py): median wall time over the runs,
median CPU time (user + system, including child processes) and the peak
resident memory of the whole process tree over the runs.

Scenarios:

1. cold build: N generated articles, no store, no output → every feed;
2. no-change rebuild of the same project;
3. one article edited → rebuild (a different, recent article each run);
   1b–3b. the same with every format (Atom, RSS, JSON Feed) and the pages;
   1c–3c. the same in Atom with complete history (RFC 5005 archives);
4. refresh: `feeds fetch` of M loopback feeds × K entries behind a per-request
   latency, empty store, default politeness settings;
5. the same refresh again, every source answering 304 Not Modified;
   4f. the refresh with one feed in ten summary-only and followed with
   `full_text = true`: the pages of the entries it shows are fetched from the
   same hosts, with the same latency, and their articles extracted;
6. peers, if installed: Pelican building the same N articles with its all,
   category, tag and translation Atom feeds (6a′: and its article, tag,
   category and index pages and RSS feeds); reader updating the same M
   feeds with its defaults (a fresh database, then a second pass of 304s),
   and the same at its best, with `update_feeds(workers=16)` (6d, 6e);
8. the refresh of scenario 4 into an empty store on each backend: (8a) one
   SQLite process (`feeds fetch`), (8b) one fetch worker on PostgreSQL,
   (8c) two fetch workers sharing the sources through their leases
   (`feeds run --role fetch`, driven by bench/fetchers.py, which stops
   them once the store shows every source fetched); with the CPU of the
   PostgreSQL server (a throwaway cluster the bench starts and stops,
   bench/pgcluster.py), its transactions and the rows written;
9. the 304 pass of each (9b, 9c: every source made due again in the store);
   without PostgreSQL installed, 8b–9c are skipped with a line saying so;
7. with --soak, the soak (bench/soak.py): `feeds run --serve` for MINUTES
   over a few thousand articles and M loopback feeds that change from round
   to round, its memory sampled over time: RSS after warm-up against RSS at
   the end. Not run by default; --soak-only runs it alone.

Each scenario checks that it measured real work (feeds written, M×K entries
stored, every request answered 304 ...) and fails loudly otherwise. The
results are printed as a Markdown table on stdout (and to --out); progress
goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench import pgcluster, pgstats
from bench.corpus import Article, edit_article, write_feeds_corpus, write_pelican_corpus
from bench.measure import Measurement, run_measured
from bench.peers import (
    BEST_READER_WORKERS,
    PeerEnv,
    prepare_peers,
    read_summary,
    write_pelican_config,
    write_reader_script,
)
from bench.remote import FeedServer, generate_feeds, loopback_hosts
from bench.soak import SoakOptions, run_soak, soak_report, write_samples

BENCH = Path(__file__).resolve().parent
DEFAULT_WORK = BENCH / ".work" / "run"
DEFAULT_PEERS_VENV = BENCH / ".work" / "peers-venv"

# feeds' defaults that decide what a scenario must produce.
ENTRIES_PER_FEED = 50  # `entries_per_feed`: newest entries per published feed
RETENTION_ENTRIES = 200  # `retention_entries`: newest entries kept per source at least
MAX_HOSTS = 50  # remote feeds are spread over 127.0.1.1 … 127.0.1.50

TINY = {"articles": 20, "feeds": 6, "entries": 3, "latency_ms": 5.0, "runs": 1}
DEFAULTS = {"articles": 10000, "feeds": 1000, "entries": 50, "latency_ms": 100.0, "runs": 3}

RSS_TARGET_MB = 300.0

# The soak: its length when --soak names none, and its sizes (a few thousand
# articles, entries per feed) unless --articles or --entries are smaller.
SOAK_MINUTES, TINY_SOAK_MINUTES = 15.0, 0.25
SOAK_ARTICLES, SOAK_ENTRIES = 3000, 20
SOAK_WARMUP, TINY_SOAK_WARMUP = 20, 2


class ScenarioError(Exception):
    """A scenario could not be measured, or measured something other than the work it names."""


@dataclass(frozen=True)
class Target:
    """What a scenario should reach: at most `wall` seconds, `rss` MiB (None: not judged)."""

    wall: float | None
    rss: float | None = RSS_TARGET_MB


@dataclass
class Scenario:
    """One measured scenario: its runs and what was checked along the way."""

    key: str
    title: str
    command: str
    target: Target
    peer: bool = False
    runs: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    # On a PostgreSQL store, what each run cost the server (see bench/pgstats.py).
    server: list[pgstats.Cost] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return bool(self.runs) and self.error is None

    @property
    def wall(self) -> float:
        return statistics.median(m.wall for m in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(m.cpu for m in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(m.peak_mb for m in self.runs)

    @property
    def pss_mb(self) -> float:
        return max(m.tree_pss_mb for m in self.runs)

    @property
    def others_cores(self) -> float:
        return statistics.median(m.others_cores for m in self.runs)

    def wall_met(self) -> bool | None:
        if not self.measured or self.target.wall is None:
            return None
        return self.wall < self.target.wall

    def rss_met(self) -> bool | None:
        if not self.measured or self.target.rss is None:
            return None
        return self.peak_mb < self.target.rss


# --- Progress ----------------------------------------------------------------

_STARTED = time.monotonic()


def log(message: str) -> None:
    """One progress line on stderr."""
    print(f"[bench {time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- Helpers -------------------------------------------------------------------


def feeds_argv(args: argparse.Namespace, *words: str) -> list[str]:
    """The feeds command line, run by --feeds-python (default: this interpreter)."""
    return [str(args.feeds_python), "-m", "feeds", *words]


def remove(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def count_entries(atom: Path) -> int:
    """Entries in an Atom document (a plain count of `<entry` elements)."""
    return len(re.findall(rb"<entry[\s>]", atom.read_bytes()))


def measured(
    scenario: Scenario, argv: Sequence[str | os.PathLike[str]], *, cwd: Path, run: int, runs: int,
    timeout: float,
) -> Measurement:
    """Run one measured command for `scenario`; a failed run stops the scenario."""
    m = run_measured(argv, cwd=cwd, timeout=timeout)
    if not m.ok:
        why = f"timed out after {timeout:.0f} s" if m.timed_out else f"exit status {m.returncode}"
        tail = " / ".join(line for line in m.stderr_tail.strip().splitlines()[-4:])
        raise ScenarioError(f"run {run}/{runs}: {why}: {tail[-600:]}")
    scenario.runs.append(m)
    log(f"{scenario.title}: run {run}/{runs}: {m.wall:.2f} s wall, {m.cpu:.2f} s CPU, "
        f"{m.peak_mb:.0f} MB peak; other processes used {m.others_cores:.2f} cores")
    return m


def attempt(scenario: Scenario, body: Callable[[], None]) -> Scenario:
    """Run a scenario's body, turning a failure into the scenario's error."""
    log(f"{scenario.title} ...")
    try:
        body()
    except ScenarioError as exc:
        scenario.error = str(exc)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        scenario.error = f"{type(exc).__name__}: {exc}"
    if scenario.error is not None:
        log(f"{scenario.title}: FAILED: {scenario.error}")
    return scenario


# --- Local articles --------------------------------------------------------------


def _feed_bytes(output: Path) -> dict[str, bytes]:
    """Every feed of an output folder, by path: to tell whether a build changed any."""
    return {p.relative_to(output).as_posix(): p.read_bytes() for p in output.rglob("*.atom")}


def _check_variant(output: Path, variant: str) -> None:
    """The files a variant adds to the feeds were written."""
    if variant == "site" and not all(
            p.exists() for p in (output / "index.html", output / "all.rss", output / "all.json",
                                 output / "entries")):
        raise ScenarioError("the pages, RSS or JSON Feed were not written")
    if variant == "archives" and not (output / "archive" / "all").is_dir():
        raise ScenarioError("no archive was written")


def _page_times(output: Path) -> dict[str, int]:
    """Every entry page of an output folder and its mtime: to tell which a build rewrote."""
    return {p.name: p.stat().st_mtime_ns for p in (output / "entries").glob("*.html")}


def newest_articles(articles: Sequence[Article], count: int) -> list[Article]:
    """The `count` most recent articles: those the published feeds show, so an edit shows too."""
    return sorted(articles, key=lambda a: (a.date, a.number), reverse=True)[:count]


# Scenarios 1–3 measure the feeds alone, in Atom, as they always have; 1b–3b
# the same with every format and the pages.
FEEDS_ONLY = 'formats = ["atom"]\npages = false\n'
WITH_SITE = 'formats = ["atom", "rss", "json"]\npages = true\n'
# 1c–3c: the feeds in Atom with their complete history (RFC 5005 archives).
WITH_ARCHIVES = 'formats = ["atom"]\npages = false\narchives = true\n'
VARIANTS = {
    "feeds": ("", "", "", FEEDS_ONLY),
    "site": ("site-", "b", " with every format and the pages", WITH_SITE),
    "archives": ("archives-", "c", " with archives", WITH_ARCHIVES),
}


def local_scenarios(args: argparse.Namespace, work: Path, *, variant: str = "feeds") -> list[Scenario]:
    """Scenarios 1–3 on a project of N generated articles (1b–3b with every format and the
    pages, 1c–3c with archives)."""
    key, number, what, settings = VARIANTS[variant]
    site = variant == "site"
    project = work / f"local-{variant}"
    remove(project)
    articles_dir = project / "sources" / "articles"
    log(f"writing {args.articles} articles to {articles_dir} ...")
    articles = write_feeds_corpus(articles_dir, args.seed, args.articles)
    (project / "feeds.toml").write_text(settings, encoding="utf-8")
    store, output = project / ".feeds", project / "output"
    all_atom = output / "all.atom"
    argv = feeds_argv(args, "build", "--root", str(project))
    expected = min(args.articles, ENTRIES_PER_FEED)
    n = args.articles

    cold = Scenario(f"{key}cold", f"1{number}. cold build, {n} articles{what}",
                    "feeds build --root DIR", Target(None if variant != "feeds" else 10.0))
    nochange = Scenario(f"{key}nochange", f"2{number}. no-change rebuild{what}",
                        "feeds build --root DIR", Target(1.0))
    edit = Scenario(f"{key}edit", f"3{number}. one article edited → rebuild{what}",
                    "feeds build --root DIR", Target(1.0))

    def check_output(scenario: Scenario, m: Measurement) -> None:
        if not all_atom.is_file():
            raise ScenarioError("output/all.atom was not written")
        got = count_entries(all_atom)
        if got != expected:
            raise ScenarioError(f"output/all.atom has {got} entries, expected {expected}")
        _check_variant(output, variant)
        problems = [line for line in m.stderr_tail.splitlines() if line.strip()]
        if problems and not scenario.notes:
            scenario.notes.append(f"stderr: {problems[0][:120]}")

    def run_cold() -> None:
        for r in range(1, args.runs + 1):
            remove(store, output)
            m = measured(cold, argv, cwd=project, run=r, runs=args.runs, timeout=args.timeout)
            check_output(cold, m)
        feeds = sorted(output.rglob("*.atom"))
        langs = sorted(p.stem for p in (output / "lang").glob("*.atom"))
        tags = len(list((output / "tags").glob("*.atom")))
        cold.notes.insert(0, f"{len(feeds)} feeds written (all, lang {'/'.join(langs)}, {tags} tags)")
        if variant == "site":
            pages = len(list(output.rglob("*.html")))
            cold.notes.insert(1, f"each also as RSS and JSON Feed; {pages} pages")
        if variant == "archives":
            documents = len(list((output / "archive").rglob("*.atom")))
            cold.notes.insert(1, f"{documents} archive documents")

    def run_nochange() -> None:
        if not cold.measured:
            raise ScenarioError("needs the cold build")
        before = all_atom.read_bytes()
        for r in range(1, args.runs + 1):
            m = measured(nochange, argv, cwd=project, run=r, runs=args.runs, timeout=args.timeout)
            check_output(nochange, m)
            if all_atom.read_bytes() != before:
                raise ScenarioError("output/all.atom changed although no article did")
        nochange.notes.append("output/all.atom unchanged")

    def run_edit() -> None:
        if not cold.measured:
            raise ScenarioError("needs the cold build")
        recent = newest_articles(articles, max(args.runs, 1))
        edited = []
        for r in range(1, args.runs + 1):
            article = recent[(r - 1) % len(recent)]
            before = _feed_bytes(all_atom.parent)
            pages_before = _page_times(output) if site else {}
            edit_article(articles_dir, article, r)
            edited.append(article.relpath)
            m = measured(edit, argv, cwd=project, run=r, runs=args.runs, timeout=args.timeout)
            check_output(edit, m)
            # The edit adds English text: it shows in the feeds that carry the
            # English variant (all.atom may carry the Chinese one, and an edit
            # without a new `updated` keeps the entry's time).
            if _feed_bytes(all_atom.parent) == before:
                raise ScenarioError(f"editing {article.relpath} changed no feed")
            if site:
                changed = [p for p, t in _page_times(output).items() if pages_before.get(p) != t]
                if not 1 <= len(changed) <= 2:
                    raise ScenarioError(f"editing {article.relpath} rewrote {len(changed)} entry "
                                        "pages, not its own one or two")
        edit.notes.append(f"edited {', '.join(edited)}; the feeds showing it changed each time"
                          + ("; only its own entry pages were rewritten" if site else ""))

    return [attempt(s, body) for s, body in ((cold, run_cold), (nochange, run_nochange),
                                            (edit, run_edit))]


def pelican_scenario(args: argparse.Namespace, work: Path, peers: PeerEnv, *,
                     pages: bool = False) -> Scenario:
    """Pelican building the same articles with its Atom feeds (and nothing else it can skip),
    or with `pages` its article, tag, category and index pages and RSS feeds too."""
    n = args.articles
    key, title = (("pelican-site", f"6a′. Pelican cold build, {n} articles, with its pages and RSS")
                  if pages else ("pelican", f"6a. Pelican cold build, {n} articles"))
    scenario = Scenario(key, title, "pelican content -s pelicanconf.py -o output",
                        Target(None, None), peer=True)
    site = work / key
    content, output = site / "content", site / "output"

    def body() -> None:
        if "pelican" not in peers.versions:
            raise ScenarioError(f"not installed: {peers.missing.get('pelican', 'not requested')}")
        remove(site)
        log(f"writing {n} articles in Pelican's format to {content} ...")
        write_pelican_corpus(content, args.seed, n)
        write_pelican_config(site / "pelicanconf.py", ENTRIES_PER_FEED, pages=pages)
        argv: list[str | os.PathLike[str]] = [
            peers.script("pelican"), "content", "-s", "pelicanconf.py", "-o", "output"]
        all_atom = output / "feeds" / "all.atom.xml"
        for r in range(1, args.peer_runs + 1):
            remove(output, site / "cache")
            measured(scenario, argv, cwd=site, run=r, runs=args.peer_runs, timeout=args.timeout)
            if not all_atom.is_file():
                raise ScenarioError("Pelican wrote no feeds/all.atom.xml")
            got = count_entries(all_atom)
            if got != min(n, ENTRIES_PER_FEED):
                raise ScenarioError(f"Pelican's all.atom.xml has {got} entries")
        feeds_dir = output / "feeds"
        tags = len(list((feeds_dir / "tag").glob("*.atom.xml")))
        cats = len(list((feeds_dir / "category").glob("*.atom.xml")))
        langs = len(list(feeds_dir.glob("all-*.atom.xml")))
        others = sum(1 for p in output.rglob("*") if p.is_file() and p.suffix != ".xml")
        if pages and others < n:
            raise ScenarioError(f"Pelican wrote {others} pages for {n} articles")
        scenario.notes.append(f"{len(list(feeds_dir.rglob('*.xml')))} feeds written (all, {langs} "
                              f"translation, {cats} category, {tags} tag); {others} other files")

    return attempt(scenario, body)


# --- Remote feeds --------------------------------------------------------------------


def store_entries(args: argparse.Namespace, project: Path) -> tuple[int, Counter[str]]:
    """Entries stored per `feeds sources --json`, and the sources by status."""
    states = source_states(args, project)
    return sum(int(s["entry_count"]) for s in states), Counter(str(s["status"]) for s in states)


def source_states(args: argparse.Namespace, project: Path) -> list[dict[str, object]]:
    """What `feeds sources --json` says of every source.

    Run in the project, like the measured commands: from the repository root
    `python -m feeds` would import the checkout's feeds/ instead of the
    one --feeds-python has installed.
    """
    done = subprocess.run(feeds_argv(args, "sources", "--json", "--root", str(project)),
                          capture_output=True, text=True, check=False, timeout=300, cwd=project)
    if done.returncode != 0:
        raise ScenarioError(f"feeds sources --json failed: {done.stderr.strip()[-300:]}")
    states: list[dict[str, object]] = json.loads(done.stdout)
    return states


def describe(counts: Counter[int], peak: int) -> str:
    by = ", ".join(f"{n}×{status or 'dropped'}" for status, n in sorted(counts.items()))
    return f"server: {sum(counts.values())} requests ({by}), at most {peak} at once"


def remote_scenarios(
    args: argparse.Namespace, work: Path, peers: PeerEnv | None
) -> list[Scenario]:
    """Scenarios 4–5, and reader's refreshes when it is installed, against one loopback server."""
    m_feeds, k = args.feeds, args.entries
    hosts = loopback_hosts(min(MAX_HOSTS, m_feeds))
    expected = m_feeds * min(k, RETENTION_ENTRIES)
    label = f"{m_feeds} feeds × {k} entries"
    refresh = Scenario("refresh", f"4. refresh, {label}, empty store", "feeds fetch --root DIR",
                       Target(15.0))
    again = Scenario("refresh304", "5. refresh again, all 304", "feeds fetch --root DIR",
                     Target(3.0))
    reader_cold = Scenario("reader", f"6b. reader update, {label}, empty database",
                           "update_feeds()", Target(None, None), peer=True)
    reader_again = Scenario("reader304", "6c. reader update again, all 304",
                            "update_feeds(scheduled=False)", Target(None, None), peer=True)
    best = BEST_READER_WORKERS
    reader_best = Scenario("reader-best", f"6d. reader update, {label}, empty database, "
                           f"{best} workers", f"update_feeds(workers={best})", Target(None, None),
                           peer=True)
    reader_best_again = Scenario("reader-best304", f"6e. reader update again, all 304, {best} "
                                 "workers", f"update_feeds(scheduled=False, workers={best})",
                                 Target(None, None), peer=True)
    scenarios = [refresh, again]
    if peers is not None:
        scenarios += [reader_cold, reader_again, reader_best, reader_best_again]

    log(f"generating {label} for {len(hosts)} loopback hosts ...")
    documents = generate_feeds(args.seed, m_feeds, k, len(hosts))
    megabytes = sum(len(d.body) for d in documents) / 2**20
    with FeedServer(documents, hosts, args.latency_ms / 1000) as server:
        urls = [server.url(d) for d in documents]
        log(f"serving {megabytes:.0f} MB on {hosts[0]}–{hosts[-1]} with {args.latency_ms:g} ms latency")
        project = work / "remote"
        remove(project)
        (project / "sources" / "articles").mkdir(parents=True)
        (project / "sources" / "links.toml").write_text(
            "".join(f'[[source]]\nurl = "{url}"\n\n' for url in urls), encoding="utf-8")
        argv = feeds_argv(args, "fetch", "--root", str(project))

        def expect_requests(status: int, r: int) -> str:
            counts, peak = server.take_stats()
            if counts.get(status, 0) != m_feeds or sum(counts.values()) != m_feeds:
                raise ScenarioError(f"run {r}: expected {m_feeds} answers {status}, got "
                                    f"{dict(counts)}")
            return describe(counts, peak)

        def run_refresh() -> None:
            for r in range(1, args.runs + 1):
                remove(project / ".feeds", project / "output")
                server.take_stats()
                measured(refresh, argv, cwd=project, run=r, runs=args.runs, timeout=args.timeout)
                seen = expect_requests(200, r)
                stored, statuses = store_entries(args, project)
                if stored != expected or statuses.get("ok", 0) != m_feeds:
                    raise ScenarioError(f"run {r}: store holds {stored} entries (expected "
                                        f"{expected}); sources {dict(statuses)}")
            refresh.notes += [seen, f"store: {stored} entries, {m_feeds} sources ok"]

        def run_again() -> None:
            if not refresh.measured:
                raise ScenarioError("needs the refresh")
            for r in range(1, args.runs + 1):
                server.take_stats()
                measured(again, argv, cwd=project, run=r, runs=args.runs, timeout=args.timeout)
                seen = expect_requests(304, r)
            stored, _ = store_entries(args, project)
            if stored != expected:
                raise ScenarioError(f"store holds {stored} entries after the 304 pass")
            again.notes.append(seen)

        attempt(refresh, run_refresh)
        attempt(again, run_again)
        if peers is not None:
            reader_runs(args, work, peers, server, urls, reader_cold, reader_again)
            reader_runs(args, work, peers, server, urls, reader_best, reader_best_again,
                        workers=best)
    return scenarios


# --- Past one machine: the refresh on SQLite and on PostgreSQL ------------------------------

# Fetch workers sharing one PostgreSQL store in scenarios 8b and 8c.
SHARED_WORKERS = (1, 2)


def shared_store_scenarios(args: argparse.Namespace, work: Path) -> list[Scenario]:
    """Scenarios 8a–9c: the refresh of M feeds into an empty store and its 304 pass, in one
    SQLite process and in one and two fetch workers on PostgreSQL, run after run in turn so
    that a busy moment of the machine falls on all of them alike."""
    m_feeds, k = args.feeds, args.entries
    label = f"{m_feeds} feeds × {k} entries"
    sqlite = (Scenario("sqlite-refresh", f"8a. refresh, {label}, SQLite, one process",
                       "feeds fetch --root DIR", Target(None)),
              Scenario("sqlite-304", "9a. its 304 pass, SQLite", "feeds fetch --root DIR",
                       Target(None)))
    # The smoke test's tiny run keeps to the two workers (SQLite's refresh is
    # scenarios 4 and 5), on a cluster that does not flush, to cost CI little.
    counts = SHARED_WORKERS[-1:] if args.tiny else SHARED_WORKERS
    shared = {n: (Scenario(f"pg{n}-refresh", f"8{'bc'[n - 1]}. refresh, {label}, PostgreSQL, "
                           f"{n} fetch worker{'s' * (n > 1)}",
                           f"feeds run --role fetch ×{n}", Target(None)),
                  Scenario(f"pg{n}-304", f"9{'bc'[n - 1]}. its 304 pass, PostgreSQL, "
                           f"{n} worker{'s' * (n > 1)}", f"feeds run --role fetch ×{n}",
                           Target(None)))
              for n in counts}
    if args.no_postgresql:
        return []
    if not pgcluster.installed():
        args.postgresql_missing = ("PostgreSQL is not installed (Debian: apt-get install "
                                   "postgresql): scenarios 8–9 skipped")
        log(args.postgresql_missing)
        return []
    hosts = loopback_hosts(min(MAX_HOSTS, m_feeds))
    documents = generate_feeds(args.seed, m_feeds, k, len(hosts))
    expected = m_feeds * min(k, RETENTION_ENTRIES)
    settings = ({"shared_preload_libraries": "pg_stat_statements"} if args.pg_statements else {})
    cluster = pgcluster.start_cluster(durable=not args.tiny, settings=settings)
    log(f"PostgreSQL cluster started on 127.0.0.1:{cluster.port} ({cluster.folder})")
    try:
        with FeedServer(documents, hosts, args.latency_ms / 1000) as server:
            links = "".join(f'[[source]]\nurl = "{server.url(d)}"\n\n' for d in documents)
            projects = {}
            for name in ("sqlite", *(f"pg{n}" for n in counts)):
                project = work / f"shared-{name}"
                remove(project)
                (project / "sources" / "articles").mkdir(parents=True)
                (project / "sources" / "links.toml").write_text(links, encoding="utf-8")
                projects[name] = project

            for r in range(1, args.runs + 1):
                if not args.tiny:
                    _sqlite_runs(args, server, projects["sqlite"], sqlite, r, expected)
                for n in counts:
                    _shared_runs(args, server, cluster, projects[f"pg{n}"], n, shared[n], r,
                                 expected)
    finally:
        cluster.stop()
        log("PostgreSQL cluster stopped")
    return [*(() if args.tiny else sqlite), *(s for n in counts for s in shared[n])]


def _answered(server: FeedServer, feeds: int, status: int, r: int) -> str:
    """What the feed server answered since it was last asked; every feed `status` exactly once."""
    counts, peak = server.take_stats()
    if counts.get(status, 0) != feeds or sum(counts.values()) != feeds:
        raise ScenarioError(f"run {r}: expected {feeds} answers {status}, got {dict(counts)}")
    return describe(counts, peak)


def _sqlite_runs(args: argparse.Namespace, server: FeedServer, project: Path,
                 scenarios: tuple[Scenario, Scenario], r: int, expected: int) -> None:
    """Run `r` of 8a and 9a: `feeds fetch` into an empty SQLite store, then again (all 304)."""
    refresh, again = scenarios
    argv = feeds_argv(args, "fetch", "--root", str(project))

    def answered(status: int) -> str:
        return _answered(server, args.feeds, status, r)

    def first() -> None:
        remove(project / ".feeds", project / "output")
        server.take_stats()
        measured(refresh, argv, cwd=project, run=r, runs=args.runs, timeout=args.timeout)
        seen = answered(200)
        stored, statuses = store_entries(args, project)
        if stored != expected or statuses.get("ok", 0) != args.feeds:
            raise ScenarioError(f"run {r}: store holds {stored} entries (expected {expected}); "
                                f"sources {dict(statuses)}")
        size = sum(p.stat().st_size for p in (project / ".feeds").glob("*") if p.is_file())
        refresh.notes[:] = [seen, f"store: {stored} entries, {args.feeds} sources ok, "
                            f"{size / 2**20:.0f} MB on disk"]

    def second() -> None:
        if refresh.error is not None:
            raise ScenarioError("needs the refresh")
        server.take_stats()
        measured(again, argv, cwd=project, run=r, runs=args.runs, timeout=args.timeout)
        again.notes[:] = [answered(304)]

    for scenario, body in ((refresh, first), (again, second)):
        if scenario.error is None:
            attempt(scenario, body)


def _shared_runs(args: argparse.Namespace, server: FeedServer, cluster: pgcluster.Cluster,
                 project: Path, workers: int, scenarios: tuple[Scenario, Scenario], r: int,
                 expected: int) -> None:
    """Run `r` of 8b/8c and 9b/9c: `workers` fetch workers over a new, empty database, then
    every source made due again and fetched again (all 304)."""
    refresh, again = scenarios
    name = f"bench_{workers}w_{r}"
    url = cluster.url(name)

    def one_pass(scenario: Scenario, status: int) -> None:
        since = time.time()
        argv = [str(args.feeds_python), "-m", "bench.fetchers", "--workers", str(workers),
                "--store", url, "--expect", str(args.feeds), "--since", f"{since:.6f}",
                "--timeout", str(args.timeout), "--logs", str(project / "logs"), "--",
                *feeds_argv(args, "run", "--role", "fetch", "--root", str(project))]
        if args.pg_statements:
            pgstats.load_statements(url)
        before = pgstats.snapshot(cluster, url)
        server.take_stats()
        env = dict(os.environ, FEEDS_STORE=url, PYTHONPATH=str(BENCH.parent))
        m = run_measured(argv, cwd=project, env=env, timeout=args.timeout + 60)
        if not m.ok:
            why = "timed out" if m.timed_out else f"exit status {m.returncode}"
            tail = " / ".join(m.stderr_tail.strip().splitlines()[-4:])
            raise ScenarioError(f"run {r}/{args.runs}: {why}: {tail[-600:]}")
        spent = pgstats.cost(cluster, url, before, statements=args.pg_statements)
        driver = re.search(r"driver cpu ([\d.]+)", m.stdout_tail)
        # The workers' own figures: not the driver's CPU; the server's is not others' load.
        m = replace(m, cpu=m.cpu - (float(driver[1]) if driver else 0.0),
                    others_cpu=max(0.0, m.others_cpu - spent.cpu))
        scenario.runs.append(m)
        scenario.server.append(spent)
        log(f"{scenario.title}: run {r}/{args.runs}: {m.wall:.2f} s wall, {m.cpu:.2f} s CPU "
            f"(workers) + {spent.cpu:.2f} s (PostgreSQL), {m.peak_mb:.0f} MB peak; "
            f"{spent.counter('xact_commit')} commits; other processes used "
            f"{m.others_cores:.2f} cores")
        seen = _answered(server, args.feeds, status, r)
        scenario.notes[:] = [seen, *(_worker_shares(project / "logs", workers)
                                     if status == 200 else [])]

    def first() -> None:
        remove(project / ".feeds", project / "output", project / "logs")
        cluster.new_database(name)
        one_pass(refresh, 200)
        with psycopg_connect(url) as conn:
            stored = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
            ok = conn.execute("SELECT count(*) FROM sources WHERE status = 'ok'").fetchone()[0]
        if stored != expected or ok != args.feeds:
            raise ScenarioError(f"run {r}: store holds {stored} entries (expected {expected}); "
                                f"{ok} sources ok")
        refresh.notes.insert(1, f"store: {stored} entries, {ok} sources ok, "
                             f"{refresh.server[-1].size / 2**20:.0f} MB database")

    def second() -> None:
        if refresh.error is not None:
            raise ScenarioError("needs the refresh")
        # Every source due again, as if its interval had passed.
        with psycopg_connect(url) as conn:
            conn.execute("UPDATE sources SET next_due = %s", (time.time(),))
        remove(project / "logs")
        one_pass(again, 304)

    for scenario, body in ((refresh, first), (again, second)):
        if scenario.error is None:
            attempt(scenario, body)


def psycopg_connect(url: str) -> Any:
    """An autocommit connection to `url` (psycopg is imported only when PostgreSQL is used)."""
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _worker_shares(logs: Path, workers: int) -> list[str]:
    """How many sources each worker fetched, from its log's lines (a 304 is not logged)."""
    shares = []
    for n in range(1, workers + 1):
        text = (logs / f"worker-{n}.log").read_text(encoding="utf-8", errors="replace")
        fetched = len(re.findall(r" fetch ok: ", text))
        shares.append(str(fetched))
    return [f"sources fetched by each worker (its log): {', '.join(shares)}"] if workers > 1 else []


def shared_store_table(scenarios: Sequence[Scenario], m: int) -> list[str]:
    """The per-feed costs of 8a–9c: client and server CPU, transactions, rows written."""
    rows = [s for s in scenarios if s.key.startswith(("sqlite-", "pg")) and s.measured]
    if not rows:
        return []
    lines = ["", "| scenario | CPU, feeds (median) | CPU, PostgreSQL (median) | CPU per feed, "
             "feeds + PostgreSQL | commits per feed | rows inserted / updated / deleted per feed "
             "| PostgreSQL CPU (min–max) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in rows:
        if not s.server:
            lines.append(f"| {s.title} | {_seconds(s.cpu)} | – | {s.cpu / m * 1000:.1f} ms | – | "
                         "– | – |")
            continue
        server = statistics.median(c.cpu for c in s.server)
        counters = {name: statistics.median(c.counter(name) for c in s.server)
                    for name in ("xact_commit", "tup_inserted", "tup_updated", "tup_deleted")}
        cpus = [c.cpu for c in s.server]
        lines.append(
            f"| {s.title} | {_seconds(s.cpu)} | {_seconds(server)} | "
            f"{s.cpu / m * 1000:.1f} + {server / m * 1000:.1f} ms | "
            f"{counters['xact_commit'] / m:.1f} | {counters['tup_inserted'] / m:.1f} / "
            f"{counters['tup_updated'] / m:.1f} / {counters['tup_deleted'] / m:.1f} | "
            f"{_seconds(min(cpus))}–{_seconds(max(cpus))} |")
    for s in rows:
        if s.server and s.server[-1].statements:
            lines += ["", f"Most frequent statements in {s.title} (last run): calls, total ms, "
                      "rows, statement:", ""]
            lines += [f"- {calls}, {ms:.0f} ms, {n}: `{query[:160]}`"
                      for calls, ms, n, query in s.server[-1].statements]
        if s.server:
            busiest = sorted(s.server[-1].tables.items(),
                             key=lambda t: -(t[1]["n_tup_ins"] + t[1]["n_tup_upd"]))[:4]
            lines += ["", f"Tables written in {s.title} (last run): " + "; ".join(
                f"{table} {c['n_tup_ins']} inserted, {c['n_tup_upd']} updated "
                f"({c['n_tup_hot_upd']} HOT), {c['n_tup_del']} deleted, "
                f"{c['seq_scan']} sequential scans, {c['idx_scan']} index scans"
                for table, c in busiest)]
    return lines


# One feed in this many is summary-only and followed with `full_text = true` in 4f.
FULL_TEXT_EVERY = 10


def full_text_scenario(args: argparse.Namespace, work: Path) -> Scenario:
    """4f: the refresh of scenario 4 with one feed in ten summary-only and `full_text` on for it.

    Each entry of those feeds links a page of its own on the feed's host
    (navigation, an advertisement, the article, comments), served with the
    same latency; the refresh fetches the pages of the entries a feed shows
    and extracts their articles.
    """
    m_feeds, k = args.feeds, args.entries
    hosts = loopback_hosts(min(MAX_HOSTS, m_feeds))
    scenario = Scenario("refresh-fulltext",
                        f"4f. refresh, {m_feeds} feeds × {k} entries, one in "
                        f"{FULL_TEXT_EVERY} with full_text, empty store",
                        "feeds fetch --root DIR", Target(None))
    documents = generate_feeds(args.seed, m_feeds, k, len(hosts), summary_every=FULL_TEXT_EVERY)
    feeds = [d for d in documents if d.kind != "html"]
    summary_only = {d.number for d in documents if d.kind == "html"}
    # Only the entries a feed can show have their pages fetched.
    pages = len(summary_only) * min(k, ENTRIES_PER_FEED)

    def run() -> None:
        with FeedServer(documents, hosts, args.latency_ms / 1000) as server:
            project = work / "remote-fulltext"
            remove(project)
            (project / "sources" / "articles").mkdir(parents=True)
            (project / "sources" / "links.toml").write_text("".join(
                f'[[source]]\nurl = "{server.url(d)}"\n'
                + ("full_text = true\n" if d.number in summary_only else "") + "\n"
                for d in feeds), encoding="utf-8")
            argv = feeds_argv(args, "fetch", "--root", str(project))
            for r in range(1, args.runs + 1):
                remove(project / ".feeds", project / "output")
                server.take_stats()
                measured(scenario, argv, cwd=project, run=r, runs=args.runs, timeout=args.timeout)
                counts, peak = server.take_stats()
                if counts.get(200, 0) != m_feeds + pages or sum(counts.values()) != m_feeds + pages:
                    raise ScenarioError(f"run {r}: expected {m_feeds} feeds and {pages} pages "
                                        f"answered 200, got {dict(counts)}")
                states = source_states(args, project)
                failed = [s["page_error"] for s in states if s.get("page_error")]
                if sum(s["status"] == "ok" for s in states) != m_feeds or failed:
                    raise ScenarioError(f"run {r}: sources {Counter(str(s['status']) for s in states)}"
                                        f", page errors {failed[:3]}")
            scenario.notes += [describe(counts, peak),
                               f"{len(summary_only)} summary-only feeds, {pages} pages fetched "
                               "and their articles extracted"]

    attempt(scenario, run)
    return scenario


def reader_runs(
    args: argparse.Namespace, work: Path, peers: PeerEnv, server: FeedServer, urls: list[str],
    cold: Scenario, again: Scenario, workers: int = 1,
) -> None:
    """reader's two passes over the same feeds (a fresh database, then all 304), with
    `update_feeds(workers=workers)`; each number of workers has a database of its own."""
    m_feeds = len(urls)
    expected = m_feeds * args.entries
    site = work / ("reader" if workers == 1 else f"reader-{workers}")
    db, links, summary, script = (site / "reader.sqlite", site / "links.txt",
                                  site / "summary.json", site / "update.py")

    def run(scenario: Scenario, mode: str, status: int, r: int) -> str:
        remove(summary)
        server.take_stats()
        argv: list[str | os.PathLike[str]] = [peers.python, script, db, links, summary, mode,
                                              str(workers)]
        measured(scenario, argv, cwd=site, run=r, runs=args.peer_runs, timeout=args.timeout)
        counts, peak = server.take_stats()
        got = read_summary(summary)
        if got.get("entries") != expected or got.get("broken_feeds", 0):
            raise ScenarioError(f"run {r}: reader holds {got} (expected {expected} entries)")
        if counts.get(status, 0) != m_feeds:
            raise ScenarioError(f"run {r}: expected {m_feeds} answers {status}, got {dict(counts)}")
        return describe(counts, peak)

    def run_cold() -> None:
        if "reader" not in peers.versions:
            raise ScenarioError(f"not installed: {peers.missing.get('reader', 'not requested')}")
        remove(site)
        site.mkdir(parents=True)
        links.write_text("\n".join(urls) + "\n", encoding="utf-8")
        write_reader_script(script)
        for r in range(1, args.peer_runs + 1):
            remove(db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
            seen = run(cold, "add", 200, r)
        cold.notes += [seen, f"database: {expected} entries"]

    def run_again() -> None:
        if not cold.measured:
            raise ScenarioError("needs reader's first update")
        for r in range(1, args.peer_runs + 1):
            seen = run(again, "update", 304, r)
        again.notes.append(seen)

    attempt(cold, run_cold)
    attempt(again, run_again)


# --- The soak -------------------------------------------------------------------------------


def soak_scenario(args: argparse.Namespace, work: Path) -> tuple[str, bool]:
    """Scenario 7 when asked for: its report section, and whether it failed."""
    if args.soak is None:
        return "", False
    tiny = args.tiny
    opts = SoakOptions(
        minutes=args.soak, feeds=args.feeds, entries=min(args.entries, SOAK_ENTRIES),
        articles=min(args.articles, SOAK_ARTICLES), latency=args.latency_ms / 1000,
        seed=args.seed, warmup=args.soak_warmup, interval=0.5 if tiny else 2.0,
        save_every=1.0 if tiny else 5.0, hosts=MAX_HOSTS, trace=args.soak_trace)
    result = run_soak(args.feeds_python, work, opts, log)
    csv_path = (args.out.with_name(args.out.stem + "-soak.csv") if args.out is not None
                else work / "soak.csv")
    write_samples(csv_path, result.samples)
    log(f"soak: {result.rounds} rounds; RSS after warm-up {result.warm() or 0:.0f} MB, final "
        f"{result.final() or 0:.0f} MB; samples in {csv_path}")
    return soak_report(result, csv_path), result.error is not None


# --- Report ------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """CPU model, cores, memory, OS and Python, from /proc where Linux has it."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} cores ({usable} usable)",
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def load_average() -> str:
    """The 1-minute load average: how busy the machine was besides the benchmark."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def compile_feeds(python: Path) -> None:
    """Write the bytecode of the feeds `python` imports, as installing a package does.

    An editable install run with PYTHONDONTWRITEBYTECODE set would otherwise
    compile every module again in every measured run, a cost no installed
    copy (and no peer) pays.
    """
    code = ("import compileall, pathlib, feeds; "
            "compileall.compile_dir(pathlib.Path(feeds.__file__).parent, quiet=1)")
    subprocess.run([python, "-c", code], capture_output=True, check=False, timeout=300,
                   cwd=Path(tempfile.gettempdir()))


def describe_feeds(python: Path) -> str:
    """"feeds VERSION" as `python` imports it, with the commit when it runs from this checkout.

    Raises ScenarioError when `python` cannot import feeds at all.
    """
    code = "import importlib.metadata as m, feeds; print(m.version('feeds')); print(feeds.__file__)"
    # Run outside the checkout, as the scenarios do, so `import feeds` finds the installed one.
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False,
                          timeout=120, cwd=Path(tempfile.gettempdir()))
    if done.returncode != 0:
        raise ScenarioError(f"{python} cannot import feeds: {done.stderr.strip()[-400:]}")
    found, location = done.stdout.split()[:2]
    text = f"feeds {found}"
    repo = BENCH.parent
    if Path(location).resolve().is_relative_to(repo):
        git = ["git", "--no-optional-locks", "-C", str(repo)]
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False)
        dirty = subprocess.run([*git, "status", "--porcelain", "--", "feeds", "pyproject.toml"],
                               capture_output=True, text=True, check=False)
        if head.returncode == 0:
            text += f" (commit {head.stdout.strip()}"
            text += ", with uncommitted changes)" if dirty.stdout.strip() else ")"
    else:
        text += f" (from {Path(location).parent})"
    return text


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def _verdict(met: bool | None, measured: float, limit: float | None) -> str:
    if met is None or limit is None:
        return "–"
    if met:
        return "yes"
    return f"**no** ({measured / limit:.1f}× the limit)"


def ratio_rows(scenarios: dict[str, Scenario]) -> list[tuple[str, str, str, str]]:
    """(ratio, value, target, met) for the peer comparisons that were measured."""
    rows = []
    for peer, ours, title, goal in (
        ("pelican", "cold", "Pelican cold build / feeds cold build", 20.0),
        ("pelican-site", "site-cold", "Pelican with its pages / feeds with every format and pages",
         None),
        ("reader", "refresh", "reader refresh / feeds refresh", 5.0),
        ("reader304", "refresh304", "reader 304 pass / feeds 304 pass", None),
        ("reader-best", "refresh",
         f"reader refresh, {BEST_READER_WORKERS} workers / feeds refresh", 5.0),
        ("reader-best304", "refresh304",
         f"reader 304 pass, {BEST_READER_WORKERS} workers / feeds 304 pass", None),
    ):
        a, b = scenarios.get(peer), scenarios.get(ours)
        if a is None or b is None:
            continue
        if not (a.measured and b.measured):
            rows.append((title, "not measured", f"≥ {goal:g}×" if goal else "–", "–"))
            continue
        value = a.wall / b.wall
        target = f"≥ {goal:g}×" if goal else "–"
        met = "–" if goal is None else ("yes" if value >= goal else "**no**")
        rows.append((title, f"{value:.1f}×", target, met))
    return rows


def report(args: argparse.Namespace, scenarios: list[Scenario], peers: PeerEnv | None,
           info: dict[str, str], started: datetime, elapsed: float) -> str:
    by_key = {s.key: s for s in scenarios}
    versions = [info["feeds"]]
    if peers is not None:
        for peer in ("pelican", "reader"):
            versions.append(f"{peer} {peers.versions.get(peer, 'not installed')}")
    hosts = min(MAX_HOSTS, args.feeds)
    lines = [
        f"## feeds benchmark, {started.strftime('%Y-%m-%d %H:%M')} UTC",
        "",
        f"- machine: {info['cpu']}, {info['cores']}, {info['ram']} RAM; {info['os']}",
        f"- software: Python {info['python']}; {', '.join(versions)}",
        f"- parameters: {args.articles} articles; {args.feeds} feeds × {args.entries} entries "
        f"on {hosts} loopback hosts, {args.latency_ms:g} ms latency per request; "
        f"median of {args.runs} runs (peers: {args.peer_runs}); seed {args.seed}"
        if scenarios else f"- parameters: the soak's, below; {args.latency_ms:g} ms latency per "
        f"request on {hosts} loopback hosts; seed {args.seed}",
        f"- whole benchmark: {elapsed / 60:.1f} min; load average (1 min) {info['load']} at the "
        f"start, {load_average()} at the end",
    ]
    if not scenarios:  # the soak alone
        return "\n".join(lines) + "\n"
    lines += [
        "",
        "| scenario | command | wall (median) | wall (min–max) | CPU (median) | peak RSS, tree "
        "| peak PSS, tree | target | met | RSS < 300 MB | others' load |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: |",
    ]
    for s in scenarios:
        target = f"< {s.target.wall:g} s" if s.target.wall is not None else "–"
        if not s.measured:
            reason = (s.error or "not run").replace("|", "\\|")[:200]
            lines.append(f"| {s.title} | `{s.command}` | failed | – | – | – | – | {target} | "
                         f"**{reason}** | – | – |")
            continue
        walls = [m.wall for m in s.runs]
        rss_ok = s.rss_met()
        rss = "–" if rss_ok is None else ("yes" if rss_ok else "**no**")
        lines.append(
            f"| {s.title} | `{s.command}` | {_seconds(s.wall)} | "
            f"{_seconds(min(walls))}–{_seconds(max(walls))} | {_seconds(s.cpu)} | "
            f"{s.peak_mb:.0f} MB | {s.pss_mb:.0f} MB | {target} | "
            f"{_verdict(s.wall_met(), s.wall, s.target.wall)} | {rss} | "
            f"{s.others_cores:.2f} cores |"
        )
    lines += shared_store_table(scenarios, args.feeds)
    if args.postgresql_missing:
        lines += ["", f"{args.postgresql_missing}."]
    rows = ratio_rows(by_key)
    if rows:
        lines += ["", "| ratio (wall time) | value | target | met |", "| --- | ---: | --- | --- |"]
        lines += [f"| {title} | {value} | {target} | {met} |" for title, value, target, met in rows]
    lines += [
        "",
        "CPU is user + system time of the command and its child processes. Peak RSS sums the "
        "resident memory of every process of the tree (pages shared by forked workers count once "
        "per process); PSS shares them out instead. Others' load: cores used meanwhile by "
        "processes outside the benchmark (median over the runs); well above 0 means the wall "
        "times of that scenario are inflated by a busy machine.",
        "",
        "Checked in each scenario:",
        "",
    ]
    for s in scenarios:
        detail = "; ".join(s.notes) if s.measured else f"FAILED: {s.error}"
        lines.append(f"- {s.title}: {detail or 'exit status 0'}")
    return "\n".join(lines) + "\n"


# --- Command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmark feeds on generated data: (1) cold build of N articles, (2) no-change "
            "rebuild, (3) rebuild after one edited article, (1b-3b) the same with every format "
            "and the pages, (1c-3c) with archives, (4) `feeds fetch` of M loopback "
            "feeds × K entries behind a per-request latency into an empty store, (5) the same "
            "fetch answered by 304s, (4f) the fetch with one feed in ten summary-only and "
            "followed with full_text, and (6) the peers Pelican (same articles, Atom feeds) and "
            "reader (same feeds), installed into a venv of their own under bench/.work/, and "
            "(8-9) the refresh and its 304 pass in one SQLite process and in one and two "
            "fetch workers on PostgreSQL (a cluster it starts and stops itself, if installed). "
            "Reports median wall time, CPU time (user+sys, children included) and peak memory "
            "of the process tree per scenario, against the project's targets, as a Markdown "
            "table on stdout. Progress goes to stderr. Exit status 1 if a feeds scenario "
            "failed (a failed peer is reported, not fatal)."
        ),
        epilog="Run from the repository root. Example: python -m bench --tiny --no-peers",
    )
    parser.add_argument("--articles", type=int, metavar="N",
                        help=f"articles in the corpus (default {DEFAULTS['articles']})")
    parser.add_argument("--feeds", type=int, metavar="M",
                        help=f"remote feeds to refresh (default {DEFAULTS['feeds']})")
    parser.add_argument("--entries", type=int, metavar="K",
                        help=f"entries per remote feed (default {DEFAULTS['entries']})")
    parser.add_argument("--latency-ms", type=float, metavar="MS",
                        help=f"server latency per request (default {DEFAULTS['latency_ms']:g})")
    parser.add_argument("--runs", type=int, metavar="R",
                        help=f"runs per scenario, median reported (default {DEFAULTS['runs']})")
    parser.add_argument("--peer-runs", type=int, metavar="R",
                        help="runs per peer scenario (default: --runs)")
    parser.add_argument("--no-peers", action="store_true",
                        help="skip Pelican and reader (and installing them)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="also write the Markdown report to FILE")
    parser.add_argument("--tiny", action="store_true",
                        help="smoke-test sizes: " + ", ".join(f"{k}={v:g}" for k, v in TINY.items())
                        + " (explicit options still win)")
    parser.add_argument("--seed", type=int, default=1, help="corpus and feed seed (default 1)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, metavar="DIR",
                        help="scratch directory, emptied first (default bench/.work/run)")
    parser.add_argument("--peers-venv", type=Path, default=DEFAULT_PEERS_VENV, metavar="DIR",
                        help="venv for the peers, reused between runs (default bench/.work/peers-venv)")
    parser.add_argument("--feeds-python", type=Path, default=Path(sys.executable), metavar="PYTHON",
                        help="interpreter whose installed feeds is measured (default: this one)")
    parser.add_argument("--timeout", type=float, default=1800.0, metavar="S",
                        help="kill a single run after S seconds (default 1800)")
    parser.add_argument("--no-postgresql", action="store_true",
                        help="skip the refresh on PostgreSQL and its SQLite baseline (8–9)")
    parser.add_argument("--shared-only", action="store_true",
                        help="run scenarios 8–9 alone (implies --no-peers)")
    parser.add_argument("--pg-statements", action="store_true",
                        help="load pg_stat_statements in 8–9's cluster and list the statements "
                        "run most often (costs the server a little CPU of its own)")
    parser.add_argument("--soak", type=float, nargs="?", const=-1.0, metavar="MINUTES",
                        help=f"also run the soak (7) for MINUTES (default {SOAK_MINUTES:g}; "
                        f"with --tiny {TINY_SOAK_MINUTES:g}): feeds run --serve over "
                        f"min(N, {SOAK_ARTICLES}) articles and M feeds of min(K, {SOAK_ENTRIES}) "
                        "entries that change from round to round")
    parser.add_argument("--soak-only", action="store_true",
                        help="run the soak alone (implies --soak and --no-peers)")
    parser.add_argument("--soak-warmup", type=int, metavar="ROUNDS",
                        help=f"poll rounds before the soak's warm-up RSS is taken (default "
                        f"{SOAK_WARMUP}; with --tiny {TINY_SOAK_WARMUP})")
    parser.add_argument("--soak-trace", type=Path, metavar="DIR",
                        help="run the soak's daemon under tracemalloc and write where its memory "
                        "grew to DIR (bench/tracedaemon.py; slower: to find a leak, not to "
                        "measure one)")
    args = parser.parse_args(argv)
    preset = TINY if args.tiny else DEFAULTS
    for key, default in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, preset.get(key, default))
    if args.peer_runs is None:
        args.peer_runs = args.runs
    for key in ("articles", "feeds", "entries", "runs", "peer_runs"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be at least 1")
    if args.latency_ms < 0:
        parser.error("--latency-ms cannot be negative")
    args.postgresql_missing = None
    if args.shared_only:
        args.no_peers = True
    if args.soak_only:
        args.no_peers = True
        if args.soak is None:
            args.soak = -1.0
    if args.soak is not None and args.soak < 0:
        args.soak = TINY_SOAK_MINUTES if args.tiny else SOAK_MINUTES
    if args.soak is not None and args.soak == 0:
        parser.error("--soak must be longer than 0 minutes")
    if args.soak_warmup is None:
        args.soak_warmup = TINY_SOAK_WARMUP if args.tiny else SOAK_WARMUP
    if args.entries > RETENTION_ENTRIES:
        parser.error(f"--entries above {RETENTION_ENTRIES} would be cut by feeds' default "
                     "retention, so the store could not be checked")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the PostgreSQL cluster and the servers are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = datetime.now(UTC)
    clock = time.monotonic()
    info = machine()
    info["load"] = load_average()
    try:
        info["feeds"] = describe_feeds(args.feeds_python)
    except (ScenarioError, OSError, subprocess.SubprocessError) as exc:
        log(f"cannot run feeds: {exc}")
        return 2
    log(f"{info['cpu']}, {info['cores']}, {info['ram']}; Python {info['python']}; {info['feeds']}")
    compile_feeds(args.feeds_python)
    work = args.work.absolute()
    remove(work)
    work.mkdir(parents=True)
    peers: PeerEnv | None = None
    if not args.no_peers:
        peers = prepare_peers(args.peers_venv.absolute(), ("pelican", "reader"), log)
        for peer, reason in peers.missing.items():
            log(f"peer {peer} unavailable: {reason}")
        log("peers: " + (", ".join(f"{k} {v}" for k, v in peers.versions.items()) or "none"))

    scenarios: list[Scenario] = []
    if args.shared_only:
        scenarios += shared_store_scenarios(args, work)
    elif not args.soak_only:
        scenarios += local_scenarios(args, work)
        scenarios += local_scenarios(args, work, variant="site")
        scenarios += local_scenarios(args, work, variant="archives")
        if peers is not None:
            scenarios.append(pelican_scenario(args, work, peers))
            scenarios.append(pelican_scenario(args, work, peers, pages=True))
        scenarios += remote_scenarios(args, work, peers)
        scenarios.append(full_text_scenario(args, work))
        scenarios += shared_store_scenarios(args, work)
    order = ["cold", "nochange", "edit", "site-cold", "site-nochange", "site-edit",
             "archives-cold", "archives-nochange", "archives-edit", "refresh",
             "refresh304", "refresh-fulltext", "pelican", "pelican-site", "reader", "reader304",
             "reader-best", "reader-best304", "sqlite-refresh", "sqlite-304", "pg1-refresh",
             "pg1-304", "pg2-refresh", "pg2-304"]
    scenarios.sort(key=lambda s: order.index(s.key))
    soak_text, soak_failed = soak_scenario(args, work)

    text = report(args, scenarios, peers, info, started, time.monotonic() - clock) + soak_text
    sys.stdout.write(text)
    sys.stdout.flush()
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        log(f"wrote {args.out}")
    failed = [s.title for s in scenarios if not s.peer and not s.measured]
    if soak_failed:
        failed.append("7. soak")
    if failed:
        log(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
