"""Normalising a parsed remote feed: the rules an entry passes before it is stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.config import Config, load_config
from feeds.model import (
    Entry,
    Incoming,
    ParsedEntry,
    ParsedFeed,
    Person,
    SourceConfig,
    SourceRef,
    Variant,
)
from feeds.remote.normalise import normalise_feed, remote_entry_id
from feeds.remote.parse import parse_feed

CONFIG = load_config(Path(__file__).parent)
URL = "http://news.example.org/feed.xml"
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def _rss(*items: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Example News</title><link>http://news.example.org/</link>"
            + "".join(f"<item>{item}</item>" for item in items)
            + "</channel></rss>").encode()


def _normalise(body: bytes, source: SourceConfig | None = None) -> list[Incoming]:
    parsed = parse_feed(body, URL)
    return normalise_feed(parsed, source or SourceConfig(URL), URL, URL, CONFIG, NOW)


def test_a_date_in_the_future_is_clamped_to_the_fetch_time() -> None:
    """A feed dating an item next year must not pin it to the top of every feed."""
    [future, past] = _normalise(_rss(
        "<guid>a</guid><title>Ahead</title><pubDate>Mon, 01 Jun 2026 12:00:00 GMT</pubDate>",
        "<guid>b</guid><title>Behind</title><pubDate>Sun, 01 Jun 2025 08:00:00 GMT</pubDate>",
    ))
    assert future.entry.published == NOW and future.entry.updated == NOW
    assert past.entry.published == datetime(2025, 6, 1, 8, tzinfo=UTC)


def test_include_and_exclude_patterns_filter_on_title_and_text() -> None:
    items = _rss(
        "<guid>1</guid><title>Battery plant opens</title><description>Grid storage</description>",
        "<guid>2</guid><title>Sponsored: battery deals</title><description>Buy now</description>",
        "<guid>3</guid><title>Rail news</title><description>A battery-powered train</description>",
        "<guid>4</guid><title>Weather</title><description>Sunny</description>",
    )
    everything = _normalise(items)
    assert [i.entry.variants[0].title for i in everything] == [
        "Battery plant opens", "Sponsored: battery deals", "Rail news", "Weather"]
    kept = _normalise(items, SourceConfig(URL, include=("battery",), exclude=("sponsored",)))
    assert [i.entry.variants[0].title for i in kept] == ["Battery plant opens", "Rail news"]
    dropped = _normalise(items, SourceConfig(URL, exclude=("(?i)WEATHER", "^Rail")))
    assert [i.entry.variants[0].title for i in dropped] == [
        "Battery plant opens", "Sponsored: battery deals"]


def test_tags_are_case_folded_and_each_kept_once() -> None:
    [item] = _normalise(
        _rss("<guid>1</guid><title>T</title><category>AI</category><category>ai</category>"
             "<category> Energy </category><category>AI</category>"),
        SourceConfig(URL, tags=("energy", "news")),
    )
    assert item.entry.tags == ("ai", "energy", "news")


def test_remote_entry_ids_never_change() -> None:
    """Ids are forever: these are the ids 0.1.0 gave, for each kind of identity an item has.

    A changed id is a duplicate of every entry in every reader, so the way an
    identity is spelled and hashed must not move.
    """
    items = _normalise(_rss(
        "<guid>g-1</guid><title>With a guid</title><link>http://news.example.org/1</link>",
        "<title>Only a link</title><link>http://news.example.org/2</link>",
        "<title>Only a title and date</title><pubDate>Sun, 01 Jun 2025 08:00:00 GMT</pubDate>",
        "<title>Only a title</title>",
        "<guid>储能-7</guid><title>Non-ASCII guid</title>",
    ))
    prefix = "tag:127.0.0.1,2024:remote/"
    assert {i.entry.variants[0].title: i.entry.id.removeprefix(prefix) for i in items} == {
        "With a guid": "6e6b4eaa056143bd00601a52d111ce17",
        "Only a link": "3c554a1039d10681efa8917f5646f6e7",
        "Only a title and date": "8db98f7e8685abe2066573b98a8d73e8",
        "Only a title": "f3dbe6995a1c5e3e0021e78ce9c23e26",
        "Non-ASCII guid": "4cea0c77da225b6b27f46d171b1c2b03",
    }
    assert all(i.entry.id.startswith(prefix) for i in items)


def test_declared_languages_as_published() -> None:
    """A region goes, Chinese keeps whether it is traditional; `_` is read as `-`."""
    from feeds.remote.normalise import _language_tag

    assert {v: _language_tag(v) for v in ["zh_TW", "zh-Hant-HK", "zh", "zh-CN", "zh-Hans",
                                          "en_US", "en-GB", "x", "1en", ""]} == {
        "zh_TW": "zh-TW", "zh-Hant-HK": "zh-Hant", "zh": "zh", "zh-CN": "zh", "zh-Hans": "zh",
        "en_US": "en", "en-GB": "en", "x": None, "1en": None, "": None,
    }


def test_ids_of_items_that_repeat_a_guid_never_change() -> None:
    """A guid repeated for different items is qualified by link and title; true twins are numbered."""
    items = _normalise(_rss(
        "<guid>same</guid><title>First</title><link>http://news.example.org/a</link>",
        "<guid>same</guid><title>Second</title><link>http://news.example.org/b</link>",
        "<guid>twin</guid><title>Twin</title>",
        "<guid>twin</guid><title>Twin</title>",
        "<guid>twin</guid><title>Twin</title>",
    ))
    assert [i.entry.id.rsplit("/", 1)[1] for i in items] == [
        "71699c06859dd21fa89da0799a3fff25", "c18d91961be43f319e71113a09338f7f",
        "c2dcf9277bf079486d30d7be1fcc3dd4", "23997edce4220583cfc6177c39458773",
        "ba1f8cf3f0d073656990ddd736f193a7",
    ]


def test_ids_of_linkless_items_that_repeat_a_guid_never_change() -> None:
    """Without links, the title alone tells apart the items that repeat a guid.

    Their identity is the guid qualified by an empty link and the title, as
    0.1.0 spelled it.
    """
    items = _normalise(_rss(
        '<guid isPermaLink="false">same</guid><title>First</title>',
        '<guid isPermaLink="false">same</guid><title>Second</title>',
    ))
    assert [i.entry.id for i in items] == [
        remote_entry_id(URL, "guid:same\0\0First", CONFIG),
        remote_entry_id(URL, "guid:same\0\0Second", CONFIG),
    ]


# --- The function's contract on plain values ----------------------------------

KEY = "http://first.example.org/feed.xml"  # the URL the source was first configured with
FETCHED = "http://moved.example.org/rss"  # where the feed answers now
GERMAN = ("Die Stadtwerke haben am Montag einen neuen Batteriespeicher in Betrieb genommen, "
          "der die Versorgung der ganzen Region bei Stromausfällen sichern soll.")
CHINESE = "新版本在推理速度上有明显提升，在多个公开评测中取得了领先成绩，开发者可以免费试用。"


def _item(**fields: object) -> ParsedEntry:
    """An item with a guid and an English title, the rest empty unless given."""
    base: dict[str, object] = {
        "guid": "g", "link": None, "title": "Batteries", "content_html": "", "summary_html": None,
        "published": None, "updated": None,
    }
    return ParsedEntry(**(base | fields))  # type: ignore[arg-type]


def _feed(*items: ParsedEntry, **fields: object) -> ParsedFeed:
    base: dict[str, object] = {"id": None, "title": "Example News", "link": "http://news.example.org/",
                               "updated": None, "lang": None}
    return ParsedFeed(**(base | fields), entries=items)  # type: ignore[arg-type]


def _one(feed: ParsedFeed, source: SourceConfig | None = None, *, key: str = KEY,
         fetched: str = FETCHED, config: Config = CONFIG) -> Incoming:
    [incoming] = normalise_feed(feed, source or SourceConfig(key), key, fetched, config, NOW)
    return incoming


def _entry(incoming: Incoming) -> Entry:
    assert isinstance(incoming.entry, Entry)
    return incoming.entry


def test_an_entry_keeps_what_its_item_says() -> None:
    """Link, authors and their addresses, dates, content and summary pass through to the entry."""
    ann = Person("Ann Lee", "ann@example.org")
    item = _item(link="https://www.Example.org/a?utm_source=rss", content_html="<p>Full text</p>",
                 summary_html="<p>Teaser</p>", authors=("Ann Lee",), contacts=(ann,),
                 published=datetime(2025, 5, 1, tzinfo=UTC), updated=datetime(2025, 5, 2, tzinfo=UTC))
    incoming = _one(_feed(item))
    entry = _entry(incoming)
    assert entry.link == "https://www.Example.org/a?utm_source=rss"
    assert incoming.canonical_link == "//example.org/a"  # the key duplicates are found by
    assert (entry.authors, entry.contacts) == (("Ann Lee",), (ann,))
    assert (entry.published, entry.updated) == (datetime(2025, 5, 1, tzinfo=UTC),
                                                datetime(2025, 5, 2, tzinfo=UTC))
    assert incoming.declared_updated == datetime(2025, 5, 2, tzinfo=UTC)
    assert entry.variants == (Variant("en", "Batteries", "<p>Full text</p>", "Teaser"),)
    assert entry.origin == KEY


def test_an_item_without_a_link_has_no_duplicate_key() -> None:
    assert _one(_feed(_item())).canonical_link is None


def test_an_item_dated_only_once_is_updated_when_published() -> None:
    """A pubDate alone is the entry's `updated` too, and what the store is told it claims."""
    incoming = _one(_feed(_item(published=datetime(2025, 5, 1, tzinfo=UTC))))
    assert _entry(incoming).updated == datetime(2025, 5, 1, tzinfo=UTC)
    assert incoming.declared_updated == datetime(2025, 5, 1, tzinfo=UTC)


def test_an_item_without_dates_claims_none_and_is_dated_when_fetched() -> None:
    incoming = _one(_feed(_item()))
    assert (incoming.declared_updated, _entry(incoming).published) == (None, None)
    assert _entry(incoming).updated == NOW


def test_ids_follow_the_source_key_not_the_url_fetched() -> None:
    """A feed that moves keeps its entries' ids; two sources sharing guids do not share ids."""
    feed = _feed(_item(guid="shared"))
    moved = _entry(_one(feed, fetched="https://elsewhere.example.net/feed")).id
    assert _entry(_one(feed)).id == moved
    assert _entry(_one(feed, key="http://other.example.org/feed.xml")).id != moved
    assert _entry(_one(_feed(_item(guid="another")))).id != moved


def test_an_identity_that_is_no_valid_unicode_still_gets_an_id() -> None:
    """A lone surrogate (JSON's `\\ud800` escape) in a guid or title must not stop the feed."""
    for item in (_item(guid="a\ud800b"), _item(guid=None, title="t\udfff")):
        assert _entry(_one(_feed(item))).id.startswith("tag:127.0.0.1,2024:remote/")
    assert _entry(_one(_feed(_item(guid="a\ud800b")))).id != _entry(_one(_feed(_item(guid="a\udc00b")))).id


def test_an_untitled_item_is_titled_by_the_opening_of_its_text() -> None:
    """Its first 80 characters of text, without the spaces around them."""
    words = "word " * 30
    entry = _entry(_one(_feed(_item(title="", content_html=f"<p>  {words}</p>"))))
    assert entry.variants[0].title == ("word " * 16).strip()
    from_summary = _entry(_one(_feed(_item(title="", summary_html="<p>Teaser only</p>"))))
    assert from_summary.variants[0].title == "Teaser only"
    assert _entry(_one(_feed(_item(title="")))).variants[0].title == "(untitled)"


def test_a_summary_is_kept_only_beside_different_content() -> None:
    """The summary is plain text cut to 600 characters; alone, it is the content."""
    long = "x" * 700
    entry = _entry(_one(_feed(_item(content_html="<p>Body</p>", summary_html=f"<p>{long}</p>"))))
    assert entry.variants[0].summary == long[:600]
    same = _entry(_one(_feed(_item(content_html="<p>Body</p>", summary_html="<p>Body</p>"))))
    assert same.variants[0].summary is None
    alone = _entry(_one(_feed(_item(summary_html="<p>Teaser</p>"))))
    assert (alone.variants[0].content_html, alone.variants[0].summary) == ("<p>Teaser</p>", None)
    assert _entry(_one(_feed(_item()))).variants[0].content_html == ""


def test_an_item_without_authors_is_credited_to_its_source() -> None:
    """Named as links.toml names the source, else as the feed names itself, else by its URL.

    The addresses of people the item does not name are not published either.
    """
    lone = _item(contacts=(Person("Ann Lee", "ann@example.org"),))
    assert _entry(_one(_feed(lone), SourceConfig(KEY, title="Mine"))).authors == ("Mine",)
    entry = _entry(_one(_feed(lone)))
    assert (entry.authors, entry.contacts) == (("Example News",), ())
    assert _entry(_one(_feed(lone, title=""))).authors == (FETCHED,)


def test_the_source_of_an_entry_names_its_feed() -> None:
    """atom:source: the feed's id when it is a URI, its title, link and date, never after now."""
    feed = _feed(_item(), id="urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6",
                 updated=datetime(2025, 5, 3, tzinfo=UTC))
    assert _entry(_one(feed)).source == SourceRef(
        "urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6", "Example News", "http://news.example.org/",
        datetime(2025, 5, 3, tzinfo=UTC))
    ahead = replace(feed, updated=datetime(2030, 1, 1, tzinfo=UTC))
    assert _ref(_one(ahead)).updated == NOW


def _ref(incoming: Incoming) -> SourceRef:
    ref = _entry(incoming).source
    assert ref is not None
    return ref


def test_a_source_without_a_usable_id_or_title_is_named_by_its_url() -> None:
    """An id that is no URI gives way to the URL fetched, encoded as a URI; the title to links.toml's."""
    fetched = "http://news.example.org/flux/été"
    feed = _feed(_item(), id="not a uri", title="")
    ref = _ref(_one(feed, SourceConfig(KEY, title="Mine"), fetched=fetched))
    assert (ref.id, ref.title) == ("http://news.example.org/flux/%C3%A9t%C3%A9", "Mine")
    assert _ref(_one(feed, fetched=fetched)).title == fetched


def test_an_undated_source_is_dated_by_its_newest_entry_else_now() -> None:
    items = (_item(guid="a", published=datetime(2025, 4, 1, tzinfo=UTC)),
             _item(guid="b", updated=datetime(2025, 4, 3, tzinfo=UTC),
                   published=datetime(2025, 4, 2, tzinfo=UTC)),
             _item(guid="c"))
    refs = {_ref(i).updated for i in normalise_feed(_feed(*items), SourceConfig(KEY), KEY, FETCHED,
                                                      CONFIG, NOW)}
    assert refs == {datetime(2025, 4, 3, tzinfo=UTC)}
    assert _ref(_one(_feed(_item()))).updated == NOW


def test_tags_join_the_items_and_the_sources_through_the_aliases() -> None:
    config = replace(CONFIG, tag_aliases={"ml": "machine learning"})
    entry = _entry(_one(_feed(_item(categories=("ML", "Energy"))), SourceConfig(KEY, tags=("news",)),
                        config=config))
    assert entry.tags == ("machine learning", "energy", "news")


def test_include_patterns_read_a_summary_that_stands_for_the_content() -> None:
    kept = normalise_feed(_feed(_item(summary_html="<p>battery</p>")),
                          SourceConfig(KEY, include=("battery",)), KEY, FETCHED, CONFIG, NOW)
    assert len(kept) == 1


@pytest.mark.parametrize(
    ("source_lang", "feed_lang", "item_lang", "title", "content", "lang"),
    [
        # links.toml's lang is the reader's own word: it beats everything.
        ("ja", "en", "fr", "Batteries", GERMAN, "ja"),
        # ... when it is a language at all.
        ("1x", None, "fr", "Batteries", "", "fr"),
        # An entry's own xml:lang, unlike its feed's, is specific to it.
        (None, "en", "fr", "Batteries", "", "fr"),
        (None, None, "fr-CA", "Batteries", "", "fr"),
        # An xml:lang that only repeats the feed's is the feed's: detection may overrule it.
        (None, "en-US", "en-us", "国产大模型发布新版本", CHINESE, "zh"),
        # A declared feed keeps its language for a short entry detection cannot judge.
        (None, "de", None, "Update", "<p>Kurz.</p>", "de"),
        # Undeclared, the content decides where the title alone cannot.
        (None, None, None, "Update", f"<p>{GERMAN}</p>", "de"),
        (None, None, None, "国产大模型发布新版本", f"<p>{CHINESE}</p>", "zh"),
    ],
)
def test_the_language_of_an_entry(source_lang: str | None, feed_lang: str | None,
                                  item_lang: str | None, title: str, content: str, lang: str) -> None:
    feed = _feed(_item(title=title, content_html=content, lang=item_lang), lang=feed_lang)
    assert _entry(_one(feed, SourceConfig(KEY, lang=source_lang))).variants[0].lang == lang


def test_an_untitled_entry_is_detected_from_its_text() -> None:
    entry = _entry(_one(_feed(_item(title="", content_html=f"<p>{GERMAN}</p>"))))
    assert entry.variants[0].lang == "de"
