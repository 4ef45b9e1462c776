"""Shared fixtures: a project directory, the CLI as a subprocess, the feed server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DATA = TESTS / "data"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from feedserver import feed_server  # noqa: E402, F401  (a fixture, used by name)
from htmlcheck import HtmlChecker, vnu_jar  # noqa: E402

if TYPE_CHECKING:
    from feeds.store import Tables

# A store named in the environment would become every test's store: the
# tests that want one name it themselves.
os.environ.pop("FEEDS_STORE", None)


@pytest.fixture(scope="session", autouse=True)
def _user_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One user cache directory for the whole run, outside $HOME."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))


@pytest.fixture(scope="session", autouse=True)
def _no_proxy_from_outside() -> None:
    """Tests talk to loopback directly: a proxy set where they run (feeds honours
    HTTP_PROXY and the like) must not carry them. tests/test_proxy.py sets its own."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        os.environ.pop(name, None)
        os.environ.pop(name.upper(), None)


@pytest.fixture(scope="session")
def html_checker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HtmlChecker | None]:
    """The W3C's HTML checker for the whole run (see htmlcheck.py); None when it is not here."""
    jar = vnu_jar()
    if jar is None:
        yield None
        return
    checker = HtmlChecker(jar, tmp_path_factory.mktemp("vnu") / "vnu.log", stopped_with_this_process())
    try:
        yield checker
    finally:
        checker.stop()


@pytest.fixture(autouse=True)
def _every_written_feed_and_page_is_valid(request: pytest.FixtureRequest,
                                 html_checker: HtmlChecker | None) -> Iterator[None]:
    """After each test, every feed and page left under an `output/` directory of its tmp_path is valid.

    Tests check the feeds they look at; this catches the ones they do not
    (tag feeds, language feeds, feeds written by a subprocess or a daemon).
    sfeed, a second reader, must read each Atom and RSS feed as feedparser
    does (sfeedcheck.py), and the W3C's HTML checker must find nothing wrong
    with any page or stylesheet (htmlcheck.py).
    """
    if "tmp_path" not in request.fixturenames:
        yield
        return
    from feedcheck import assert_valid_feed
    from sfeedcheck import assert_sfeed_agrees, sfeed_available

    root: Path = request.getfixturevalue("tmp_path")  # now, so that it is torn down after this
    yield
    second_reader = sfeed_available()
    written = sorted(p for p in root.rglob("*.*")
                     if "output" in p.relative_to(root).parts[:-1] and ".feeds-tmp-" not in p.name)
    for path in written:
        if path.suffix in (".atom", ".rss", ".json"):
            assert_valid_feed(path)
            if second_reader and path.suffix != ".json":
                assert_sfeed_agrees(path)
    pages = [path for path in written if path.suffix in (".html", ".css")]
    if pages and html_checker is None and os.environ.get("CI"):
        pytest.fail("the W3C HTML checker (vnu.jar and Java) is missing; .ci/run installs it")
    if pages and html_checker is not None:
        problems = [problem for page in pages for problem in html_checker.problems(page)]
        assert not problems, "the W3C HTML checker refuses:\n" + "\n".join(problems)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory with an articles folder."""
    (tmp_path / "sources" / "articles").mkdir(parents=True)
    return tmp_path


@pytest.fixture
def shipped_project(tmp_path: Path) -> Path:
    """A project holding a copy of the shipped sample articles."""
    shutil.copytree(REPO / "sources" / "articles", tmp_path / "sources" / "articles")
    return tmp_path


def add_fixture(project: Path, *names: str) -> None:
    """Copy fixture articles from tests/data/articles into the project."""
    for name in names:
        shutil.copy(DATA / "articles" / name, project / "sources" / "articles" / name)


def write_links(project: Path, *urls: str) -> None:
    """List `urls` as the project's remote sources, in sources/links.toml."""
    (project / "sources" / "links.toml").write_text(
        "".join(f'[[source]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8")


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a `python -m feeds` child: this checkout's package first.

    Under mutation testing (mutmut), the child runs the mutant under test
    too; during mutmut's coverage pass ("stats") it runs plain code, since
    only the test process itself can record coverage.
    """
    env = dict(os.environ, PYTHONPATH=str(REPO), **extra)
    if env.get("MUTANT_UNDER_TEST") == "stats":
        del env["MUTANT_UNDER_TEST"]
    return env


# Runs the rest of its arguments as a program the kernel stops (SIGTERM) when
# the process that started it dies: the prctl outlives the exec, and the PID
# stays the one the test stops the program by.
_STOPPED_WITH_PARENT = """
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit("the process that started this one is gone")
os.execv(sys.argv[2], sys.argv[2:])
"""


def stopped_with_this_process(*argv: str) -> list[str]:
    """`argv` run so that the kernel stops it (SIGTERM) when this process dies.

    Tests stop what they start by its PID; this stops it when they cannot:
    a test run killed halfway (a timeout, a stopped mutation run) would
    otherwise leave daemons running, fetching and retrying for ever. Start
    it from the test's own thread: the kernel signals the program when the
    thread that started it ends, not only the process.
    """
    if not sys.platform.startswith("linux"):
        return list(argv)
    return [sys.executable, "-c", _STOPPED_WITH_PARENT, str(os.getpid()), *argv]


def feeds_daemon(*args: str) -> list[str]:
    """The command line of `python -m feeds ARGS` for a daemon a test starts and stops."""
    return stopped_with_this_process(sys.executable, "-m", "feeds", *args)


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli() -> CliRunner:
    """Run `python -m feeds ARGS` in a directory as a real subprocess."""

    def run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = child_env()
        return subprocess.run(
            [sys.executable, "-m", "feeds", *args], cwd=cwd, env=env, capture_output=True,
            text=True, timeout=timeout, check=False,
        )

    return run


@pytest.fixture(autouse=True)
def _fresh_slug_cache() -> None:
    """Each test computes its own slugs: a memo filled elsewhere must not answer for it."""
    from feeds.text.slug import slugify

    slugify.cache_clear()


class CountingConnection:
    """A store's real connection, counting the calls made through it: the round trips to a
    server (an `executemany` is one pipeline on PostgreSQL), and roughly the bytes they send
    (`sent`: the statements' text and parameters, a number counted as eight)."""

    def __init__(self, conn: Any) -> None:
        self._conn, self.statements, self.sent = conn, 0, 0

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        self.statements += 1
        self.sent += len(sql.encode()) + _size(parameters)
        return self._conn.execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:
        self.statements += 1
        listed = list(seq_of_parameters)
        self.sent += len(sql.encode()) + sum(_size(p) for p in listed)
        return self._conn.executemany(sql, listed)


def _size(value: Any) -> int:
    """About how many bytes `value` takes on the wire, as a statement's parameter."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(_size(v) for v in value)
    return 8


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """A PostgreSQL cluster for the whole run, started on first use (see tests/pgcluster.py).

    A cluster that cannot start fails the tests that need it. Only outside CI,
    FEEDS_TEST_POSTGRESQL=skip skips them instead, on a machine without PostgreSQL.
    """
    from pgcluster import start_cluster

    if os.environ.get("FEEDS_TEST_POSTGRESQL") == "skip" and not os.environ.get("CI"):
        pytest.skip("FEEDS_TEST_POSTGRESQL=skip: the PostgreSQL store is not tested")
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: object) -> Iterator[str]:
    """The URL of a new PostgreSQL database for this test alone."""
    from pgcluster import Cluster

    from feeds.store.postgres import close_pools

    assert isinstance(pg_cluster, Cluster)
    yield pg_cluster.new_database()
    close_pools()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Tables]:
    """Opens a session of this test's store, on each backend in turn (the same store each time)."""
    from feeds.store import open_at

    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return lambda: open_at(url, tmp_path / "s.sqlite3")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test on each store: for PostgreSQL, FEEDS_STORE names a new database.

    The configuration the test loads, and every child process it starts,
    then use that store, as a deployment naming it in the environment does.
    """
    if request.param == "postgresql":
        monkeypatch.setenv("FEEDS_STORE", request.getfixturevalue("pg_url"))
    return str(request.param)
