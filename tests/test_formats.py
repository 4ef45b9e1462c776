"""RSS 2.0 and JSON Feed beside Atom: the same entries, said in each format's terms."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from feedcheck import assert_valid_feed, assert_valid_json_feed, assert_valid_rss
from lxml import etree

from feeds import ConfigError, build, load_config
from feeds.model import Entry, EntryFilter, FeedItem, FeedSpec, Person, SourceRef, Variant
from feeds.publish.jsonfeed import render_json
from feeds.publish.outputs import RENDERERS
from feeds.publish.rss import render_rss, rfc822

CONFIG = load_config(Path(__file__).parent)
NO_PAGES = replace(CONFIG, pages=False)
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
ATOM = "{http://www.w3.org/2005/Atom}"
ZH = FeedSpec("lang", "zh", "lang/zh", "中文", EntryFilter(lang="zh"))
ALL = FeedSpec("all", "all", "all", "All", subtitle="Everything")


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


BILINGUAL = Entry(
    "tag:example.org,2024:digest", (
        Variant("zh", "人工智能音乐", "<p>正文</p>", "摘要"),
        Variant("en", "AI music", "<p>Body</p>", "A <b> summary & more"),
    ),
    updated=_at(25), published=_at(20), authors=("Ann", "Bo"), tags=("ai", "音乐"),
    link="https://news.example/文章/1", contacts=(Person("Bo", email="bo@example.org"),))
AGGREGATED = Entry(
    "https://blog.example/post/7", (Variant("en", "Remote post", "<p>Remote</p>"),),
    updated=_at(10), published=_at(10), link="https://blog.example/post/7",
    origin="https://blog.example/feed.xml",
    source=SourceRef("https://blog.example/", "Example blog", "https://blog.example/", _at(11)))
OLD = Entry("tag:example.org,2024:old", (Variant("en", "Very old", "<p>Old</p>"),),
            updated=datetime(999, 1, 1, tzinfo=UTC))


def _items(*entries: Entry, lang: str | None = None) -> list[FeedItem]:
    return [FeedItem(e, (e.variant(lang) if lang else None) or e.variants[0]) for e in entries]


def test_rss_channel_says_where_it_is_its_language_and_its_newest_change() -> None:
    root = etree.fromstring(render_rss(ZH, _items(BILINGUAL, lang="zh"), CONFIG))
    channel = root.find("channel")
    [self_link] = [link for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link.get("href") == "http://127.0.0.1:8080/lang/zh.rss"
    assert self_link.get("type") == "application/rss+xml"
    assert channel.findtext("language") == "zh"
    # The newest change, not the clock: an unchanged feed keeps its bytes.
    assert channel.findtext("lastBuildDate") == "Tue, 25 Mar 2025 12:00:00 +0000"
    assert channel.findtext("description") == "中文"  # a channel needs one; the title stands in


def test_rss_item_carries_what_the_atom_entry_does() -> None:
    data = render_rss(ALL, _items(BILINGUAL, AGGREGATED), NO_PAGES)
    assert_valid_rss(data)
    digest, remote = etree.fromstring(data).find("channel").findall("item")
    assert digest.findtext("title") == "人工智能音乐"
    assert digest.findtext("link") == "https://news.example/%E6%96%87%E7%AB%A0/1"
    guid = digest.find("guid")
    assert (guid.text, guid.get("isPermaLink")) == ("tag:example.org,2024:digest", "false")
    assert digest.findtext("pubDate") == "Thu, 20 Mar 2025 12:00:00 +0000"
    # RSS's author is an address: a name alone is a dc:creator.
    assert [e.text for e in digest.findall(f"{DC}creator")] == ["Ann"]
    assert [e.text for e in digest.findall("author")] == ["bo@example.org (Bo)"]
    assert [e.text for e in digest.findall("category")] == ["ai", "音乐"]
    assert digest.findtext("description") == "摘要"
    assert digest.findtext(f"{CONTENT}encoded") == "<p>正文</p>"
    # An aggregated item names the feed it came from.
    source = remote.find("source")
    assert (source.get("url"), source.text) == ("https://blog.example/feed.xml", "Example blog")
    assert digest.find("source") is None


def test_rss_guid_is_a_permalink_only_when_it_is_the_items_link() -> None:
    root = etree.fromstring(render_rss(ALL, _items(AGGREGATED), CONFIG))
    guid = root.find("channel/item/guid")
    assert (guid.text, guid.get("isPermaLink")) == ("https://blog.example/post/7", "true")


def test_rss_description_is_the_summary_shown_as_written() -> None:
    """Readers take a description for HTML, so a plain-text summary is escaped once more."""
    parsed = assert_valid_rss(render_rss(ALL, _items(BILINGUAL, lang="en"), CONFIG))
    assert parsed.entries[0].summary == "A &lt;b&gt; summary &amp; more"
    root = etree.fromstring(render_rss(ALL, _items(BILINGUAL, lang="en"), CONFIG))
    assert root.findtext("channel/item/description") == "A &lt;b&gt; summary &amp; more"


def test_rss_dates_have_four_digit_years_and_the_right_weekday() -> None:
    """A date before the year 1000 is still RFC 822 with RFC 1123's four-digit year."""
    assert rfc822(datetime(999, 1, 1, tzinfo=UTC)) == "Tue, 01 Jan 0999 00:00:00 +0000"
    assert rfc822(datetime(2025, 3, 20, 20, 30, tzinfo=UTC).astimezone()) == (
        "Thu, 20 Mar 2025 20:30:00 +0000")
    root = etree.fromstring(render_rss(ALL, _items(OLD), CONFIG))
    assert root.findtext("channel/item/pubDate") == "Tue, 01 Jan 0999 00:00:00 +0000"
    assert root.findtext("channel/lastBuildDate") == "Tue, 01 Jan 0999 00:00:00 +0000"


def test_json_feed_carries_the_feed_and_its_items() -> None:
    document = assert_valid_json_feed(render_json(ZH, _items(BILINGUAL, lang="zh"), NO_PAGES))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert (document["title"], document["language"]) == ("中文", "zh")
    assert document["feed_url"] == "http://127.0.0.1:8080/lang/zh.json"
    assert document["home_page_url"] == "http://127.0.0.1:8080/"  # no pages: the site
    assert document["authors"] == [{"name": CONFIG.author}]
    [item] = document["items"]
    assert item["id"] == "tag:example.org,2024:digest"
    assert item["url"] == "https://news.example/%E6%96%87%E7%AB%A0/1"
    assert (item["title"], item["content_html"], item["summary"]) == ("人工智能音乐", "<p>正文</p>", "摘要")
    assert item["date_published"] == "2025-03-20T12:00:00+00:00"
    assert item["date_modified"] == "2025-03-25T12:00:00+00:00"
    assert item["authors"] == [{"name": "Ann"}, {"name": "Bo"}]
    assert (item["tags"], item["language"]) == (["ai", "音乐"], "zh")


def test_json_feed_translation_has_its_own_id_and_language() -> None:
    document = json.loads(render_json(ALL, _items(BILINGUAL, lang="en"), CONFIG))
    [item] = document["items"]
    assert (item["id"], item["language"]) == ("tag:example.org,2024:digest/en", "en")
    assert "language" not in document  # a feed of every language states none


def test_json_feed_escapes_line_separators_for_scripts() -> None:
    entry = replace(OLD, variants=(Variant("en", "a\u2028b", "<p>c\u2029d</p>"),))
    data = render_json(ALL, _items(entry), CONFIG)
    assert "\u2028".encode() not in data and "\u2029".encode() not in data
    assert json.loads(data)["items"][0]["title"] == "a\u2028b"


def test_every_format_shows_the_same_entries_in_the_same_order_with_the_same_ids() -> None:
    items = _items(BILINGUAL, AGGREGATED, OLD)
    atom = feedparser.parse(RENDERERS["atom"](ALL, items, CONFIG))
    rss = feedparser.parse(RENDERERS["rss"](ALL, items, CONFIG))
    document = json.loads(RENDERERS["json"](ALL, items, CONFIG))
    ids = ["tag:example.org,2024:digest", "https://blog.example/post/7", "tag:example.org,2024:old"]
    assert [e.id for e in atom.entries] == ids
    assert [e.id for e in rss.entries] == ids
    assert [i["id"] for i in document["items"]] == ids
    assert [e.title for e in rss.entries] == [e.title for e in atom.entries]


def _article(project: Path, name: str, front: str, body: str = "Body.") -> None:
    (project / "sources" / "articles" / name).write_text(f"---\n{front}---\n{body}\n",
                                                         encoding="utf-8")


def test_a_build_writes_every_feed_in_every_format_beside_the_others(project: Path) -> None:
    _article(project, "a.md", "title: 标题\ndate: 2025-03-01\ntags: [科技]\n", "中文正文。" * 20)
    _article(project, "b.md", "title: Title\ndate: 2025-03-02\n", "An English body. " * 20)
    build(load_config(project), fetch=False)
    out = project / "output"
    for stem in ("all", "lang/zh", "lang/en", "tags/科技"):
        ids = []
        for fmt in ("atom", "rss", "json"):
            parsed = assert_valid_feed(out / f"{stem}.{fmt}")
            items = parsed["items"] if fmt == "json" else parsed.entries
            ids.append([i["id"] for i in items])
        assert ids[0] == ids[1] == ids[2] and ids[0], stem


def test_formats_chooses_what_is_written_and_the_rest_is_removed(project: Path) -> None:
    _article(project, "a.md", "title: Title\ndate: 2025-03-02\n")
    build(load_config(project), fetch=False)
    assert (project / "output" / "all.json").is_file()
    (project / "feeds.toml").write_text('formats = ["rss"]\n', encoding="utf-8")
    result = build(load_config(project), fetch=False)
    out = project / "output"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")
                  if p.suffix in (".atom", ".rss", ".json")) == ["all.rss", "lang/en.rss"]
    assert {f.fmt for f in result.feeds} == {"rss"}
    assert "all.json" in result.report.removed and "all.atom" in result.report.removed


@pytest.mark.parametrize(("value", "message"), [
    ('["atom", "rdf"]', "'formats' must name at least one of ['atom', 'rss', 'json'], not 'rdf'"),
    ("[]", "'formats' must name at least one of ['atom', 'rss', 'json']"),
    ('"rss"', "'formats' must be a list drawn from ['atom', 'rss', 'json']"),
])
def test_unknown_formats_are_a_clear_error(tmp_path: Path, value: str, message: str) -> None:
    (tmp_path / "feeds.toml").write_text(f"formats = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value).startswith(f"feeds.toml: {message}")


def test_formats_are_read_without_regard_to_case_and_once_each(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text('formats = ["JSON", "atom", "json"]\n', encoding="utf-8")
    assert load_config(tmp_path).formats == ("json", "atom")


# --- With pages: entries link their own page, the original stays one click away ---------------

PAGE_ZH = "http://127.0.0.1:8080/entries/digest--0619d363507accbd383a149b.zh.html"
PAGE_EN = "http://127.0.0.1:8080/entries/digest--0619d363507accbd383a149b.en.html"


def test_with_pages_a_local_entry_links_its_page_and_the_original_as_related() -> None:
    atom = etree.fromstring(RENDERERS["atom"](ALL, _items(BILINGUAL), CONFIG))
    links = [(link.get("rel"), link.get("hreflang"), link.get("href"))
             for link in atom.find(f"{ATOM}entry").findall(f"{ATOM}link")]
    # The entry's own page first and last, for readers that keep the first
    # alternate link (sfeed, SimplePie) and those that keep the last
    # (feedparser, newsboat); between them the translation and the original.
    assert links == [("alternate", None, PAGE_ZH),
                     ("alternate", "en", PAGE_EN),
                     ("related", None, "https://news.example/文章/1"),  # Atom takes IRIs
                     ("alternate", "zh", PAGE_ZH)]
    assert feedparser.parse(RENDERERS["atom"](ALL, _items(BILINGUAL), CONFIG)).entries[0].link == PAGE_ZH
    item = etree.fromstring(RENDERERS["rss"](ALL, _items(BILINGUAL), CONFIG)).find("channel/item")
    assert item.findtext("link") == PAGE_ZH
    assert [(link.get("rel"), link.get("hreflang"), link.get("href"))
            for link in item.findall(f"{ATOM}link")] == [
        ("alternate", "en", PAGE_EN), ("related", None, "https://news.example/%E6%96%87%E7%AB%A0/1"),
        ("alternate", "zh", PAGE_ZH)]
    assert feedparser.parse(RENDERERS["rss"](ALL, _items(BILINGUAL), CONFIG)).entries[0].link == PAGE_ZH
    [entry] = json.loads(RENDERERS["json"](ALL, _items(BILINGUAL), CONFIG))["items"]
    assert (entry["url"], entry["external_url"]) == (
        PAGE_ZH, "https://news.example/%E6%96%87%E7%AB%A0/1")


def test_with_pages_a_remote_entry_keeps_the_original_as_its_link() -> None:
    atom = feedparser.parse(RENDERERS["atom"](ALL, _items(AGGREGATED), CONFIG))
    assert atom.entries[0].link == "https://blog.example/post/7"
    assert [link.rel for link in atom.entries[0].links] == ["alternate"]
    [entry] = json.loads(RENDERERS["json"](ALL, _items(AGGREGATED), CONFIG))["items"]
    assert entry["url"] == "https://blog.example/post/7" and "external_url" not in entry


def test_with_pages_each_feed_links_its_html_twin() -> None:
    for fmt in ("atom", "rss", "json"):
        parsed = assert_valid_feed(RENDERERS[fmt](ZH, _items(BILINGUAL), CONFIG), fmt)
        home = parsed["home_page_url"] if fmt == "json" else parsed.feed.link
        assert home == "http://127.0.0.1:8080/lang/zh.html", fmt


def test_without_pages_translations_link_the_language_feed_of_the_same_format() -> None:
    rss = etree.fromstring(render_rss(ALL, _items(BILINGUAL), NO_PAGES))
    [translation] = [link for link in rss.iter(f"{ATOM}link")
                     if link.get("hreflang") and link.get("type") != "text/html"]
    assert (translation.get("href"), translation.get("type")) == (
        "http://127.0.0.1:8080/lang/en.rss", "application/rss+xml")
    atom = etree.fromstring(RENDERERS["atom"](ALL, _items(BILINGUAL), NO_PAGES))
    [translation] = [link for link in atom.iter(f"{ATOM}link")
                     if link.get("hreflang") and link.get("type") != "text/html"]
    assert (translation.get("href"), translation.get("type")) == (
        "http://127.0.0.1:8080/lang/en.atom", "application/atom+xml")


def test_every_format_names_the_configured_websub_hubs() -> None:
    """A WebSub subscriber finds the hub in the feed: Atom and RSS links, JSON Feed `hubs`."""
    config = replace(CONFIG, hubs=("https://hub.example.org/", "http://127.0.0.1:9/hub"))
    items = _items(BILINGUAL)
    for fmt in ("atom", "rss"):
        root = etree.fromstring(RENDERERS[fmt](ALL, items, config))
        channel = root if fmt == "atom" else root.find("channel")
        assert [link.get("href") for link in channel.findall(f"{ATOM}link")
                if link.get("rel") == "hub"] == list(config.hubs), fmt
        assert_valid_feed(RENDERERS[fmt](ALL, items, config), fmt)
    document = assert_valid_json_feed(RENDERERS["json"](ALL, items, config))
    assert document["hubs"] == [{"type": "WebSub", "url": hub} for hub in config.hubs]
    assert "hubs" not in json.loads(RENDERERS["json"](ALL, items, CONFIG))


@pytest.mark.parametrize("value", ['["ftp://hub.example.org/"]', '["hub.example.org"]', '"https://h/"'])
def test_hubs_must_be_http_urls(tmp_path: Path, value: str) -> None:
    (tmp_path / "feeds.toml").write_text(f"hubs = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'hubs' must"):
        load_config(tmp_path)


def test_a_podcast_client_reads_every_rss_feed_as_feedparser_does(project: Path) -> None:
    """gPodder's parser, a real RSS client, finds each item with its guid, title, link and date."""
    import podcastparser

    _article(project, "a.md", "title: 标题\ndate: 2025-03-01T08:30:00+08:00\ntags: [科技]\n",
             "中文正文。" * 20)
    _article(project, "b.md", "title: Title & more\ndate: 2025-03-02\n", "An English body. " * 20)
    build(load_config(project), fetch=False)
    out = project / "output"
    feeds = sorted(out.rglob("*.rss"))
    assert len(feeds) == 4
    for path in feeds:
        url = "http://127.0.0.1:8080/" + path.relative_to(out).as_posix()
        with path.open("rb") as stream:
            podcast = podcastparser.parse(url, stream)
        reference = assert_valid_rss(path)
        assert podcast["title"] == reference.feed.title
        assert [(e["guid"], e["title"], e["link"]) for e in podcast["episodes"]] == [
            (e.id, e.title, e.link) for e in reference.entries]
        assert [e["published"] for e in podcast["episodes"]] == [
            int(datetime(*e.published_parsed[:6], tzinfo=UTC).timestamp()) for e in reference.entries]
