"""Rendering one feed from plain values: what the document says about its entries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from atomcheck import assert_valid_atom
from lxml import etree

from feeds.config import load_config
from feeds.model import Entry, EntryFilter, FeedItem, FeedSpec, Variant
from feeds.publish.render import render_feed
from feeds.publish.select import plan_feeds

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CONFIG = load_config(Path(__file__).parent)


def _entry(n: int, lang: str, *, published: datetime, updated: datetime,
           tags: tuple[str, ...] = ()) -> Entry:
    return Entry(f"tag:example.org,2024:e{n}", (Variant(lang, f"Entry {n}", f"<p>{n}</p>"),),
                 updated=updated, published=published, tags=tags)


def _at(day: int) -> datetime:
    return datetime(2025, 3, day, 12, tzinfo=UTC)


# Ordered by publication, newest first; the most recent change is the middle one's.
ENTRIES = [
    _entry(1, "en", published=_at(20), updated=_at(20)),
    _entry(2, "zh", published=_at(10), updated=_at(25)),
    _entry(3, "de", published=_at(5), updated=_at(6)),
]


def test_a_feeds_updated_is_its_most_recently_changed_entrys() -> None:
    """RFC 4287 §4.2.15: the feed changed when its newest change did, wherever that entry sits."""
    spec = FeedSpec("all", "all", "all.atom", "All")
    doc = render_feed(spec, [FeedItem(e, e.variants[0]) for e in ENTRIES], CONFIG)
    assert_valid_atom(doc)
    root = etree.fromstring(doc)
    assert root.findtext(f"{ATOM}updated") == _at(25).isoformat()


def test_entries_of_a_mixed_language_feed_each_say_their_language() -> None:
    spec = FeedSpec("all", "all", "all.atom", "All")
    root = etree.fromstring(render_feed(spec, [FeedItem(e, e.variants[0]) for e in ENTRIES],
                                        CONFIG))
    assert root.get(XML_LANG) is None
    assert [e.get(XML_LANG) for e in root.iter(f"{ATOM}entry")] == ["en", "zh", "de"]


def test_a_language_feed_says_its_language_once() -> None:
    spec = FeedSpec("lang", "zh", "lang/zh.atom", "中文", EntryFilter(lang="zh"))
    zh = [e for e in ENTRIES if e.variants[0].lang == "zh"]
    root = etree.fromstring(render_feed(spec, [FeedItem(e, e.variants[0]) for e in zh], CONFIG))
    assert root.get(XML_LANG) == "zh"
    assert [e.get(XML_LANG) for e in root.iter(f"{ATOM}entry")] == [None]


def test_a_tag_feed_is_titled_with_the_shortest_spelling_of_its_tag() -> None:
    """Tags that share a slug share a feed, named by the plainest of their spellings."""
    tagged = [
        _entry(1, "en", published=_at(1), updated=_at(1), tags=("machine-learning",)),
        _entry(2, "en", published=_at(2), updated=_at(2), tags=("machine  learning",)),
        _entry(3, "en", published=_at(3), updated=_at(3), tags=("machine learning",)),
    ]
    [tag_feed] = [s for s in plan_feeds(tagged, CONFIG) if s.kind == "tag"]
    assert tag_feed.path == "tags/machine-learning.atom"
    assert tag_feed.title == f"{CONFIG.title}: machine learning"
    assert tag_feed.filter.tags == {"machine-learning", "machine  learning", "machine learning"}


def test_a_tag_needs_min_tag_entries_entries_for_a_feed_and_the_all_feed_its_subtitle() -> None:
    from dataclasses import replace

    config = replace(CONFIG, min_tag_entries=2, subtitle="Every entry, newest first")
    tagged = [
        _entry(1, "en", published=_at(1), updated=_at(1), tags=("grid", "wind")),
        _entry(2, "en", published=_at(2), updated=_at(2), tags=("grid",)),
        _entry(3, "en", published=_at(3), updated=_at(3), tags=("solar",)),
    ]
    specs = plan_feeds(tagged, config)
    assert [s.path for s in specs if s.kind == "tag"] == ["tags/grid.atom"]
    [everything] = [s for s in specs if s.path == "all.atom"]
    assert everything.subtitle == "Every entry, newest first"
