"""Media in and out: enclosures, pictures and podcast tags read from every format and written to every format.

A podcast followed through the aggregator must still play in a podcast
client from the published RSS: gPodder's podcastparser reads what is
published and must find each episode's audio with its type, length and
duration.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import html5lib
import podcastparser
import pytest
from atomcheck import assert_valid_atom
from feedcheck import assert_valid_json_feed, assert_valid_rss
from feedserver import FeedServer, Response
from lxml import etree

from feeds import build, fetch
from feeds.codec import content_hash, decode_entry, encode_entry, entry_from_dict, entry_to_dict
from feeds.config import FetchSettings, load_config
from feeds.model import Enclosure, Entry, Episode, FeedItem, FeedSpec, Variant
from feeds.publish.outputs import render_format
from feeds.remote.parse import parse_feed
from feeds.text.media import MAX_ENCLOSURES, duration_seconds

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=4)
CONFIG = load_config(Path(__file__).parent / "no-such-project")
ALL = FeedSpec("all", "all", "all", "All")
ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"

PODCAST = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Loopback Radio</title><link>http://radio.example/</link><language>en</language>
  <itunes:image href="http://radio.example/cover.jpg"/>
  <item>
    <guid isPermaLink="false">ep-1</guid><title>Episode one</title>
    <link>http://radio.example/1</link>
    <description>The first show, about gravity and sensors.</description>
    <pubDate>Mon, 01 Sep 2025 10:00:00 +0000</pubDate>
    <enclosure url="{AUDIO1}" length="12345678" type="audio/mpeg"/>
    <itunes:duration>1:02:03</itunes:duration>
    <itunes:image href="http://radio.example/ep1.png"/>
    <itunes:explicit>true</itunes:explicit>
    <itunes:episode>1</itunes:episode><itunes:season>2</itunes:season>
    <itunes:episodeType>full</itunes:episodeType>
  </item>
  <item>
    <guid isPermaLink="false">ep-2</guid><title>Episode two</title>
    <link>http://radio.example/2</link>
    <description>The second show, about telescopes and water.</description>
    <pubDate>Tue, 02 Sep 2025 10:00:00 +0000</pubDate>
    <enclosure url="/media/ep2.m4a" length="2048" type="audio/x-m4a"/>
    <itunes:duration>754</itunes:duration>
    <itunes:explicit>no</itunes:explicit>
    <media:group>
      <media:content url="http://radio.example/media/ep2.mp4" type="video/mp4" fileSize="99999"
                     duration="755" medium="video"/>
      <media:thumbnail url="http://radio.example/ep2-thumb.jpg"/>
    </media:group>
  </item>
</channel>
</rss>
"""
AUDIO1 = "http://radio.example/media/ep1.mp3"

ATOM_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://talks.example/feed/">
  <id>urn:loop:talks</id><title>Loopback Talks</title>
  <link rel="alternate" href="http://talks.example/"/>
  <updated>2025-09-20T00:00:00Z</updated>
  <entry>
    <id>urn:loop:talk-1</id><title>A talk on compilers</title>
    <link rel="alternate" href="http://talks.example/1"/>
    <link rel="enclosure" href="../files/talk1.webm" type="video/webm" length="5000000"
          title="The talk"/>
    <link rel="enclosure" href="http://talks.example/files/talk1-slides.pdf"
          type="application/pdf" length="80000"/>
    <link rel="enclosure" href="javascript:alert(1)" type="audio/mpeg" length="10"/>
    <link rel="enclosure" href="data:audio/mpeg;base64,AAAA" type="audio/mpeg"/>
    <link rel="enclosure" href="http://talks.example/files/talk1.mp3" type="audio/mpeg"
          length="-5"/>
    <updated>2025-09-12T08:00:00Z</updated>
    <content type="html">&lt;p&gt;A release that halves build times.&lt;/p&gt;</content>
  </entry>
</feed>
"""

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Loopback JSON casts",
    "home_page_url": "http://casts.example/",
    "items": [{
        "id": "cast-1", "url": "http://casts.example/1", "title": "A cast in JSON",
        "content_html": "<p>Spoken words about storage plants.</p>",
        "date_published": "2025-08-01T09:00:00Z",
        "image": "/art/cast1.jpg",
        "attachments": [
            {"url": "http://casts.example/cast1.opus", "mime_type": "audio/opus",
             "size_in_bytes": 4321, "duration_in_seconds": 321.7, "title": "Opus"},
            {"url": "file:///etc/passwd", "mime_type": "audio/mpeg"},
            {"url": "http://casts.example/cast1.mp3", "mime_type": "audio/mpeg",
             "size_in_bytes": -3},
        ],
    }],
}

# What every published format must carry: each entry's files by title, as
# (url, type, length) in their order.
EXPECTED = {
    "Episode one": [(AUDIO1, "audio/mpeg", 12345678)],
    "Episode two": [("http://radio.example/media/ep2.m4a", "audio/x-m4a", 2048),
                    ("http://radio.example/media/ep2.mp4", "video/mp4", 99999)],
    "A talk on compilers": [("http://talks.example/files/talk1.webm", "video/webm", 5000000),
                            ("http://talks.example/files/talk1-slides.pdf", "application/pdf", 80000),
                            ("http://talks.example/files/talk1.mp3", "audio/mpeg", None)],
    "A cast in JSON": [("http://casts.example/cast1.opus", "audio/opus", 4321),
                       ("http://casts.example/cast1.mp3", "audio/mpeg", None)],
}


@pytest.fixture
def media_feeds(feed_server: FeedServer, project: Path) -> dict[str, str]:
    urls = {
        "rss": feed_server.route("/podcast.xml", Response(
            body=PODCAST.replace("{AUDIO1}", AUDIO1), content_type="application/rss+xml")),
        "atom": feed_server.route("/talks.atom", Response(body=ATOM_FEED)),
        "json": feed_server.route("/casts.json", Response(
            body=json.dumps(JSON_FEED), content_type="application/feed+json")),
    }
    (project / "sources" / "links.toml").write_text(
        "".join(f'[[source]]\nurl = "{u}"\n\n' for u in urls.values()), encoding="utf-8")
    return urls


def _rss_files(item: etree._Element) -> list[tuple[str, str, int | None]]:
    """An RSS item's files: its `<enclosure>`, then its `media:content`s."""
    files = [(e.get("url"), e.get("type"), int(e.get("length")) or None)
             for e in item.findall("enclosure")]
    files += [(m.get("url"), m.get("type"), int(m.get("fileSize")) if m.get("fileSize") else None)
              for m in item.findall(f"{MEDIA}content")]
    return files


def _published_files(out: Path) -> dict[str, dict[str, list[tuple[str, str, int | None]]]]:
    """Every entry's files in all.atom, all.rss and all.json, by format and title."""
    atom = etree.parse(str(out / "all.atom")).getroot()
    rss = etree.parse(str(out / "all.rss")).getroot()
    document = json.loads((out / "all.json").read_text(encoding="utf-8"))
    return {
        "atom": {entry.findtext(f"{ATOM}title"): [
            (link.get("href"), link.get("type"),
             int(link.get("length")) if link.get("length") else None)
            for link in entry.findall(f"{ATOM}link") if link.get("rel") == "enclosure"]
            for entry in atom.findall(f"{ATOM}entry")},
        "rss": {item.findtext("title"): _rss_files(item) for item in rss.iter("item")},
        "json": {item["title"]: [(a["url"], a["mime_type"], a.get("size_in_bytes"))
                                 for a in item.get("attachments", [])]
                 for item in document["items"]},
    }


def test_every_format_republishes_every_enclosure_of_every_format(
    project: Path, media_feeds: dict[str, str]
) -> None:
    result = build(load_config(project), settings=FAST)
    assert [o.status for o in result.fetched] == ["ok", "ok", "ok"]
    out = project / "output"
    for fmt, files in _published_files(out).items():
        assert files == EXPECTED, fmt
    # The refused files (javascript:, data:, file:) are gone; their entries stay.
    for path in ("all.atom", "all.rss", "all.json"):
        text = (out / path).read_text(encoding="utf-8")
        assert "javascript:" not in text and "data:audio" not in text and "file:" not in text
    atom = assert_valid_atom(out / "all.atom")
    [talk] = [e for e in atom.entries if e.title == "A talk on compilers"]
    assert [link.get("title") for link in talk.links if link.rel == "enclosure"] == [
        "The talk", None, None]
    document = assert_valid_json_feed(out / "all.json")
    [cast] = [i for i in document["items"] if i["title"] == "A cast in JSON"]
    assert cast["image"] == "http://casts.example/art/cast1.jpg"
    assert cast["attachments"][0] == {
        "url": "http://casts.example/cast1.opus", "mime_type": "audio/opus", "title": "Opus",
        "size_in_bytes": 4321, "duration_in_seconds": 321}
    [one] = [i for i in document["items"] if i["title"] == "Episode one"]
    assert one["image"] == "http://radio.example/ep1.png"
    assert one["attachments"][0]["duration_in_seconds"] == 3723


def test_a_podcast_client_plays_every_episode_from_the_published_rss(
    project: Path, media_feeds: dict[str, str]
) -> None:
    build(load_config(project), settings=FAST)
    path = project / "output" / "all.rss"
    assert_valid_rss(path)
    with path.open("rb") as stream:
        podcast = podcastparser.parse("http://127.0.0.1:8080/all.rss", stream)
    episodes = {e["title"]: e for e in podcast["episodes"]}
    for title, files in EXPECTED.items():
        found = [(f["url"], f["mime_type"], f["file_size"]) for f in episodes[title]["enclosures"]]
        # podcastparser says -1 for a size that is not known (written 0 in <enclosure>).
        assert found == [(url, kind, length or -1) for url, kind, length in files], title
    assert episodes["Episode one"]["total_time"] == 3723
    assert episodes["Episode two"]["total_time"] == 754
    assert episodes["A cast in JSON"]["total_time"] == 321
    assert episodes["Episode one"]["episode_art_url"] == "http://radio.example/ep1.png"
    assert episodes["Episode two"]["episode_art_url"] == "http://radio.example/ep2-thumb.jpg"
    assert (episodes["Episode one"]["explicit"], episodes["Episode two"]["explicit"]) == (True, False)
    assert (episodes["Episode one"]["number"], episodes["Episode one"]["season"]) == (1, 2)
    assert episodes["Episode one"]["type"] == "full"


def test_the_itunes_tags_a_source_gave_are_written_again(
    project: Path, media_feeds: dict[str, str]
) -> None:
    build(load_config(project), settings=FAST)
    rss = etree.parse(str(project / "output" / "all.rss")).getroot()
    items = {item.findtext("title"): item for item in rss.iter("item")}

    def itunes(title: str) -> dict[str, str | None]:
        return {etree.QName(e).localname: e.text or e.get("href")
                for e in items[title] if etree.QName(e).namespace == ITUNES[1:-1]}

    assert itunes("Episode one") == {
        "duration": "3723", "image": "http://radio.example/ep1.png", "explicit": "true",
        "episode": "1", "season": "2", "episodeType": "full"}
    assert itunes("Episode two") == {
        "duration": "754", "image": "http://radio.example/ep2-thumb.jpg", "explicit": "false"}
    # A talk with a video has its duration when one is known, and no podcast tags it never had.
    assert itunes("A talk on compilers") == {}
    # An entry without files has no media at all.
    assert rss.nsmap.get("itunes") == ITUNES[1:-1]


def test_a_feed_without_media_keeps_its_bytes_and_namespaces(project: Path) -> None:
    """Feeds of entries without files declare no media namespace: their bytes stay as they were."""
    plain = Entry("tag:example.org,2024:plain", (Variant("en", "Plain", "<p>x</p>"),),
                  updated=datetime(2025, 3, 1, tzinfo=UTC))
    for fmt in ("atom", "rss"):
        data = render_format(fmt, ALL, [FeedItem(plain, plain.variants[0])], CONFIG)
        assert b"mrss" not in data and b"itunes" not in data, fmt
    data = render_format("json", ALL, [FeedItem(plain, plain.variants[0])], CONFIG)
    assert b"attachments" not in data and b'"image"' not in data


def test_changing_only_an_enclosure_url_rewrites_the_feeds(
    project: Path, media_feeds: dict[str, str], feed_server: FeedServer
) -> None:
    config = load_config(project)
    build(config, settings=FAST)
    out = project / "output"
    before = {name: (out / name).read_bytes() for name in ("all.atom", "all.rss", "all.json")}
    moved = "http://cdn.radio.example/ep1-remastered.mp3"
    feed_server.route("/podcast.xml", Response(
        body=PODCAST.replace("{AUDIO1}", moved), content_type="application/rss+xml"))
    outcomes = {o.url: o for o in fetch(config, settings=FAST)}
    podcast = outcomes[media_feeds["rss"]]
    assert (podcast.new, podcast.changed) == (0, 1)  # the same episode, changed
    build(config, fetch=False)
    for name, old in before.items():
        new = (out / name).read_bytes()
        assert new != old, name
        assert moved.encode() in new and AUDIO1.encode() not in new, name
    atom = assert_valid_atom(out / "all.atom")
    assert [e.title for e in atom.entries].count("Episode one") == 1


def test_an_article_with_a_picture_and_files_is_published_with_them(project: Path) -> None:
    (project / "sources" / "articles" / "show.md").write_text(
        "---\ntitle: Our first show\ndate: 2025-03-01T08:00:00Z\nimage: /img/show.jpg\n"
        "enclosures:\n"
        "  - url: https://cdn.example.org/show1.mp3\n    length: 31337\n    duration: 1:02:03\n"
        "    title: The show\n"
        "  - url: https://cdn.example.org/show1.webm\n    type: video/webm\n    length: 999\n"
        "  - https://cdn.example.org/show1-notes.pdf\n"
        "---\nWe talk about storage plants and the grid.\n", encoding="utf-8")
    build(load_config(project), fetch=False)
    out = project / "output"
    files = _published_files(out)
    expected = [("https://cdn.example.org/show1.mp3", "audio/mpeg", 31337),
                ("https://cdn.example.org/show1.webm", "video/webm", 999),
                ("https://cdn.example.org/show1-notes.pdf", "application/pdf", None)]
    assert files == {fmt: {"Our first show": expected} for fmt in ("atom", "rss", "json")}
    with (out / "all.rss").open("rb") as stream:
        [episode] = podcastparser.parse("http://127.0.0.1:8080/all.rss", stream)["episodes"]
    assert [(f["url"], f["mime_type"], f["file_size"]) for f in episode["enclosures"]] == [
        (url, kind, length or -1) for url, kind, length in expected]
    assert episode["total_time"] == 3723
    assert episode["episode_art_url"] == "http://127.0.0.1:8080/img/show.jpg"
    atom = etree.parse(str(out / "all.atom")).getroot()
    assert [t.get("url") for t in atom.iter(f"{MEDIA}thumbnail")] == [
        "http://127.0.0.1:8080/img/show.jpg"]
    document = json.loads((out / "all.json").read_text(encoding="utf-8"))
    assert document["items"][0]["image"] == "http://127.0.0.1:8080/img/show.jpg"
    assert document["items"][0]["attachments"][0]["title"] == "The show"

    [page] = (out / "entries").glob("*.html")
    parser = html5lib.HTMLParser(namespaceHTMLElements=False, strict=False)
    root = parser.parse(page.read_bytes())
    assert not parser.errors, parser.errors
    [image] = root.iter("img")
    assert image.get("src") == "http://127.0.0.1:8080/img/show.jpg"
    [audio] = root.iter("audio")
    [source] = audio.iter("source")
    assert (source.get("src"), source.get("type")) == ("https://cdn.example.org/show1.mp3", "audio/mpeg")
    # A browser that plays nothing shows a plain link.
    assert [a.get("href") for a in audio.iter("a")] == ["https://cdn.example.org/show1.mp3"]
    [video] = root.iter("video")
    assert [s.get("src") for s in video.iter("source")] == ["https://cdn.example.org/show1.webm"]
    links = [a.get("href") for a in root.iter("a") if "cdn.example.org" in (a.get("href") or "")]
    assert "https://cdn.example.org/show1-notes.pdf" in links
    text = " ".join(root.itertext())
    assert "audio/mpeg, 31.3 kB, 1:02:03" in text
    metas = {m.get("property"): m.get("content") for m in root.iter("meta")}
    assert metas["og:image"] == "http://127.0.0.1:8080/img/show.jpg"


def test_editing_only_an_articles_file_url_rewrites_its_feeds_and_page(project: Path) -> None:
    article = project / "sources" / "articles" / "show.md"
    text = ("---\ntitle: A show\ndate: 2025-03-01T08:00:00Z\n"
            "enclosures: [{url: 'https://cdn.example.org/a.mp3', length: 5}]\n---\nWords.\n")
    article.write_text(text, encoding="utf-8")
    build(load_config(project), fetch=False)
    out = project / "output"
    [page] = (out / "entries").glob("*.html")
    written = ("all.atom", "all.rss", "all.json", page.relative_to(out).as_posix())
    before = {name: (out / name).read_bytes() for name in written}
    article.write_text(text.replace("a.mp3", "a-fixed.mp3"), encoding="utf-8")
    build(load_config(project), fetch=False)
    for name, old in before.items():
        new = (out / name).read_bytes()
        assert b"/a.mp3" in old and b"a-fixed.mp3" not in old, name
        assert b"a-fixed.mp3" in new and b"/a.mp3" not in new, name


# --- Reading ---------------------------------------------------------------


def _rss_item(inner: str, *, namespaces: str = "") -> bytes:
    return (f'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
            f'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" {namespaces}>'
            f"<channel><title>T</title><link>http://site.example/</link>"
            f"<item><guid>g</guid><title>Item</title>{inner}</item></channel></rss>").encode()


def test_a_bad_enclosure_is_dropped_alone_and_the_entry_kept() -> None:
    feed = parse_feed(_rss_item(
        '<enclosure url="javascript:alert(1)" length="1" type="audio/mpeg"/>'
        '<media:content url="vbscript:x" type="audio/mpeg"/>'
        '<media:content url="http://site.example/ok.mp3" fileSize="-1" type="not a type"/>'), "http://site.example/feed")
    [entry] = feed.entries
    assert entry.title == "Item"
    assert entry.enclosures == (Enclosure("http://site.example/ok.mp3", "audio/mpeg"),)


def test_an_item_keeps_a_bounded_number_of_files_of_bounded_size() -> None:
    many = "".join(f'<media:content url="http://site.example/{n}.mp3"/>' for n in range(200))
    huge = f'<media:content url="http://site.example/{"a" * 5000}.mp3"/>'
    [entry] = parse_feed(_rss_item(huge + many), "http://site.example/feed").entries
    assert len(entry.enclosures) == MAX_ENCLOSURES
    assert entry.enclosures[0].url == "http://site.example/0.mp3"  # the long one is refused
    titled = ('<link xmlns="http://www.w3.org/2005/Atom" rel="enclosure" '
              f'href="http://site.example/x.mp3" title="{"t" * 1000}"/>')
    [entry] = parse_feed(_rss_item(titled), "http://site.example/feed").entries
    assert entry.enclosures[0].title == "t" * 200


def test_the_same_file_listed_twice_is_one_file_with_what_both_said() -> None:
    [entry] = parse_feed(_rss_item(
        '<enclosure url="http://site.example/a.mp3" length="0" type="audio/mpeg"/>'
        '<media:content url="http://site.example/a.mp3" fileSize="77" duration="60"/>'),
        "http://site.example/feed").entries
    assert entry.enclosures == (Enclosure("http://site.example/a.mp3", "audio/mpeg", 0, 60),)


@pytest.mark.parametrize(("value", "explicit"), [
    ("true", True), ("yes", True), ("explicit", True), ("false", False), ("no", False),
    ("clean", False), ("maybe", None)])
@pytest.mark.parametrize("fast", [True, False], ids=["fast-reader", "feedparser"])
def test_itunes_explicit_is_read_in_apples_words_old_and_new(value: str, explicit: bool | None,
                                                              fast: bool) -> None:
    [entry] = parse_feed(_rss_item(f"<itunes:explicit>{value}</itunes:explicit>"),
                         "http://site.example/feed", fast=fast).entries
    assert (entry.episode.explicit if entry.episode else None) is explicit


@pytest.mark.parametrize(("value", "number"), [
    ("3", 3), (" 12 ", 12), ("0", None), ("-1", None), ("²", None), ("٣", None), ("1e3", None),
    ("99999999", None), ("", None)])
def test_episode_and_season_numbers_are_small_positive_integers(value: str, number: int | None) -> None:
    feed = parse_feed(_rss_item(f"<itunes:episode>{value}</itunes:episode>"
                                f"<itunes:season>{value}</itunes:season>"), "http://site.example/feed")
    episode = feed.entries[0].episode
    assert (episode.episode, episode.season) == (number, number) if number else episode is None


@pytest.mark.parametrize(("value", "seconds"), [
    ("3723", 3723), ("62:03", 3723), ("1:02:03", 3723), ("01:02:03.5", 3723), ("59.9", 59),
    ("", None), ("an hour", None), ("-5", None), ("1:2:3:4", None), (12.5, 12), (-1, None),
    (True, None), (float("nan"), None), ("9" * 12, None)])
def test_durations_are_read_in_every_form_feeds_use(value: object, seconds: int | None) -> None:
    assert duration_seconds(value) == seconds


def test_the_picture_is_itunes_image_else_a_thumbnail_else_an_image_file() -> None:
    def image(inner: str) -> str | None:
        return parse_feed(_rss_item(inner), "http://site.example/feed").entries[0].image

    assert image('<itunes:image href="/a.jpg"/><media:thumbnail url="http://x.example/b.jpg"/>'
                 ) == "http://site.example/a.jpg"
    assert image('<media:thumbnail url="javascript:x"/><media:thumbnail url="http://x.example/b.jpg"/>'
                 ) == "http://x.example/b.jpg"
    assert image('<media:content url="http://x.example/c.png" medium="image"/>'
                 ) == "http://x.example/c.png"
    assert image('<enclosure url="http://x.example/a.mp3" length="1" type="audio/mpeg"/>') is None


def test_json_feed_attachments_are_read_with_a_bounded_cost() -> None:
    items = [{"id": "1", "content_text": "x", "attachments": [
        {"url": f"http://x.example/{n}.mp3", "mime_type": "audio/mpeg"} for n in range(100_000)]}]
    data = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T",
                       "items": items}).encode()
    [entry] = parse_feed(data, "http://x.example/feed.json").entries
    assert len(entry.enclosures) == MAX_ENCLOSURES


# --- Storing ---------------------------------------------------------------

EPISODE = Entry(
    "tag:example.org,2024:ep", (Variant("en", "Ep", "<p>x</p>"),),
    updated=datetime(2025, 3, 1, tzinfo=UTC),
    enclosures=(Enclosure("https://cdn.example/ep.mp3", "audio/mpeg", 10, 60, "Ep"),
                Enclosure("https://cdn.example/ep.pdf")),
    image="https://cdn.example/ep.jpg", episode=Episode(True, 3, 1, "bonus"))


def test_media_survive_the_store_and_rows_stored_before_read_as_none() -> None:
    assert decode_entry(encode_entry(EPISODE)) == EPISODE
    old_row = entry_to_dict(replace(EPISODE, enclosures=(), image=None, episode=None))
    assert not {"enclosures", "image", "episode"} & set(old_row)
    assert entry_from_dict(old_row) == replace(EPISODE, enclosures=(), image=None, episode=None)


@pytest.mark.parametrize("change", [
    {"enclosures": (Enclosure("https://cdn.example/ep-v2.mp3", "audio/mpeg", 10, 60, "Ep"),)},
    {"enclosures": EPISODE.enclosures[:1]},
    {"image": "https://cdn.example/other.jpg"},
    {"episode": Episode(False, 3, 1, "bonus")},
])
def test_a_changed_file_picture_or_episode_tag_is_a_changed_entry(change: dict[str, Any]) -> None:
    assert content_hash(replace(EPISODE, **change)) != content_hash(EPISODE)


# --- The checkers ------------------------------------------------------------


def _episode_rss() -> bytes:
    return render_format("rss", ALL, [FeedItem(EPISODE, EPISODE.variants[0])], CONFIG)


@pytest.mark.parametrize(("old", "new", "problem"), [
    (b'length="10"', b'length="-1"', "not a size in bytes"),
    (b'type="audio/mpeg"', b'type="mp3"', "not a MIME type"),
    (b"<pubDate>", b'<enclosure url="https://cdn.example/b.mp3" length="1" type="audio/mpeg"/>'
                   b"<pubDate>", "RSS 2.0 allows one"),
    (b'url="https://cdn.example/ep.pdf"', b'url="/ep.pdf"', "not an absolute URL"),
    (b"<itunes:explicit>true", b"<itunes:explicit>perhaps", "not an itunes:explicit value"),
    (b"<itunes:duration>60", b"<itunes:duration>a minute", "not an itunes:duration value"),
])
def test_the_rss_checker_refuses_broken_media(old: bytes, new: bytes, problem: str) -> None:
    data = _episode_rss()
    assert_valid_rss(data)
    assert old in data
    with pytest.raises(AssertionError, match=problem):
        assert_valid_rss(data.replace(old, new, 1))


@pytest.mark.parametrize(("old", "new", "problem"), [
    (b'length="10"', b'length="-1"', "not a size in bytes"),
    (b'type="audio/mpeg"', b'type="audio"', "not a MIME type|not valid Atom"),
    (b'media:thumbnail url="https://cdn.example/ep.jpg"', b'media:thumbnail url="ep.jpg"',
     "not an absolute URI"),
])
def test_the_atom_checker_refuses_broken_media(old: bytes, new: bytes, problem: str) -> None:
    data = render_format("atom", ALL, [FeedItem(EPISODE, EPISODE.variants[0])], CONFIG)
    assert_valid_atom(data)
    assert old in data
    with pytest.raises(AssertionError, match=problem):
        assert_valid_atom(data.replace(old, new, 1))


@pytest.mark.parametrize(("old", "new", "problem"), [
    ('"size_in_bytes": 10', '"size_in_bytes": -10', "not valid JSON Feed"),
    ('"mime_type": "audio/mpeg"', '"mime_type": "mp3"', "not a MIME type"),
    ('"image": "https://cdn.example/ep.jpg"', '"image": "ep.jpg"', "not valid JSON Feed|absolute"),
])
def test_the_json_feed_checker_refuses_broken_media(old: str, new: str, problem: str) -> None:
    data = render_format("json", ALL, [FeedItem(EPISODE, EPISODE.variants[0])], CONFIG).decode()
    assert_valid_json_feed(data.encode())
    assert old in data
    with pytest.raises(AssertionError, match=problem):
        assert_valid_json_feed(data.replace(old, new, 1).encode())
