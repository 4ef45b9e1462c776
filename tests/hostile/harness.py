"""One round of hostile sources beside a well-behaved one, and what it left behind.

`attack` first serves every source a harmless feed and builds, so each has
entries stored and published. Then the hostile sources switch to their
attacks while a bystander source on another domain gains an entry, and
everything is fetched and built again: through the library API with the
small limits of `SETTINGS`, or by another `Runner` (the CLI, say). Every
written feed must be valid Atom that feedparser reads without complaint
(`assert_valid_output`), and hold no character XML forbids. `Round.check`
then holds each attacked source to the rules: a recorded error or warning
naming the cause, and no stored or published entry lost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from atomcheck import assert_valid_output
from conftest import write_links
from feedparser import FeedParserDict
from feedserver import FeedServer, Handler, Response
from remote_feeds import atom, rss

from feeds import build, fetch
from feeds.config import Config, FetchSettings, load_config
from feeds.model import SourceState
from feeds.remote.refresh import SourceOutcome
from feeds.store import open_at

# Small limits, so every attack ends within a few seconds; eight requests per
# domain at once, so the attacks on 127.0.0.1 wait for each other only as
# long as the slowest one.
SETTINGS = FetchSettings(domain_spacing=0.0, per_domain=8, connect_timeout=1.0, read_timeout=2.0,
                         total_timeout=3.0, max_bytes=256 * 1024, max_redirects=3)
BEFORE = 2  # entries each source has stored before it turns hostile

# What XML 1.0 forbids (and U+FFFE/U+FFFF); none of it may reach a written file.
FORBIDDEN_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Case:
    """One hostile source: what it serves, and what its source must then record.

    `kind` is the recorded error kind; None means the feed is still read.
    `says` must appear in the recorded error or warning; None means the feed
    is read without a warning, as nothing was wrong with it.
    """

    name: str
    attack: Response | Handler
    says: str | None
    kind: str | None = None


@dataclass(frozen=True)
class Round:
    """What one `attack` left: source states, outcomes and the output read back."""

    project: Path
    urls: dict[str, str]  # case name -> URL
    stored_before: dict[str, int]  # case name -> entries stored before the attack
    outcomes: dict[str, SourceOutcome]  # URL -> outcome of the attacked fetch, when known
    states: dict[str, SourceState]  # URL -> state after it
    feeds: dict[str, FeedParserDict]  # output path -> the feed read back
    seconds: float  # how long the attacked fetch and build took
    bystander: str  # the URL of the well-behaved source

    def titles(self, path: str = "all.atom") -> list[str]:
        return [e.title for e in self.feeds[path].entries]

    def check(self, case: Case) -> SourceState:
        """The rules every attacked source is held to; returns its state for more checks."""
        url = self.urls[case.name]
        state = self.states[url]
        if case.kind is None:
            assert state.status == "ok", f"{case.name}: {state.last_error}"
            recorded = state.warning or ""
        else:
            assert (state.status, state.last_error_kind) == ("error", case.kind), (
                f"{case.name}: {state.status} {state.last_error_kind}: {state.last_error}")
            recorded = state.last_error or ""
            if url in self.outcomes:
                assert self.outcomes[url].message == state.last_error
        if case.says is None:
            assert state.warning is None, f"{case.name}: warned {state.warning!r}"
        else:
            assert case.says in recorded, f"{case.name}: recorded {recorded!r}"
        assert state.entry_count >= self.stored_before[case.name], f"{case.name}: entries lost"
        published = set(self.titles())
        kept = [title for title in before_titles(case.name) if title in published]
        assert len(kept) == BEFORE, f"{case.name}: published before the attack, now missing"
        return state


# The stores a round whose subject is what reaches the store runs on (see `round_store`).
STORES = ["sqlite", "postgresql"]


@contextmanager
def round_store(request: pytest.FixtureRequest) -> Iterator[str]:
    """feeds.toml's line naming the store of a round parametrised on `STORES`: none (the
    SQLite file), or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield ""
        return
    from pgcluster import Cluster

    from feeds.store.postgres import close_pools

    cluster = request.getfixturevalue("pg_cluster")
    assert isinstance(cluster, Cluster)
    try:
        yield f'store = "{cluster.new_database()}"\n'
    finally:
        close_pools()


def new_project(factory: pytest.TempPathFactory, name: str) -> Path:
    """An empty project, as the `project` fixture makes, for fixtures that outlive a test."""
    project = factory.mktemp(name)
    (project / "sources" / "articles").mkdir(parents=True)
    return project


def before_titles(name: str) -> list[str]:
    return [f"{name} before {i}" for i in range(BEFORE)]


# Fetches every source now and builds; returns the outcomes when it can.
Runner = Callable[[Config, FetchSettings], Sequence[SourceOutcome]]


def in_process(config: Config, settings: FetchSettings) -> Sequence[SourceOutcome]:
    """The library's `fetch` and then `build`, in this process."""
    outcomes = fetch(config, settings=settings)
    build(config, fetch=False)
    return outcomes


def attack(project: Path, server: FeedServer, cases: Sequence[Case], *,
           settings: FetchSettings = SETTINGS, config: str = "",
           runner: Runner = in_process) -> Round:
    """Build with harmless feeds, switch the cases to their attacks, fetch and build again.

    `runner` does the attacked fetch and build (`in_process` unless given).
    """
    if config:
        (project / "feeds.toml").write_text(config, encoding="utf-8")
    server.route("/bystander.atom", Response(body=atom([("b0", "Bystander before", "Calm.")])))
    bystander = server.url("/bystander.atom", host="localhost")  # another politeness domain
    urls = {}
    for case in cases:
        items = [(f"{case.name}-{i}", title, "Harmless.")
                 for i, title in enumerate(before_titles(case.name))]
        urls[case.name] = server.route(f"/{case.name}", Response(body=rss(items)))
    write_links(project, bystander, *urls.values())
    loaded = load_config(project)
    first = build(loaded, settings=settings)
    assert [o.status for o in first.fetched] == ["ok"] * (len(cases) + 1), first.fetched
    with open_at(loaded.store_url, loaded.store_path) as store:
        stored_before = {case.name: store.count_entries(urls[case.name]) for case in cases}

    for case in cases:
        server.route(f"/{case.name}", case.attack)
    server.route("/bystander.atom", Response(body=atom([
        ("b0", "Bystander before", "Calm."), ("b1", "Bystander after", "Still calm.")])))
    started = time.monotonic()
    outcomes = {o.url: o for o in runner(loaded, settings)}
    seconds = time.monotonic() - started
    with open_at(loaded.store_url, loaded.store_path) as store:
        states = {s.url: s for s in store.sources()}
    feeds = assert_valid_output(project / "output")
    if outcomes:
        assert outcomes[bystander].status == "ok" and outcomes[bystander].new == 1, outcomes
    assert {"Bystander before", "Bystander after"} <= {e.title for e in feeds["all.atom"].entries}, (
        "the bystander's new entry is not published")
    assert_nothing_forbidden(project / "output")
    return Round(project, urls, stored_before, outcomes, states, feeds, seconds, bystander)


def assert_nothing_forbidden(output: Path) -> None:
    """No character XML 1.0 forbids in any file written, feeds, index and OPML alike."""
    for path in sorted(p for p in output.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8")
        found = FORBIDDEN_IN_XML.search(text)
        assert found is None, f"{path}: {found.group()!r} at {found.start()}"
