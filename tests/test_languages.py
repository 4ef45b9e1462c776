"""Every text filed under its real language: articles and remote entries, end to end."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import feedparser
import pytest
from atomcheck import assert_valid_atom, assert_valid_output
from conftest import REPO
from feedserver import FeedServer, Response

from feeds import build
from feeds.config import FetchSettings, load_config
from feeds.local.article import TITLE_CHARS, derive_title, parse_article, shorten

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=4)

GERMAN = ("Die Bundesregierung hat am Mittwoch neue Maßnahmen zur Unterstützung kleiner und "
          "mittlerer Unternehmen beschlossen. Sie sollen vor allem Betrieben auf dem Land helfen.")
RUSSIAN = ("В Москве открылась крупнейшая в стране выставка современного искусства. Организаторы "
           "ожидают более ста тысяч посетителей за первый месяц работы.")
TRADITIONAL = ("台北市政府今天宣布，將在明年擴建捷運路線，預計完工後每日可服務超過十萬名乘客，"
               "並減少市區的交通壅塞。")


def _article(project: Path, name: str, front: str, body: str) -> None:
    (project / "sources" / "articles" / f"{name}.md").write_text(
        f"---\n{front}\n---\n\n{body}\n", encoding="utf-8")


def _entries(path: Path) -> list[feedparser.FeedParserDict]:
    return list(assert_valid_atom(path).entries)


def _lang(entry: feedparser.FeedParserDict) -> str | None:
    language: str | None = entry.title_detail.language
    return language


def test_the_readme_example_has_a_chinese_and_an_english_variant(project: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```markdown\n(.*?)```", readme, re.DOTALL)
    assert example is not None
    (project / "sources" / "articles" / "example.md").write_text(example.group(1),
                                                                 encoding="utf-8")
    build(load_config(project), fetch=False)
    out = project / "output"
    [zh] = _entries(out / "lang" / "zh.atom")
    [en] = _entries(out / "lang" / "en.atom")
    assert zh.title == "新型储能电站在西北并网发电" and "中文正文" in zh.content[0].value
    assert en.title == "A new grid-scale storage plant goes online in the north-west"
    assert "English summary" in en.content[0].value and "中文" not in en.content[0].value


def test_languages_not_configured_keep_their_own_and_get_no_language_feed(project: Path) -> None:
    _article(project, "de", "title: Neue Hilfen für kleine Betriebe\ndate: 2025-09-01\ntags: [news]",
             GERMAN)
    _article(project, "ru", "title: Выставка современного искусства\ndate: 2025-09-02\n"
                            "tags: [news]", RUSSIAN)
    _article(project, "en", "title: Storage plant joins the grid\ndate: 2025-09-03\ntags: [news]",
             "The new storage plant joined the grid this spring and supplies power at peak hours.")
    build(load_config(project), fetch=False)
    out = project / "output"
    feeds = assert_valid_output(out)
    assert sorted(feeds) == ["all.atom", "lang/en.atom", "tags/news.atom"]
    for name in ("all.atom", "tags/news.atom"):
        assert {e.title: _lang(e) for e in feeds[name].entries} == {
            "Neue Hilfen für kleine Betriebe": "de", "Выставка современного искусства": "ru",
            "Storage plant joins the grid": "en"}, name
    assert [e.title for e in feeds["lang/en.atom"].entries] == ["Storage plant joins the grid"]


def test_a_traditional_translation_keeps_its_id(project: Path) -> None:
    _article(project, "pair", "title: Taipei metro to expand\ndate: 2025-09-01",
             "Taipei will extend its metro lines next year, serving a hundred thousand riders a "
             f"day.\n\n---\n\n{TRADITIONAL}")
    build(load_config(project), fetch=False)
    [zh] = _entries(project / "output" / "lang" / "zh.atom")
    assert _lang(zh) == "zh-Hant"
    assert zh.id == "tag:127.0.0.1,2024:pair/zh"  # as when it was filed as plain zh


def test_traditional_chinese_says_so_and_is_in_the_chinese_feed(project: Path) -> None:
    _article(project, "hant", "title: 台北捷運明年擴建\ndate: 2025-09-01", TRADITIONAL)
    _article(project, "hans", "title: 新型储能电站在西北并网发电\ndate: 2025-09-02",
             "这座新建的储能电站今年春天在西北地区正式并网，可以在用电高峰时段提供电力。")
    build(load_config(project), fetch=False)
    out = project / "output"
    zh = assert_valid_atom(out / "lang" / "zh.atom")
    assert zh.feed.language == "zh"
    # The feed says zh; the traditional entry says its own script.
    assert {e.title: _lang(e) for e in zh.entries} == {
        "台北捷運明年擴建": "zh-Hant", "新型储能电站在西北并网发电": "zh"}
    assert {e.title: _lang(e) for e in _entries(out / "all.atom")} == {
        "台北捷運明年擴建": "zh-Hant", "新型储能电站在西北并网发电": "zh"}


HEADED = """\
[原文链接](https://news.example.org/storage)

## 中文

西北地区一座新型储能电站今天正式并网发电，可在用电高峰时段向电网输送电力。

## English

### Storage plant joins the north-western grid

A new grid-scale storage plant went online in the north-west today and will feed the grid at peak
hours.
"""


def test_an_article_whose_languages_are_introduced_by_headings_is_split(project: Path) -> None:
    _article(project, "headed", "title: 新型储能电站在西北并网发电\ndate: 2025-09-01", HEADED)
    build(load_config(project), fetch=False)
    out = project / "output"
    [zh] = _entries(out / "lang" / "zh.atom")
    [en] = _entries(out / "lang" / "en.atom")
    assert zh.title == "新型储能电站在西北并网发电"
    # Nothing in the article is an English title: the English part's own heading is.
    assert en.title == "Storage plant joins the north-western grid"
    assert "储能" not in en.content[0].value and "grid-scale" in en.content[0].value
    # Headings that only name a language are labels, not content.
    assert "中文</h2>" not in zh.content[0].value and "English</h2>" not in en.content[0].value
    assert zh.id == "tag:127.0.0.1,2024:headed" and en.id == "tag:127.0.0.1,2024:headed/en"


def test_a_lone_chinese_source_label_is_no_chinese_part(project: Path) -> None:
    body = ("[原文链接](https://news.example.org/a)\n\n---\n\nThe new storage plant joined the "
            "grid this spring and supplies power at peak hours.\n")
    entry = parse_article(f"---\ntitle: Storage\ndate: 2025-09-01\n---\n{body}".encode(),
                          "a.md", "a", load_config(project))
    assert entry is not None
    assert entry.languages == ("en",)
    assert entry.link == "https://news.example.org/a"


def test_headings_within_one_language_leave_the_article_whole(project: Path) -> None:
    body = ("## First part\n\nThe new storage plant joined the grid this spring and supplies "
            "power.\n\n## Second part\n\nIt stores enough energy for a small town for a day.\n")
    entry = parse_article(f"---\ntitle: Storage\ndate: 2025-09-01\n---\n{body}".encode(),
                          "a.md", "a", load_config(project))
    assert entry is not None
    [variant] = entry.variants
    assert (variant.lang, variant.title) == ("en", "Storage")
    assert "<h2>First part</h2>" in variant.content_html and "<hr" not in variant.content_html


def test_a_variant_without_a_title_in_its_language_gets_its_first_sentence(project: Path) -> None:
    long_sentence = ("The regional grid operator confirmed on Tuesday that the newly built storage "
                     "plant in the north-west has completed its final round of safety tests. It "
                     "will open next week.")
    _article(project, "mixed", "title: 储能电站通过安全测试\ndate: 2025-09-01",
             "西北地区新建的储能电站已经完成最后一轮安全测试，预计下周投入运行。\n\n---\n\n"
             f"**Summary**\n\n{long_sentence}")
    build(load_config(project), fetch=False)
    [en] = _entries(project / "output" / "lang" / "en.atom")
    assert en.title == ("The regional grid operator confirmed on Tuesday that the newly built "
                        "storage…")
    assert len(en.title) <= TITLE_CHARS


@pytest.mark.parametrize(("text", "expected"), [
    ("Short enough.", "Short enough."),
    (" ".join(["word"] * 30), " ".join(["word"] * 15) + "…"),  # at a space, never mid-word
    ("长" * 100, "长" * 79 + "…"),  # written without spaces: at a character
])
def test_shorten_cuts_at_a_boundary(text: str, expected: str) -> None:
    assert shorten(text) == expected
    assert len(shorten(text)) <= TITLE_CHARS


def test_derive_title_skips_labels() -> None:
    assert derive_title("<p><strong>Summary</strong></p><p>Plants open. More later.</p>") == (
        "Plants open")
    assert derive_title("<h2>English</h2><p>x</p><h3>Real heading</h3>") == "Real heading"
    assert derive_title("<p>Source Link</p>") is None


def _rss(name: str, items: list[tuple[str, str, str]], *, lang: str) -> str:
    body = "".join(
        f"<item{attrs}><guid>{name}-{n}</guid><title>{escape(title)}</title>"
        f"<link>http://example.com/{name}/{n}</link>"
        f"<description>{escape('<p>' + escape(text) + '</p>')}</description></item>"
        for n, (title, text, attrs) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{name}</title><link>http://example.com/{name}</link>"
            f"<language>{lang}</language>{body}</channel></rss>")


def _atom(name: str, items: list[tuple[str, str, str]], *, lang: str) -> str:
    body = "".join(
        f"<entry{attrs}><id>urn:{name}:{n}</id><title>{escape(title)}</title>"
        f'<link href="http://example.com/{name}/{n}"/><updated>2025-09-0{n + 1}T00:00:00Z</updated>'
        f"<content>{escape(text)}</content></entry>"
        for n, (title, text, attrs) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            f'xml:lang="{lang}"><id>urn:{name}</id><title>{name}</title>'
            f"<updated>2025-09-09T00:00:00Z</updated>{body}</feed>")


CHINESE = ("国产大模型发布新版本", "新版本在推理速度上有明显提升，在多个公开评测中取得了领先成绩，"
           "开发者可以免费试用。")
ENGLISH = ("Compilers get faster", "A new release halves build times for large projects and "
           "improves error messages for beginners.")


def test_reliable_detection_beats_a_feed_level_declaration(
    project: Path, feed_server: FeedServer
) -> None:
    urls = [
        # The channel says en for everything; one item is Chinese.
        feed_server.route("/rss.xml", Response(body=_rss("rss", [(*CHINESE, ""), (*ENGLISH, "")],
                                                         lang="en"),
                                               content_type="application/rss+xml")),
        # The feed says en; one entry says zh-TW itself, one is short and keeps en.
        feed_server.route("/atom.xml", Response(body=_atom("atom", [
            ("台北捷運明年擴建", TRADITIONAL, ' xml:lang="zh-TW"'),
            ("発表", "短い", "")], lang="en"))),
        # links.toml's lang wins over everything.
        feed_server.route("/forced.xml", Response(body=_rss("forced", [(*CHINESE, "")], lang="zh"),
                                                  content_type="application/rss+xml")),
    ]
    (project / "sources" / "links.toml").write_text(
        "".join(f'[[source]]\nurl = "{u}"\n\n' for u in urls[:2])
        + f'[[source]]\nurl = "{urls[2]}"\nlang = "ja"\n', encoding="utf-8")
    build(load_config(project), settings=FAST)
    out = project / "output"
    langs = {(e.link, _lang(e)) for e in _entries(out / "all.atom")}
    assert langs == {
        ("http://example.com/rss/0", "zh"), ("http://example.com/rss/1", "en"),
        ("http://example.com/atom/0", "zh-TW"), ("http://example.com/atom/1", "en"),
        ("http://example.com/forced/0", "ja"),
    }
    zh_links = {e.link for e in _entries(out / "lang" / "zh.atom")}
    assert zh_links == {"http://example.com/rss/0", "http://example.com/atom/0"}
    assert not (out / "lang" / "ja.atom").exists()
