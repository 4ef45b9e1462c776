"""Full text: the articles of a summary-only feed fetched from their pages and published."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest
from atomcheck import assert_valid_atom
from conftest import CliRunner
from feedcheck import assert_valid_json_feed, assert_valid_rss
from feedserver import FeedServer, Response

from feeds import build, fetch
from feeds.config import FetchSettings, load_config
from feeds.model import CachedPage, Entry, Incoming, Variant
from feeds.pipeline import source_states
from feeds.remote.fulltext import PAGE_REFRESH_SECONDS, is_summary_only, plan_pages
from feeds.sources import read_sources
from feeds.store import Store
from feeds.store.schema import MIGRATIONS
from feeds.store.tables import Tables

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=4)
HTML = "text/html; charset=utf-8"

ARTICLE = """<!doctype html><html><head><title>Sensors</title>
<script>window.evil = 1</script><style>p {{ color: red }}</style></head><body>
<nav><a href="/">Home</a> | <a href="/about">About us</a> | <a href="/contact">Contact</a></nav>
<div class="advert">Buy the Deluxe Gadget Nine today at half price!</div>
<article><h1>Quantum sensors leave the lab</h1>
<p>Quantum sensors now measure gravity with a precision that nobody expected a decade ago,
and the newest of them fits in the back of a delivery van.</p>
<p>The team describes the method in <a href="papers/one.pdf">the paper</a>, with
<img src="/img/fig1.png" alt="the first figure"> a figure of the results.{extra}</p>
<p>Field trials start next spring <script>steal()</script> in three countries, measuring
groundwater and the shifting of the earth under old bridges.</p>
</article>
<section id="comments"><h2>Comments</h2><p>Reader42: first, and I love it!</p></section>
<footer>Copyright 2025 Example Science. All rights reserved.</footer></body></html>"""
SPONSOR = ' <span class="sponsor-note">Visit our sponsor for a discount.</span>'


def _rss(items: list[tuple[str, str, str]], full: tuple[str, str] | None = None) -> str:
    body = "".join(
        f'<item><guid isPermaLink="false">{g}</guid><title>{escape(t)}</title>'
        f"<link>{escape(link)}</link><description>{escape(d)}</description>"
        f"<pubDate>Mon, 0{i + 1} Sep 2025 10:00:00 +0000</pubDate></item>"
        for i, (g, t, link, d) in enumerate((f"g{i}", *x) for i, x in enumerate(items))
    )
    if full is not None:  # an item whose feed carries the whole article
        body += (f"<item><guid>full</guid><title>Whole</title><link>{full[0]}</link>"
                 f"<description>Short.</description><content:encoded>{escape(full[1])}"
                 "</content:encoded><pubDate>Mon, 08 Sep 2025 10:00:00 +0000</pubDate></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            "<title>Summaries</title><link>http://example.com/</link><language>en</language>"
            f"{body}</channel></rss>")


@pytest.fixture
def site(feed_server: FeedServer, project: Path) -> FeedServer:
    """A summary-only feed whose entries link pages on the same loopback site."""
    one = feed_server.route("/a/one.html", Response(body=ARTICLE.format(extra=SPONSOR),
                                                    content_type=HTML, etag='"one-1"'))
    two = feed_server.url("/a/two.html")  # not routed: 404
    three = feed_server.route("/a/three.txt", Response(body="Just text.\n" * 50,
                                                       content_type="text/plain"))
    whole = feed_server.route("/a/whole.html", Response(body=ARTICLE.format(extra=""),
                                                        content_type=HTML))
    feed_server.route("/feed.xml", Response(body=_rss([
        ("Quantum sensors leave the lab", one, "Sensors measure gravity in a van."),
        ("A page that is gone", two, "Gone but summarised."),
        ("A page of plain text", three, "Plain but summarised."),
    ], full=(whole, "<p>" + "The whole article is in the feed. " * 40 + "</p>")),
        content_type="application/rss+xml"))
    _links(project, feed_server.url("/feed.xml"))
    return feed_server


def _links(project: Path, url: str, extra: str = "") -> None:
    (project / "sources" / "links.toml").write_text(
        f'[[source]]\nurl = "{url}"\nfull_text = true\n{extra}', encoding="utf-8")


def _contents(project: Path) -> dict[str, tuple[str, str]]:
    """Title → (content, summary) of every entry of all.atom."""
    feed = assert_valid_atom(project / "output" / "all.atom")
    return {e.title: (e.content[0].value, e.get("summary", "")) for e in feed.entries}


def test_summary_only_entries_are_published_with_the_article_of_their_page(
        project: Path, site: FeedServer) -> None:
    result = build(load_config(project), settings=FAST)
    assert [o.status for o in result.fetched] == ["ok"]
    contents = _contents(project)
    article, summary = contents["Quantum sensors leave the lab"]
    assert "nobody expected a decade ago" in article and "Field trials start" in article
    assert "Visit our sponsor" in article  # no rule removes it here (see the rewrite test)
    for boilerplate in ("About us", "Reader42", "All rights reserved", "<script", "steal()",
                        "window.evil", "color: red"):
        assert boilerplate not in article, boilerplate
    assert f'href="{site.url("/a/papers/one.pdf")}"' in article
    assert f'src="{site.url("/img/fig1.png")}"' in article
    assert summary == "Sensors measure gravity in a van."
    # The page that is gone and the one that is not HTML keep their summaries.
    assert "Gone but summarised." in contents["A page that is gone"][0]
    assert "Plain but summarised." in contents["A page of plain text"][0]
    # An entry whose feed gives the whole article is published as it is, no page fetched.
    assert "The whole article is in the feed." in contents["Whole"][0]
    assert site.requests_for("/a/whole.html") == []

    out = project / "output"
    items = {i.title: i for i in assert_valid_rss(out / "all.rss").entries}
    rss_item = items["Quantum sensors leave the lab"]
    assert "nobody expected" in rss_item.content[0].value
    assert rss_item.description == "Sensors measure gravity in a van."
    json_items = {i["title"]: i for i in assert_valid_json_feed(out / "all.json")["items"]}
    json_item = json_items["Quantum sensors leave the lab"]
    assert "nobody expected" in json_item["content_html"] and "<script" not in json_item["content_html"]
    assert json_item["summary"] == "Sensors measure gravity in a van."
    assert site.max_in_flight == 1  # one request at a time to the site, pages included


def test_pages_are_spaced_from_the_feed_and_from_each_other(
        project: Path, site: FeedServer) -> None:
    """The pages' run keeps the site's spacing from the feed's run before it."""
    spaced = FetchSettings(domain_spacing=0.3, connect_timeout=2, read_timeout=2, total_timeout=4)
    build(load_config(project), settings=spaced)
    starts = [r.started for r in site.requests]
    assert site.requests[0].path == "/feed.xml" and len(starts) == 4
    # As in test_fetch: the server sees a start once the request reaches it,
    # so the first page's (which opens the pages' connection) looks later by
    # that much and the gap after it shorter; a tenth of a second covers the
    # server's thread waking late.
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[0] >= 0.2 and all(gap >= 0.2 for gap in gaps[2:]), gaps
    assert site.max_in_flight == 1


def test_many_sources_parsed_by_worker_processes_get_their_articles_and_rules(
        project: Path, feed_server: FeedServer) -> None:
    """Eight sources and more are parsed in worker processes (see refresh._POOL_MIN)."""
    tables = []
    for n in range(9):
        page = feed_server.route(f"/a/{n}.html", Response(body=ARTICLE.format(extra=SPONSOR),
                                                          content_type=HTML))
        feed = feed_server.route(f"/feed{n}.xml", Response(
            body=_rss([(f"Story {n}", page, f"Summary {n}.")]), content_type="application/rss+xml"))
        tables.append(f'[[source]]\nurl = "{feed}"\nfull_text = true\n'
                      '[[source.rewrite]]\nremove = ".sponsor-note"\n')
    (project / "sources" / "links.toml").write_text("\n".join(tables), encoding="utf-8")
    result = build(load_config(project), settings=FAST)
    assert [o.status for o in result.fetched] == ["ok"] * 9
    contents = _contents(project)
    for n in range(9):
        article, summary = contents[f"Story {n}"]
        assert "nobody expected" in article and "Visit our sponsor" not in article
        assert summary == f"Summary {n}."


def test_pages_are_asked_for_as_their_feed_is(project: Path, site: FeedServer) -> None:
    """The source's user agent and headers reach its pages too (its own site only)."""
    _links(project, site.url("/feed.xml"), 'user_agent = "Reader/2"\n'
           'headers = { "Accept-Language" = "de" }\n')
    build(load_config(project), settings=FAST)
    [page] = site.requests_for("/a/one.html")
    assert page.header("User-Agent") == "Reader/2" and page.header("Accept-Language") == "de"
    assert "nobody expected" in _contents(project)["Quantum sensors leave the lab"][0]


def test_a_page_that_fails_is_recorded_on_the_source_and_shown(
        project: Path, site: FeedServer, run_cli: CliRunner) -> None:
    config = load_config(project)
    build(config, settings=FAST)
    [state] = source_states(config, read_sources(config).sources)
    assert state.status == "ok" and state.last_error is None
    assert state.page_error is not None and "/a/two.html" in state.page_error
    assert "404" in state.page_error
    shown = run_cli("sources", cwd=project)
    assert shown.returncode == 0 and "full text: " in shown.stdout and "404" in shown.stdout


def test_a_page_that_is_not_html_is_recorded(project: Path, feed_server: FeedServer) -> None:
    text = feed_server.route("/a/three.txt", Response(body="Just text.", content_type="text/plain"))
    feed_server.route("/feed.xml", Response(body=_rss([("Plain", text, "Plain summary.")]),
                                            content_type="application/rss+xml"))
    _links(project, feed_server.url("/feed.xml"))
    config = load_config(project)
    build(config, settings=FAST)
    [state] = source_states(config, read_sources(config).sources)
    assert state.page_error == f"{text}: not an HTML page (Content-Type text/plain)"
    assert _contents(project)["Plain"][0] == "Plain summary."


def test_a_second_refresh_of_unchanged_entries_fetches_no_page(
        project: Path, site: FeedServer) -> None:
    config = load_config(project)
    build(config, settings=FAST)
    first = _contents(project)
    pages = [r.path for r in site.requests if r.path.startswith("/a/")]
    assert sorted(pages) == ["/a/one.html", "/a/three.txt", "/a/two.html"]
    assert [o.status for o in fetch(config, settings=FAST)] == ["ok"]
    build(config, fetch=False)
    assert [r.path for r in site.requests if r.path.startswith("/a/")] == pages
    assert len(site.requests_for("/feed.xml")) == 2
    assert _contents(project) == first


def test_a_changed_entry_asks_for_its_page_again_conditionally(
        project: Path, site: FeedServer) -> None:
    config = load_config(project)
    build(config, settings=FAST)
    one, two = site.url("/a/one.html"), site.url("/a/two.html")
    site.route("/feed.xml", Response(body=_rss([
        ("Quantum sensors leave the lab", one, "Sensors measure gravity, now in a van."),
        ("A page that is gone", two, "Gone but summarised."),
    ]), content_type="application/rss+xml"))
    fetch(config, settings=FAST)
    build(config, fetch=False)
    again = site.requests_for("/a/one.html")
    assert len(again) == 2 and again[1].header("If-None-Match") == '"one-1"'
    assert len(site.requests_for("/a/two.html")) == 1  # unchanged: its failure stands
    article, summary = _contents(project)["Quantum sensors leave the lab"]
    assert "nobody expected" in article and summary == "Sensors measure gravity, now in a van."


def test_a_rewrite_rule_removes_the_marked_element_from_the_article(
        project: Path, site: FeedServer) -> None:
    _links(project, site.url("/feed.xml"), '[[source.rewrite]]\nremove = "span.sponsor-note"\n')
    build(load_config(project), settings=FAST)
    article, _ = _contents(project)["Quantum sensors leave the lab"]
    assert "nobody expected" in article and "Visit our sponsor" not in article


def test_without_full_text_no_page_is_fetched(project: Path, site: FeedServer) -> None:
    (project / "sources" / "links.toml").write_text(
        f'[[source]]\nurl = "{site.url("/feed.xml")}"\n', encoding="utf-8")
    build(load_config(project), settings=FAST)
    assert [r.path for r in site.requests] == ["/feed.xml"]
    assert _contents(project)["Quantum sensors leave the lab"][0] == (
        "Sensors measure gravity in a van.")


@pytest.mark.parametrize(("page", "reason"), [
    (Response(body=b"<html><body>" + b"<p>x</p>" * 400_000 + b"</body></html>",
              content_type=HTML), "body larger than"),
    (Response(body=b"<html><body><script>" + b"x();" * 300_000 + b"</script>"
              + b"<p>Words, words.</p>" * 60_000 + b"</body></html>", content_type=HTML),
     "page too large to read for its article"),
    (Response(body=ARTICLE.format(extra=""), content_type=HTML, delay=3), "timed out"),
    (Response(status=302, headers={"Location": "ftp://127.0.0.1/a.html"}),
     "redirect to unsupported URL"),
    (Response(status=302, headers={"Location": "file:///etc/passwd"}),
     "redirect to unsupported URL"),
    (Response(body="<html><body><script>a()</script><style>p {}</style></body></html>",
              content_type=HTML),
     "no article found"),
])
def test_a_hostile_page_keeps_the_summary(project: Path, feed_server: FeedServer,
                                          page: Response, reason: str) -> None:
    url = feed_server.route("/a/page.html", page)
    feed_server.route("/feed.xml", Response(body=_rss([("Hostile", url, "Safe summary.")]),
                                            content_type="application/rss+xml"))
    _links(project, feed_server.url("/feed.xml"))
    config = load_config(project)
    settings = FetchSettings(domain_spacing=0.0, connect_timeout=1, read_timeout=1,
                             total_timeout=1.5, max_bytes=3_000_000)
    result = build(config, settings=settings)
    assert [o.status for o in result.fetched] == ["ok"]
    assert _contents(project)["Hostile"][0] == "Safe summary."
    [state] = source_states(config, read_sources(config).sources)
    assert state.page_error is not None and reason in state.page_error


def test_the_full_text_cli_run_is_clean(project: Path, site: FeedServer,
                                       run_cli: CliRunner) -> None:
    done = run_cli("build", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "nobody expected" in (project / "output" / "all.atom").read_text(encoding="utf-8")


def test_a_store_of_the_previous_schema_gains_the_pages(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:7]:
        db.executescript(script)
    db.execute("INSERT INTO sources (key, url) VALUES ('k', 'http://s.example/feed')")
    db.execute("PRAGMA user_version=7")
    db.commit()
    db.close()
    with Store(path) as store:
        [state] = store.sources()
        assert state.key == "k" and state.page_error is None
        page = CachedPage("s.example/1", "http://s.example/1", 5.0, "<p>A</p>", None, "d", '"e"')
        store.record_pages([page])  # no entry links to it: kept not
        assert store.cached_pages(["s.example/1"]) == {}
    assert "CREATE TABLE pages" in MIGRATIONS[7]


def test_pages_are_kept_by_either_store(store_at: Callable[[], Tables]) -> None:
    """A page is kept while an entry links to it, replaced when fetched again."""
    entry = Entry(id="e1", variants=(Variant("en", "T", "<p>S</p>"),), updated=NOW,
                  link="http://s.example/1")
    with store_at() as store:
        store.ensure_sources(["http://s.example/feed"])
        store.update_source("http://s.example/feed", {"page_error": "x: HTTP 404"},
                            [Incoming(entry, NOW, "s.example/1")], NOW)
        first = CachedPage("s.example/1", "http://s.example/1", 5.0, None, "HTTP 404", "d")
        orphan = CachedPage("s.example/2", "http://s.example/2", 5.0, "<p>B</p>", None, "d")
        store.record_pages([first, orphan])
        assert store.cached_pages(["s.example/1", "s.example/2"]) == {"s.example/1": first}
        again = CachedPage("s.example/1", "http://s.example/1", 9.0, "<p>A</p>", None, "e", '"t"')
        store.record_pages([again])
        assert store.cached_pages(["s.example/1"]) == {"s.example/1": again}
        [state] = store.sources()
        assert state.page_error == "x: HTTP 404"


# --- the pure decisions ------------------------------------------------------------------

NOW = datetime(2025, 9, 10, tzinfo=UTC)


def _item(n: int, content: str = "<p>Short.</p>", summary: str | None = None) -> Incoming:
    entry = Entry(id=f"e{n}", variants=(Variant("en", f"T{n}", content, summary),),
                  updated=NOW.replace(day=n), link=f"http://s.example/{n}")
    return Incoming(entry, entry.updated, f"s.example/{n}")


def test_only_summaries_are_summary_only() -> None:
    assert is_summary_only(_item(1).entry)
    assert is_summary_only(_item(1, "<p>Short text.</p>", "Short text.").entry)
    assert not is_summary_only(_item(1, "<p>" + "Long text. " * 20 + "</p>", "Long text.").entry)


def test_pages_are_wanted_for_the_newest_entries_only_and_not_again_until_due() -> None:
    items = [_item(n) for n in (1, 5, 3)]
    plan = plan_pages(items, {}, NOW.timestamp(), window=2)
    assert [w.request.url for w in plan.wanted] == ["http://s.example/5", "http://s.example/3"]
    kept = {w.link: CachedPage(w.link, w.request.url, NOW.timestamp(), "<p>Article</p>",
                               entry_digest=w.entry_digest, etag='"e"') for w in plan.wanted}
    later = plan_pages(items, kept, NOW.timestamp() + 3600, window=2)
    assert later.wanted == ()
    assert later.incoming[1].entry.variants[0].content_html == "<p>Article</p>"
    assert later.incoming[1].entry.variants[0].summary == "Short."
    due = plan_pages(items, kept, NOW.timestamp() + PAGE_REFRESH_SECONDS, window=2)
    assert [w.request.etag for w in due.wanted] == ['"e"', '"e"']

