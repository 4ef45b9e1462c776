"""One article file → one entry: front matter, Markdown, languages (pure).

`parse_article` turns a file's bytes into an Entry or raises ArticleError
naming the line to fix. It holds the heavy parsers (YAML, cmark, lxml, the
language detector), so a rebuild with nothing to parse never imports them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from html import escape as html_escape
from typing import Any
from zoneinfo import ZoneInfo

import cmarkgfm
import frontmatter.default_handlers
import lxml.etree
import lxml.html
import yaml
from cmarkgfm.cmark import Options

from ..config import Config
from ..errors import ArticleError
from ..model import ArticleHead, Entry, Variant
from ..text.lang import MIN_LETTERS, detect_language, letter_count, same_language, script_language
from ..text.links import absolute_url, iri_to_uri, tag_specific
from ..text.sanitise import clean_text, sanitise_html

# Link texts that mark "the original article" in the body of a digest.
SOURCE_LINK_LABELS = frozenset(
    label.casefold()
    for label in ("原文链接", "原文", "来源", "Source Link", "Source", "Original", "Original Article")
)

_KNOWN_KEYS = frozenset(
    {"title", "date", "description", "tags", "author", "authors", "id", "slug", "lang",
     "updated", "link", "draft", "category", "categories"}
)
# A BCP 47 language tag as `xml:lang` accepts it: a 2-3 letter language,
# then subtags of 1-8 letters or digits (script, region, variant).
_LANG_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")
_LANG_KEY = re.compile(r"^(title|description)_([a-z]{2,3}(?:-[a-z0-9]+)?)$", re.IGNORECASE)



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


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader when present (yaml.SafeLoader's rules, in C).

    PyYAML builds a date from any `dddd-d-d` scalar and lets Python's
    ValueError out for one that is no date (`0000-0-0`); that is bad input
    like any other, so it becomes a YAML error that knows its line.
    """


def _yaml_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a date ({exc})", node.start_mark) from exc


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _yaml_timestamp)
# Raw HTML is kept by the Markdown renderer and removed by the sanitiser,
# which knows the allow-list; GitHub's extensions add tables, strikethrough
# and bare-URL links.
_MARKDOWN_OPTIONS = Options.CMARK_OPT_UNSAFE
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
    """`parse_article` with the head its front matter gave (see `parse_head`)."""
    front = _front_matter(data, path, rel, config)
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
    )


def parse_head(data: bytes, path: str, rel: str, config: Config) -> ArticleHead | None:
    """What the front matter of one article file says of its place in the feeds; None for a draft.

    Every problem `parse_article` would report is found here already (the
    body cannot be wrong, only the front matter), so a file whose body is
    never rendered is still checked. Raises ArticleError.
    """
    front = _front_matter(data, path, rel, config)
    return None if front is None else front.head


@dataclass(frozen=True)
class _Front:
    head: ArticleHead
    title: str
    description: str | None
    updated: datetime
    per_lang: Mapping[tuple[str, str], str]
    link: str | None
    body: str


def _front_matter(data: bytes, path: str, rel: str, config: Config) -> _Front | None:
    """The checked front matter of a file's bytes and the body after it; None for a draft."""
    text = _decode(data, path)
    handler = frontmatter.default_handlers.YAMLHandler()
    if not handler.detect(text):
        raise ArticleError(path, 1, "no front matter: the file must start with a '---' line")
    try:
        fm_text, body = handler.split(text)
    except ValueError as exc:
        raise ArticleError(path, 1, "front matter is not closed by a '---' line") from exc
    try:
        meta = yaml.load(fm_text, Loader=_YamlLoader)  # a safe loader
    except yaml.YAMLError as exc:
        # The context mark is where the broken construct starts (the line a
        # person must fix); the problem mark is where the parser gave up.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        # The front-matter text starts on the opening '---' line itself (with
        # the rest of that line), so the mark's 0-based line is the file's 1-based one.
        if mark is not None:
            line = mark.line + 1
        elif isinstance(exc, yaml.reader.ReaderError):
            # A character YAML refuses (DEL, say) has no mark, only its place in the text.
            line = fm_text.count("\n", 0, exc.position) + 1
        else:
            line = 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ArticleError(path, line, f"front matter is not valid YAML: {problem}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleError(path, 2, "front matter must be a mapping of keys to values")
    meta = {str(k): v for k, v in meta.items()}

    def fail(key: str, reason: str) -> ArticleError:
        return ArticleError(path, key_line(text, (key,)), reason)

    if meta.get("draft") is True:
        return None
    title = _text_field(meta, "title", fail)
    if not title:
        raise ArticleError(path, 1 if "title" not in meta else key_line(text, ("title",)),
                           "missing required 'title'")
    if "date" not in meta or meta["date"] is None:
        raise ArticleError(path, 1, "missing required 'date'")
    published = _to_datetime(meta["date"], config.tz, lambda r: fail("date", r))
    updated = published
    if meta.get("updated") is not None:
        updated = _to_datetime(meta["updated"], config.tz, lambda r: fail("updated", r))
    description = _text_field(meta, "description", fail)
    tags = _tags(meta, config, fail)
    authors = _authors(meta, fail) or (config.author,)
    lang = _text_field(meta, "lang", fail)
    if lang is not None:
        lang = lang.lower().replace("_", "-")
        if not _LANG_TAG.match(lang):
            raise fail("lang", f"'lang' must be a language code such as 'en' or 'zh-hant', "
                               f"not {lang!r}")
    link = _text_field(meta, "link", fail)
    if link is not None:
        given, link = link, absolute_url(link, None)
        if link is None:
            raise fail("link", f"'link' must be an absolute http(s) URL, not {given!r}")
    slug = _text_field(meta, "id", fail) or _text_field(meta, "slug", fail) or rel
    per_lang = {
        (m.group(1).lower(), m.group(2).lower()): clean_text(str(v)).strip()
        for k, v in meta.items()
        if (m := _LANG_KEY.match(k)) and v is not None
    }
    head = ArticleHead(_entry_id(slug, config), published, tags, authors, lang)
    return _Front(head, title, description, updated, per_lang, link, body)


def _decode(data: bytes, path: str) -> str:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ArticleError(path, line, "binary content (NUL byte): not a text article")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArticleError(path, line, f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x})") from exc
    return clean_text(text.removeprefix("\ufeff"))


def key_line(text: str, keys: Iterable[str]) -> int:
    """The line of the first front-matter line that sets one of `keys`, else 1."""
    wanted = tuple(keys)
    for number, line in enumerate(text.splitlines()[1:], 2):
        if line.strip() in ("---", "..."):
            break
        name = line.split(":", 1)[0].strip()
        if ":" in line and name in wanted:
            return number
    return 1


def _text_field(meta: Mapping[str, Any], key: str, fail: Any) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        raise fail(key, f"'{key}' must be text, not a {type(value).__name__}")
    if isinstance(value, bool):
        raise fail(key, f"'{key}' must be text, not {value!r}")
    return clean_text(str(value)).strip() or None


def _tags(meta: Mapping[str, Any], config: Config, fail: Any) -> tuple[str, ...]:
    raw: Any = None
    key = "tags"
    for key in ("tags", "categories", "category"):
        if meta.get(key) is not None:
            raw = meta[key]
            break
    if raw is None:
        return ()
    if isinstance(raw, str):
        items: list[Any] = raw.split(",")
    elif isinstance(raw, list):
        items = raw
    else:
        raise fail(key, f"'{key}' must be a list of tags, not a {type(raw).__name__}")
    return normalise_tags(items, config.tag_aliases, lambda item: fail(
        key, f"'{key}' must hold text tags, not {item!r}"))


def normalise_tags(items: Sequence[Any], aliases: Mapping[str, str], fail: Any = None) -> tuple[
        str, ...]:
    """Tags case-folded, stripped, aliased and de-duplicated in first-seen order."""
    tags: list[str] = []
    for item in items:
        if isinstance(item, (list, dict)) or item is None:
            if fail is not None:
                raise fail(item)
            continue
        tag = " ".join(clean_text(str(item)).split()).casefold()
        tag = aliases.get(tag, tag)
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _authors(meta: Mapping[str, Any], fail: Any) -> tuple[str, ...]:
    key = "authors" if meta.get("authors") is not None else "author"
    value = meta.get(key)
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in values:
        if isinstance(item, (list, dict, bool)) or item is None:
            raise fail(key, f"'{key}' must be a name or a list of names, not {item!r}")
        name = clean_text(str(item)).strip()
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _to_datetime(value: Any, tz: ZoneInfo, fail: Any) -> datetime:
    """An aware UTC datetime from a YAML value; naive times are in the site's zone."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value.strip())
        except ValueError:
            raise fail(f"date {value!r} is not a date (expected e.g. 2025-03-14T08:30:00Z)") from None
    else:
        raise fail(f"date {value!r} is not a date (expected e.g. 2025-03-14T08:30:00Z)")
    if result.tzinfo is None:
        result = result.replace(tzinfo=tz)
    try:
        return result.astimezone(UTC)
    except (OverflowError, ValueError):
        raise fail(f"date {value!r} is out of range") from None


def _entry_id(slug: str, config: Config) -> str:
    """A stable URI for an article: its own id if that is a URI, else a tag: URI (RFC 4151).

    Both are made valid URIs by percent-encoding (UTF-8) only what a URI or a
    tag: URI's specific part may not hold, non-ASCII above all; an id that
    was valid is kept byte-identical, since a changed id is a new entry to
    every reader.
    """
    if re.match(r"^[a-z][a-z0-9+.-]*:\S+$", slug, re.IGNORECASE) and not re.match(
            r"^\d", slug):
        return iri_to_uri(slug)
    specific = "/".join(
        part for part in re.sub(r"[^\w/.-]+", "-", slug.strip()).split("/")
        if part not in ("", ".", "..")
    ) or "article-" + hashlib.sha256(slug.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"tag:{config.authority},{config.id_date}:{tag_specific(specific)}"


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
    html = cmarkgfm.github_flavored_markdown_to_html(body, options=_MARKDOWN_OPTIONS)
    if not html.strip():
        return [], None
    root = lxml.html.fragment_fromstring(html, create_parent="div")
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
            rendered = lead + "".join(lxml.html.tostring(el, encoding="unicode") for el in part)
            lead = ""
            sections.append(_Section(sanitise_html(rendered, base_url), text))
    return sections, _source_link(root)


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
    if element.tag != "pre" and element.find(".//code") is None:
        return str(element.text_content())  # the common case, and cheaper than XPath
    return "".join(str(t) for t in _PROSE_TEXT(element))


def _source_link(root: Any) -> str | None:
    """The first link labelled as the original article, e.g. `[原文链接](URL)`."""
    for anchor in root.iter("a"):
        label = " ".join(anchor.text_content().split()).casefold()
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
    """`title_<lang>` or `description_<lang>` for a variant: its exact language, else its language's."""
    lowered = lang.lower()
    if (key, lowered) in per_lang:
        return per_lang[(key, lowered)]
    primary = lowered.split("-", 1)[0]
    return per_lang.get((key, primary))


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


