"""Normalising a parsed remote feed: the rules an entry passes before it is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from feeds.config import load_config
from feeds.model import Incoming, SourceConfig
from feeds.remote.normalise import normalise_feed
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
