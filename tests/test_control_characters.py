"""NUL and the other C0 controls, from every field a remote feed, a response or an article has.

PostgreSQL text cannot hold a NUL (U+0000) and SQLite's can, so a NUL that
reached a store would fail the source's transaction on one backend and be
kept on the other. None reaches either: feed text is cleaned where it is
read for readers, validators holding a control character are not kept, and
messages quoting what a server sent are cleaned before they are recorded.
This fetches one project of such sources into the store the `backend`
fixture names and, on PostgreSQL, the same project into a SQLite file:
both stores hold the same rows, none with a control character, and both
write the same valid feeds.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from feedcheck import assert_valid_feed
from feedserver import FeedServer, Response

from feeds import build, load_config
from feeds.store import open_at

# Every C0 control but the tab, line feed and carriage return, which text may
# hold, and DEL (XML allows it, but no text means it).
C0 = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r") + "\x7f"
# The controls the HTTP reader lets by in a header (it refuses NUL, vertical tab, form feed, DEL).
IN_HEADERS = "".join(c for c in C0 if c not in "\x00\x0b\x0c\x7f")
# What no stored text may hold: a C0 control but those three, or DEL.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same, written as a JSON escape (an entry's stored form is JSON).
ESCAPED_CONTROL = re.compile(r"\\u00(?:0[0-8bcefBCEF]|1[0-9a-fA-F]|7[fF])")
# A listing separates its fields and items with these two (see feeds.codec).
LISTING_SEPARATORS = re.compile("[\x1e\x1f]")
DATE = "2025-09-0{}T10:00:00Z"


def _dirty(text: str) -> str:
    """`text` with a NUL at each end and the C0 controls inside."""
    return f"\x00{text}\x01{C0}\x00 end"


def _refs(text: str) -> str:
    """`text` with the C0 controls as XML character references, which XML forbids."""
    return text + "".join(f"&#{ord(c)};" for c in C0) + " end"


def _json_feed(base: str) -> str:
    def item(n: int) -> dict[str, Any]:
        return {
            "id": _dirty(f"item-{n}"), "url": f"{base}item\x00{n}", "external_url": f"{base}x\x00",
            "title": _dirty(f"JSON item {n}"),
            "content_html": f"<p>{_dirty('html')}<a href=\"/l\x00{n}\">link\x01</a>"
                            f"<img src=\"/i\x00.png\" alt=\"a\x00\"></p>",
            "content_text": _dirty("text"), "summary": _dirty("summary"),
            "image": f"{base}img\x00.png", "banner_image": f"{base}b\x00.png",
            "date_published": DATE.format(n), "date_modified": DATE.format(n),
            "tags": [_dirty("tag"), "\x00", "\x01\x02"], "language": "fr\x00",
            "authors": [{"name": _dirty("Item author"), "url": f"{base}a\x00",
                         "avatar": f"{base}av\x00"}],
            "attachments": [{"url": f"{base}a{n}\x00.mp3", "mime_type": "audio/mpeg\x00",
                             "title": _dirty("attachment"), "size_in_bytes": 10,
                             "duration_in_seconds": 5}],
        }
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": _dirty("JSON feed"),
        "home_page_url": f"{base}home\x00", "feed_url": f"{base}feed\x00.json",
        "description": _dirty("about"), "icon": f"{base}i\x00.png", "favicon": f"{base}f\x00.ico",
        "language": "en\x00", "authors": [{"name": _dirty("Feed author"), "url": f"{base}fa\x00"}],
        "hubs": [{"type": "WebSub\x00", "url": f"{base}hub\x00"}],
        "items": [item(1), item(2)],
    })


def _rss(base: str, dirty: Any) -> str:
    """RSS with `dirty` (raw controls, or references to them) in every element and attribute."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        'xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>{dirty('RSS feed')}</title><link>{base}{dirty('home')}</link>"
        f"<description>{dirty('about')}</description><language>en</language>"
        f"<itunes:author>{dirty('Show author')}</itunes:author>"
        + "".join(
            f"<item><guid isPermaLink=\"false\">{dirty(f'guid-{n}')}</guid>"
            f"<title>{dirty(f'RSS item {n}')}</title><link>{base}{dirty(f'story{n}')}</link>"
            f"<author>jo@example.org ({dirty('Jo')})</author>"
            f"<itunes:author>{dirty('Host')}</itunes:author>"
            f"<description>&lt;p&gt;{dirty('summary')}&lt;/p&gt;</description>"
            f"<category>{dirty('Science')}</category>"
            f"<pubDate>Mon, 0{n} Sep 2025 10:00:00 +0000</pubDate>"
            f"<enclosure url=\"{base}{dirty('e')}{n}.mp3\" type=\"audio/mpeg{dirty('')}\" "
            f"length=\"10\"/>"
            f"<itunes:image href=\"{base}{dirty('cover')}.png\"/>"
            f"<itunes:duration>{dirty('1:00')}</itunes:duration>"
            f"<itunes:episode>{n}</itunes:episode>"
            f"<itunes:episodeType>{dirty('full')}</itunes:episodeType>"
            f"<media:thumbnail url=\"{base}{dirty('thumb')}.jpg\"/></item>"
            for n in (1, 2))
        + "</channel></rss>")


def _atom(base: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>urn:feed:{C0}</id><title>{_dirty('Atom feed')}</title>"
        f'<link rel="alternate" href="{base}{C0}"/><updated>2025-09-09T00:00:00Z</updated>'
        + "".join(
            f"<entry><id>urn:entry:{n}{C0}</id><title type=\"html\">{_dirty(f'Atom {n}')}</title>"
            f'<link rel="alternate" href="{base}atom{n}{C0}"/>'
            f"<updated>{DATE.format(n)}</updated>"
            f"<author><name>{_dirty('Ann')}</name><uri>{base}ann{C0}</uri>"
            f"<email>ann{C0}@example.org</email></author>"
            f'<category term="{_dirty("term")}" label="{_dirty("Label")}"/>'
            f"<summary>{_dirty('summary')}</summary>"
            f'<content type="html">&lt;p&gt;{_dirty("content")}&lt;/p&gt;</content></entry>'
            for n in (1, 2))
        + "</feed>")


def _page(n: int) -> bytes:
    words = " ".join(["A sentence of the article that is long enough to be read."] * 12)
    return (f"<html><head><title>{_dirty('Page')}</title></head><body><article>"
            f"<h1>{_dirty(f'Headline {n}')}</h1><p>{_dirty(words)}</p>"
            f'<img src="/pic\x00{n}.png" alt="{_dirty("alt")}">'
            f'<a href="/l\x00{n}">{_dirty("link")}</a></article></body></html>').encode()


def _serve(server: FeedServer) -> list[tuple[str, bool]]:
    """Routes with controls everywhere; (URL, full_text) of each source."""
    base = server.url("/")
    ok = _rss(base, lambda text: text)
    feeds = {
        "/feed.json": Response(body=_json_feed(base), content_type="application/feed+json"),
        "/refs.rss": Response(body=_rss(base, _refs), content_type="application/rss+xml"),
        "/raw.rss": Response(body=_rss(base, _dirty).encode(), content_type="application/rss+xml"),
        "/raw.atom": Response(body=_atom(base).encode()),
        # Headers: the HTTP reader refuses a NUL in any, and lets the other controls by.
        "/headers.rss": Response(
            body=ok.replace("RSS feed", "Headers"),
            content_type=f"application/rss+xml; charset=utf-8{IN_HEADERS}",
            headers={"ETag": f'"e{IN_HEADERS}"', "Cache-Control": "max-age=\x01",
                     "Last-Modified": f"Mon, 01 Sep 2025 10:00:00 GMT{IN_HEADERS}"}),
        "/nul-etag.rss": Response(body=ok, content_type="application/rss+xml",
                                  headers={"ETag": '"e\x00"'}),
        "/reason.rss": Response(status=500, reason=f"Broken{IN_HEADERS}"),
        "/nul-reason.rss": Response(status=500, reason="Bro\x00ken"),
        "/moved.rss": Response(status=301, headers={"Location": f"/feed{IN_HEADERS}.json"}),
        "/nul-moved.rss": Response(status=301, headers={"Location": "/feed\x00.json"}),
        "/garbage.rss": Response(body=f"\x00\x01{C0}<rss>\x00".encode(),
                                 content_type=f"text/plain{IN_HEADERS}"),
        "/full.rss": Response(body=(
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Full</title>'
            + "".join(f"<item><guid>p{n}</guid><title>Page {n}</title>"
                      f"<link>{base}page{n}</link><description>Summary {n}.</description>"
                      f"<pubDate>Mon, 0{n} Sep 2025 10:00:00 +0000</pubDate></item>"
                      for n in (1, 2, 3))
            + "</channel></rss>"), content_type="application/rss+xml"),
    }
    server.route("/page1", Response(body=_page(1), content_type="text/html; charset=utf-8",
                                    headers={"ETag": f'"p{IN_HEADERS}"'}))
    server.route("/page2", Response(body=_page(2), content_type=f"text/plain{IN_HEADERS}"))
    server.route("/page3", Response(body=b"\x00\x01" + _page(3),
                                    content_type="text/html; charset=utf-8"))
    return [(server.route(path, answer), path == "/full.rss") for path, answer in feeds.items()]


def _project(root: Path, sources: Iterable[tuple[str, bool]]) -> Path:
    articles = root / "sources" / "articles"
    articles.mkdir(parents=True)
    (root / "feeds.toml").write_text(
        'title = "Controls"\nbase_url = "http://127.0.0.1:8080/"\n', encoding="utf-8")
    (root / "sources" / "links.toml").write_text("".join(
        f'[[source]]\nurl = "{url}"\n' + ("full_text = true\n" if full else "") + "\n"
        for url, full in sources), encoding="utf-8")
    # YAML's double-quoted escapes bring every control into a front matter of plain text.
    (articles / "local.md").write_text(
        '---\ntitle: "Lo\\0cal\\x01 \\e ti\\x7ftle"\ndate: 2025-09-01T08:00:00Z\n'
        'tags: ["ta\\0g", "\\x01\\x1f", "\\0"]\nauthor: "Au\\0thor\\x02"\n'
        'description: "de\\0scription\\x1f"\nlang: en\n---\n\nBody with a &#0; reference.\n',
        encoding="utf-8")
    return root


# What of each table is compared between the stores: all but the times of a run.
COMPARED = {
    "sources": ("key", "url", "title", "status", "etag", "last_modified", "last_error",
                "last_error_kind", "error_count", "redirect_target", "redirect_count", "warning",
                "feed_id", "feed_link", "feed_updated", "page_error"),
    "aliases": ("url", "key"),
    "entries": ("id", "origin", "canonical_link", "content_hash", "declared_updated", "data",
                "listing"),
    "pages": ("link", "url", "content_html", "error", "entry_digest", "etag", "last_modified"),
    "article_cache": ("path", "digest", "entry_id", "head"),
}


Row = dict[str, Any]


def _rows(store_url: str | None, path: Path) -> dict[str, list[Row]]:
    """The compared columns of every row of each table, sorted."""
    from feeds.store.tables import TABLES

    found: dict[str, list[Row]] = {}
    with open_at(store_url, path) as store:
        for table, columns in COMPARED.items():
            rows = [dict(zip(TABLES[table], row, strict=True)) for row in store.rows(table)]
            found[table] = sorted(({c: row[c] for c in columns} for row in rows), key=repr)
    for row in found["entries"]:
        # An article put in is a change, dated when it came: a time of the run.
        row["data"] = re.sub(r'"updated":"[^"]*"', '"updated":…', row["data"])
    return found


def _no_control_in(rows: dict[str, list[Row]]) -> None:
    for table, found in rows.items():
        for row in found:
            for column, value in row.items():
                if not isinstance(value, str):
                    continue
                text = LISTING_SEPARATORS.sub("", value) if column == "listing" else value
                assert not CONTROL.search(text), (table, column, value)
                assert not ESCAPED_CONTROL.search(text), (table, column, value)


# A date and time, as Atom, JSON Feed and pages write them, or as RSS does.
WRITTEN_TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?\+00:00"
                          rb"|\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000")


def _output(project: Path) -> dict[str, bytes]:
    """Every file written, the times of the run in it masked.

    The sources' dates are all of September 2025; an article put in is a
    change, dated when it came, and a feed is as new as its newest entry.
    """
    def mask(found: re.Match[bytes]) -> bytes:
        return found[0] if b"2025-09-" in found[0] or b" Sep 2025 " in found[0] else b"(run)"
    out = project / "output"
    return {p.relative_to(out).as_posix(): WRITTEN_TIME.sub(mask, p.read_bytes())
            for p in sorted(out.rglob("*")) if p.is_file()}


def _build(project: Path) -> tuple[str | None, Sequence[str]]:
    config = load_config(project)
    result = build(config, notify=False)
    return config.store_url, [str(p) for p in result.problems]


def test_no_control_character_reaches_the_store_and_both_stores_agree(
        backend: str, tmp_path: Path, feed_server: FeedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _serve(feed_server)
    project = _project(tmp_path / "p", sources)
    alone = tmp_path / "alone"
    shutil.copytree(project, alone)  # the same article, its times kept

    store_url, problems = _build(project)
    assert (store_url is not None) == (backend == "postgresql")
    rows = _rows(store_url, project / ".feeds" / "state.sqlite3")
    _no_control_in(rows)

    # Every source fetched was stored, one way or the other, in its own transaction.
    states = {row["url"].rsplit("/", 1)[1]: row for row in rows["sources"]}
    assert {row["url"] for row in rows["sources"]} == {url for url, _ in sources}
    assert {name for name, row in states.items() if row["status"] == "ok"} == {
        "feed.json", "refs.rss", "raw.rss", "raw.atom", "headers.rss", "full.rss"}, states
    # Neither validator kept: they can never match.
    assert states["headers.rss"]["etag"] is None and states["headers.rss"]["last_modified"] is None
    errors = {name: row["last_error"] for name, row in states.items() if row["last_error"]}
    assert "illegal header line" in errors["nul-etag.rss"]
    assert errors["reason.rss"] == "HTTP 500 Internal Server Error"
    assert "invalid url" in errors["moved.rss"].lower()
    assert "not an HTML page (Content-Type text/plain" in states["full.rss"]["page_error"]
    # Two entries for each feed read, three of the full-text source, the article.
    assert len(rows["entries"]) == 5 * 2 + 3 + 1
    titles = " ".join(row["data"] for row in rows["entries"])
    for title in ("JSON item 1", "RSS item 2", "Atom 1", "Headline 1", "Local"):
        assert title in titles
    assert {row["link"].rsplit("/", 1)[1] for row in rows["pages"] if row["content_html"]} == {
        "page1", "page3"}
    assert problems, "the sources that failed are reported"

    written = _output(project)
    for path in written:
        if path.endswith((".atom", ".rss", ".json")):
            assert_valid_feed(project / "output" / path)
    assert b"JSON item 1" in written["all.atom"] and b"Headline 2" not in written["all.atom"]
    if backend == "sqlite":
        return

    # One process on a SQLite file, fetching the same sources, keeps and writes the same.
    monkeypatch.delenv("FEEDS_STORE")
    sqlite_url, _ = _build(alone)
    assert sqlite_url is None
    assert _rows(None, alone / ".feeds" / "state.sqlite3") == rows
    assert _output(alone) == written
    assert _output(alone) == written
