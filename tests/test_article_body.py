"""An article's body: how it is cut into language variants, and the title, summary and link of each.

Called in-process through `parse_article`: a build parses articles in
worker processes, so these rules are stated here on the function itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.config import load_config
from feeds.local.article import TITLE_CHARS, derive_title, parse_article, shorten
from feeds.model import Entry, Variant

# The default site: languages zh and en, in that order.
CONFIG = load_config(Path(__file__).parent / "no-such-project")

ZH = "西北地区新建的储能电站已经完成最后一轮安全测试，预计下周投入运行。"
ZH2 = "这座电站可以在用电高峰时段向电网输送电力，缓解当地的供电紧张。"
EN = "The regional grid operator confirmed on Tuesday that the storage plant passed its tests."
EN2 = "It stores enough energy for a small town for a whole day."
HANT = "台北市政府今天宣布，將在明年擴建捷運路線，預計完工後每日可服務超過十萬名乘客。"
BREAK = "\n\n---\n\n"


def _entry(front: str, body: str) -> Entry:
    entry = parse_article(f"---\ndate: 2025-01-01\n{front}\n---\n{body}".encode(), "a.md", "a", CONFIG)
    assert entry is not None
    return entry


def _variants(front: str, body: str) -> dict[str, Variant]:
    return {v.lang: v for v in _entry(front, body).variants}


def _in_order(html: str, *texts: str) -> bool:
    """Whether `texts` all occur in `html`, each after the one before."""
    start = 0
    for text in texts:
        found = html.find(text, start)
        if found < 0:
            return False
        start = found + len(text)
    return True


# --- cutting at headings ---------------------------------------------------------------------

def test_headings_that_name_languages_cut_a_digest_and_are_dropped() -> None:
    entry = _entry("title: 储能电站", f"## 中文\n\n{ZH}\n\n## English\n\n{EN}\n")
    assert entry.languages == ("zh", "en")
    zh, en = entry.variants
    assert ZH in zh.content_html and EN not in zh.content_html
    assert EN in en.content_html and ZH not in en.content_html
    # A heading that only names the language is a label for the reader of both, not content.
    assert "<h2>" not in zh.content_html + en.content_html


def test_a_part_too_short_to_judge_joins_the_part_after_it() -> None:
    parts = _variants("title: 储能电站", f"## 中文\n\n{ZH}\n\n## Note\n\nShort.\n\n## English\n\n{EN}\n")
    assert "Short." not in parts["zh"].content_html
    assert _in_order(parts["en"].content_html, "<h2>Note</h2>", "Short.", EN)


def test_text_before_the_first_heading_too_short_to_judge_joins_the_first_part() -> None:
    parts = _variants("title: 储能电站", f"Intro.\n\n## 一\n\n{ZH}\n\n## English\n\n{EN}\n")
    assert set(parts) == {"zh", "en"}
    assert _in_order(parts["zh"].content_html, "Intro.", "<h2>一</h2>", ZH)
    assert "Intro." not in parts["en"].content_html


def test_a_short_last_part_joins_the_part_before_it() -> None:
    parts = _variants("title: 储能电站", f"## 中文\n\n{ZH}\n\n## English\n\n{EN}\n\n## End\n\nOk.\n")
    assert set(parts) == {"zh", "en"}
    assert _in_order(parts["en"].content_html, EN, "<h2>End</h2>", "Ok.")
    assert "Ok." not in parts["zh"].content_html
    # With more parts, it is still the one right before it.
    parts = _variants("title: 储能电站",
                      f"## 一\n\n{ZH}\n\n## English\n\n{EN}\n\n## 二\n\n{ZH2}\n\n## End\n\nOk.\n")
    assert _in_order(parts["zh"].content_html, ZH2, "<h2>End</h2>", "Ok.")
    assert "Ok." not in parts["en"].content_html


def test_short_parts_in_a_row_all_join_the_next_part() -> None:
    body = f"## 中文\n\n{ZH}\n\n## A\n\nOne.\n\n## B\n\nTwo.\n\n## English\n\n{EN}\n"
    parts = _variants("title: 储能电站", body)
    assert _in_order(parts["en"].content_html, "One.", "Two.", EN)


def test_a_short_part_between_two_of_one_language_stays_with_them() -> None:
    """Too short to judge means too short to start a language of its own."""
    body = f"## 一\n\n{ZH}\n\n## Note\n\nShort.\n\n## 二\n\n{ZH2}\n\n## English\n\n{EN}\n"
    parts = _variants("title: 储能电站", body)
    assert _in_order(parts["zh"].content_html, ZH, "Short.", ZH2)
    assert "<hr" not in parts["zh"].content_html
    assert "Short." not in parts["en"].content_html


def test_a_heading_cuts_but_a_paragraph_does_not() -> None:
    """A short line under a heading belongs to that heading's part, not to the next language."""
    body = f"## 一\n\n{ZH}\n\nSee below.\n\n## English\n\n{EN}\n"
    parts = _variants("title: 储能电站", body)
    assert _in_order(parts["zh"].content_html, ZH, "See below.")
    assert "See below." not in parts["en"].content_html


def test_neighbouring_parts_in_one_language_stay_one_variant_in_order() -> None:
    body = f"## 一\n\n{ZH}\n\n## 二\n\n{ZH2}\n\n## English\n\n{EN}\n\n### Details\n\n{EN2}\n"
    entry = _entry("title: 储能电站", body)
    assert entry.languages == ("zh", "en")
    zh, en = entry.variants
    # Headings that are not language labels are content and stay.
    assert _in_order(zh.content_html, "<h2>一</h2>", ZH, "<h2>二</h2>", ZH2)
    # Only the highest heading level cuts: the `###` stays inside the English part.
    assert EN not in zh.content_html and EN2 not in zh.content_html
    assert "<h3>Details</h3>" in en.content_html and EN2 in en.content_html
    # Parts of one language are one text, not sections apart.
    assert "<hr" not in zh.content_html
    # The English variant has no title in English but its own heading.
    assert en.title == "Details"


def test_a_body_with_a_declared_language_is_never_cut() -> None:
    """`lang:` says what the whole article is in; its headings are kept as written."""
    [variant] = _entry("title: Storage\nlang: en",
                       f"## English\n\n{EN}\n\n## 中文\n\n{ZH}\n").variants
    assert variant.lang == "en"
    assert "<h2>中文</h2>" in variant.content_html and ZH in variant.content_html


def test_a_thematic_break_cuts_too_and_a_short_section_joins_its_neighbour() -> None:
    body = f"Hi.{BREAK}{ZH}{BREAK}See below.{BREAK}{EN}{BREAK}Bye."
    parts = _variants("title: 储能电站", body)
    assert set(parts) == {"zh", "en"}
    # Before the first judged section: joins it; after one: joins that one.
    assert _in_order(parts["zh"].content_html, "Hi.", "<hr />", ZH, "<hr />", "See below.")
    assert _in_order(parts["en"].content_html, EN, "<hr />", "Bye.")
    assert "See below." not in parts["en"].content_html


def test_code_says_nothing_of_a_parts_language() -> None:
    """A Chinese paragraph above long English code is Chinese, and the code stays in its part."""
    code = "\n".join(f"    print('the storage plant passed every test number {n}')" for n in range(4))
    entry = _entry("title: 储能电站", f"{ZH}\n\n{code}\n\n说明：运行 `the storage plant passed` 即可。\n")
    [variant] = entry.variants
    assert variant.lang == "zh"
    assert "every test number 3" in variant.content_html


def test_code_does_not_count_toward_the_letters_of_a_part() -> None:
    """Without its code, `Run `make` or `cmake` again.` is too short to judge: it joins its neighbour."""
    parts = _variants("title: 储能电站", f"{ZH}{BREAK}Run `make` or `cmake` again.{BREAK}{EN}")
    assert _in_order(parts["zh"].content_html, ZH, "again.")
    assert "again." not in parts["en"].content_html


@pytest.mark.parametrize("code", [
    "```\n" + "# the storage plant passed every test and joined the grid\n" * 6 + "```",
    "<pre>\n" + "the storage plant passed every test and joined the grid\n" * 6 + "</pre>",
])
def test_a_code_block_says_nothing_of_the_language(code: str) -> None:
    [variant] = _entry("title: 储能电站", f"运行下面的命令即可。\n\n{code}\n").variants
    assert variant.lang == "zh"


A, B, C = ("The first part is long enough to be judged on its own words.",
           "The second part is also long enough to be judged on its own.",
           "A third part in English closes the article with a few words.")


def _html(*paragraphs: str) -> str:
    """Paragraphs as cmark renders them, one section each, with the thematic breaks between."""
    return "\n<hr />\n".join(f"<p>{p}</p>\n" for p in paragraphs)


@pytest.mark.parametrize(("front", "body", "expected"), [
    ("title: x", f"{A}\n\n{B}\n", {"en": f"<p>{A}</p>\n<p>{B}</p>\n"}),
    ("title: x", f"{A}{BREAK}{B}", {"en": _html(A, B)}),
    ("title: x\nlang: en", f"{A}{BREAK}{B}", {"en": _html(A, B)}),
    ("title: x", f"Hi.{BREAK}{A}{BREAK}Bye.", {"en": _html("Hi.", A, "Bye.")}),
    ("title: x", f"Hi.{BREAK}Bye.", {"en": _html("Hi.", "Bye.")}),
    ("title: x", f"{A}{BREAK}{ZH}{BREAK}{C}", {"en": _html(A, C), "zh": _html(ZH)}),
    # Breaks in a row (or one first) make no empty section, and lose nothing after them.
    ("title: x", f"***{BREAK}{A}{BREAK}***{BREAK}{B}", {"en": _html(A, B)}),
])
def test_sections_are_joined_by_a_thematic_break_and_nothing_else(
        front: str, body: str, expected: dict[str, str]) -> None:
    assert {lang: v.content_html for lang, v in _variants(front, body).items()} == expected


def test_two_short_paragraphs_are_still_too_short_to_judge() -> None:
    """A section's letters are its words: `Hello.` and `Bye.` together join their neighbour."""
    parts = _variants("title: 储能电站", f"{ZH}{BREAK}Hello.\n\nBye.{BREAK}{EN}")
    assert _in_order(parts["zh"].content_html, ZH, "Hello.", "Bye.")
    assert "Bye." not in parts["en"].content_html


def test_allowed_raw_html_is_kept() -> None:
    [variant] = _entry("title: x", "Water is H<sub>2</sub>O, as every reader of this page knows.\n").variants
    assert "H<sub>2</sub>O" in variant.content_html


def test_a_forbidden_character_in_text_before_the_first_element_is_dropped_alone() -> None:
    # `&#1;` in a raw HTML block, before any element: lxml refused the text
    # with its control character, and the whole build stopped.
    [variant] = _entry("title: x", "</div>\n&#1; lead\n<p>x</p>\n").variants
    assert _in_order(variant.content_html, "lead", "<p>x</p>")
    assert "\x01" not in variant.content_html


@pytest.mark.parametrize("body", ["<html>\n", "<!DOCTYPE html><html><head></head></html>\n"])
def test_raw_html_that_is_a_document_without_a_body_is_an_empty_text(body: str) -> None:
    # lxml's fragment parser asserted that there was one body: the whole build stopped.
    [variant] = _entry("title: x", body).variants
    assert variant.content_html == ""


@pytest.mark.parametrize("body", [
    "<p>a</p>\n</body>\nmiddle\n<body>\n<p>b</p>\n",
    "<html><body><p>a</p></body>middle<body><p>b</p></body></html>",
])
def test_raw_html_closing_and_opening_the_body_again_keeps_all_its_text(body: str) -> None:
    # libxml2 reads the second <body> as a second body element, which lxml's
    # fragment parser refused with an assertion that stopped the whole build.
    [variant] = _entry("title: x", body).variants
    assert _in_order(variant.content_html, "<p>a</p>", "middle", "<p>b</p>")


# --- the language when nothing can be judged --------------------------------------------------

@pytest.mark.parametrize(("front", "body", "lang"), [
    ("title: 新闻", "OK.\n", "zh"),
    ("title: 新闻", "", "zh"),
    ("title: News\ndescription: 新闻摘要", "OK.\n", "zh"),
    ("title: News", "OK.\n", "en"),
])
def test_a_body_too_short_to_judge_takes_the_language_of_its_title_and_description(
        front: str, body: str, lang: str) -> None:
    [variant] = _entry(front, body).variants
    assert variant.lang == lang
    assert ("OK." in variant.content_html) == bool(body)


# --- titles and summaries ---------------------------------------------------------------------

def test_a_title_in_another_script_than_the_only_variant_gives_way_to_its_first_sentence() -> None:
    [variant] = _entry("title: 储能电站", f"{EN}\n").variants
    assert variant.lang == "en"
    assert variant.title == shorten(EN.rstrip("."))


def test_a_latin_title_over_a_text_in_another_script_is_kept() -> None:
    """A product name over a Chinese text is the author's choice."""
    [variant] = _entry("title: Storage", f"{ZH}\n").variants
    assert (variant.lang, variant.title) == ("zh", "Storage")


def test_a_title_in_another_script_gives_way_to_a_description_in_the_variants_script() -> None:
    [variant] = _entry("title: 储能电站\ndescription: Storage plant passes its tests",
                       f"{EN}\n").variants
    assert variant.title == "Storage plant passes its tests"
    assert variant.summary == "Storage plant passes its tests"


def test_a_description_in_the_titles_script_is_no_title_for_a_variant_in_another() -> None:
    [variant] = _entry("title: 储能电站\ndescription: 储能电站通过测试", f"{EN}\n").variants
    assert variant.title == shorten(EN.rstrip("."))


def test_a_declared_language_takes_the_title_given_for_its_primary_language() -> None:
    """`lang: sr-latn-rs` with a Cyrillic title: the Latin `title_sr` is the one its readers can read."""
    [variant] = _entry("title: Изложба\ntitle_sr: Izložba\nlang: sr-latn-rs",
                       "Izložba savremene umetnosti je otvorena u Beogradu.\n").variants
    assert (variant.lang, variant.title) == ("sr-latn-rs", "Izložba")


@pytest.mark.parametrize("blank", ['""', '"  "'])
def test_a_blank_title_for_a_language_is_none(blank: str) -> None:
    """An empty `title_en` over a Greek title leaves the English variant its own sentence."""
    [variant] = _entry(f"title: Ͱ\ntitle_en: {blank}\nlang: en", f"{EN}\n").variants
    assert variant.title == shorten(EN.rstrip("."))
    [bare] = _entry(f"title: Ͱ\ntitle_en: {blank}\nlang: en", "").variants
    assert bare.title == "Ͱ"  # nothing else to call it


def test_the_description_of_a_single_variant_is_its_summary_whatever_its_language() -> None:
    [variant] = _entry("title: Storage\ndescription: 储能电站通过测试", f"{EN}\n").variants
    assert (variant.title, variant.summary) == ("Storage", "储能电站通过测试")


def test_a_description_is_the_summary_of_its_own_language_only() -> None:
    parts = _variants("title: 储能电站\ndescription: 储能电站通过安全测试", f"{ZH}{BREAK}{EN}")
    assert parts["zh"].summary == "储能电站通过安全测试"
    assert parts["en"].summary is None
    # Neither the Chinese title nor description fits the English variant: its own sentence does.
    assert parts["en"].title == shorten(EN.rstrip("."))


@pytest.mark.parametrize(("front", "title"), [
    ("title_zh: 臺北捷運擴建", "臺北捷運擴建"),  # the language's title serves each of its scripts
    ("title_zh: 台北捷运扩建\ntitle_zh-Hant: 臺北捷運擴建", "臺北捷運擴建"),  # the exact tag first
    ("TITLE_ZH-HANT: 臺北捷運擴建", "臺北捷運擴建"),  # keys in any case
])
def test_a_variant_takes_the_title_given_for_its_language(front: str, title: str) -> None:
    parts = _variants(f"title: Taipei metro to expand\n{front}", f"{EN}{BREAK}{HANT}")
    assert set(parts) == {"en", "zh-Hant"}
    assert parts["en"].title == "Taipei metro to expand"
    assert parts["zh-Hant"].title == title


def test_a_variant_takes_the_summary_given_for_its_language() -> None:
    parts = _variants("title: Storage\ndescription: Storage passes\ndescription_zh: 储能电站通过测试\n"
                      "description_fr: Centrale", f"{EN}{BREAK}{ZH}")
    assert parts["zh"].summary == "储能电站通过测试"
    assert parts["en"].summary == "Storage passes"
    # The English description is no title for the Chinese variant; its own sentence is.
    assert parts["zh"].title == ZH.rstrip("。")


def test_a_chinese_part_not_shown_traditional_joins_a_traditional_one() -> None:
    """An article is written in one script: its parts that could be either follow the one that shows."""
    entry = _entry("title: Storage", f"{EN}{BREAK}{HANT}{BREAK}{ZH}")
    assert entry.languages == ("en", "zh-Hant")
    hant = entry.variants[1]
    assert _in_order(hant.content_html, HANT, "<hr />", ZH)


# --- the source link --------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "link"), [
    ("[Home](https://a.example/) and [原文链接](https://b.example/x) then [Source](https://c.example/)",
     "https://b.example/x"),
    ("Read the [ORIGINAL   article](https://b.example/y).", "https://b.example/y"),
    ("[Home](https://a.example/) only.", None),
    ("[source](/relative) then [Source Link](https://b.example/z)", "https://b.example/z"),
    # Only a link is a link, whatever attribute another element carries.
    ('<span href="https://b.example/">Source</span>', None),
])
def test_the_first_link_labelled_as_the_original_is_the_entrys_link(body: str, link: str | None
                                                                     ) -> None:
    assert _entry("title: x", f"{EN}\n\n{body}\n").link == link


def test_the_front_matters_link_wins_over_a_source_link() -> None:
    entry = _entry("title: x\nlink: https://mine.example/a", f"{EN}\n\n[Source](https://b.example/)\n")
    assert entry.link == "https://mine.example/a"


# --- derived titles ---------------------------------------------------------------------------

@pytest.mark.parametrize(("html", "title"), [
    ("", None),
    ("<p>  </p>", None),
    ("<p>First sentence. Second one.</p><h3>A heading later</h3>", "A heading later"),
    ("<p>第一句话。第二句话。</p>", "第一句话"),
    ("<p>Is it? Yes.</p>", "Is it?"),
    ("<ul><li>Plants open. More.</li></ul>", "Plants open"),
    ("<blockquote>Quoted words. More.</blockquote>", "Quoted words"),
    ("<table><tr><td>Cell words. More.</td></tr></table>", "Cell words"),
    ("<p>摘要</p><p>TL;DR:</p><p>Real text.</p>", "Real text"),
    ("<p>Meet the new Model X.</p>", "Meet the new Model X"),  # only the full stop goes
    ("<h3>X</h3><p>More text.</p>", "X"),  # a heading is skipped for being a label, not for being short
])
def test_a_derived_title_is_the_first_heading_else_the_first_sentence(html: str, title: str | None
                                                                      ) -> None:
    assert derive_title(html) == title


@pytest.mark.parametrize(("text", "expected"), [
    ("a" * TITLE_CHARS, "a" * TITLE_CHARS),
    ("a" * (TITLE_CHARS + 1), "a" * (TITLE_CHARS - 1) + "…"),
    # A space past the middle is a word boundary to cut at ...
    ("a" * 41 + " " + "b" * 45, "a" * 41 + "…"),
    # ... one at the middle or before leaves too little: the cut is at a character.
    ("a" * 40 + " " + "b" * 45, ("a" * 40 + " " + "b" * 45)[: TITLE_CHARS - 1] + "…"),
    ("word, " * 20, ("word, " * 13).rstrip(", ") + "…"),
    ("a" * 70 + "X " + "b" * 20, "a" * 70 + "X…"),  # only punctuation goes before the ellipsis
])
def test_shorten_keeps_a_short_text_and_cuts_a_long_one_at_a_boundary(text: str, expected: str
                                                                      ) -> None:
    assert shorten(text) == expected
    assert len(shorten(text)) <= TITLE_CHARS


def test_shorten_takes_its_limit() -> None:
    assert shorten("one two three", 9) == "one two…"
    assert shorten("one two three", 13) == "one two three"


def test_a_fenced_code_block_keeps_its_code_and_gives_no_lang_to_its_pre() -> None:
    # GitHub's renderer writes `<pre lang="python">`; `lang` is a human language
    # there, and the W3C HTML checker refuses "python" (and "html", a reserved tag).
    [variant] = _entry("title: x\nlang: en",
                       "Some text.\n\n```python\nprint('a & b')\n```\n\n```html\n<b>x</b>\n```\n"
                       ).variants
    assert "lang=" not in variant.content_html
    assert _in_order(variant.content_html, "<pre><code>print('a &amp; b')",
                     "<pre><code>&lt;b&gt;x&lt;/b&gt;")
