"""Garbage where a feed should be: nothing, pages, binary noise, broken text, absurd sizes.

Most cases run in one round beside a well-behaved source (see harness.py):
each ends in an error naming the cause, or is read with a warning that
names what was wrong, or (when nothing was) is simply read; never does it
cost another source its fetch or a stored entry, and nothing XML forbids
reaches a written file. What garbage leaves in the store is the subject, so
the round, the huge feed and the control characters run on both stores
(SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from html import escape
from pathlib import Path

import pytest
from atomcheck import assert_valid_atom
from conftest import write_links
from feedserver import FeedServer, Response
from harness import (
    SETTINGS,
    STORES,
    Case,
    Round,
    assert_nothing_forbidden,
    attack,
    new_project,
    round_store,
)
from lxml import html as lxml_html

from feeds import build
from feeds.config import FetchSettings, load_config
from feeds.store import open_at

CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
BIG = 5_000_000  # characters of text in one entry
DEEP = 10_000  # nested elements


def _rss(item: str, *, encoding: str = "utf-8") -> str:
    return (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
            f"<title>Garbage</title><link>http://example.com/</link>{item}</channel></rss>")


def _item(name: str, title: str, description: str, extra: str = "") -> str:
    return (f"<item><guid>{name}</guid><title>{title}</title><link>http://example.com/{name}"
            f"</link><description>{description}</description>{extra}</item>")


def _deep_xhtml() -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<id>urn:deep</id><title>Deep</title><updated>2025-09-01T00:00:00Z</updated>"
            '<entry><id>urn:deep:1</id><title>Deep xhtml</title><updated>2025-09-01T00:00:00Z'
            '</updated><link href="http://example.com/deep-xhtml"/><content type="xhtml">'
            '<div xmlns="http://www.w3.org/1999/xhtml">' + "<div>" * DEEP + "bottom"
            + "</div>" * DEEP + "</div></content></entry></feed>")


FLOOD = _rss("<b></b>" * 200_000)

CASES = [
    Case("empty", Response(body=b""), "not a feed: empty document", "not-a-feed"),
    Case("html-page", Response(body="<!DOCTYPE html><html><head><title>Blog</title></head>"
                                    "<body><p>Welcome</p></body></html>",
                               content_type="text/html; charset=utf-8"),
         "not a feed: looks like an HTML page", "not-a-feed"),
    Case("json-not-a-feed", Response(body=json.dumps({"status": "ok", "items": [1, 2]}),
                                     content_type="application/json"),
         "not a JSON Feed: no 'version' naming jsonfeed.org", "not-a-feed"),
    Case("json-nested", Response(body='{"version": "https://jsonfeed.org/version/1.1", "items": '
                                      + "[" * 100_000 + "]" * 100_000 + "}",
                                 content_type="application/feed+json"),
         "not a JSON Feed: JSON nested too deeply", "not-a-feed"),
    Case("random-bytes", Response(body=b"\0" + random.Random(7).randbytes(64 * 1024),
                                  content_type="application/octet-stream"),
         "not a feed: not well-formed", "not-a-feed"),
    Case("invalid-utf8", Response(body=_rss(_item("invalid-utf8", "Caf\xe9 ~~", "ok")).encode(
        "latin-1").replace(b"~~", b"\xff\xfe\xc3\x28\xed\xa0\x80")),
        "document declared as utf-8, but parsed as windows-1252"),
    Case("wrong-charset", Response(body=_rss(_item("wrong-charset", "Grüße aus Köln", "ok")),
                                   content_type="application/rss+xml; charset=utf-16"),
         "document declared as utf-16, but parsed as utf-8"),
    Case("control-characters", Response(body=_rss(_item(
        "control-characters", f"Bell{CONTROLS}ringer &#12;",
        escape(f"<p>Null{CONTROLS}island &#1; &#x1f;</p>")))), "not well-formed (invalid token)"),
    Case("big-entry", Response(body=_rss(_item("big-entry", "Big", escape(
        "<p>" + "word " * (BIG // 5) + "</p>"))), gzip=True), None),
    Case("deep-html", Response(body=_rss(_item("deep-html", "Deep html", escape(
        "<div>" * DEEP + "bottom" + "</div>" * DEEP)))), None),
    Case("deep-xhtml", Response(body=_deep_xhtml()), None),
    Case("tag-flood", Response(body=_rss(_item("tag-flood", "Flood", "<b></b>" * 200_000))),
         "refused: more than the 300,000 tags read from one document", "parse"),
    Case("tag-flood-without-items", Response(body=FLOOD),
         f"refused: {FLOOD.count('<'):,} tags, more than the 300,000 read", "parse"),
    Case("many-categories", Response(body=_rss(_item("many-categories", "Categories", "ok", "".join(
        f"<category>flood-{n}</category>" for n in range(10_000))))), None),
]


@pytest.fixture(scope="module", params=STORES)
def round_(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Round]:
    """The round on each store in turn: what garbage leaves stored is the subject."""
    project = new_project(tmp_path_factory, "garbage")
    with FeedServer() as server, round_store(request) as store:
        yield attack(project, server, CASES, settings=replace(SETTINGS, max_bytes=8 * 2**20),
                     config=store)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_kind_of_garbage_is_refused_or_read_and_loses_nothing(
    round_: Round, case: Case
) -> None:
    round_.check(case)


def _entry(round_: Round, name: str) -> dict[str, str]:
    [entry] = [e for e in round_.feeds["all.atom"].entries if e.link == f"http://example.com/{name}"]
    return {"title": entry.title, "content": entry.content[0].value}


def test_broken_text_is_published_as_text(round_: Round) -> None:
    assert _entry(round_, "invalid-utf8")["title"].startswith("Café")
    assert _entry(round_, "wrong-charset")["title"] == "Grüße aus Köln"
    controls = _entry(round_, "control-characters")
    assert controls["title"] == "Bellringer"
    assert lxml_html.fragment_fromstring(controls["content"], create_parent="div").text_content(
        ).split() == ["Nullisland"]


def test_big_entries_arrive_whole_and_deep_ones_readable(round_: Round) -> None:
    assert len(_entry(round_, "big-entry")["content"]) >= BIG
    for name in ("deep-html", "deep-xhtml"):
        # libxml2 (lxml's HTML parser) drops what lies more than 256 levels deep.
        tree = lxml_html.fragment_fromstring(_entry(round_, name)["content"], create_parent="div")
        assert tree.text_content() == "bottom", name
        assert 50 <= max(len(list(e.iterancestors())) for e in tree.iter()) <= 256, name


def test_an_item_keeps_a_bounded_number_of_categories(round_: Round) -> None:
    flood = sorted(p.name for p in (round_.project / "output" / "tags").glob("flood-*.atom"))
    assert 1 <= len(flood) <= 32, len(flood)


# --- a hundred thousand entries -------------------------------------------------------


def _many_items(count: int, kind: str) -> bytes:
    """A feed of `count` items, newest first, an hour apart, all long before retention_days."""
    start = time.mktime((2020, 6, 1, 0, 0, 0, 0, 0, 0))
    dates = [time.gmtime(start - n * 3600) for n in range(count)]
    if kind == "json":
        return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Many", "items": [
            {"id": f"n{n}", "title": f"Item {n}", "url": f"http://example.net/n{n}",
             "date_published": time.strftime("%Y-%m-%dT%H:%M:%SZ", date)}
            for n, date in enumerate(dates)]}).encode()
    return _rss("".join(
        f"<item><guid>n{n}</guid><title>Item {n}</title><pubDate>"
        f"{time.strftime('%a, %d %b %Y %H:%M:%S +0000', date)}</pubDate></item>"
        for n, date in enumerate(dates))).encode()


@pytest.mark.parametrize("kind", ["rss", "json"])
def test_a_feed_of_100000_entries_is_cut_to_size(
    backend: str, project: Path, feed_server: FeedServer, kind: str
) -> None:
    body = _many_items(100_000, kind)
    default = FetchSettings()
    assert len(body) < default.max_bytes, "within the default size cap"
    write_links(project, feed_server.route("/many", Response(body=body)))
    (project / "feeds.toml").write_text(
        "entries_per_feed = 40\nretention_entries = 150\nretention_days = 30\n", encoding="utf-8")
    config = load_config(project)
    started = time.monotonic()
    result = build(config, settings=replace(default, domain_spacing=0.0))
    seconds = time.monotonic() - started
    [outcome] = result.fetched
    assert outcome.status == "ok"
    assert outcome.message is not None and "read the first 1,000 of its 100,000 items" in outcome.message
    assert seconds < 30, f"{seconds:.1f} s"
    with open_at(config.store_url, config.store_path) as store:
        assert store.count_entries(outcome.url) == 150  # retention: the newest 150 of what was read
    entries = assert_valid_atom(project / "output" / "all.atom").entries
    assert [e.title for e in entries] == [f"Item {n}" for n in range(40)]  # entries_per_feed
    assert_nothing_forbidden(project / "output")


# --- control characters in a JSON Feed ------------------------------------------------


def test_control_characters_in_a_json_feed_never_reach_output(
    backend: str, project: Path, feed_server: FeedServer
) -> None:
    item = {"id": f"j{CONTROLS}1", "url": "http://example.net/j1", "title": f"Jay{CONTROLS}son",
            "content_html": f"<p>Con{CONTROLS}tent \ud800</p>", "tags": [f"t{CONTROLS}ag"]}
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": f"J{CONTROLS}F",
            "items": [item]}
    body = json.dumps(feed)  # \u0000-style escapes: valid JSON, forbidden XML
    write_links(project, feed_server.route("/feed.json", Response(
        body=body, content_type="application/feed+json")))
    build(load_config(project), settings=SETTINGS)
    [entry] = assert_valid_atom(project / "output" / "all.atom").entries
    assert (entry.title, entry.source.title, [t.term for t in entry.tags]) == ("Jayson", "JF", ["tag"])
    assert entry.content[0].value == "<p>Content </p>"
    assert_nothing_forbidden(project / "output")
