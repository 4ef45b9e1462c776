"""The source list as input: one bad source or file never stops the rest.

Each bad kind sits beside good sources served on loopback and a local
article; the CLI runs as a subprocess, so exit codes and stderr are real.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from atomcheck import assert_valid_atom
from conftest import CliRunner, add_fixture, child_env, feeds_daemon
from feedserver import FeedServer, Response
from lxml import etree
from remote_feeds import rss

from feeds.config import load_config
from feeds.sources import read_sources

A_ITEMS = [("a1", "Glaciers retreat faster", "Ice melts.")]
B_ITEMS = [("b1", "Bees return to the city", "Hives grow.")]
LOCAL_TITLE = "Only the required fields"  # tests/data/articles/only-required.md

_DEEP = "<outline text='x'>" * 300 + "</outline>" * 300
_ENTITY = ('<!DOCTYPE opml [<!ENTITY site "127.0.0.1">]>\n'
           "<opml version='2.0'><body><outline xmlUrl='http://&site;/x'/></body></opml>\n")

# (files, the problem expected on stderr, whether feed B is published).
# {B} is the URL of served feed B; feed A is always listed in sources/a.opml.
CASES: dict[str, tuple[dict[str, str], str, bool]] = {
    "file url": (
        {"links.toml": '# mine\n\n[[source]]\nurl = "{B}"\n\n[[source]]\n'
                       'url = "file:///etc/passwd"\n'},
        "sources/links.toml:6: [[source]] #2 (file:///etc/passwd): 'url' must be an absolute "
        "http(s) URL, not 'file:///etc/passwd'", True),
    "gopher url": (
        {"links.toml": '[[source]]\nurl = "gopher://127.0.0.1/1/x"\ntitle = "Old"\n\n'
                       '[[source]]\nurl = "{B}"\n'},
        "sources/links.toml:1: [[source]] #1 (gopher://127.0.0.1/1/x): 'url' must be", True),
    "url not a string": (
        {"links.toml": '[[source]]\nurl = "{B}"\n[[source]]\nurl = 5\n'},
        "sources/links.toml:3: [[source]] #2: 'url' must be an absolute http(s) URL, not 5",
        True),
    "unknown key": (
        {"links.toml": '[[source]]\nurl = "{B}"\n\n[[source]]\nurl = "http://127.0.0.1:9/x"\n'
                       'colour = "red"\n'},
        "sources/links.toml:4: [[source]] #2 (http://127.0.0.1:9/x): unknown key 'colour'",
        True),
    "missing url": (
        {"links.toml": '[[source]]\ntitle = "Nameless"\n\n[[source]]\nurl = "{B}"\n'},
        "sources/links.toml:1: [[source]] #1: missing required key 'url'", True),
    "header inside a string": (
        {"links.toml": '[[source]]\nurl = "{B}"\ntitle = """\n[[source]]\n"""\n\n'
                       '[[source]]\nurl = "http://127.0.0.1:9/y"\nevery = "often"\n'},
        "sources/links.toml:7: [[source]] #2 (http://127.0.0.1:9/y): 'every'", True),
    "unknown top-level key": (
        {"links.toml": 'owner = "me"\n\n[[source]]\nurl = "{B}"\n'},
        "sources/links.toml:1: unknown key 'owner' (expected [[source]] tables)", True),
    "not TOML": (
        {"links.toml": '[[source]]\nurl = "{B}"\nevery = \n'},
        "sources/links.toml:3: not valid TOML", False),
    "malformed OPML": (
        {"links.toml": '[[source]]\nurl = "{B}"\n',
         "bad.opml": "<opml version='2.0'><body>\n<outline xmlUrl='http://127.0.0.1:9/z'>\n"
                     "</body></opml>\n"},
        "sources/bad.opml:3: not a valid OPML file", True),
    "OPML too deep": (
        {"links.toml": '[[source]]\nurl = "{B}"\n',
         "bad.opml": f"<?xml version='1.0'?>\n<opml version='2.0'><body>{_DEEP}</body></opml>\n"},
        "sources/bad.opml:2: not a valid OPML file: Excessive depth", True),
    "OPML declaring entities": (
        {"links.toml": '[[source]]\nurl = "{B}"\n', "bad.opml": _ENTITY},
        "sources/bad.opml:1: declares entities in its DTD (refused)", True),
    "bad outline": (
        {"bad.opml": "<opml version='2.0'><body>\n<outline text='Local' xmlUrl='file:///etc/x'/>\n"
                     "<outline text='B' xmlUrl='{B}'/>\n</body></opml>\n"},
        "sources/bad.opml:2: outline 'Local': 'xmlUrl' must be an absolute http(s) URL", True),
}


def _served(feed_server: FeedServer) -> tuple[str, str]:
    a = feed_server.route("/a.xml", Response(body=rss(A_ITEMS, title="Feed A")))
    b = feed_server.route("/b.xml", Response(body=rss(B_ITEMS, title="Feed B")))
    return a, b


@pytest.mark.parametrize("case", CASES)
def test_a_bad_source_is_reported_and_the_rest_is_published(
    case: str, project: Path, feed_server: FeedServer, run_cli: CliRunner
) -> None:
    files, expected, b_published = CASES[case]
    a, b = _served(feed_server)
    (project / "sources" / "a.opml").write_text(
        f"<opml version='2.0'><body><outline text='A' xmlUrl='{a}'/></body></opml>",
        encoding="utf-8")
    for name, text in files.items():
        (project / "sources" / name).write_text(text.replace("{B}", b), encoding="utf-8")
    add_fixture(project, "only-required.md")

    built = run_cli("build", cwd=project)
    assert built.returncode == 0, built.stderr
    assert expected in built.stderr
    assert "Traceback" not in built.stderr
    titles = {e.title for e in assert_valid_atom(project / "output" / "all.atom").entries}
    wanted = {LOCAL_TITLE, A_ITEMS[0][1]} | ({B_ITEMS[0][1]} if b_published else set())
    assert titles == wanted

    checked = run_cli("check", cwd=project)
    assert checked.returncode == 1 and expected in checked.stderr


def test_exit_codes_strict_and_configuration(
    project: Path, feed_server: FeedServer, run_cli: CliRunner
) -> None:
    _, b = _served(feed_server)
    (project / "sources" / "links.toml").write_text(
        f'[[source]]\nurl = "{b}"\n\n[[source]]\nurl = "gopher://127.0.0.1/"\n', encoding="utf-8")
    add_fixture(project, "only-required.md")
    strict = run_cli("build", "--strict", cwd=project)
    assert strict.returncode == 1
    assert "sources/links.toml:4: [[source]] #2 (gopher://127.0.0.1/): 'url'" in strict.stderr
    titles = {e.title for e in assert_valid_atom(project / "output" / "all.atom").entries}
    assert titles == {LOCAL_TITLE, B_ITEMS[0][1]}

    fetched = run_cli("fetch", cwd=project)
    assert fetched.returncode == 0
    assert fetched.stderr.count("sources/links.toml:4: [[source]] #2") == 1
    assert "fetched 1 source (1 ok)" in fetched.stdout

    (project / "feeds.toml").write_text("titel = 'typo'\n", encoding="utf-8")
    config_error = run_cli("build", cwd=project)
    assert config_error.returncode == 2 and "feeds.toml" in config_error.stderr


@pytest.mark.parametrize(("given", "expected"), [
    ("feed://127.0.0.1:9/x.xml", "http://127.0.0.1:9/x.xml"),
    ("feeds://127.0.0.1:9/x.xml", "https://127.0.0.1:9/x.xml"),
    ("FEED://127.0.0.1:9/x.xml", "http://127.0.0.1:9/x.xml"),
    ("feed:https://127.0.0.1:9/x.xml", "https://127.0.0.1:9/x.xml"),
    (" http://127.0.0.1:9/x.xml ", "http://127.0.0.1:9/x.xml"),
])
def test_feed_scheme_names_an_http_feed_in_links_and_opml(
    project: Path, given: str, expected: str
) -> None:
    (project / "sources" / "links.toml").write_text(f'[[source]]\nurl = "{given}"\n',
                                                   encoding="utf-8")
    (project / "sources" / "subs.opml").write_text(
        f"<opml version='2.0'><body><outline xmlUrl='{given.replace('x.xml', 'o.xml')}'/>"
        "</body></opml>", encoding="utf-8")
    listed = read_sources(load_config(project))
    assert not listed.problems
    assert [s.url for s in listed.sources] == [expected, expected.replace("x.xml", "o.xml")]


def test_add_reads_feed_scheme_and_shows_the_given_title(
    project: Path, feed_server: FeedServer, run_cli: CliRunner
) -> None:
    _, b = _served(feed_server)
    added = run_cli("add", b.replace("http://", "feed://"), "--title", "My bees", cwd=project)
    assert added.returncode == 0, added.stderr
    assert f'url = "{b}"' in (project / "sources" / "links.toml").read_text(encoding="utf-8")
    # The fetch stores the feed's own title ("Feed B"); the configured one wins.
    assert run_cli("fetch", cwd=project).returncode == 0
    shown = run_cli("sources", cwd=project)
    assert shown.returncode == 0 and "  title: My bees\n" in shown.stdout
    as_json = json.loads(run_cli("sources", "--json", cwd=project).stdout)
    assert [s["title"] for s in as_json] == ["My bees"]

    bad = run_cli("add", "gopher://127.0.0.1/1/x", cwd=project)
    assert bad.returncode == 1
    assert "gopher://127.0.0.1/1/x: not an absolute http(s) URL" in bad.stderr


def test_add_follows_a_page_announcing_a_feed_scheme_link(
    project: Path, feed_server: FeedServer, run_cli: CliRunner
) -> None:
    _, b = _served(feed_server)
    page = feed_server.route("/home", Response(
        content_type="text/html; charset=utf-8",
        body='<html><head><link rel="alternate" type="application/rss+xml" '
             'href="javascript:alert(1)"><link rel="alternate" type="application/rss+xml" '
             f'href="{b.replace("http://", "feed://")}"></head></html>'))
    added = run_cli("add", page, cwd=project)
    assert added.returncode == 0, added.stderr
    assert f"announces the feed {b}\n" in added.stdout and "javascript" not in added.stdout
    assert [s.url for s in read_sources(load_config(project)).sources] == [b]


def test_import_takes_the_good_outlines_and_reports_each_bad_one(
    project: Path, run_cli: CliRunner, tmp_path: Path
) -> None:
    subs = tmp_path / "subs.opml"
    subs.write_text(
        "<?xml version='1.0'?>\n<opml version='2.0'><body>\n"
        "<outline text='Good' xmlUrl='feed://127.0.0.1:9/good.xml'/>\n"
        "<outline text='Gopher' xmlUrl='gopher://127.0.0.1/1'/>\n"
        "<outline text='Folder'>\n"
        "  <outline text='Also good' xmlUrl='https://127.0.0.1:9/also.xml'/>\n"
        "  <outline text='Local' xmlUrl='file:///etc/passwd'/>\n"
        "</outline>\n</body></opml>\n", encoding="utf-8")
    imported = run_cli("import", str(subs), cwd=project)
    assert imported.returncode == 1
    assert f"{subs}:4: outline 'Gopher': 'xmlUrl' must be" in imported.stderr
    assert f"{subs}:7: outline 'Local': 'xmlUrl' must be" in imported.stderr
    assert "imported 2 sources" in imported.stdout and "2 outlines skipped" in imported.stdout
    listed = read_sources(load_config(project))
    assert not listed.problems
    assert [(s.url, s.tags) for s in listed.sources] == [
        ("http://127.0.0.1:9/good.xml", ()), ("https://127.0.0.1:9/also.xml", ("Folder",))]


@pytest.mark.parametrize(("text", "expected"), [
    ("<opml><body>\n<outline xmlUrl='http://127.0.0.1:9/'>\n</body>", ":3: not a valid OPML file"),
    ("<html><body/></html>", ":1: not an OPML file (root element is <html>)"),
    (_ENTITY, ":1: declares entities"),
    (None, ": cannot read: No such file or directory"),
])
def test_import_of_a_bad_file_is_a_clear_problem_not_a_configuration_error(
    project: Path, run_cli: CliRunner, tmp_path: Path, text: str | None, expected: str
) -> None:
    subs = tmp_path / "subs.opml"
    if text is not None:
        subs.write_text(text, encoding="utf-8")
    imported = run_cli("import", str(subs), cwd=project)
    assert imported.returncode == 1
    assert imported.stderr.startswith(f"feeds: {subs}{expected}")
    assert "configuration error" not in imported.stderr and "Traceback" not in imported.stderr
    assert not (project / "sources" / "links.toml").exists()


def test_export_keeps_folders_and_site_links_and_round_trips(
    project: Path, feed_server: FeedServer, run_cli: CliRunner
) -> None:
    a, b = _served(feed_server)
    c = feed_server.route("/c.xml", Response(body=rss(B_ITEMS, link="http://c.example/home")))
    (project / "sources" / "links.toml").write_text(
        f'[[source]]\nurl = "{a}"\ntags = ["science", "news"]\n\n'
        f'[[source]]\nurl = "{b}"\ntitle = "Bees"\n\n'
        f'[[source]]\nurl = "{c}"\ntags = ["news"]\n', encoding="utf-8")
    assert run_cli("fetch", cwd=project).returncode == 0
    exported = run_cli("export", cwd=project)
    assert exported.returncode == 0, exported.stderr
    body = etree.fromstring(exported.stdout.encode("utf-8")).find("body")
    assert body is not None
    tree = [(o.get("text"), [(i.get("xmlUrl"), i.get("htmlUrl")) for i in o] or o.get("xmlUrl"))
            for o in body]
    assert tree == [
        ("science", [(a, "http://example.com/")]),
        ("news", [(a, "http://example.com/"), (c, "http://c.example/home")]),
        ("Bees", b),
    ]
    assert body[2].get("htmlUrl") == "http://example.com/"

    other = project / "other"
    (other / "sources").mkdir(parents=True)
    (project / "subs.opml").write_text(exported.stdout, encoding="utf-8")
    imported = run_cli("import", str(project / "subs.opml"), cwd=other)
    assert imported.returncode == 0, imported.stderr
    back = read_sources(load_config(other)).sources
    # Folders come first in the file, so the order is theirs; what each source is stays.
    assert sorted((s.url, s.title, s.tags) for s in back) == [
        (a, None, ("science", "news")), (b, "Bees", ()), (c, None, ("news",))]


def test_export_of_a_project_never_built_creates_no_store(
    project: Path, run_cli: CliRunner
) -> None:
    (project / "sources" / "links.toml").write_text(
        '[[source]]\nurl = "http://127.0.0.1:9/a.xml"\ntags = ["x"]\n\n'
        '[[source]]\nurl = "feed:///nohost"\n', encoding="utf-8")
    exported = run_cli("export", cwd=project)
    assert exported.returncode == 0
    assert exported.stderr == ("sources/links.toml:5: [[source]] #2 (feed:///nohost): 'url' must "
                               "be an absolute http(s) URL, not 'feed:///nohost'\n")
    folder = etree.fromstring(exported.stdout.encode("utf-8")).find("body/outline")
    assert folder is not None and folder.get("text") == "x"
    assert [o.get("xmlUrl") for o in folder] == ["http://127.0.0.1:9/a.xml"]
    assert folder[0].get("htmlUrl") is None
    assert not (project / ".feeds").exists()


def test_daemon_logs_a_bad_source_once_and_polls_the_good_ones(
    project: Path, feed_server: FeedServer
) -> None:
    _, b = _served(feed_server)
    (project / "feeds.toml").write_text('every = "2s"\n', encoding="utf-8")
    (project / "sources" / "links.toml").write_text(
        f'[[source]]\nurl = "file:///etc/passwd"\n\n[[source]]\nurl = "{b}"\n', encoding="utf-8")
    add_fixture(project, "only-required.md")
    log = project / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            feeds_daemon("run", "--root", str(project)),
            stdout=out, stderr=subprocess.STDOUT, env=child_env())
    try:
        all_atom = project / "output" / "all.atom"

        def published() -> bool:
            assert proc.poll() is None, log.read_text(encoding="utf-8")
            return all_atom.is_file() and B_ITEMS[0][1] in all_atom.read_text(encoding="utf-8")

        deadline = time.monotonic() + 30
        while not published():
            assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
            time.sleep(0.1)
        # The good source is polled again on its schedule; meanwhile the list
        # was read every second, and its problem is still logged only once.
        while len(feed_server.requests_for("/b.xml")) < 2:
            assert time.monotonic() < deadline + 20, log.read_text(encoding="utf-8")
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    text = log.read_text(encoding="utf-8")
    assert text.count("sources/links.toml:1: [[source]] #1 (file:///etc/passwd): 'url'") == 1
    assert "Traceback" not in text
    titles = {e.title for e in assert_valid_atom(all_atom).entries}
    assert titles == {LOCAL_TITLE, B_ITEMS[0][1]}


@pytest.mark.parametrize("text", ["", "# no sources yet\n", "\n\n", "source = []\n"])
def test_a_links_toml_without_sources_lists_none(project: Path, text: str) -> None:
    (project / "sources" / "links.toml").write_text(text, encoding="utf-8")
    listed = read_sources(load_config(project))
    assert (listed.sources, listed.problems) == ((), ())
