"""XML that attacks its parser: entity bombs, external entities reading files or URLs.

The attacked fetch runs as the real `feeds fetch --build` in a subprocess,
so its peak memory can be measured and a time limit can stop it. The
secret a local file holds, and the loopback routes external entities and
DTDs point at, prove nothing was read or fetched: the secret must be in no
written file and not in the store, and those routes must never be asked.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, CliRunner
from feedserver import FeedServer, Response
from harness import Case, Round, Runner, attack, new_project

from feeds.config import Config, FetchSettings
from feeds.errors import ParseError
from feeds.remote.parse import parse_feed
from feeds.remote.refresh import SourceOutcome

LEAKS = ("/leak/entity", "/leak/dtd", "/leak/parameter")  # must never be requested
PEAK_RSS_LIMIT = 300 * 2**20  # bytes; this build needs about 160 MiB, and 6 GiB undefended
TIME_LIMIT = 60.0  # seconds before the subprocess is killed


def _rss_with(name: str, declarations: str, reference: str) -> str:
    """An RSS document with a DOCTYPE holding `declarations`, using `reference` in an item."""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss {declarations}>\n'
            '<rss version="2.0"><channel><title>Entities</title><link>http://example.com/</link>'
            f"<item><guid>e1</guid><title>Title {reference}</title>"
            f"<link>http://example.com/{name}</link><description>Text {reference}</description>"
            "</item></channel></rss>")


def _billion_laughs() -> str:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    return _rss_with("billion-laughs", "[\n" + "\n".join(levels) + "\n]", "&lol9;")


def _quadratic() -> str:
    # No nesting, no "&" in the entity: the kind of declaration a lenient
    # parser keeps. 100 KB of entity used 20,000 times is 2 GB of text.
    return _rss_with("quadratic-blowup", f'[\n<!ENTITY big "{"B" * 100_000}">\n]', "&big;" * 20_000)


def _cases(secret: Path, server: FeedServer) -> list[Case]:
    entity, dtd, parameter = (server.url(path) for path in LEAKS)
    ignored = "ignored the entity declarations of its DTD"
    return [
        Case("billion-laughs", Response(body=_billion_laughs()), ignored),
        Case("quadratic-blowup", Response(body=_quadratic()), ignored),
        Case("xxe-local-file", Response(body=_rss_with(
            "xxe-local-file", f'[<!ENTITY xxe SYSTEM "{secret.as_uri()}">]', "&xxe;")), ignored),
        Case("xxe-url", Response(body=_rss_with(
            "xxe-url", f'[<!ENTITY xxe SYSTEM "{entity}">]', "&xxe;")), ignored),
        Case("external-dtd", Response(body=_rss_with("external-dtd", f'SYSTEM "{dtd}"', "&ext;")),
             "did not load its external DTD"),
        Case("parameter-entity", Response(body=_rss_with(
            "parameter-entity", f'[<!ENTITY % remote SYSTEM "{parameter}">\n%remote;]', "&ext;")),
            ignored),
    ]
NAMES = ["billion-laughs", "quadratic-blowup", "xxe-local-file", "xxe-url", "external-dtd",
         "parameter-entity"]


@dataclass
class Measured:
    """What the subprocess used: peak resident memory in bytes, wall time, exit status."""

    peak_rss: int = 0
    seconds: float = 0.0
    returncode: int | None = None
    stderr: str = ""


# Runs the command in its arguments and reports its exit status and peak memory.
# ru_maxrss counts the memory of the process a command was forked from, so the
# command is forked from this small launcher, not from the test process.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(f"launched: exit {os.waitstatus_to_exitcode(status)} peak {usage.ru_maxrss}", file=sys.stderr)
"""


def _cli_runner(project: Path, measured: Measured) -> Runner:
    """A harness runner: `feeds fetch --build` as a subprocess, measured and time-limited."""

    def run(config: Config, settings: FetchSettings) -> Sequence[SourceOutcome]:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "-m", "feeds", "fetch", "--build"], cwd=project,
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        try:
            _, err = proc.communicate(timeout=TIME_LIMIT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the command it runs
            _, err = proc.communicate()
        measured.seconds = time.monotonic() - started
        report = re.search(r"^launched: exit (-?\d+) peak (\d+)\n\Z", err, re.MULTILINE)
        if report is not None:
            measured.returncode, measured.peak_rss = int(report[1]), int(report[2]) * 1024
            err = err[: report.start()]
        measured.stderr = err
        assert measured.returncode == 0, (
            f"feeds fetch --build: exit {measured.returncode} after {measured.seconds:.0f} s "
            f"(killed at {TIME_LIMIT:.0f} s), peak {measured.peak_rss / 2**20:.0f} MiB\n{err}")
        return []  # the CLI reports on stderr; the harness reads the store

    return run


@pytest.fixture(scope="module")
def secret() -> str:
    return f"SECRET-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def served() -> Iterator[FeedServer]:
    with FeedServer() as server:
        for path in LEAKS:
            server.route(path, Response(body='<!ENTITY ext "LEAKED">', content_type="text/plain"))
        yield server


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory, served: FeedServer, secret: str) -> list[Case]:
    secret_file = tmp_path_factory.mktemp("private") / "secret.txt"
    secret_file.write_text(secret, encoding="utf-8")
    return _cases(secret_file, served)


@pytest.fixture(scope="module")
def measured() -> Measured:
    return Measured()


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory, served: FeedServer, cases: list[Case],
           measured: Measured) -> Round:
    project = new_project(tmp_path_factory, "xml")
    return attack(project, served, cases, runner=_cli_runner(project, measured))


@pytest.mark.parametrize("name", NAMES)
def test_each_entity_attack_is_read_without_its_entities(
    round_: Round, cases: list[Case], name: str
) -> None:
    round_.check(next(c for c in cases if c.name == name))
    [attacked] = [e for e in round_.feeds["all.atom"].entries
                  if e.source.id == round_.urls[name] and e.title.startswith("Title")]
    literal = re.fullmatch(r"Title (?:&(?:lol9|big|xxe|ext);)+", attacked.title)
    assert literal, f"references are left as literal text, not {attacked.title[:80]!r}"


def test_feeds_sources_shows_why(round_: Round, run_cli: CliRunner) -> None:
    shown = run_cli("sources", cwd=round_.project)
    assert shown.returncode == 0, shown.stderr
    for name in NAMES:
        listing = shown.stdout.split(round_.urls[name], 1)[1]
        assert "warning: ignored the entity declarations" in listing.split("\n\n")[0] or (
            "warning: did not load its external DTD" in listing.split("\n\n")[0]), listing


def test_entity_attacks_stay_small_and_quick(round_: Round, measured: Measured) -> None:
    assert measured.returncode == 0, measured.stderr
    assert measured.seconds < TIME_LIMIT / 2, measured.seconds
    assert measured.peak_rss < PEAK_RSS_LIMIT, f"peak RSS {measured.peak_rss / 2**20:.0f} MiB"
    written = sum(p.stat().st_size for p in (round_.project / "output").rglob("*") if p.is_file())
    assert written < 5_000_000, f"{written} bytes written: entities were expanded"
    for feed in round_.feeds.values():
        for entry in feed.entries:
            text = entry.title + entry.content[0].value
            expanded = "lollol" in text or "B" * 100 in text
            assert not expanded, f"{entry.title[:80]!r}: entities were expanded"


def test_no_file_is_read_and_no_url_fetched(round_: Round, served: FeedServer, secret: str) -> None:
    for path in LEAKS:
        assert served.requests_for(path) == [], f"{path} was fetched"
    everything = [p for folder in ("output", ".feeds") for p in (round_.project / folder).rglob("*")
                  if p.is_file()]
    assert any(p.name.startswith("state.sqlite3") for p in everything)
    for path in everything:
        assert secret.encode() not in path.read_bytes(), f"{path} holds the secret"
        assert b"LEAKED" not in path.read_bytes(), f"{path} holds an external entity"


# --- the same defence at the parser, whatever the document looks like ---------------------


def _entity_bomb(prolog: str = "", subset: str = '\n<!ENTITY big "{big}">\n') -> str:
    body = _rss_with("bomb", "[" + subset.format(big="B" * 10_000) + "]", "&big;" * 1_000)
    return body.replace("\n<!DOCTYPE", f"\n{prolog}<!DOCTYPE", 1)


@pytest.mark.parametrize(("document", "encoding"), [
    (_entity_bomb(), "utf-8"),
    (_entity_bomb(), "utf-16"),  # the DTD is dropped after decoding, not before
    (_entity_bomb(), "utf-32"),
    (_entity_bomb(prolog="<!-- a comment --><?pi x?>\n"), "utf-8"),
    (_entity_bomb(subset='<!ENTITY a "]>"><!ENTITY big "{big}"><!-- ]> -->'), "utf-8"),
    (_entity_bomb(subset="<!ENTITY big '{big}'>"), "utf-8"),
], ids=["utf-8", "utf-16", "utf-32", "after-comment", "brackets-in-literals", "single-quotes"])
def test_no_entity_declaration_is_ever_expanded(document: str, encoding: str) -> None:
    data = document.replace('encoding="utf-8"', f'encoding="{encoding}"').encode(encoding)
    parsed = parse_feed(data, "http://example.com/feed")
    [entry] = parsed.entries
    expanded = "B" * 100 in entry.title + entry.content_html
    assert not expanded, "the entity was expanded"
    assert entry.title.startswith("Title &big;"), entry.title[:80]
    assert parsed.warning is not None and "ignored the entity declarations" in parsed.warning


def test_a_doctype_that_never_ends_is_refused() -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "never closed>]><rss/>'
    with pytest.raises(ParseError, match="refused: its DOCTYPE declaration never ends"):
        parse_feed(data, "http://example.com/feed")
