"""The readable pages: valid HTML, links that lead to written files, escaped text, stable paths."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree.ElementTree import Element

import html5lib
import pytest
from feedserver import FeedServer, Response
from htmlcheck import HtmlChecker
from hypothesis import given
from hypothesis import strategies as st

from feeds import build, load_config
from feeds.config import Config
from feeds.model import Entry, FeedItem, SourceRef, Variant
from feeds.publish.paths import MEDIA_TYPES, STYLESHEET, entry_page_path, page_path, relative_url
from feeds.publish.select import plan_feeds, select_all
from feeds.publish.site import Site, og_locale
from feeds.text.slug import slugify

REPO = Path(__file__).resolve().parent.parent
BASE = "https://example.org/news/"
CONFIG = Config(root=Path("/nonexistent-feeds-project"), title="储能日报", base_url=BASE)
HOSTILE = "<script>alert(1)</script>"


def _at(day: int) -> datetime:
    return datetime(2025, 3, day, 8, 30, tzinfo=UTC)


BILINGUAL = Entry(
    "tag:example.org,2024:2025-storage",
    (Variant("zh", "新型储能电站在西北并网发电", "<p>中文正文，<em>并网</em>。</p>", "西北储能电站并网"),
     Variant("en", "A storage plant goes online",
             "<p>English summary.</p><h3>Grid</h3><p>More.</p><h5>Cells</h5><p>Most.</p>",
             "A grid-scale storage plant")),
    updated=_at(15), published=_at(14), authors=("desk",), tags=("energy", "科技"),
    link="https://news.example.org/storage", origin="sources/articles/2025-storage.md",
)
TRADITIONAL = Entry(
    "tag:example.org,2024:news/%E5%84%B2%E8%83%BD",
    (Variant("zh-Hant", "儲能電站並網", "<p>繁體正文。</p>"),),
    updated=_at(12), published=_at(12), tags=("科技",),
)
REMOTE = Entry(
    "tag:example.org,2024:remote/0123456789abcdef0123456789abcdef",
    (Variant("en", "Batteries get cheaper", "<p>Remote text.</p>"),),
    # Dated when it was fetched, to the microsecond: it gave no date of its own.
    updated=_at(13).replace(microsecond=521186), published=None, authors=("Jo", "Ann"),
    source=SourceRef("https://blog.example.com/feed", "Example Blog", "https://blog.example.com/"),
)
NASTY = Entry(
    f"tag:example.org,2024:{HOSTILE}",
    (Variant("en", HOSTILE, "<p>Harmless text.</p>", f'"><{HOSTILE}'),),
    updated=_at(10), published=_at(10), authors=(HOSTILE,), tags=(HOSTILE,),
    link='https://evil.example/?q="><script>alert(1)</script>',
    source=SourceRef("urn:x", HOSTILE, 'https://evil.example/"onmouseover="alert(1)'),
)
ENTRIES = (BILINGUAL, TRADITIONAL, REMOTE, NASTY)


def _item(entry: Entry, lang: str) -> FeedItem:
    variant = entry.variant(lang)
    assert variant is not None
    return FeedItem(entry, variant)


def _site_pages(config: Config, entries: tuple[Entry, ...]) -> tuple[dict[str, bytes], set[str]]:
    """Every page of a site of `entries` (path → bytes) and every file the site would write."""
    specs = plan_feeds(entries, config)
    picks = select_all(specs, entries, config.entries_per_feed)
    site = Site(config)
    pages = {
        "index.html": site.front_page(
            [_item(e, e.languages[0]) for e, _lang in picks[specs[0]]], specs,
            {spec.stem: len(p) for spec, p in picks.items()}),
    }
    for spec, chosen in picks.items():
        pages[page_path(spec)] = site.feed_page(spec, [_item(e, lang) for e, lang in chosen], specs)
    for entry in entries:
        for variant in entry.variants:
            pages[entry_page_path(entry.id, variant.lang, config)] = site.entry_page(entry, variant, specs)
    planned = set(pages) | {STYLESHEET, "feeds.opml"}
    planned |= {spec.file(fmt) for spec in specs for fmt in config.formats}
    return pages, planned


PAGES, PLANNED = _site_pages(CONFIG, ENTRIES)
ENTRY_PAGES = sorted(p for p in PAGES if p.startswith("entries/"))


def _parse(data: bytes) -> Element:
    """The page's tree; fails on any HTML parse error (unclosed tags, stray end tags, bad doctype)."""
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    tree: Element = parser.parse(data)
    assert not parser.errors, parser.errors
    return tree


def _text(element: Element) -> str:
    return "".join(element.itertext())


def test_the_site_covers_every_kind_of_page() -> None:
    """The cases below run over a front page, every feed family's page and every entry's variants."""
    assert {"index.html", "all.html", "lang/zh.html", "lang/en.html", "tags/energy.html",
            "tags/科技.html"} <= set(PAGES)
    assert len(ENTRY_PAGES) == 5


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_page_is_html_without_parse_errors(path: str) -> None:
    _parse(PAGES[path])


# HTML's valid global date and time string: a second's fraction has one to three digits.
_GLOBAL_DATE_TIME = re.compile(
    r"\d{4,}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,3})?)?(?:Z|[+-]\d\d:?\d\d)")


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_time_of_a_page_is_one_html_accepts(path: str) -> None:
    """The W3C's HTML checker refuses `<time datetime>` with six digits of a second (`isoformat`'s)."""
    tree = _parse(PAGES[path])
    times = [e.get("datetime") for e in tree.iter("time")]
    times += [e.get("content") for e in tree.iter("meta")
              if (e.get("property") or "").endswith("_time")]
    assert times
    for value in times:
        assert value is not None and _GLOBAL_DATE_TIME.fullmatch(value), value


def test_the_headings_of_an_article_keep_their_outline_below_the_title() -> None:
    """Its `###` right under the page's <h1> would skip a level (see the landmarks test above)."""
    page = PAGES[entry_page_path(BILINGUAL.id, "en", CONFIG)]
    assert b"<h2>Grid</h2><p>More.</p><h3>Cells</h3>" in page


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_link_of_a_page_leads_to_a_file_the_site_writes(path: str) -> None:
    """Relative links resolve, from the page's own place, to a planned output; absolute ones to the site too.

    Resolved as a browser does (urljoin against the page's URL), so a wrong
    number of `../` or a path left unencoded fails here.
    """
    tree = _parse(PAGES[path])
    here = urljoin(BASE, relative_url("", path))
    checked = 0
    for element in tree.iter():
        href = element.get("href")
        if href is None:
            continue
        target = urljoin(here, href)
        if not target.startswith(BASE):
            assert urlsplit(href).scheme in ("http", "https"), href  # a link away from the site
            continue
        assert unquote(target[len(BASE):]) in PLANNED, (href, target)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_hreflang_links_are_the_same_set_on_every_variant_and_include_the_page_itself(lang: str) -> None:
    """Search engines ignore hreflang sets that are not symmetric; each page lists itself too.

    The entry's own language (its first variant) is the `x-default`.
    """
    sets = {}
    for variant in BILINGUAL.variants:
        path = entry_page_path(BILINGUAL.id, variant.lang, CONFIG)
        head = _parse(PAGES[path]).find("head")
        assert head is not None
        sets[variant.lang] = {(link.get("hreflang"), link.get("href")) for link in head.iter("link")
                              if link.get("hreflang")}
    own = (lang, BASE + entry_page_path(BILINGUAL.id, lang, CONFIG))
    assert own in sets[lang]
    assert sets["zh"] == sets["en"]
    assert {lang for lang, _href in sets["zh"]} == {"zh", "en", "x-default"}
    assert ("x-default", BASE + "entries/2025-storage.zh.html") in sets["zh"]


def test_an_entry_page_is_in_its_variants_language_with_a_switch_to_the_others() -> None:
    tree = _parse(PAGES[entry_page_path(BILINGUAL.id, "en", CONFIG)])
    assert tree.get("lang") == "en"
    switch = [a for a in tree.iter("a") if a.get("hreflang")]
    assert [(a.get("href"), _text(a)) for a in switch] == [
        ("2025-storage.zh.html", "中文"), ("2025-storage.en.html", "English")]
    assert [a.get("aria-current") for a in switch] == [None, "page"]


def test_an_entry_page_carries_canonical_and_open_graph_in_absolute_iso_form() -> None:
    tree = _parse(PAGES[entry_page_path(BILINGUAL.id, "zh", CONFIG)])
    canonical = [link.get("href") for link in tree.iter("link") if link.get("rel") == "canonical"]
    assert canonical == [BASE + "entries/2025-storage.zh.html"]
    og = {m.get("property"): m.get("content") for m in tree.iter("meta") if m.get("property")}
    assert og["og:title"] == "新型储能电站在西北并网发电"
    assert og["og:description"] == "西北储能电站并网"
    assert og["og:type"] == "article"
    assert og["og:url"] == canonical[0]
    assert og["og:locale"] == "zh"
    assert og["article:published_time"] == "2025-03-14T08:30:00+00:00"
    assert og["article:modified_time"] == "2025-03-15T08:30:00+00:00"


@pytest.mark.parametrize(("lang", "locale"), [
    ("zh", "zh"), ("zh-Hant", "zh"), ("zh-TW", "zh_TW"), ("en-gb", "en_GB"), ("en", "en"),
    ("sr-Latn-RS", "sr_RS"),
])
def test_open_graph_locales_are_language_and_territory_only(lang: str, locale: str) -> None:
    """The Open Graph protocol writes a locale as language_TERRITORY and has no script subtag."""
    assert og_locale(lang) == locale


def test_an_entry_page_shows_its_content_as_markup_tags_dates_and_the_original() -> None:
    """Content is sanitised before it is stored, so it is shown as markup, not escaped again."""
    tree = _parse(PAGES[entry_page_path(BILINGUAL.id, "zh", CONFIG)])
    main = tree.find(".//main")
    assert main is not None
    assert [_text(e) for e in main.iter("em")] == ["并网"]
    assert [(a.get("href"), _text(a)) for a in main.iter("a") if a.get("rel") == "tag"] == [
        ("../tags/energy.html", "#energy"), ("../tags/%E7%A7%91%E6%8A%80.html", "#科技")]
    assert "https://news.example.org/storage" in [a.get("href") for a in main.iter("a")]
    assert [t.get("datetime") for t in main.iter("time")] == [
        "2025-03-14T08:30:00+00:00", "2025-03-15T08:30:00+00:00"]
    assert "desk" in _text(main)


def test_dates_show_the_day_of_the_sites_time_zone_and_keep_the_instant_for_machines() -> None:
    config = replace(CONFIG, timezone="Asia/Shanghai")
    late = replace(BILINGUAL, published=datetime(2025, 3, 14, 20, tzinfo=UTC), updated=datetime(
        2025, 3, 14, 20, tzinfo=UTC))
    tree = _parse(Site(config).entry_page(late, late.variants[0], []))
    assert [(t.get("datetime"), _text(t)) for t in tree.iter("time")] == [
        ("2025-03-14T20:00:00+00:00", "2025-03-15")]


def test_an_aggregated_entry_names_its_source_and_an_entry_without_link_offers_none() -> None:
    tree = _parse(PAGES[entry_page_path(REMOTE.id, "en", CONFIG)])
    main = tree.find(".//main")
    assert main is not None
    links = {a.get("href"): _text(a) for a in main.iter("a")}
    assert links == {"https://blog.example.com/": "Example Blog"}
    assert "Jo, Ann" in _text(main)
    assert not [m for m in tree.iter("meta") if m.get("property") == "og:description"]


def test_a_tag_links_its_page_only_where_a_tag_feed_is_planned() -> None:
    """With two entries needed for a tag feed, a tag used once is shown as text, not a dead link."""
    config = replace(CONFIG, min_tag_entries=2)
    pages, planned = _site_pages(config, ENTRIES)
    assert "tags/科技.html" in planned and "tags/energy.html" not in planned
    tree = _parse(pages[entry_page_path(BILINGUAL.id, "zh", config)])
    tags = tree.find(".//ul[@class='tags']")
    assert tags is not None
    assert [(li.find("a") is not None, _text(li)) for li in tags.iter("li")] == [
        (False, "#energy"), (True, "#科技")]


@pytest.mark.parametrize("path", sorted(PAGES))
def test_hostile_text_is_shown_as_text_and_no_page_has_a_script(path: str) -> None:
    tree = _parse(PAGES[path])
    assert not list(tree.iter("script"))
    assert not [e for e in tree.iter() if any(name.startswith("on") for name in e.attrib)]


def test_a_hostile_title_is_the_visible_heading_of_its_page() -> None:
    tree = _parse(PAGES[entry_page_path(NASTY.id, "en", CONFIG)])
    assert [_text(h) for h in tree.iter("h1")] == [HOSTILE]
    assert HOSTILE in _text(tree.find(".//main"))  # type: ignore[arg-type]


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_page_has_landmarks_one_h1_and_headings_in_order(path: str) -> None:
    tree = _parse(PAGES[path])
    for landmark in ("header", "main", "footer"):
        assert len(list(tree.iter(landmark))) == 1, landmark
    levels = [int(e.tag[1]) for e in tree.iter() if re.fullmatch(r"h[1-6]", str(e.tag))]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


def test_a_feed_mixing_languages_marks_each_entry_with_its_own() -> None:
    tree = _parse(PAGES["all.html"])
    assert [(a.get("lang"), a.get("class")) for a in tree.iter("article")] == [
        ("zh", "card"), ("en", "card"), ("zh-Hant", "card"), ("en", "card")]


def test_a_feed_page_lists_the_feeds_entries_in_its_order() -> None:
    spec = next(s for s in plan_feeds(ENTRIES, CONFIG) if s.stem == "lang/zh")
    tree = _parse(PAGES["lang/zh.html"])
    shown = [h.find("a").get("href") for h in tree.iter("h2") if h.find("a") is not None]  # type: ignore[union-attr]
    picks = select_all([spec], ENTRIES, CONFIG.entries_per_feed)[spec]
    assert shown == [relative_url("lang/zh.html", entry_page_path(e.id, lang, CONFIG)) for e, lang in picks]
    assert shown == ["../entries/2025-storage.zh.html",
                     relative_url("lang/zh.html", entry_page_path(TRADITIONAL.id, "zh-Hant", CONFIG))]


def test_a_feed_page_offers_every_format_and_discovers_only_its_own() -> None:
    tree = _parse(PAGES["lang/zh.html"])
    discovered = {(link.get("type"), link.get("href")) for link in tree.iter("link")
                  if link.get("rel") == "alternate"}
    assert discovered == {(MEDIA_TYPES[fmt], f"{BASE}lang/zh.{fmt}") for fmt in CONFIG.formats}
    main = tree.find(".//main")
    assert main is not None
    assert {"zh.atom", "zh.rss", "zh.json"} <= {a.get("href") for a in main.iter("a")}


def test_the_front_page_discovers_every_feed_in_every_format_and_lists_them() -> None:
    specs = plan_feeds(ENTRIES, CONFIG)
    tree = _parse(PAGES["index.html"])
    discovered = {(link.get("type"), link.get("href")) for link in tree.iter("link")
                  if link.get("rel") == "alternate"}
    assert discovered == {(MEDIA_TYPES[fmt], BASE + relative_url("", spec.file(fmt)))
                          for spec in specs for fmt in CONFIG.formats}
    main = tree.find(".//main")
    assert main is not None
    hrefs = {a.get("href") for a in main.iter("a")}
    for spec in specs:
        assert {relative_url("index.html", spec.file(f)) for f in (*CONFIG.formats, "html")} <= hrefs
    assert "feeds.opml" in hrefs
    counts = {_text(li.find("a")): _text(li.find("small")) for li in main.iter("li")  # type: ignore[arg-type]
              if li.find("small") is not None}
    assert counts["储能日报 (zh)"] == "(2 entries)" and counts["储能日报: energy"] == "(1 entry)"


def test_the_front_page_switches_language_between_the_language_pages() -> None:
    nav = _parse(PAGES["index.html"]).find(".//nav")
    assert nav is not None
    assert [(a.get("href"), _text(a)) for a in nav.iter("a")] == [
        ("lang/zh.html", "中文"), ("lang/en.html", "English")]


def test_only_the_configured_formats_are_offered() -> None:
    config = replace(CONFIG, formats=("atom",))
    pages, _planned = _site_pages(config, ENTRIES)
    tree = _parse(pages["index.html"])
    types = {link.get("type") for link in tree.iter("link") if link.get("rel") == "alternate"}
    assert types == {"application/atom+xml"}
    assert not [a for a in tree.iter("a") if (a.get("href") or "").endswith((".rss", ".json"))]


def test_the_same_input_renders_the_same_bytes() -> None:
    """Pages are rewritten only when they change: nothing in them may hang on the clock or a set's order."""
    again, _planned = _site_pages(CONFIG, ENTRIES)
    assert again == PAGES
    assert Site(CONFIG).stylesheet() == Site(CONFIG).stylesheet()


def test_the_stylesheet_is_small_self_contained_and_has_a_dark_scheme() -> None:
    css = Site(CONFIG).stylesheet().decode("utf-8")
    assert len(css) < 8000
    assert "prefers-color-scheme: dark" in css
    assert "url(" not in css and "@import" not in css
    for path, data in PAGES.items():
        sheets = [link.get("href") for link in _parse(data).iter("link") if link.get("rel") == "stylesheet"]
        assert [unquote(urljoin(BASE + path, h or ""))[len(BASE):] for h in sheets] == [STYLESHEET]


# --- entry page paths --------------------------------------------------------


@pytest.mark.parametrize(("entry_id", "lang", "path"), [
    ("tag:example.org,2024:2025-storage", "zh", "entries/2025-storage.zh.html"),
    ("tag:example.org,2024:2025-storage", "zh-Hant", "entries/2025-storage.zh-hant.html"),
    ("tag:example.org,2024:%E5%82%A8%E8%83%BD", "zh", "entries/储能.zh.html"),
])
def test_the_sites_own_slug_ids_give_readable_paths(entry_id: str, lang: str, path: str) -> None:
    assert entry_page_path(entry_id, lang, CONFIG) == path


ALIKE = (
    "tag:example.org,2024:news/storage", "tag:example.org,2024:news-storage",
    "tag:example.org,2024:News-Storage", "tag:example.org,2024:news_storage",
    "tag:example.org,2024:news%2Fstorage", "tag:example.org,2024:news%2fstorage",
    "tag:other.org,2024:news-storage", "tag:example.org,2023:news-storage",
    "https://example.org/news-storage", "news-storage", "tag:example.org,2024:news--storage",
)


def test_ids_that_slugify_alike_never_share_a_page() -> None:
    """Only the site's own id whose specific part is a slug already gets the bare slug; others are hashed."""
    assert len({slugify(unquote(i.rpartition(":")[2])) for i in ALIKE}) <= 3  # they do slugify alike
    paths = [entry_page_path(i, "en", CONFIG) for i in ALIKE]
    assert len(set(paths)) == len(paths)
    assert paths[1] == "entries/news-storage.en.html"


def test_an_entry_page_path_depends_only_on_the_id_and_the_language() -> None:
    """Edited text, new dates or tags never move a published page."""
    edited = replace(BILINGUAL, updated=_at(28), tags=(), variants=(
        Variant("zh", "新标题", "<p>新</p>"),))
    assert (entry_page_path(edited.id, "zh", CONFIG)
            == entry_page_path(BILINGUAL.id, "zh", CONFIG) == "entries/2025-storage.zh.html")
    assert entry_page_path(BILINGUAL.id, "en", CONFIG) != entry_page_path(BILINGUAL.id, "zh", CONFIG)


_SAFE_PATH = re.compile(r"entries/[^/\\\x00]+\.[^./\\\x00]+\.html")
_IDS = st.one_of(
    st.text(max_size=300),
    st.text(max_size=300).map(lambda s: "tag:example.org,2024:" + s),
    st.from_regex(r"tag:example\.org,2024:[a-z0-9/_.%-]{0,20}", fullmatch=True),
)


@given(ids=st.lists(_IDS, min_size=2, max_size=20, unique=True),
       lang=st.sampled_from(["zh", "zh-Hant", "en", "../x", "a" * 300]))
def test_entry_page_paths_are_distinct_safe_and_bounded(ids: list[str], lang: str) -> None:
    paths = [entry_page_path(i, lang, CONFIG) for i in ids]
    assert len(set(paths)) == len(paths)
    for path in paths:
        assert _SAFE_PATH.fullmatch(path), path
        assert ".." not in path.split("/") and not path.startswith("/")
        assert len(path.encode("utf-8")) <= 200


@pytest.mark.parametrize("entry_id", [
    "../../etc/passwd", "/etc/passwd", "tag:example.org,2024:..%2F..%2Fetc", "tag:example.org,2024:..",
    "tag:example.org,2024:" + "长" * 400, "\x00", "",
])
def test_a_hostile_id_stays_inside_the_entries_folder(entry_id: str) -> None:
    path = entry_page_path(entry_id, "en", CONFIG)
    assert _SAFE_PATH.fullmatch(path), path
    assert len(path.encode("utf-8")) <= 200


# --- links between pages -----------------------------------------------------


@pytest.mark.parametrize(("from_page", "to_path", "link"), [
    ("index.html", "lang/zh.html", "lang/zh.html"),
    ("lang/zh.html", "index.html", "../index.html"),
    ("entries/a.zh.html", "tags/科技.html", "../tags/%E7%A7%91%E6%8A%80.html"),
    ("entries/a.zh.html", "entries/a.en.html", "a.en.html"),
    ("tags/a b.html", "tags/c#d.atom", "c%23d.atom"),
    ("index.html", "custom/a:b.html", "custom/a:b.html"),
    ("index.html", "a:b.html", "./a:b.html"),
])
def test_relative_urls_resolve_to_the_file_from_the_page(from_page: str, to_path: str, link: str) -> None:
    """A link that starts with `x:` would be read as a scheme, so it is guarded with `./`."""
    assert relative_url(from_page, to_path) == link
    assert unquote(urljoin(BASE + from_page, link)) == BASE + to_path


# --- templates ---------------------------------------------------------------


@pytest.fixture
def own_templates(tmp_path: Path) -> Iterator[Config]:
    (tmp_path / "templates").mkdir()
    yield replace(CONFIG, root=tmp_path)


def test_a_projects_entry_template_overrides_the_shipped_one(own_templates: Config) -> None:
    (own_templates.templates_dir / "entry.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1 class="mine">{{ item.title }}</h1>{% endblock %}',
        encoding="utf-8")
    specs = plan_feeds(ENTRIES, own_templates)
    tree = _parse(Site(own_templates).entry_page(BILINGUAL, BILINGUAL.variants[0], specs))
    assert [(h.get("class"), _text(h)) for h in tree.iter("h1")] == [("mine", "新型储能电站在西北并网发电")]
    # The shipped base template still frames it: only what the project gives is replaced.
    assert tree.find(".//header") is not None and tree.get("lang") == "zh"


def test_a_projects_base_template_frames_every_shipped_page(own_templates: Config) -> None:
    (own_templates.templates_dir / "base.html").write_text(
        '<!DOCTYPE html><html lang="{{ page.lang }}"><head><title>{{ page.title }}</title></head>'
        '<body><main class="mine">{% block main %}{% endblock %}</main></body></html>',
        encoding="utf-8")
    pages, _planned = _site_pages(own_templates, ENTRIES)
    for data in pages.values():
        mains = list(_parse(data).iter("main"))
        assert [m.get("class") for m in mains] == ["mine"]


def test_a_projects_stylesheet_replaces_the_shipped_one(own_templates: Config) -> None:
    (own_templates.templates_dir / STYLESHEET).write_text("body { color: red; }\n", encoding="utf-8")
    assert Site(own_templates).stylesheet() == b"body { color: red; }\n"


def test_a_template_naming_an_unknown_value_fails_instead_of_printing_nothing(own_templates: Config) -> None:
    """StrictUndefined: a misspelt variable in a project template must not pass unnoticed."""
    import jinja2

    (own_templates.templates_dir / "entry.html").write_text("{{ item.titel }}", encoding="utf-8")
    with pytest.raises(jinja2.UndefinedError):
        Site(own_templates).entry_page(BILINGUAL, BILINGUAL.variants[0], [])


# --- a real browser ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_a_browser_shows_the_chinese_title_of_an_entry_page(tmp_path: Path) -> None:
    """What Chromium renders from the written files, stylesheet included, shows the title to a reader."""
    out = tmp_path / "site"
    path = entry_page_path(BILINGUAL.id, "zh", CONFIG)
    (out / "entries").mkdir(parents=True)
    (out / path).write_bytes(PAGES[path])
    (out / STYLESHEET).write_bytes(Site(CONFIG).stylesheet())
    done = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", (out / path).as_uri()],
        capture_output=True, timeout=60, check=True)
    dom = html5lib.parse(done.stdout, namespaceHTMLElements=False)
    h1 = dom.find(".//h1")
    assert h1 is not None and _text(h1) == "新型储能电站在西北并网发电"
    body = dom.find("body")
    assert body is not None and "中文正文" in _text(body)


# --- the W3C's HTML checker -----------------------------------------------------


def _checker(checker: HtmlChecker | None) -> HtmlChecker:
    if checker is None:
        if os.environ.get("CI"):
            pytest.fail("the W3C HTML checker (vnu.jar and Java) is missing; .ci/run installs it")
        pytest.skip("the W3C HTML checker (vnu.jar and Java) is not installed")
    return checker


def test_every_page_passes_the_w3c_html_checker(tmp_path: Path,
                                                html_checker: HtmlChecker | None) -> None:
    checker = _checker(html_checker)
    written = []
    for path, data in {**PAGES, STYLESHEET: Site(CONFIG).stylesheet()}.items():
        (tmp_path / "site" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "site" / path).write_bytes(data)
        written.append(tmp_path / "site" / path)
    assert [problem for page in written for problem in checker.problems(page)] == []


# An article as people write them, and as they should not: Markdown naming its
# code's language, headings that skip levels, raw HTML with values HTML refuses,
# a date to the microsecond and controls in its title.
_HOSTILE_ARTICLE = """---
title: "Code, tables \\x7f and\\x01 times"
date: 2025-03-14T08:30:00.123456Z
tags: [c++, "a/b", "#hash", 科技]
lang: en
image: img/plot.png
enclosures: [media/talk.mp3]
---

Some text with a [relative link](notes/a.html).

```python
print("a & b")
```

#### A heading four levels down

##

<p lang="python" title='x lang="y"'>Raw <bdo dir="sideways">HTML</bdo> with
<img src="img/a.png" width="100%" height="20" alt="a"> <img src="img/b.png">
<img src="data:image/png;base64,AAAA" alt="an inline image">
<time datetime="yesterday">yesterday</time>, <del datetime="2025-01-01T10:00">gone</del>.</p>

<table><tr><th headers="x" scope="sideways" colspan="0">h</th><td rowspan="x">c</td></tr></table>

<ol type="z" start="two"><li value="one">first</li></ol>

<a href="https://example.org/" hreflang="en_US">a link</a>

# A first-level heading, the page's title's level
"""


def test_a_site_of_hostile_articles_and_dateless_remote_entries_passes_the_w3c_html_checker(
        tmp_path: Path, feed_server: FeedServer, html_checker: HtmlChecker | None) -> None:
    checker = _checker(html_checker)
    articles = tmp_path / "sources" / "articles"
    articles.mkdir(parents=True)
    (articles / "hostile.md").write_text(_HOSTILE_ARTICLE, encoding="utf-8")
    shutil.copy(REPO / "sources" / "articles" / "2025-06-08-tea-exports.md", articles)
    # Entries without a date are dated when they are fetched, to the microsecond.
    feed = feed_server.route("/dateless.rss", Response(body=(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Dateless</title>'
        f'<link>{feed_server.url("/")}</link><description>d</description>'
        + "".join(f"<item><guid>d{n}</guid><title>Item {n}</title>"
                  f"<link>{feed_server.url(f'/d{n}')}</link>"
                  "<description>&lt;pre lang=\"python\"&gt;x&lt;/pre&gt;</description></item>"
                  for n in (1, 2))
        + "</channel></rss>"), content_type="application/rss+xml"))
    (tmp_path / "sources" / "links.toml").write_text(f'[[source]]\nurl = "{feed}"\n',
                                                     encoding="utf-8")
    result = build(load_config(tmp_path), notify=False)
    assert not result.problems, result.problems
    pages = sorted(p for p in (tmp_path / "output").rglob("*") if p.suffix in (".html", ".css"))
    shown = b"".join(p.read_bytes() for p in pages)
    assert b"Item 1" in shown and b"A heading four levels down" in shown
    assert len(pages) > 10
    assert [problem for page in pages for problem in checker.problems(page)] == []
