"""Rendering one feed from plain values: what the document says about its entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from atomcheck import assert_valid_atom
from lxml import etree, html

from feeds.about import PROJECT_URL, __version__
from feeds.config import Config, load_config
from feeds.model import Entry, EntryFilter, FeedItem, FeedSpec, Person, SourceRef, Variant
from feeds.publish.paths import feed_url
from feeds.publish.render import ATOM_TYPE, render_feed
from feeds.publish.select import plan_feeds

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Feeds as written without pages: entries link the original, translations
# their language feeds (tests/test_formats.py has them with pages).
CONFIG = replace(load_config(Path(__file__).parent), pages=False)


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
    spec = FeedSpec("all", "all", "all", "All")
    doc = render_feed(spec, [FeedItem(e, e.variants[0]) for e in ENTRIES], CONFIG)
    assert_valid_atom(doc)
    root = etree.fromstring(doc)
    assert root.findtext(f"{ATOM}updated") == _at(25).isoformat()


def test_entries_of_a_mixed_language_feed_each_say_their_language() -> None:
    spec = FeedSpec("all", "all", "all", "All")
    root = etree.fromstring(render_feed(spec, [FeedItem(e, e.variants[0]) for e in ENTRIES],
                                        CONFIG))
    assert root.get(XML_LANG) is None
    assert [e.get(XML_LANG) for e in root.iter(f"{ATOM}entry")] == ["en", "zh", "de"]


def test_a_language_feed_says_its_language_once() -> None:
    spec = FeedSpec("lang", "zh", "lang/zh", "中文", EntryFilter(lang="zh"))
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
    assert tag_feed.file("atom") == "tags/machine-learning.atom"
    assert tag_feed.title == f"{CONFIG.title}: machine learning"
    assert tag_feed.filter.tags == {"machine-learning", "machine  learning", "machine learning"}


def test_a_tag_needs_min_tag_entries_entries_for_a_feed_and_the_all_feed_its_subtitle() -> None:
    config = replace(CONFIG, min_tag_entries=2, subtitle="Every entry, newest first")
    tagged = [
        _entry(1, "en", published=_at(1), updated=_at(1), tags=("grid", "wind")),
        _entry(2, "en", published=_at(2), updated=_at(2), tags=("grid",)),
        _entry(3, "en", published=_at(3), updated=_at(3), tags=("solar",)),
    ]
    specs = plan_feeds(tagged, config)
    assert [s.stem for s in specs if s.kind == "tag"] == ["tags/grid"]
    [everything] = [s for s in specs if s.stem == "all"]
    assert everything.subtitle == "Every entry, newest first"


# --- What each feed and entry says, element by element -----------------------

ALL = FeedSpec("all", "all", "all", "All")


def _render(items: list[FeedItem], spec: FeedSpec = ALL, config: Config = CONFIG) -> etree._Element:
    doc = render_feed(spec, items, config)
    assert_valid_atom(doc, feed_url(spec.file("atom"), config))
    return etree.fromstring(doc)


def _shown(*entries: Entry) -> list[FeedItem]:
    return [FeedItem(e, e.variants[0]) for e in entries]


def _links(element: etree._Element) -> list[dict[str, str]]:
    return [dict(link.attrib) for link in element.findall(f"{ATOM}link")]


def test_a_feed_is_identified_by_its_site_and_path_and_links_to_itself_and_the_site() -> None:
    """Readers key a feed on its id and re-fetch its self link: both come from the configuration."""
    config = replace(CONFIG, base_url="https://例子.org/订阅/", id_date="2025-06-01", author="Jo Lee")
    spec = FeedSpec("tag", "科技", "tags/科技", "科技")
    root = _render(_shown(ENTRIES[0]), spec, config)
    tag = quote("科技")
    assert root.findtext(f"{ATOM}id") == f"tag:xn--fsqu00a.org,2025-06-01:feed/tags/{tag}"
    site = f"https://xn--fsqu00a.org/{quote('订阅')}/"
    assert _links(root) == [
        {"href": f"{site}tags/{tag}.atom", "rel": "self", "type": "application/atom+xml"},
        {"href": site, "rel": "alternate", "type": "text/html"},
    ]
    assert [a.findtext(f"{ATOM}name") for a in root.findall(f"{ATOM}author")] == ["Jo Lee"]
    generator = root.find(f"{ATOM}generator")
    assert generator is not None and generator.text == "feeds"
    assert generator.attrib == {"uri": PROJECT_URL, "version": __version__}


def test_a_feed_has_a_subtitle_only_when_it_was_given_one() -> None:
    assert _render(_shown(*ENTRIES)).find(f"{ATOM}subtitle") is None
    given = replace(ALL, subtitle="Every entry, newest first")
    assert _render(_shown(*ENTRIES), given).findtext(f"{ATOM}subtitle") == "Every entry, newest first"


BILINGUAL = Entry(
    "tag:example.org,2024:both",
    (Variant("zh", "标题", "<p>正文</p>", "摘要"), Variant("en", "Title", "<p>Text</p>"),
     Variant("de", "Titel", "<p>Text</p>")),
    updated=_at(2), published=None, authors=("Ann", "Bo", "Cy", "Di"), tags=("grid", "wind"),
    link="https://example.org/both",
    contacts=(Person("Ann", "ann@example.org", "https://example.org/ann"),
              Person("Bo", "bo@example.org"), Person("Cy", None, "https://example.org/cy")),
)
# Traditional Chinese is detected per article: an article has it instead of `zh`.
TRADITIONAL = Entry("tag:example.org,2024:hant",
                    (Variant("en", "Title", "<p>Text</p>"), Variant("zh-Hant", "標題", "<p>正文</p>")),
                    updated=_at(3))


def _entry_element(entry: Entry, variant: int, spec: FeedSpec = ALL,
                   config: Config = CONFIG) -> etree._Element:
    root = _render([FeedItem(entry, entry.variants[variant])], spec, config)
    [element] = root.findall(f"{ATOM}entry")
    return element


def test_each_language_version_has_an_id_of_its_own_and_the_first_keeps_the_entrys() -> None:
    """A translation is another text, so another id.

    Traditional Chinese keeps the `/zh` it was published under before its script was told apart.
    """
    ids = [_entry_element(BILINGUAL, n).findtext(f"{ATOM}id") for n in range(3)]
    assert ids == [BILINGUAL.id, f"{BILINGUAL.id}/en", f"{BILINGUAL.id}/de"]
    assert _entry_element(TRADITIONAL, 1).findtext(f"{ATOM}id") == f"{TRADITIONAL.id}/zh"


def test_the_first_language_keeps_the_entrys_id_whichever_copy_of_its_variant_is_shown() -> None:
    """The id depends on the language shown, not on which object holds it (a variant read back anew)."""
    copy = replace(BILINGUAL.variants[0])
    assert copy is not BILINGUAL.variants[0]
    root = _render([FeedItem(BILINGUAL, copy)])
    assert root.findtext(f"{ATOM}entry/{ATOM}id") == BILINGUAL.id


def test_an_entry_shows_the_variants_title_content_and_summary() -> None:
    zh, en = _entry_element(BILINGUAL, 0), _entry_element(BILINGUAL, 1)
    assert zh.findtext(f"{ATOM}title") == "标题" and en.findtext(f"{ATOM}title") == "Title"
    content = zh.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html" and content.text == "<p>正文</p>"
    assert zh.findtext(f"{ATOM}summary") == "摘要"
    assert en.find(f"{ATOM}summary") is None


def test_a_variant_without_text_has_content_that_shows_nothing() -> None:
    """An entry with no text still has its `content` element, and a reader shows it empty."""
    empty = Entry("tag:example.org,2024:empty", (Variant("en", "Only a title", ""),), updated=_at(1))
    content = _render(_shown(empty)).find(f"{ATOM}entry/{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert html.fragment_fromstring(content.text or "", create_parent="div").text_content() == ""


def test_an_entry_says_when_it_was_published_only_when_it_is_known() -> None:
    undated = _entry_element(BILINGUAL, 0)
    assert undated.find(f"{ATOM}published") is None
    assert undated.findtext(f"{ATOM}updated") == _at(2).isoformat()
    dated = _entry_element(ENTRIES[2], 0)
    assert dated.findtext(f"{ATOM}published") == _at(5).isoformat()
    assert dated.findtext(f"{ATOM}updated") == _at(6).isoformat()


def test_authors_are_listed_in_order_with_the_addresses_known_for_them() -> None:
    """An email or URI is given only for the author it belongs to, and no empty element for the other."""
    authors = [{child.tag.removeprefix(ATOM): child.text for child in author}
               for author in _entry_element(BILINGUAL, 0).findall(f"{ATOM}author")]
    assert authors == [
        {"name": "Ann", "email": "ann@example.org", "uri": "https://example.org/ann"},
        {"name": "Bo", "email": "bo@example.org"},
        {"name": "Cy", "uri": "https://example.org/cy"},
        {"name": "Di"},
    ]


def test_an_entrys_tags_are_its_categories() -> None:
    categories = _entry_element(BILINGUAL, 0).findall(f"{ATOM}category")
    assert [c.get("term") for c in categories] == ["grid", "wind"]


LANG_FEED = "http://127.0.0.1:8080/lang/{}.atom"


def test_an_entry_links_its_page_first_and_last_and_its_translations_language_feeds() -> None:
    """hreflang links lead to the feed of each other language that has one; the page comes
    first and, in the entry's language, last (readers keep the first or the last)."""
    page = {"rel": "alternate", "type": "text/html", "href": "https://example.org/both"}
    # The German version has no feed of its own (the site's languages are zh and en).
    assert _links(_entry_element(BILINGUAL, 1)) == [
        page,
        {"rel": "alternate", "type": ATOM_TYPE, "hreflang": "zh", "title": "标题",
         "href": LANG_FEED.format("zh")},
        page | {"hreflang": "en"},
    ]
    assert _links(_entry_element(BILINGUAL, 0)) == [
        page,
        {"rel": "alternate", "type": ATOM_TYPE, "hreflang": "en", "title": "Title",
         "href": LANG_FEED.format("en")},
        page | {"hreflang": "zh"},
    ]


def test_an_entry_links_no_language_feed_when_none_is_written() -> None:
    config = replace(CONFIG, families=("all", "tags"))
    assert _links(_entry_element(BILINGUAL, 1, config=config)) == [
        {"rel": "alternate", "type": "text/html", "href": "https://example.org/both"}]


@pytest.mark.parametrize(("languages", "feed"), [
    (("zh", "en"), "zh"),  # the zh feed shows traditional Chinese too
    (("zh", "zh-hant", "en"), "zh-hant"),
    (("zh-hant", "zh", "en"), "zh-hant"),
])
def test_a_translation_links_the_feed_of_its_own_language_before_a_wider_one(
        languages: tuple[str, ...], feed: str) -> None:
    """Language tags compare without regard to case (RFC 5646 §2.1.1): `zh-Hant` has the `zh-hant` feed."""
    config = replace(CONFIG, languages=languages)
    [translation] = _links(_entry_element(TRADITIONAL, 0, config=config))
    assert translation["hreflang"] == "zh-Hant"
    assert translation["href"] == LANG_FEED.format(feed)


def test_an_entry_in_its_feeds_language_does_not_repeat_it() -> None:
    spec = FeedSpec("lang", "en", "lang/en", "English", EntryFilter(lang="en"))
    assert _entry_element(TRADITIONAL, 0, spec).get(XML_LANG) is None
    assert _entry_element(TRADITIONAL, 1, spec).get(XML_LANG) == "zh-Hant"


def _source_of(entry: Entry) -> dict[str, str | None]:
    source = _render(_shown(entry)).find(f"{ATOM}entry/{ATOM}source")
    assert source is not None
    result: dict[str, str | None] = {child.tag.removeprefix(ATOM): child.text for child in source}
    link = source.find(f"{ATOM}link")
    if link is not None:
        result["link"] = link.get("href")
        assert link.get("rel") == "alternate"
    return result


def _remote(source: SourceRef, origin: str = "https://example.org/feed.xml") -> Entry:
    return Entry("tag:example.org,2024:remote", (Variant("en", "Remote", "<p>r</p>"),),
                 updated=_at(9), origin=origin, source=source)


def test_an_aggregated_entry_names_its_source_feed() -> None:
    """RFC 4287 §4.2.11: atom:source keeps the original feed's id, title, link and updated."""
    source = SourceRef("urn:uuid:0b6f8d3e-5c1a-4b1e-9a63-2f1e8c7d6b5a", "Remote site",
                       "https://example.org/", _at(3))
    assert _source_of(_remote(source)) == {
        "id": source.id, "title": "Remote site", "link": "https://example.org/",
        "updated": _at(3).isoformat()}


def test_a_source_without_an_update_time_or_link_takes_the_entrys_and_leaves_the_link_out() -> None:
    """Entries stored before sources had `updated` still publish the element RFC 4287 requires."""
    shown = _source_of(_remote(SourceRef("https://example.org/feed.xml", "Remote site")))
    assert shown == {"id": "https://example.org/feed.xml", "title": "Remote site",
                     "updated": _at(9).isoformat()}


def test_a_source_whose_id_is_no_uri_is_named_by_its_url_else_by_the_entry() -> None:
    """A malformed `urn:uuid:` must not reach the feed: validators reject it."""
    bad = SourceRef("urn:uuid:not-a-uuid", "Remote site")
    assert _source_of(_remote(bad))["id"] == "https://example.org/feed.xml"
    assert _source_of(_remote(bad, origin="feed.xml"))["id"] == "tag:example.org,2024:remote"


def test_a_local_entry_has_no_source() -> None:
    assert _render(_shown(ENTRIES[0])).find(f"{ATOM}entry/{ATOM}source") is None


def test_a_feed_is_utf_8_and_says_so_with_each_element_on_a_line_of_its_own() -> None:
    """A file opened from disk names its encoding; text is not character references; diffs stay readable."""
    doc = render_feed(ALL, _shown(BILINGUAL, *ENTRIES), CONFIG)
    first, *lines = doc.decode("utf-8").splitlines()
    assert first.lower() == "<?xml version='1.0' encoding='utf-8'?>"
    assert "<title>标题</title>" in doc.decode("utf-8")
    assert [line.strip() for line in lines if "<id>" in line] == [
        f"<id>{e}</id>" for e in ["tag:127.0.0.1,2024:feed/all", BILINGUAL.id, *(e.id for e in ENTRIES)]]
