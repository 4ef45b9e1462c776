"""A second, independent reader: sfeed, with an XML parser of its own, reads every feed as feedparser does.

Each Atom and RSS feed of a project with bilingual articles, translations,
pages or none, and aggregated remote entries (enclosures, markup in titles,
non-Latin tags) is read by both (see sfeedcheck.py); every feed any test
leaves in an output folder is too (conftest.py).
"""

from __future__ import annotations

import shutil
from html import escape
from pathlib import Path

import feedparser
import pytest
from conftest import REPO, CliRunner, add_fixture
from feedserver import FeedServer, Response
from remote_feeds import atom, json_feed, rss
from sfeedcheck import assert_sfeed_agrees, sfeed, sfeed_available

pytestmark = pytest.mark.skipif(not sfeed_available(), reason="sfeed is not installed")

PODCAST = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Loopback casts</title><link>http://cast.example/</link><language>en</language>
<item><guid>cast-1</guid><title>Episode &lt;one&gt; &amp; more</title>
<link>http://cast.example/1</link><description>First &lt;b&gt;episode&lt;/b&gt;.</description>
<pubDate>Tue, 02 Sep 2025 07:30:00 +0200</pubDate>
<enclosure url="http://cast.example/1.mp3" length="1234" type="audio/mpeg"/>
<itunes:duration>12:34</itunes:duration><category>Audio</category><category>声音</category></item>
</channel></rss>"""


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
        compared += assert_sfeed_agrees(path)
        for row in sfeed(path.read_bytes(), str(path)):
            assert row["content"] and row["content_type"] == "html", path
    assert compared > 40
