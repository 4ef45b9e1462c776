"""The PostgreSQL store end to end: the CLI on a database gives SQLite's bytes; stores migrate both ways.

Each test gets a database of its own in the throwaway cluster of
tests/pgcluster.py; the CLI runs as a subprocess, told the store by
FEEDS_STORE as a deployment would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import add_fixture, child_env, write_links
from feedserver import FeedServer, Response
from remote_feeds import atom, json_feed, rss

from feeds.store import Store, open_at

ITEMS = [("r1", "Quantum sensors leave the lab", "Sensors measure gravity."),
         ("r2", "Telescope finds water vapour", "A distant planet has vapour.")]
MORE = [("r3", "Deep sea cables map quakes", "Fibre optics listen to the ground."), *ITEMS]


def _feeds(project: Path, *args: str, store: str | None = None) -> subprocess.CompletedProcess[str]:
    env = child_env(**({"FEEDS_STORE": store} if store is not None else {}))
    return subprocess.run([sys.executable, "-m", "feeds", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=180, check=False)


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stderr
    return done


def _output(project: Path) -> dict[str, bytes]:
    out = project / "output"
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


def _project(root: Path, urls: list[str]) -> Path:
    (root / "sources" / "articles").mkdir(parents=True)
    write_links(root, *urls)
    add_fixture(root, "bilingual.md", "only-required.md")
    return root


@pytest.fixture
def feeds_served(feed_server: FeedServer) -> list[str]:
    return [
        feed_server.route("/rss.xml", Response(body=rss(ITEMS), etag='"rss-1"',
                                               content_type="application/rss+xml")),
        feed_server.route("/atom.xml", Response(body=atom(ITEMS[:1]), etag='"atom-1"')),
        feed_server.route("/feed.json", Response(body=json_feed(ITEMS[1:]),
                                                 content_type="application/feed+json")),
    ]


def test_a_project_on_postgresql_publishes_the_bytes_one_on_sqlite_does(
        tmp_path: Path, feed_server: FeedServer, feeds_served: list[str], pg_url: str) -> None:
    on_sqlite = _project(tmp_path / "sqlite", feeds_served)
    on_postgresql = _project(tmp_path / "postgresql", feeds_served)
    for project, store in ((on_sqlite, None), (on_postgresql, pg_url)):
        _ok(_feeds(project, "build", store=store))
    assert _output(on_postgresql) == _output(on_sqlite)
    assert len(_output(on_sqlite)) > 10
    # A feed gains an entry; a fetch stores it and the next build publishes it.
    feed_server.route("/rss.xml", Response(body=rss(MORE), etag='"rss-2"',
                                           content_type="application/rss+xml"))
    for project, store in ((on_sqlite, None), (on_postgresql, pg_url)):
        fetched = _ok(_feeds(project, "fetch", store=store))
        assert "1 new entry" in fetched.stdout, fetched.stdout
        _ok(_feeds(project, "build", "--offline", store=store))
    assert _output(on_postgresql) == _output(on_sqlite)
    assert b"Deep sea cables map quakes" in _output(on_sqlite)["all.atom"]
    # The database held it all: no SQLite file was made beside the project.
    assert not (on_postgresql / ".feeds" / "state.sqlite3").exists()
    with open_at(pg_url, Path()) as pg, Store(on_sqlite / ".feeds" / "state.sqlite3") as lite:
        assert pg.row_counts() == lite.row_counts()
        # Each as fetched, but for when: the two projects fetched at their own times.
        untimed = {"last_fetch": None, "last_success": None, "next_due": None}
        assert [replace(s, **untimed) for s in pg.sources()] == [
            replace(s, **untimed) for s in lite.sources()]


def test_a_store_migrated_to_postgresql_and_back_keeps_every_row_and_the_output(
        tmp_path: Path, feeds_served: list[str], pg_url: str) -> None:
    project = _project(tmp_path / "p", feeds_served)
    _ok(_feeds(project, "build"))
    built = _output(project)
    with Store(project / ".feeds" / "state.sqlite3") as store:
        counts = store.row_counts()
    assert all(counts[t] for t in ("sources", "entries", "article_cache", "outputs")), counts

    shown = pg_url  # no password in the tests' URLs
    done = _ok(_feeds(project, "store", "migrate", "--to", pg_url))
    assert f"copied {sum(counts.values())} rows to {shown} (" in done.stdout
    with open_at(pg_url, Path()) as pg:
        assert pg.row_counts() == counts
    # Built again from the database alone, the output is what it was.
    shutil.rmtree(project / "output")
    _ok(_feeds(project, "build", "--offline", store=pg_url))
    assert _output(project) == built

    back = tmp_path / "back.sqlite3"
    _ok(_feeds(project, "store", "migrate", "--to", str(back), store=pg_url))
    with Store(back) as store:
        assert store.row_counts() == counts
    shutil.rmtree(project / "output")
    _ok(_feeds(project, "build", "--offline", store=str(back)))
    assert _output(project) == built


def test_a_migration_never_merges_into_a_store_that_holds_rows(
        tmp_path: Path, feeds_served: list[str], pg_url: str) -> None:
    project = _project(tmp_path / "p", feeds_served)
    _ok(_feeds(project, "build"))
    _ok(_feeds(project, "store", "migrate", "--to", pg_url))
    with open_at(pg_url, Path()) as pg:
        pg.ensure_sources(["https://only-here.example/feed"])
        counts = pg.row_counts()
    refused = _feeds(project, "store", "migrate", "--to", pg_url)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"feeds: {pg_url}: the store to copy to is not empty (")
    assert "replace what it holds" in refused.stderr
    with open_at(pg_url, Path()) as pg:
        assert pg.row_counts() == counts
    _ok(_feeds(project, "store", "migrate", "--to", pg_url, "--replace"))
    with open_at(pg_url, Path()) as pg, Store(project / ".feeds" / "state.sqlite3") as lite:
        assert pg.row_counts() == lite.row_counts()
        assert "https://only-here.example/feed" not in {s.key for s in pg.sources()}


def test_a_migration_to_the_store_itself_or_from_no_store_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "sources").mkdir(parents=True)
    refused = _feeds(project, "store", "migrate", "--to", "other.sqlite3")
    assert refused.returncode == 2
    assert "no store to copy yet; build the project first" in refused.stderr
    _ok(_feeds(project, "build"))
    itself = _feeds(project, "store", "migrate", "--to", ".feeds/state.sqlite3")
    assert itself.returncode == 2
    assert "that is the project's own store" in itself.stderr


def test_a_cluster_whose_run_is_killed_is_stopped_and_removed(pg_cluster: object) -> None:
    """A test run cut short (kill -9, a CI timeout) leaves no PostgreSQL server behind."""
    repo = Path(__file__).resolve().parent.parent
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from bench.pgcluster import start_cluster\n"
         "cluster = start_cluster()\n"
         "print(cluster.folder, cluster.postmaster_pid(), flush=True)\n"
         "time.sleep(600)\n"],
        cwd=repo, env=child_env(), stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    line = owner.stdout.readline().split()
    assert len(line) == 2, "the cluster did not start"
    folder, postmaster = Path(line[0]), int(line[1])
    assert Path(f"/proc/{postmaster}").exists()
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 90
    while (Path(f"/proc/{postmaster}").exists() or folder.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{postmaster}").exists(), "the server outlived the run that made it"
    assert not folder.exists()
