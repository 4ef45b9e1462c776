"""One article file → one entry: front matter, Markdown, languages (pure).

`parse_article` turns a file's bytes into an Entry or raises ArticleError
naming the line to fix. It holds the heavy parsers (YAML, cmark, lxml, the
language detector), so a rebuild with nothing to parse never imports them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape as html_escape
from typing import Any

import cmarkgfm
import lxml.etree
import lxml.html
from cmarkgfm.cmark import Options

from ..config import Config
from ..model import ArticleHead, Entry, Variant
from ..text.lang import MIN_LETTERS, detect_language, letter_count, same_language, script_language
from ..text.links import absolute_url
from ..text.sanitise import sanitise_html
from .front import read_front

# Link texts that mark "the original article" in the body of a digest.
SOURCE_LINK_LABELS = frozenset(
    label.casefold()
    for label in ("原文链接", "原文", "来源", "Source Link", "Source", "Original", "Original Article")
)




# Headings that only name the language of what follows ("## 中文", "## English"):
# labels, not content. When the body is split at them they are dropped, and
# they never become a title. "Summary" and the like say what follows, not in
# which language, so they stay in the text, but are no title either.
LANGUAGE_LABELS = frozenset(
    label.casefold()
    for label in ("中文", "简体中文", "簡體中文", "繁體中文", "繁体中文", "汉语", "漢語", "华语",
                  "英文", "英语", "英語", "日文", "日语", "日本語", "韩文", "韩语", "한국어",
                  "Chinese", "Simplified Chinese", "Traditional Chinese", "English", "Japanese",
                  "Korean", "Deutsch", "German", "Français", "French", "Español", "Spanish",
                  "Русский", "Russian", "Italiano", "Italian", "Português", "Portuguese")
)
_NOT_TITLES = LANGUAGE_LABELS | SOURCE_LINK_LABELS | frozenset(
    label.casefold() for label in ("Summary", "摘要", "概要", "总结", "總結", "Abstract", "TL;DR",
                                   "TLDR", "Overview", "Key points", "要点", "要點"))
# A variant's own title, when it has to be made from its text: at most this many characters.
TITLE_CHARS = 80
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s|(?<=[。！？])")


@dataclass(frozen=True)
class _Section:
    html: str
    text: str


# Raw HTML is kept by the Markdown renderer and removed by the sanitiser,
# which knows the allow-list; GitHub's extensions add tables, strikethrough
# and bare-URL links. Not GitHub's `<pre lang="python">` (which cmarkgfm's
# own GitHub renderer forces): `lang` names the human language of a text,
# and the W3C HTML checker refuses a programming language's name there.
_MARKDOWN_OPTIONS = Options.CMARK_OPT_UNSAFE
_MARKDOWN_EXTENSIONS = ("table", "autolink", "tagfilter", "strikethrough", "tasklist")
# The words of a section, for detecting its language: code is not prose.
_PROSE_TEXT = lxml.etree.XPath("descendant-or-self::text()[not(ancestor::pre or ancestor::code)]")



def parse_article(data: bytes, path: str, rel: str, config: Config) -> Entry | None:
    """The entry for one article file's bytes, or None for a draft.

    `path` is how messages name the file; `rel` (its path below the articles
    directory, without suffix) is the default slug. Raises ArticleError.
    """
    parsed = read_article(data, path, rel, config)
    return None if parsed is None else parsed[1]


def read_article(data: bytes, path: str, rel: str, config: Config) -> tuple[ArticleHead, Entry] | None:
    """`parse_article` with the head its front matter gave (see `front.parse_head`)."""
    front = read_front(data, path, rel, config)
    if front is None:
        return None
    head = front.head
    sections, source_link = _sections(front.body, config.base_url,
                                      None if head.lang is not None else config.languages)
    variants = _variants(sections, front.title, front.description, front.per_lang, head.lang,
                         config.languages)
    return head, Entry(
        id=head.id,
        variants=variants,
        updated=front.updated,
        published=head.sort_time,
        authors=head.authors,
        tags=head.tags,
        link=front.link or source_link,
        origin=path,
        enclosures=front.enclosures,
        image=front.image,
    )


def _sections(body: str, base_url: str, languages: Sequence[str] | None
              ) -> tuple[list[_Section], str | None]:
    """The body split at top-level thematic breaks, and its first source link.

    cmark (GitHub's CommonMark, in C) renders the whole body; the HTML's
    top-level `<hr>` elements are the breaks between language sections. Each
    section comes rendered (sanitised, with absolute URLs) and as prose text.
    With `languages` (the body's language is to be detected), a section is
    also split at its top-level headings when the parts they introduce are
    in different languages (see `_split_at_headings`).
    """
    html = cmarkgfm.markdown_to_html_with_extensions(
        body, options=_MARKDOWN_OPTIONS, extensions=list(_MARKDOWN_EXTENSIONS))
    if not html.strip():
        return [], None
    root = _fragment(html)
    groups: list[list[Any]] = [[]]
    for child in root:
        if child.tag == "hr":
            groups.append([])
        elif isinstance(child.tag, str):  # not a comment or processing instruction
            groups[-1].append(child)
    # Text before the first element (rare: a raw HTML block) opens the first section.
    lead = html_escape(root.text or "")
    sections = []
    for group in groups:
        if not group:
            continue
        parts = _split_at_headings(group, languages) if languages and not lead else None
        for part in parts or [group]:
            text = "".join(_prose(el) for el in part)
            rendered = lead + _html_of(part)
            lead = ""
            sections.append(_Section(sanitise_html(rendered, base_url), text))
    return sections, _source_link(root)


def _fragment(html: str) -> Any:
    """The element holding `html`'s top-level nodes and leading text, as
    `lxml.html.fragment_fromstring(html, create_parent="div")` gives them, without
    that function's moving every node into a new `div` (a third of the parse's time)
    and without its failures on raw HTML that libxml2 reads as more than one body.

    The nodes stay in the parsed document's `body`, which is returned;
    nothing here looks at the parent's own tag. Text before the first
    element stays the body's text (lxml refused to set text holding a
    control character, `&#1;`, and stopped the whole build). A raw `</body>`
    … `<body>` makes libxml2 start a second body: its text and nodes are
    moved to the end of the first, where a browser shows them.
    """
    document = lxml.etree.fromstring(html if _FULL_HTML(html) else f"<html><body>{html}</body></html>",
                                     lxml.html.html_parser)
    bodies = [] if document is None else [child for child in document if child.tag == "body"]
    if not bodies:
        return lxml.html.Element("div")
    body = bodies[0]
    if len(bodies) > 1:
        # What follows the first body, in order: its tail, then each node after
        # it (a later body's text, nodes and tail; anything else as it is).
        _add_text(body, body.tail)
        for node in list(document)[document.index(body) + 1 :]:
            if node.tag == "body":
                _add_text(body, node.text)
                body.extend(list(node))
                _add_text(body, node.tail)
            else:
                body.append(node)  # with its tail
    if not (body.text and body.text.strip()):
        body.text = None  # a blank lead is dropped, as lxml drops it
    return body


def _add_text(parent: Any, text: str | None) -> None:
    """`text` after the last node in `parent`."""
    if not text:
        return
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text


# lxml's own rule (`lxml.html._looks_like_full_html_unicode`) for text it parses as a
# document of its own rather than as a fragment to wrap in one.
_FULL_HTML = re.compile(r"^\s*<(?:html|!doctype)", re.IGNORECASE).match
# What `lxml.html.tostring` removes from what libxml2 wrote (a `<meta>` naming a charset).
_CONTENT_TYPE_META = '<meta http-equiv="Content-Type"'


def _html_of(elements: Sequence[Any]) -> str:
    """`elements` as HTML, each followed by its tail: what `lxml.html.tostring` writes of each.

    libxml2 writes them; lxml.html's wrapper, called per element, would
    also search each for a `<meta>` to remove, which is done here only
    when there is one.
    """
    html = "".join([lxml.etree.tostring(el, method="html", encoding="unicode") for el in elements])
    if _CONTENT_TYPE_META not in html:
        return html
    return "".join(lxml.html.tostring(el, encoding="unicode") for el in elements)


def _split_at_headings(group: Sequence[Any], languages: Sequence[str]) -> list[list[Any]] | None:
    """A section's elements cut at its top-level headings, if that separates languages; else None.

    Digests also introduce their language parts with headings (`## 中文` …
    `## English` …) instead of thematic breaks. The section is cut before
    each heading of its highest level; parts too short to judge join the
    next one (the last, the one before), and neighbours in one language join
    again. Only when two languages remain is the cut made, and then headings
    that merely name a language are dropped. A section whose headings all
    introduce one language is left whole, so its output does not change.
    """
    top = min((el.tag for el in group if el.tag in _HEADINGS), default=None)
    if top is None:
        return None
    pieces: list[list[Any]] = [[]]
    for el in group:
        if el.tag == top and pieces[-1]:
            pieces.append([])
        pieces[-1].append(el)
    if len(pieces) < 2:
        return None
    judged: list[tuple[str | None, list[Any]]] = []
    for piece in pieces:
        content = [el for el in piece if not _is_language_label(el)]
        text = "".join(_prose(el) for el in content)
        lang = detect_language(text, languages) if _judgeable(text) else None
        judged.append((lang, content))
    if len({lang for lang, _ in judged if lang is not None}) < 2:
        return None
    parts: list[tuple[str | None, list[Any]]] = []
    pending: list[Any] = []
    for lang, content in judged:
        if lang is None:
            pending += content
        elif parts and parts[-1][0] == lang:
            parts[-1][1].extend([*pending, *content])
            pending = []
        else:
            parts.append((lang, [*pending, *content]))
            pending = []
    parts[-1][1].extend(pending)
    return [content for _, content in parts if content]


def _judgeable(text: str) -> bool:
    """Whether a part's language can be told: enough letters, or a script that names it.

    A short line of Chinese (the README's "中文正文……") is still Chinese; a
    short Latin one ("[Source](…)") could be many languages and joins its
    neighbour instead, as does a lone label such as "原文链接".
    """
    if letter_count(text) >= MIN_LETTERS:
        return True
    return script_language(text) is not None and _label(text) not in _NOT_TITLES


def _is_language_label(element: Any) -> bool:
    """Whether `element` is a heading that only names a language, such as `## English`."""
    return (element.tag in _HEADINGS
            and _label(element.text_content()) in LANGUAGE_LABELS)


def _label(text: str) -> str:
    """`text` as compared with labels: spaces collapsed, case folded, edge punctuation gone."""
    return " ".join(text.split()).strip(" :：*#-—·•|()（）[]【】").casefold()

def _prose(element: Any) -> str:
    """The words of `element` without its code, which says nothing of its language."""
    if element.tag != "pre" and next(element.iterdescendants("code"), None) is None:
        return _text(element)  # the common case, and cheaper than the XPath below
    return "".join(str(t) for t in _PROSE_TEXT(element))


def _text(element: Any) -> str:
    """`element.text_content()`, written by libxml2 directly: the text of every text
    node below it (`xmlNodeGetContent`, which the XPath `string()` behind
    `text_content` also calls), without the Python method and XPath around it."""
    return str(lxml.etree.tostring(element, method="text", encoding="unicode", with_tail=False))


def _source_link(root: Any) -> str | None:
    """The first link labelled as the original article, e.g. `[原文链接](URL)`."""
    for anchor in root.iter("a"):
        label = " ".join(_text(anchor).split()).casefold()
        url = str(anchor.get("href", "")).strip()
        if label in SOURCE_LINK_LABELS and (absolute := absolute_url(url, None)) is not None:
            return absolute  # a link that leads nowhere (`http://:!`) is no source
    return None


def _variants(
    sections: Sequence[_Section],
    title: str,
    description: str | None,
    per_lang: Mapping[tuple[str, str], str],
    lang: str | None,
    languages: Sequence[str],
) -> tuple[Variant, ...]:
    """One variant per language of the body, in order of first appearance."""
    langs = list(languages)
    if lang is not None and lang not in langs:
        langs.append(lang)
    parts: list[tuple[str, str]] = []  # (lang, html) per section, in order
    if lang is not None:
        parts = [(lang, "\n<hr />\n".join(s.html for s in sections))]
    else:
        pending: list[str] = []  # sections too short to judge join their neighbour
        for section in sections:
            if not _judgeable(section.text):
                if parts:
                    parts[-1] = (parts[-1][0], parts[-1][1] + "\n<hr />\n" + section.html)
                else:
                    pending.append(section.html)
                continue
            detected = detect_language(section.text, langs)
            html = "\n<hr />\n".join([*pending, section.html])
            pending = []
            parts.append((detected, html))
        if pending or not parts:
            fallback = detect_language(title + "\n" + (description or ""), langs)
            parts.append((fallback, "\n<hr />\n".join(pending)))
    # Chinese parts whose characters did not show them traditional are taken
    # to be written like the rest of the article when another part is.
    if any(p == "zh-Hant" for p, _ in parts):
        parts = [("zh-Hant" if p == "zh" else p, html) for p, html in parts]
    merged: dict[str, list[str]] = {}
    for part_lang, html in parts:
        merged.setdefault(part_lang, []).append(html)
    single = len(merged) == 1
    # With a single variant the title and description are its own; detecting
    # their language is needed only to share them out among several.
    title_lang = None if single else detect_language(title, langs)
    desc_lang = None if single or not description else detect_language(description, langs)
    variants = []
    for variant_lang, htmls in merged.items():
        html = "\n<hr />\n".join(htmls)
        if single:
            fits = not _foreign_script(title, variant_lang)
        else:
            fits = title_lang is not None and same_language(title_lang, variant_lang)
        if fits:
            vtitle = title
        elif (own := _per_lang(per_lang, "title", variant_lang)) is not None:
            vtitle = own
        elif description and (same_language(desc_lang, variant_lang) if desc_lang is not None
                              else not _foreign_script(description, variant_lang)):
            vtitle = description
        else:
            # Nothing the article offers is in this language: the variant's
            # own first heading or sentence is, and a title in another
            # script would be unreadable to the readers of its feed.
            vtitle = derive_title(html) or title
        summary = _per_lang(per_lang, "description", variant_lang)
        if summary is None and description and (
                single or (desc_lang is not None and same_language(desc_lang, variant_lang))):
            summary = description
        variants.append(Variant(variant_lang, vtitle, html, summary))
    return tuple(variants)


def _per_lang(per_lang: Mapping[tuple[str, str], str], key: str, lang: str) -> str | None:
    """`title_<lang>` or `description_<lang>` for a variant: its exact language, else its language's.

    A blank one is as good as none: an empty `title_en` must not leave the
    English variant without a title.
    """
    lowered = lang.lower()
    primary = lowered.split("-", 1)[0]
    for found in (per_lang.get((key, lowered)), per_lang.get((key, primary))):
        if found is not None and found.strip():
            return found
    return None


def _foreign_script(title: str, lang: str) -> bool:
    """Whether `title` is written in a non-Latin script that `lang` is not written in.

    A Chinese title over an English text is unreadable to the readers of the
    English feed; a Latin one (a product name over a Chinese text) is not,
    and an author's choice is not second-guessed then.
    """
    script = script_language(title)
    return script is not None and not same_language(script, lang)


def derive_title(html: str) -> str | None:
    """A title made from a variant's own text: its first heading, else its first sentence.

    Labels (a heading naming a language, "Summary", a source link) are
    skipped. The result is cut to TITLE_CHARS characters at a word boundary
    (a character one in scripts written without spaces), with an ellipsis.
    """
    root = lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")
    blocks = [el for el in root.iter(*_HEADINGS, "p", "li", "blockquote", "td")
              if _label(el.text_content()) and _label(el.text_content()) not in _NOT_TITLES]
    heading = next((el for el in blocks if el.tag in _HEADINGS), None)
    if heading is not None:
        return shorten(" ".join(heading.text_content().split()))
    if not blocks:
        return None
    text = " ".join(blocks[0].text_content().split())
    # A title is not a sentence: its full stop goes.
    return shorten(_SENTENCE_END.split(text, maxsplit=1)[0].strip().rstrip("。.")) or None


def shorten(text: str, limit: int = TITLE_CHARS) -> str:
    """`text` of at most `limit` characters, cut at a word boundary with an ellipsis when longer."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Without a space in the second half the text is written without spaces
    # (Chinese, Japanese, Thai), where any character boundary is a boundary.
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:，、；：") + "…"


