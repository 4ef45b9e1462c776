"""Remote feed documents into ParsedFeed: every format, broken feeds, hostile feeds, non-feeds.

Each fixture under tests/data/remote/ is paired with the exact result
expected from it, so any change in what is kept, cleaned or resolved shows.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.errors import ParseError
from feeds.model import Enclosure, ParsedEntry, ParsedFeed, Person
from feeds.remote.parse import MAX_CATEGORIES, parse_feed

REMOTE = Path(__file__).resolve().parent / "data" / "remote"
URL = "https://feeds.example.net/feed"
LINK_REL = 'rel="noopener noreferrer"'


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def read(name: str) -> bytes:
    return (REMOTE / name).read_bytes()


def entry(**fields: object) -> ParsedEntry:
    """A ParsedEntry with the empty defaults most fixtures share."""
    base: dict[str, object] = {
        "guid": None, "link": None, "title": "", "content_html": "", "summary_html": None,
        "published": None, "updated": None,
    }
    return ParsedEntry(**(base | fields))  # type: ignore[arg-type]


EXPECTED: dict[str, ParsedFeed] = {
    "rss20.xml": ParsedFeed(
        id=None,
        title="Example Blog",
        link="https://www.example.com/",
        updated=utc(2024, 3, 6, 12),
        lang="en-us",
        ttl_seconds=90 * 60,
        entries=(
            entry(
                guid="post-1",
                link="https://www.example.com/posts/1?utm_source=rss",
                title="Café & Bar",
                content_html=(
                    '<p>Full text with <img src="https://www.example.com/img/a.png" alt="A"> and '
                    f'<a href="https://www.example.com/about" {LINK_REL}>about</a>.</p>'
                ),
                summary_html="<p>Short <b>teaser</b>.</p>",
                published=utc(2024, 3, 5, 9),
                updated=None,  # only a pubDate: never copied into updated
                authors=("Bob Stone",),
                categories=("News", "Python"),
            ),
            entry(
                guid="https://www.example.com/posts/2",
                link="https://www.example.com/posts/2",
                title="Second",
                content_html="Just text &amp; no markup",
                authors=("Ann Lee",),
                contacts=(Person("Ann Lee", "ann@example.com"),),  # `ann@example.com (Ann Lee)`
            ),
        ),
    ),
    "rss10.rdf": ParsedFeed(
        id=None,
        title="RDF Site",
        link="http://rdf.example.org/",
        updated=utc(2024, 2, 1, 7, 30),
        lang="de",
        ttl_seconds=1800,  # sy:updatePeriod hourly, sy:updateFrequency 2
        entries=(
            entry(
                guid="http://rdf.example.org/a",
                link="http://rdf.example.org/a",
                title="Erster Eintrag",
                content_html="Hallo <em>Welt</em>",
                updated=utc(2024, 2, 1, 7),
                authors=("Clara",),
                categories=("Allgemein",),
            ),
        ),
    ),
    "rss091.xml": ParsedFeed(
        id=None,
        title="Old School",
        link="http://old.example.com/",
        updated=None,
        lang="en",
        entries=(
            entry(
                link="http://old.example.com/1999.html",
                title="Hello 1999",
                content_html="Party like it's <i>1999</i>",
            ),
        ),
    ),
    "atom10.xml": ParsedFeed(
        id="urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6",
        title="Notes & Links",
        link="https://example.org/blog/",
        updated=utc(2024, 3, 10, 11),
        lang="en",
        entries=(
            entry(
                guid="tag:example.org,2024:first",
                link="https://example.org/blog/2024/first",
                title="Use <b> & friends",  # type="text": the markup is the title
                # Content's own xml:base (/media/) against the feed's xml:base.
                content_html=(
                    '<p><img src="https://example.org/media/pic.png" alt="pic"> '
                    f'<a href="https://example.org/other" {LINK_REL}>other</a> '
                    f'<a href="https://example.org/media/#note" {LINK_REL}>note</a></p>'
                ),
                summary_html="<p>A summary &lt;not a tag&gt;</p>",
                published=utc(2024, 3, 1, 8),
                updated=utc(2024, 3, 2, 15, 30),
                authors=("Feed Author",),  # RFC 4287 §4.2.1: inherited from the feed
                categories=("markup", "Fallback Label"),
                lang="fr",
            ),
            entry(
                guid="tag:example.org,2024:second",
                link="https://example.org/blog/2024/second",
                title="Second",
                content_html=f'<p>Hi <a href="https://example.org/blog/x" {LINK_REL}>x</a></p>',
                updated=utc(2024, 3, 5),
                authors=("Entry Author",),
                contacts=(Person("Entry Author", "entry@example.org"),),
                lang="en",  # xml:lang inherited from <feed>
                enclosures=(Enclosure("https://cdn.example.org/ep2.mp3", "audio/mpeg"),),
            ),
        ),
    ),
    "atom03.xml": ParsedFeed(
        id=None,
        title="Atom Zero Three",
        link="http://zero3.example.com/",
        updated=utc(2004, 5, 1, 12),
        lang="en",
        entries=(
            entry(
                guid="tag:zero3.example.com,2004:1",
                link="http://zero3.example.com/2004/05/01",
                title="Old entry",
                content_html="<p>Escaped <strong>HTML</strong></p>",
                published=utc(2004, 5, 1, 12),
                updated=utc(2004, 5, 1, 13),
                authors=("Mark",),
                lang="en",
            ),
        ),
    ),
    "jsonfeed11.json": ParsedFeed(
        id="https://json.example.com/feed.json",
        title="JSON Eleven",
        link="https://json.example.com/",
        updated=None,
        lang="en-GB",
        warning="skipped 1 item(s) that are not JSON objects",
        entries=(
            entry(
                guid="https://json.example.com/posts/1",
                link="https://json.example.com/posts/1",
                title="First <post>",  # JSON Feed titles are plain text
                content_html='<p>Hello <img src="https://json.example.com/posts/img/a.png"></p>',
                summary_html="<p>The first one</p>",
                published=utc(2024, 3, 1, 9),
                updated=utc(2024, 3, 2),
                authors=("Zed",),
                categories=("news", "more tags"),
                lang="de",
            ),
            entry(
                guid="2",
                link="https://elsewhere.example.org/story",
                content_html="<p>Line one<br>line two</p><p>Second &lt;para&gt; &amp; more</p>",
                authors=("Jane Doe",),  # the feed's authors apply
                contacts=(Person("Jane Doe", None, "https://json.example.com/jane"),),
            ),
        ),
    ),
    "jsonfeed10.json": ParsedFeed(
        id=None,
        title="JSON One",
        link="https://one.example.com/",
        updated=None,
        lang=None,
        entries=(
            entry(
                guid="a1",
                link="https://one.example.com/a1",
                title="Only a summary",
                content_html="<p>Nothing but &lt;this&gt;</p>",
                published=utc(2024, 1, 1, 7, 59, 59),
                authors=("Old Author",),
            ),
        ),
    ),
    "malformed.xml": ParsedFeed(
        id=None,
        title="Sloppy",
        link="https://sloppy.example.com/",
        updated=None,
        lang=None,
        warning="not well-formed (invalid token) at line 7, column 19",
        entries=(
            entry(
                link="https://sloppy.example.com/fish",
                title="Fish & Chips",
                content_html="Tasty&nbsp;food",
            ),
            entry(link="https://sloppy.example.com/second", title="Second"),
        ),
    ),
    "latin1-declared-utf8.xml": ParsedFeed(
        id=None,
        title="Café",
        link="https://latin.example.com/",
        updated=None,
        lang=None,
        warning="document declared as utf-8, but parsed as windows-1252",
        entries=(entry(link="https://latin.example.com/creme", title="Crème brûlée"),),
    ),
    "hostile.xml": ParsedFeed(
        id=None,
        title="Hostile",
        link="https://hostile.example/",
        updated=None,
        lang=None,
        warning="not well-formed (invalid token) at line 7, column 10",
        entries=(
            entry(
                guid="h1",
                link=None,  # was javascript:alert(0)
                title="Bad title with controls",
                content_html=(
                    '<p>styled</p><img src="https://hostile.example/x.png">'
                    "<a>js</a><a>obf</a><a>vb</a>"
                    f'<a>data</a><a href="https://ok.example/" {LINK_REL}>fine</a> '
                    f'<a href="mailto:me@example.com" {LINK_REL}>mail</a>'
                ),
                categories=("ok",),
            ),
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected(name: str) -> None:
    assert parse_feed(read(name), URL) == EXPECTED[name]


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        ({"Content-Type": "application/rss+xml; charset=utf-8"}, "rss20.xml"),
        ([("content-type", "application/atom+xml")], "atom10.xml"),
        ({"Content-Type": "application/feed+json"}, "jsonfeed11.json"),
        ([("Content-Type", "application/json")], "jsonfeed10.json"),
        ({"Content-Type": "text/plain"}, "jsonfeed10.json"),
    ],
)
def test_headers_as_mapping_or_pairs(
    headers: Mapping[str, str] | Sequence[tuple[str, str]], name: str
) -> None:
    assert parse_feed(read(name), URL, headers) == EXPECTED[name]


def test_json_feed_is_recognised_after_bom_and_whitespace() -> None:
    data = codecs.BOM_UTF8 + b" \n\t" + read("jsonfeed10.json")
    assert parse_feed(data, URL) == EXPECTED["jsonfeed10.json"]


def test_xml_served_as_json_is_still_read_as_xml() -> None:
    parsed = parse_feed(read("rss091.xml"), URL, {"Content-Type": "application/json"})
    assert parsed == replace(
        EXPECTED["rss091.xml"], warning="application/json is not an XML media type")


def test_declared_charset_in_headers_decodes_the_body() -> None:
    data = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Caf\u00e9</title>'
        "<item><title>\u00e9t\u00e9</title><guid>1</guid></item></channel></rss>"
    ).encode("iso-8859-1")
    right = parse_feed(data, URL, {"Content-Type": "application/rss+xml; charset=ISO-8859-1"})
    assert (right.title, right.entries[0].title, right.warning) == ("Café", "été", None)
    # Without the header nothing declares an encoding and the body is not
    # UTF-8: its encoding is detected, and the warning says so.
    guessed = parse_feed(data, URL)
    assert guessed.title == "Café"
    assert guessed.warning is not None and guessed.warning.startswith(
        "declared no encoding and is not UTF-8; read as ")


def test_content_language_header_does_not_become_entry_language() -> None:
    parsed = parse_feed(read("rss20.xml"), URL, {"Content-Language": "de"})
    assert parsed.lang == "en-us"
    assert [e.lang for e in parsed.entries] == [None, None]


def test_body_naming_a_local_file_is_not_read(tmp_path: Path) -> None:
    # feedparser treats bytes it is given as a file name first.
    local = tmp_path / "local.xml"
    local.write_bytes(read("rss20.xml"))
    with pytest.raises(ParseError, match=r"^not a feed: "):
        parse_feed(str(local).encode(), URL)


def _html_at(offset: int) -> bytes:
    """An HTML page whose `<html` starts `offset` bytes in, after a comment."""
    data = b"<!--" + b"x" * (offset - len(b"<!---->")) + b"--><html><body>x</body></html>"
    assert data.index(b"<html") == offset
    return data


@pytest.mark.parametrize(
    ("data", "headers", "message"),
    [
        (read("empty"), None, "not a feed: empty document"),
        (b" \r\n\t", None, "not a feed: empty document"),
        (codecs.BOM_UTF8 + b"\n", None, "not a feed: empty document"),
        # Blank is what XML and JSON call white space: a form feed or a vertical tab is junk.
        (b"\x0c", None, "not a feed: not well-formed (invalid token) at line 1, column 0"),
        (codecs.BOM_UTF8 + b"\x0b", None, "not a feed: not well-formed (invalid token) at line 1, column 0"),
        # JSON is told by its first character past blanks and a byte order mark, in either order.
        (b" \n" + codecs.BOM_UTF8 + b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', None,
         "not a JSON Feed: invalid JSON at line 2, column 1: Expecting value"),
        (read("page.html"), {"Content-Type": "text/html; charset=utf-8"},
         "not a feed: looks like an HTML page"),
        (read("page.html"), None, "not a feed: looks like an HTML page"),
        (b"<!-- hi -->\n<html><body>x</body></html>", None, "not a feed: looks like an HTML page"),
        # A page is told by how it opens (its first KB), not by markup it quotes further on.
        (_html_at(1019), None, "not a feed: looks like an HTML page"),
        (_html_at(1020), None, "not a feed: no RSS, Atom or JSON Feed document found"),
        # HTML5 may leave out the html element; its DOCTYPE still names it.
        (b"<!DOCTYPE html>\n<title>Blog</title><p>Welcome", None, "not a feed: looks like an HTML page"),
        # The media type says so even when the body does not.
        (b"<body><p>Hello</p></body>", {"Content-Type": "text/html; charset=utf-8"},
         "not a feed: looks like an HTML page"),
        (b"<body><p>Hello</p></body>", {"Content-Type": "Application/XHTML+XML"},
         "not a feed: looks like an HTML page"),
        (read("not-a-jsonfeed.json"), None, "not a JSON Feed: no 'version' naming jsonfeed.org"),
        (b'{"version": "https://example.com/version/1", "items": []}', None,
         "not a JSON Feed: no 'version' naming jsonfeed.org"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', None,
         "not a JSON Feed: 'items' is not a list"),
        (b"[1, 2]", {"Content-Type": "application/json"},
         "not a JSON Feed: the top level is not an object"),
        (b"[1, 2]", {"Content-Type": "application/json; charset=utf-8"},
         "not a JSON Feed: the top level is not an object"),
        (b'{"version": ', None,
         "not a JSON Feed: invalid JSON at line 1, column 13: Expecting value"),
        (b'{"title": "caf\xe9"}', None,
         "not a JSON Feed: not UTF-8 text (invalid continuation byte)"),
        (b'{"n": ' + b"9" * 5000 + b"}", None,
         "not a JSON Feed: unreadable JSON (Exceeds the limit (4300 digits) for integer string "
         "conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the "
         "limit)"),
        (b"[" * 100_000, {"Content-Type": "application/json"},
         "not a JSON Feed: JSON nested too deeply"),
        (b"<foo><bar/></foo>", None, "not a feed: no RSS, Atom or JSON Feed document found"),
        (b"just some text", None, "not a feed: syntax error at line 1, column 0"),
        (b'<rss version="2.0"><channel><item', None,
         "not a feed: unclosed token at line 1, column 28"),
        (b'<?xml version="1.0"?>\n<rss version="2.0"><channel><item', None,
         "not a feed: unclosed token at line 2, column 28"),
        (b'<?xml version="1.0" encoding="\x80"?><rss/>', None,
         "not a feed: unreadable XML (UnicodeDecodeError: 'utf-8' codec can't decode byte 0x80 "
         "in position 0: invalid start byte)"),
    ],
)
def test_not_a_feed(
    data: bytes, headers: Mapping[str, str] | None, message: str
) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(data, URL, headers)
    assert str(info.value) == message


def test_empty_but_valid_feed_is_accepted() -> None:
    data = b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    assert parse_feed(data, URL) == ParsedFeed(
        id=None, title="Quiet", link=None, updated=None, lang=None, entries=())


def test_untitled_feed_is_named_after_its_host() -> None:
    data = b'<rss version="2.0"><channel><item><title>x</title></item></channel></rss>'
    assert parse_feed(data, "https://www.example.com/rss").title == "www.example.com"


def _rss_channel(extra: str) -> bytes:
    return (
        '<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>'
        f"<title>T</title>{extra}<item><title>x</title></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("extra", "ttl"),
    [
        ("<ttl>60</ttl>", 3600),
        ("<ttl>60</ttl><sy:updatePeriod>daily</sy:updatePeriod>", 3600),
        ("<sy:updatePeriod>weekly</sy:updatePeriod>", 7 * 86400),
        ("<sy:updatePeriod>hourly</sy:updatePeriod>"
         "<sy:updateFrequency>4</sy:updateFrequency>", 900),
        ("<sy:updateFrequency>4</sy:updateFrequency>", 86400 // 4),  # period defaults to daily
        ("<sy:updatePeriod>fortnightly</sy:updatePeriod>", None),
        ("<ttl>soon</ttl>", None),
        ("<ttl>0</ttl>", None),
        ("<ttl>1</ttl>", 60),
        ("<ttl>-5</ttl>", None),
        ("<sy:updateFrequency>-2</sy:updateFrequency>", 86400),
        # Whole seconds: an hour seven times over is 514 s, not 514.28.
        ("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>7</sy:updateFrequency>", 514),
        # A frequency of 0 means nothing; one above the period's seconds still means a second.
        ("<sy:updateFrequency>0</sy:updateFrequency>", 86400),
        ("<sy:updatePeriod>hourly</sy:updatePeriod>"
         "<sy:updateFrequency>7200</sy:updateFrequency>", 1),
        ("", None),
    ],
)
def test_ttl(extra: str, ttl: int | None) -> None:
    assert parse_feed(_rss_channel(extra), URL).ttl_seconds == ttl


@pytest.mark.parametrize(
    ("item", "link"),
    [
        ("<link>/a</link>", "https://site.example/a"),  # against the site, not the feed host
        ("<link> https://other.example/b </link>", "https://other.example/b"),
        ("<link>javascript:alert(1)</link>", None),
        ('<guid isPermaLink="true">https://site.example/g</guid>', "https://site.example/g"),
    ],
)
def test_rss_item_links(item: str, link: str | None) -> None:
    data = (
        '<rss version="2.0"><channel><title>T</title><link>https://site.example/</link>'
        f"<item><title>x</title>{item}</item></channel></rss>"
    ).encode()
    assert parse_feed(data, "https://feeds.example.net/site").entries[0].link == link


def test_entry_without_dates_gets_none_not_now() -> None:
    data = b'<rss version="2.0"><channel><title>T</title><item><title>x</title></item></channel>'
    [only] = parse_feed(data + b"</rss>", URL).entries
    assert (only.published, only.updated) == (None, None)


_FIXTURES = sorted(p.name for p in REMOTE.iterdir())


def _forbidden(text: str) -> bool:
    return any(
        (ord(c) < 0x20 and c not in "\t\n\r") or 0xD800 <= ord(c) <= 0xDFFF or c in "\ufffe\uffff"
        for c in text
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_FIXTURES),
    st.integers(min_value=0, max_value=2000),
    st.binary(max_size=8),
    st.integers(min_value=0, max_value=8),
)
def test_damaged_fixtures_give_a_feed_or_a_parse_error(
    name: str, at: int, insert: bytes, cut: int
) -> None:
    data = read(name)
    damaged = data[:at] + insert + data[at + cut:]
    try:
        parsed = parse_feed(damaged, URL)
    except ParseError as exc:
        # A quote inside a DOCTYPE can leave it unclosed: refused, by design.
        assert str(exc).startswith(("not a feed: ", "not a JSON Feed: ", "refused: "))
        return
    texts = [parsed.title, parsed.id or "", parsed.link or "", parsed.warning or ""]
    for e in parsed.entries:
        texts += [e.title, e.content_html, e.summary_html or "", e.guid or "", e.link or ""]
        texts += [*e.authors, *e.categories]
    assert not any(_forbidden(t) for t in texts)


def test_json_feed_items_are_limited_too() -> None:
    data = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [
        {"id": str(n), "content_text": "t"} for n in range(3)]}).encode()
    parsed = parse_feed(data, URL, max_items=2)
    assert [e.guid for e in parsed.entries] == ["0", "1"]
    assert parsed.warning == "read the first 2 of its 3 items"


def test_a_titled_feed_broken_before_its_items_is_read_with_a_warning() -> None:
    """Its title says it is a feed: it is kept, empty, and the warning says where it broke."""
    parsed = parse_feed(b'<rss version="2.0"><channel><title>T</title><bogus', URL)
    assert (parsed.title, parsed.entries) == ("T", ())
    assert parsed.warning == "unclosed token at line 1, column 44"


def test_an_item_is_kept_when_anything_identifies_it() -> None:
    """A guid, a link, a title or content each make an item worth keeping; nothing at all does not."""
    items = ['<guid isPermaLink="false">g</guid>', "<link>https://x.example/l</link>", "<title>t</title>",
             "<description>d</description>", "<category>only a category</category>"]
    data = ('<rss version="2.0"><channel><title>T</title>'
            + "".join(f"<item>{item}</item>" for item in items) + "</channel></rss>").encode()
    assert [(e.guid, e.link, e.title, e.content_html) for e in parse_feed(data, URL).entries] == [
        ("g", None, "", ""), (None, "https://x.example/l", "", ""), (None, None, "t", ""),
        (None, None, "", "d")]


@pytest.mark.parametrize(
    ("identifier", "kept"),
    [
        ("javascript:alert(1)", None),
        ("JavaScript:void:0", None),
        ("java&#9;script:alert(1)", None),  # a browser ignores the tab
        ("vbscript:msgbox", None),
        ("data:text/html,x", None),
        ("urn:example:feed", "urn:example:feed"),
        ("https://example.org/feed", "https://example.org/feed"),
    ],
)
def test_a_feed_id_that_would_run_code_is_dropped(identifier: str, kept: str | None) -> None:
    """The feed's id becomes its entries' atom:source id, which some readers make a link."""
    data = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
            f"<id>{identifier}</id><entry><id>urn:e</id><title>x</title></entry></feed>").encode()
    assert parse_feed(data, URL).id == kept


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        # RSS's `email (name)` form, written as an Atom name: the name is shown.
        ("jo@example.org (Jo)", "Jo"),
        ("jo@example.org (J)", "J"),
        ("jo@example.org (Jo (Joe) Smith)", "Jo (Joe) Smith"),
        # Anything else is a name as it stands.
        ("Ann Lee (editor)", "Ann Lee (editor)"),
        ("Ann (editor)", "Ann (editor)"),
        ("jo@example.org ()", "jo@example.org ()"),
        ("jo@example.org ( )", "jo@example.org ( )"),
        ("jo@example.org (Jo", "jo@example.org (Jo"),
        ("team @ example.org (Team)", "team @ example.org (Team)"),
        ("  Ann \n  Lee ", "Ann Lee"),
    ],
)
def test_author_names(name: str, shown: str) -> None:
    data = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>'
            f"<entry><id>urn:e</id><title>x</title><author><name>{name}</name></author></entry></feed>")
    [only] = parse_feed(data.encode(), URL).entries
    assert only.authors == (shown,)


def _atom_people(feed_link: str) -> bytes:
    return ('<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>' + feed_link
            + "<author><name>Feed Author</name><uri>/people/feed</uri></author>"
            '<entry><id>urn:e1</id><title>one</title><link href="https://example.org/blog/2024/a"/></entry>'
            '<entry><id>urn:e2</id><title>two</title><link href="https://example.org/blog/2024/b"/>'
            "<author><name>Bob</name><uri>bob</uri></author></entry>"
            "<entry><id>urn:e3</id><title>three</title><author><name>Eve</name><uri>eve</uri></author>"
            "</entry><entry><id>urn:e4</id><title>four</title><author><email>cy@example.org</email>"
            "</author></entry><entry><id>urn:e5</id><title>five</title><author><name>Dee</name>"
            "</author></entry></feed>").encode()


def test_atom_authors_and_how_to_reach_them() -> None:
    """An author's uri is resolved against the entry's link, else the feed's, else the document's.

    An entry without authors has its feed's, addresses included (RFC 4287
    §4.2.1); an author known only by email is named by it; one without an
    address has no contact.
    """
    site = '<link rel="alternate" href="https://example.org/blog/"/>'
    people = [(e.authors, e.contacts) for e in parse_feed(_atom_people(site), URL).entries]
    assert people == [
        (("Feed Author",), (Person("Feed Author", None, "https://example.org/people/feed"),)),
        (("Bob",), (Person("Bob", None, "https://example.org/blog/2024/bob"),)),
        (("Eve",), (Person("Eve", None, "https://example.org/blog/eve"),)),
        (("cy@example.org",), (Person("cy@example.org", "cy@example.org"),)),
        (("Dee",), ()),
    ]
    unlinked = parse_feed(_atom_people(""), URL).entries
    assert unlinked[0].contacts == (Person("Feed Author", None, "https://feeds.example.net/people/feed"),)
    assert unlinked[2].contacts == (Person("Eve", None, "https://feeds.example.net/eve"),)


@pytest.mark.parametrize(
    ("links", "link"),
    [
        # An HTML (or XHTML) alternate is the page a reader opens, wherever it is listed ...
        ('<link rel="alternate" type="application/pdf" href="https://x.example/a.pdf"/>'
         '<link rel="alternate" type="text/html" href="https://x.example/a.html"/>', "https://x.example/a.html"),
        ('<link rel="alternate" type="application/pdf" href="https://x.example/a.pdf"/>'
         '<link rel="alternate" type="application/xhtml+xml" href="https://x.example/a.xhtml"/>',
         "https://x.example/a.xhtml"),
        # ... else the first alternate; a link without rel is one, an enclosure is not.
        ('<link rel="alternate" type="application/pdf" href="https://x.example/a.pdf"/>'
         '<link rel="alternate" type="text/plain" href="https://x.example/a.txt"/>', "https://x.example/a.pdf"),
        ('<link rel="enclosure" href="https://x.example/a.mp3"/><link href="https://x.example/page"/>',
         "https://x.example/page"),
        ('<link rel="alternate" href=""/><link rel="alternate" href="https://x.example/second"/>',
         "https://x.example/second"),
        ('<link rel="related" href="https://x.example/r"/>', None),
    ],
)
def test_atom_entry_links(links: str, link: str | None) -> None:
    data = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>'
            f"<entry><id>urn:e</id><title>x</title>{links}</entry></feed>").encode()
    assert parse_feed(data, URL).entries[0].link == link


_JSON_TEXT = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Café", "items": [
    {"id": "1", "title": "été", "content_text": "Grüße aus Köln und überall"}]}, ensure_ascii=False)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_a_json_feed_in_utf16_or_utf32_is_read_as_it_is(encoding: str) -> None:
    """JSON tells these apart itself (RFC 4627 §3), byte order mark or not: nothing to detect or warn of."""
    parsed = parse_feed(_JSON_TEXT.encode(encoding), URL, {"Content-Type": "application/feed+json"})
    assert (parsed.title, parsed.entries[0].title, parsed.warning) == ("Café", "été", None)


@pytest.mark.parametrize("parameter", ["charset=iso-8859-1", 'charset="ISO-8859-1"', "Charset = latin-1"])
def test_a_json_feed_not_in_utf8_is_read_in_its_declared_charset(parameter: str) -> None:
    parsed = parse_feed(_JSON_TEXT.encode("latin-1"), URL,
                        {"Content-Type": f"application/feed+json; {parameter}"})
    assert (parsed.title, parsed.entries[0].title, parsed.warning) == ("Café", "été", None)


def test_a_json_feed_not_in_utf8_without_a_charset_is_detected_and_says_so() -> None:
    parsed = parse_feed(_JSON_TEXT.encode("latin-1"), URL, {"Content-Type": "application/feed+json"})
    assert parsed.entries[0].title == "été"
    assert parsed.warning is not None
    assert parsed.warning.startswith("declared no encoding and is not UTF-8; read as ")


@pytest.mark.parametrize("charset", ["x-unknown", "us-ascii"])
def test_a_json_feed_in_a_charset_that_cannot_read_it_is_reported_as_not_utf8(charset: str) -> None:
    """An unknown charset, or one the bytes are not in, leaves the bytes as sent, which are not UTF-8."""
    with pytest.raises(ParseError) as info:
        parse_feed(_JSON_TEXT.encode("latin-1"), URL,
                   {"Content-Type": f"application/feed+json; charset={charset}"})
    assert str(info.value) == "not a JSON Feed: not UTF-8 text (invalid continuation byte)"


@pytest.mark.parametrize(
    ("entry", "lang"),
    [
        # The content's own xml:lang first: it is what the reader reads ...
        ('<title xml:lang="de">x</title><content xml:lang="fr">c</content><summary xml:lang="es">s</summary>',
         "fr"),
        # ... then the title's, then the summary's.
        ('<title xml:lang="de_AT">x</title><content>c</content>', "de-AT"),
        ('<title>x</title><summary xml:lang="es">s</summary><content>c</content>', "es"),
        ("<title>x</title><content>c</content>", None),
    ],
)
def test_an_atom_entrys_language_is_its_contents_first(entry: str, lang: str | None) -> None:
    data = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>'
            f"<entry><id>urn:e</id>{entry}</entry></feed>").encode()
    assert parse_feed(data, URL).entries[0].lang == lang


def test_an_item_keeps_its_first_categories_as_text() -> None:
    """Each tag becomes a feed file: a flood of them is cut, and markup in one is never meant."""
    categories = "".join(f"<category>c{n}</category>" for n in range(MAX_CATEGORIES + 8))
    data = ('<rss version="2.0"><channel><title>T</title><item><title>x</title>'
            f"<category>&lt;b&gt;bold&lt;/b&gt;</category>{categories}</item></channel></rss>").encode()
    [only] = parse_feed(data, URL).entries
    assert only.categories == ("bold", *(f"c{n}" for n in range(MAX_CATEGORIES - 1)))


@pytest.mark.parametrize(
    ("people", "authors", "contacts"),
    [
        ("<author><name>Ann</name><email>ann@example.org</email></author>"
         "<author><name>Bob</name><email>bob@example.org</email></author>",
         ("Ann", "Bob"), (Person("Ann", "ann@example.org"), Person("Bob", "bob@example.org"))),
        # An address without a name names nobody: there is no one to credit it to.
        ("<author><uri>https://x.example/me</uri></author>", (), ()),
    ],
)
def test_every_named_feed_author_is_reachable(people: str, authors: tuple[str, ...],
                                              contacts: tuple[Person, ...]) -> None:
    data = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>' + people
            + "<entry><id>urn:e1</id><title>one</title></entry></feed>").encode()
    [only] = parse_feed(data, URL).entries
    assert (only.authors, only.contacts) == (authors, contacts)


def _relative_item(link: str) -> str:
    return (f"<item><title>t</title>{link}<description>&lt;img src=\"img.png\"&gt;</description>"
            '<content:encoded>&lt;a href="more.html"&gt;more&lt;/a&gt;</content:encoded></item>')


@pytest.mark.parametrize(
    ("channel_link", "item_link", "base"),
    [
        ("<link>https://site.example/</link>", "<link>https://site.example/posts/1/</link>",
         "https://site.example/posts/1/"),
        ("<link>https://site.example/</link>", "", "https://site.example/"),
        ("", "", "https://feeds.example.net/"),
    ],
)
def test_relative_urls_in_content_and_summary_follow_the_entry_then_the_site_then_the_feed(
    channel_link: str, item_link: str, base: str
) -> None:
    """RSS has no xml:base: the item's own page is the base, else the site's, else the document's."""
    data = ('<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>T</title>{channel_link}{_relative_item(item_link)}</channel></rss>").encode()
    [only] = parse_feed(data, URL).entries
    assert only.content_html == f'<a href="{base}more.html" {LINK_REL}>more</a>'
    assert only.summary_html == f'<img src="{base}img.png">'


def test_a_json_feed_after_blank_lines_keeps_its_first_categories() -> None:
    data = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [
        {"id": "1", "content_text": "t", "tags": [f"t{n}" for n in range(MAX_CATEGORIES + 8)]}]}).encode()
    [only] = parse_feed(b"\n  " + data, URL).entries
    assert only.categories == tuple(f"t{n}" for n in range(MAX_CATEGORIES))


def test_a_detected_json_feed_says_so_beside_its_other_warnings() -> None:
    data = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Café", "items": [
        {"id": "1", "title": "été", "content_text": "Grüße aus Köln und überall"}, 5]},
        ensure_ascii=False).encode("latin-1")
    warning = parse_feed(data, URL).warning
    assert warning is not None
    assert warning.startswith("declared no encoding and is not UTF-8; read as ")
    assert warning.endswith(" (detected); skipped 1 item(s) that are not JSON objects")


def test_rss_items_do_not_inherit_the_channels_editors() -> None:
    """Only Atom says an entry without authors has its feed's; RSS's editors wrote no item."""
    data = (b'<rss version="2.0"><channel><title>T</title><managingEditor>ed@example.org (Ed)'
            b"</managingEditor><item><title>x</title></item></channel></rss>")
    [only] = parse_feed(data, URL).entries
    assert (only.authors, only.contacts) == ((), ())


@pytest.mark.parametrize(
    ("dates", "updated"),
    [
        ("<pubDate>Tue, 05 Mar 2024 09:00:00 GMT</pubDate>", utc(2024, 3, 5, 9)),
        ("<pubDate>Tue, 05 Mar 2024 09:00:00 GMT</pubDate>"
         "<lastBuildDate>Wed, 06 Mar 2024 12:00:00 GMT</lastBuildDate>", utc(2024, 3, 6, 12)),
    ],
)
def test_a_channel_is_dated_by_its_last_build_else_its_publication(dates: str, updated: datetime) -> None:
    data = f'<rss version="2.0"><channel><title>T</title>{dates}<item><title>x</title></item></channel></rss>'
    assert parse_feed(data.encode(), URL).updated == updated


def test_a_relative_xml_base_is_resolved_against_the_document() -> None:
    """An entry's `xml:base="media/"` means the folder beside the feed, not beside the entry's page."""
    data = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>'
            b'<entry xml:base="media/"><id>urn:e</id><title>x</title><link href="https://example.org/post/"/>'
            b'<summary type="html">&lt;img src="b.png"&gt;</summary>'
            b'<content type="html">&lt;img src="a.png"&gt;</content></entry></feed>')
    [only] = parse_feed(data, URL).entries
    assert (only.content_html, only.summary_html) == (
        '<img src="https://feeds.example.net/media/a.png">', '<img src="https://feeds.example.net/media/b.png">')


def test_a_summary_that_repeats_the_content_is_not_kept() -> None:
    data = (b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            b"<title>T</title><item><title>t</title><description>&lt;p&gt;Same&lt;/p&gt;</description>"
            b"<content:encoded>&lt;p&gt;Same&lt;/p&gt;</content:encoded></item></channel></rss>")
    [only] = parse_feed(data, URL).entries
    assert (only.content_html, only.summary_html) == ("<p>Same</p>", None)


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        # Atom says the title is text: what looks like markup or an entity is what it says.
        ('<title type="text">&lt;i&gt;x&lt;/i&gt; y</title>', "<i>x</i> y"),
        ('<title type="text">Tom &amp;amp; Jerry</title>', "Tom &amp; Jerry"),
        # Marked as HTML, it is markup.
        ('<title type="html">&lt;i&gt;x&lt;/i&gt; y</title>', "x y"),
    ],
)
def test_an_atom_title_is_read_as_its_type_says(title: str, shown: str) -> None:
    """The feed's own title as well as its entries': both are shown as the feed says."""
    data = (f'<feed xmlns="http://www.w3.org/2005/Atom">{title}<id>urn:t</id>'
            f"<entry><id>urn:e</id>{title}</entry></feed>").encode()
    parsed = parse_feed(data, URL)
    assert (parsed.title, parsed.entries[0].title) == (shown, shown)


@pytest.mark.parametrize(
    "document",
    [
        b'<rss version="2.0"><channel><title>T</title><link>/blog/</link></channel></rss>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>'
        b'<link rel="alternate" href="/blog/"/></feed>',
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "T", "home_page_url": "/blog/", '
        b'"items": []}',
    ],
    ids=["rss", "atom", "json"],
)
def test_a_relative_site_link_is_resolved_against_the_feed_url(document: bytes) -> None:
    """The site link is what a reader opens from the feed: it must work away from the feed's page."""
    assert parse_feed(document, URL).link == "https://feeds.example.net/blog/"


def test_an_untitled_json_feed_is_named_after_its_host() -> None:
    data = b'{"version": "https://jsonfeed.org/version/1.1", "items": []}'
    assert parse_feed(data, "https://www.example.com/feed.json").title == "www.example.com"


def test_an_empty_content_gives_way_to_the_summary() -> None:
    """Some feeds send an empty content:encoded beside their description: the description is the content."""
    data = (b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            b"<title>T</title><item><title>t</title><description>&lt;p&gt;Teaser&lt;/p&gt;</description>"
            b"<content:encoded></content:encoded></item></channel></rss>")
    [only] = parse_feed(data, URL).entries
    assert (only.content_html, only.summary_html) == ("<p>Teaser</p>", None)


def test_of_several_contents_the_html_one_is_published_and_a_nameless_category_is_none() -> None:
    data = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>'
            b'<entry><id>urn:e</id><title>x</title><category scheme="s"/><category term="ok"/>'
            b'<content type="text">plain</content><content type="html">&lt;b&gt;rich&lt;/b&gt;</content>'
            b"</entry></feed>")
    [only] = parse_feed(data, URL).entries
    assert (only.content_html, only.categories) == ("<b>rich</b>", ("ok",))


def test_an_empty_summary_beside_content_is_none() -> None:
    data = (b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            b"<title>T</title><item><title>t</title><description></description>"
            b"<content:encoded>&lt;p&gt;Body&lt;/p&gt;</content:encoded></item></channel></rss>")
    [only] = parse_feed(data, URL).entries
    assert (only.content_html, only.summary_html) == ("<p>Body</p>", None)


def test_an_author_known_only_by_email_is_credited_beside_a_named_one() -> None:
    data = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id><entry><id>urn:e</id>'
            b"<title>x</title><author><email>cy@example.org</email></author><author><name>Dee</name></author>"
            b"</entry></feed>")
    assert parse_feed(data, URL).entries[0].authors == ("cy@example.org", "Dee")


def test_an_rss_title_with_a_script_is_still_read_as_markup() -> None:
    """feedparser guesses text/plain for a title holding `<script>`; RSS never says so, so it is markup."""
    data = (b'<rss version="2.0"><channel><title>T</title><item><title>'
            b"&lt;script&gt;alert(1)&lt;/script&gt;Breaking &lt;em&gt;news&lt;/em&gt;</title></item>"
            b"</channel></rss>")
    assert parse_feed(data, URL).entries[0].title == "Breaking news"


def test_an_rss_language_with_an_underscore_is_a_language_tag() -> None:
    data = (b'<rss version="2.0"><channel><title>T</title><language> en_US </language>'
            b"<item><title>x</title></item></channel></rss>")
    assert parse_feed(data, URL).lang == "en-US"


@pytest.mark.parametrize(
    ("headers", "media_warning"),
    [
        (None, ""),
        ({"Content-Type": "application/rss+xml"}, ""),
        # Reading the text as detected keeps the media type it was served as, and what is wrong with it.
        ({"Content-Type": "text/plain"}, "; text/plain; charset=utf-8 is not an XML media type"),
    ],
)
def test_a_detected_encoding_keeps_the_media_type_served(headers: dict[str, str] | None,
                                                         media_warning: str) -> None:
    data = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Caf\u00e9</title>'
            "<item><title>\u00e9t\u00e9</title><guid>1</guid></item></channel></rss>").encode("iso-8859-1")
    warning = parse_feed(data, URL, headers).warning
    assert warning is not None and warning.startswith("declared no encoding and is not UTF-8; read as ")
    assert warning.endswith(" (detected)" + media_warning)
