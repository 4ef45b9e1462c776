"""A second, independent reader: sfeed, with an XML parser of its own, reads every feed as feedparser does.

feedparser keeps the last alternate link of an entry; sfeed, like most
readers (SimplePie, Miniflux), keeps the first. It parses RFC 822 and RFC
3339 dates itself and leaves the timestamp empty when it cannot. Each Atom
and RSS feed of a project with bilingual articles, translations, pages or
none, and aggregated remote entries (enclosures, markup in titles, non-Latin
tags) is read by both: the same entries, in the same order, with the same
id, link, date, title, first author, first enclosure and categories.
"""

from __future__ import annotations

import calendar
import os
import shutil
import subprocess
from html import escape
from pathlib import Path
from typing import Any

import feedparser
import pytest
from conftest import REPO, CliRunner, add_fixture
from feedserver import FeedServer, Response
from remote_feeds import atom, json_feed, rss

SFEED = shutil.which("sfeed")

pytestmark = pytest.mark.skipif(SFEED is None and not os.environ.get("CI"),
                                reason="sfeed is not installed (.ci/run installs it)")

FIELDS = ("timestamp", "title", "link", "content", "content_type", "id", "author", "enclosure",
          "category")

PODCAST = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Loopback casts</title><link>http://cast.example/</link><language>en</language>
<item><guid>cast-1</guid><title>Episode &lt;one&gt; &amp; more</title>
<link>http://cast.example/1</link><description>First &lt;b&gt;episode&lt;/b&gt;.</description>
<pubDate>Tue, 02 Sep 2025 07:30:00 +0200</pubDate>
<enclosure url="http://cast.example/1.mp3" length="1234" type="audio/mpeg"/>
<itunes:duration>12:34</itunes:duration><category>Audio</category><category>声音</category></item>
</channel></rss>"""


def sfeed(path: Path) -> list[dict[str, str]]:
    """What sfeed reads from `path`: a row of named fields per entry."""
    if SFEED is None:
        pytest.fail("sfeed is not installed; .ci/run installs it")
    done = subprocess.run([SFEED], input=path.read_bytes(), capture_output=True, timeout=30,
                          check=False)
    assert (done.returncode, done.stderr) == (0, b""), f"{path}: {done.stderr!r}"
    return [dict(zip(FIELDS, line.split("\t"), strict=True))
            for line in done.stdout.decode("utf-8").splitlines()]


def _spaced(text: str) -> str:
    """A title as sfeed gives it: each whitespace character a space."""
    return "".join(" " if c.isspace() else c for c in text)


def _expected(entry: Any) -> dict[str, str]:
    """What sfeed should read for a feedparser entry."""
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    enclosures = [link.href for link in entry.get("links", []) if link.get("rel") == "enclosure"]
    authors = entry.get("authors") or []
    # feedparser lends an entry without a link its id; sfeed leaves it empty.
    linked = any(link.get("rel") == "alternate" for link in entry.get("links", []))
    return {
        "timestamp": str(calendar.timegm(when)) if when else "",
        "title": _spaced(entry.get("title", "")),
        "link": entry.get("link", "") if linked else "",
        "id": entry.get("id", ""),
        "author": authors[0].get("name", "") if authors else "",
        "enclosure": enclosures[0] if enclosures else "",
        "category": "|".join(tag.term for tag in entry.get("tags", [])),
    }


@pytest.fixture
def published(request: pytest.FixtureRequest, project: Path, feed_server: FeedServer,
              run_cli: CliRunner) -> Path:
    """A built project: the shipped sample articles, fixtures, three remote feeds."""
    pages = request.param
    shutil.rmtree(project / "sources" / "articles")
    shutil.copytree(REPO / "sources" / "articles", project / "sources" / "articles")
    add_fixture(project, "bilingual.md", "escape-tags.md", "only-required.md")
    items = [(f"g{i}", f"Item <{i}> & “quoted”\ttitle", f"Text {i}.") for i in range(4)]
    urls = [
        feed_server.route("/rss.xml", Response(body=rss(items), content_type="application/rss+xml")),
        feed_server.route("/atom.xml", Response(body=atom(items).replace(
            "<title>Item", "<title type=\"html\">" + escape("<em>Marked</em> ") + "Item"),
            content_type="application/atom+xml")),
        feed_server.route("/json", Response(body=json_feed(items),
                                            content_type="application/feed+json")),
        feed_server.route("/cast.xml", Response(body=PODCAST, content_type="application/rss+xml")),
    ]
    (project / "sources" / "links.toml").write_text(
        "".join(f'[[source]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8")
    (project / "feeds.toml").write_text(
        f'base_url = "http://127.0.0.1:8080/"\nformats = ["atom", "rss", "json"]\n'
        f"pages = {'true' if pages else 'false'}\n", encoding="utf-8")
    done = run_cli("build", cwd=project)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return project / "output"


@pytest.mark.parametrize("published", [True, False], indirect=True, ids=["pages", "no-pages"])
def test_sfeed_reads_every_feed_as_feedparser_does(published: Path) -> None:
    feeds = sorted([*published.rglob("*.atom"), *published.rglob("*.rss")])
    assert len(feeds) > 6
    compared = 0
    for path in feeds:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
        rows = sfeed(path)
        assert len(rows) == len(parsed.entries), path
        for row, entry in zip(rows, parsed.entries, strict=True):
            where = f"{path.relative_to(published)}: {entry.get('id')}"
            got = {key: row[key] for key in _expected(entry)}
            assert got == _expected(entry), where
            assert row["timestamp"], f"{where}: sfeed could not read the date"
            assert row["content"] and row["content_type"] == "html", where
            compared += 1
    assert compared > 40
