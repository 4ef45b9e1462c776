"""Fetched bytes into a `ParsedFeed`: RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1 (pure).

XML is read as feedparser reads it: by the fast reader (`fastxml`, on
lxml) when the document is well-formed RSS 2.0, RSS 1.0 or Atom 1.0 it can
read exactly as feedparser would, else by feedparser itself, which copes
with the broken feeds found in the wild; either way this module makes the
ParsedFeed from feedparser's dictionaries. JSON Feed goes through
`jsonfeed`. feedparser's own relative-URI resolution
and HTML sanitiser are turned off: together they cost about three times the
parse itself (63 ms against 18 ms on a 140 KB feed), and `sanitise_html`
does both jobs with nh3, once, for every entry.

Remote documents are untrusted, and a parse costs far more than its bytes:
feedparser spends tens of microseconds on every element, and expands entity
declarations without limit once its lenient parser has taken over. So before
either reader parses a document it loses its DTD (see `guard`), is
cut to its first `MAX_ITEMS` items, and is refused outright when it still
holds more than `MAX_TAGS` tags.
"""

from __future__ import annotations

import calendar
import io
import re
import time
import xml.sax
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import feedparser
import feedparser.api

from ..errors import NotAFeedError, ParseError
from ..model import Enclosure, Episode, ParsedEntry, ParsedFeed, Person, RewriteRule
from ..text.links import absolute_url, author_contact, host_name
from ..text.media import (
    duration_seconds,
    enclosure,
    keep_enclosures,
    media_kind,
    media_type,
    media_url,
    type_of,
)
from ..text.rewrite import rewrite_html, rewrite_title
from ..text.sanitise import (
    clean_text,
    collapse_text,
    plain_text,
    sanitise_html,
    text_to_html,
    untyped_text,
)
from .fastxml import XmlRead, read_xml
from .fields import declared_language, explicit, unique
from .guard import BLANK, BOM, GUARD, MAX_ITEMS, Guard, Refused, install_guard
from .jsonfeed import parse_json_feed

Headers = Mapping[str, str] | Sequence[tuple[str, str]]

# FeedParserDict.get maps legacy key names (`guid`, `description`, ...) in
# Python on every call; the keys read here are all current ones, so the plain
# dict lookup answers the same at a fraction of the cost, and a feed of 50
# entries asks about 1,200 of them.
_field = dict.get

# URL schemes that make a browser run or render whatever follows them.
_ACTIVE_SCHEMES = frozenset({"javascript", "vbscript", "livescript", "data"})
_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_HTML_TYPES = ("text/html", "application/xhtml+xml")

# How many XML documents each reader read in this process: `read_xml` (the
# fast reader) or `_read_with_feedparser`. Tests read it to know which path a
# document took.
XML_READS: Counter[str] = Counter()

# Categories kept per item: each distinct tag becomes a feed file of its own.
MAX_CATEGORIES = 32

# RSS 1.0 syndication module: sy:updatePeriod (default daily) divided by
# sy:updateFrequency (default 1).
_SY_PERIODS = {
    "hourly": 3600,
    "daily": 86_400,
    "weekly": 7 * 86_400,
    "monthly": 30 * 86_400,
    "yearly": 365 * 86_400,
}


def parse_feed(data: bytes, url: str, headers: Headers | None = None, *,
               max_items: int = MAX_ITEMS, rules: Sequence[RewriteRule] = (),
               fast: bool = True) -> ParsedFeed:
    """The feed in `data`, fetched from `url` with response `headers`.

    Raises ParseError ("not a feed: ...") when `data` holds no feed: empty,
    an HTML page, JSON that is not a JSON Feed, or XML too broken to yield a
    single entry or a title, and ParseError ("refused: ...") for a document
    too costly to parse. A feed that is broken but usable (malformed XML
    with entries, a wrong declared charset, an undeclared one that had to
    be detected, ignored entity declarations, more than `max_items` items)
    is returned with `warning` set. The source's rewrite `rules` apply to
    every entry's title and content, before sanitising.

    XML goes to the fast reader (`fastxml`) first, and to feedparser when
    the fast reader cannot read it exactly as feedparser would; `fast=False`
    gives it to feedparser alone, the reference the fast reader is tested
    against.
    """
    content_type = _header(headers, "content-type")
    head = data.lstrip(BLANK).removeprefix(BOM).lstrip(BLANK)[:1024]
    if not head:
        raise NotAFeedError("not a feed: empty document")
    if _is_json(head, content_type):
        # JSON is UTF-8 on the wire (RFC 8259 §8.1), but not every server
        # has heard: its text is read as declared, else detected.
        converted, note = _json_as_utf8(data, content_type)
        try:
            parsed = parse_json_feed(converted, url, max_items=max_items,
                                     max_categories=MAX_CATEGORIES, rules=rules)
        except ParseError:
            if converted is data:
                raise
            # No feed either way: what is wrong with the bytes as sent is
            # the first thing to fix (they are not UTF-8).
            parse_json_feed(data, url, max_items=max_items, max_categories=MAX_CATEGORIES)
            raise
        if note is None:
            return parsed
        return replace(parsed, warning="; ".join(w for w in (note, parsed.warning) if w))

    data, content_type, encoding_note = _undeclared_to_utf8(data, content_type)
    read, guard = _read_xml(data, content_type, max_items, fast)
    feed, raw_entries, version = read.feed, read.entries, read.version
    # feedparser puts an XML declaration in front of a document without one,
    # which moves expat's line numbers down by one.
    shift = 0 if data.removeprefix(BOM).startswith(b"<?xml") else 1
    problem = _describe(read.problem, shift) if read.problem is not None else None
    notes = guard.notes
    if guard.external_dtd and problem and problem.startswith("undefined entity"):
        notes = [*notes, "did not load its external DTD"]
    if notes:
        problem = "; ".join([*notes, *([problem] if problem else [])])
    if not raw_entries:
        if not version:
            raise NotAFeedError(_not_a_feed(head, content_type, problem))
        if problem and not feed.get("title"):
            raise NotAFeedError(f"not a feed: {problem}")

    link = absolute_url(_alternate_link(feed), url)
    typed = version.startswith("atom")  # Atom says which text constructs are plain text
    feed_authors = _authors(feed) if typed else ()
    feed_contacts = _contacts(feed, link or url) if typed else ()
    entries = tuple(
        entry for entry in (
            _entry(raw, url, link, (feed_authors, feed_contacts), typed, rules)
            for raw in raw_entries
        ) if entry.guid or entry.link or entry.title or entry.content_html
    )
    return ParsedFeed(
        id=_feed_identifier(feed.get("id")),
        title=_text(feed.get("title_detail"), feed.get("title"), typed)
        or host_name(url) or url,
        link=link,
        # RSS channels often carry only pubDate, no lastBuildDate.
        updated=_utc(dict.get(feed, "updated_parsed")) or _utc(feed.get("published_parsed")),
        lang=declared_language(feed.get("language")),
        entries=entries,
        # The encoding is worth a word only about a document that is a feed.
        warning="; ".join(note for note in (encoding_note, problem) if note) or None,
        ttl_seconds=_ttl(feed),
    )


def _read_xml(data: bytes, content_type: str | None, max_items: int,
              fast: bool) -> tuple[XmlRead, Guard]:
    """The XML feed in `data` as feedparser reads it, and the guard that limited the reading.

    The fast reader (`fastxml`) reads every well-formed RSS 2.0, RSS 1.0
    and Atom 1.0 document it can read exactly as feedparser would;
    feedparser reads the rest. Each reading has a guard of its own, so a
    document handed on is not noted twice. Raises ParseError ("refused: ...").
    """
    readers = (read_xml, _read_with_feedparser) if fast else (_read_with_feedparser,)
    for reader in readers:
        guard = Guard(max_items)
        token = GUARD.set(guard)
        try:
            read = reader(data, content_type)
        except Refused as exc:
            raise ParseError(f"refused: {exc}") from None
        finally:
            GUARD.reset(token)
        if read is not None:
            XML_READS[reader.__name__] += 1
            return read, guard
    raise AssertionError("feedparser reads every document")  # pragma: no cover


def _read_with_feedparser(data: bytes, content_type: str | None) -> XmlRead:
    """feedparser's reading of `data` (within `_read_xml`'s guard)."""
    # A stream, never the bytes: given bytes, feedparser first tries them as a
    # file name, so a body such as b"/etc/passwd" would be read from our disk.
    # Only Content-Type is passed on (for its charset): feedparser would take
    # Content-Language as every element's xml:lang and Content-Location as
    # the base, hiding what the document itself declares.
    try:
        result = feedparser.parse(
            io.BytesIO(data),
            response_headers={"content-type": content_type} if content_type else {},
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except (UnicodeError, ValueError, LookupError) as exc:
        # feedparser's encoding detection raises on some damaged XML
        # declarations (a stray byte or a NUL in the encoding name) instead
        # of reporting them as bozo.
        raise ParseError(f"not a feed: unreadable XML ({type(exc).__name__}: {exc})") from exc
    return XmlRead(
        feed=result.get("feed") or {},
        entries=result.get("entries") or [],
        version=result.get("version") or "",
        problem=result.get("bozo_exception") if result.get("bozo") else None,
    )


_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?[^"'\s;]""", re.IGNORECASE)
# Byte order marks of UTF-16 and UTF-32 (UTF-32 LE's begins like UTF-16 LE's).
_UNICODEBOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def _undeclared_to_utf8(data: bytes, content_type: str | None) -> tuple[bytes, str | None, str | None]:
    """`data` as UTF-8 when it declares no encoding and is not UTF-8, and a note saying so.

    Returns the document, the Content-Type to hand feedparser and the note
    (None when nothing was changed). A document that declares its encoding
    (HTTP charset, XML declaration, byte order mark) is left to feedparser,
    which trusts a declaration that decodes and says so when it does not; so
    is one that is valid UTF-8, the default of XML (XML 1.0 §4.3.3). Only the
    rest, for which feedparser would guess Windows-1252 and then report the
    document as "declared as utf-8", is detected with charset-normalizer:
    Shift_JIS, EUC-KR, GB18030, Big5, KOI8-R and the like read as Latin
    letters and C1 controls otherwise.
    """
    start = data.lstrip(BLANK)
    if (content_type and _CHARSET.search(content_type)) or _XML_ENCODING.match(start) \
            or data.startswith(_UNICODEBOMS):
        return data, content_type, None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return data, content_type, None
    import charset_normalizer  # only such documents pay for importing it

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return data, content_type, None  # feedparser's own fallbacks and warning
    media = (content_type or "").split(";")[0].strip() or "application/xml"
    note = f"declared no encoding and is not UTF-8; read as {best.encoding} (detected)"
    return str(best).encode("utf-8"), f"{media}; charset=utf-8", note


def _json_as_utf8(data: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """A JSON document's bytes as UTF-8, and a note when they were not.

    UTF-8, UTF-16 and UTF-32 (which `json.loads` tells apart itself) are
    left as they are; otherwise a declared charset that decodes the bytes is
    used, and without one the encoding is detected (`_undeclared_to_utf8`).
    """
    try:
        data.decode("utf-8")
        return data, None
    except UnicodeDecodeError:
        pass
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4].count(b"\x00"):
        return data, None  # UTF-16 or UTF-32
    match = re.search(r"""charset\s*=\s*["']?([^"'\s;]+)""", content_type or "", re.IGNORECASE)
    if match is None:
        converted, _type, note = _undeclared_to_utf8(data, None)
        return converted, note
    try:
        return data.decode(match.group(1)).encode("utf-8"), None
    except (LookupError, UnicodeDecodeError):
        return data, None  # reported as not UTF-8 text


def _header(headers: Headers | None, name: str) -> str | None:
    if headers is None:
        return None
    pairs: Iterable[tuple[str, str]] = (
        headers.items() if isinstance(headers, Mapping) else headers
    )
    for key, value in pairs:
        if key.lower() == name:
            return value
    return None


def _is_json(head: bytes, content_type: str | None) -> bool:
    """JSON by its first byte, or by its declared type unless the body is plainly XML."""
    if head.startswith(b"{"):
        return True
    media = (content_type or "").split(";")[0].strip().lower()
    return media in _JSON_TYPES and not head.startswith(b"<")


def _not_a_feed(head: bytes, content_type: str | None, problem: str | None) -> str:
    """Why bytes in which feedparser found no feed at all are not one, for users.

    An HTML page is the common case (a blog's address given instead of its
    feed's); `feeds.remote.discover` finds the feeds such a page links to.
    """
    media = (content_type or "").split(";")[0].strip().lower()
    start = head.lower()  # the first KB: a page may open with a comment or an XML declaration
    if media in _HTML_TYPES or b"<html" in start or b"<!doctype html" in start:
        return "not a feed: looks like an HTML page"
    if problem:
        return f"not a feed: {problem}"
    return "not a feed: no RSS, Atom or JSON Feed document found"


def _describe(exc: object, line_shift: int) -> str:
    """A short message for feedparser's bozo exception, with the document's own line numbers."""
    if isinstance(exc, xml.sax.SAXParseException):
        line = max(1, (exc.getLineNumber() or 1) - line_shift)
        return f"{exc.getMessage()} at line {line}, column {exc.getColumnNumber()}"
    text = collapse_text(str(exc)) if exc is not None else ""
    return (text or type(exc).__name__)[:200]


def _entry(raw: Any, url: str, feed_link: str | None,
           feed_people: tuple[tuple[str, ...], tuple[Person, ...]], typed: bool,
           rules: Sequence[RewriteRule] = ()) -> ParsedEntry:
    # feedparser resolves <link> against xml:base itself; a link still
    # relative after that (RSS has no xml:base) means the site, and feeds are
    # often served from elsewhere (FeedBurner), so the site link is the base.
    link = absolute_url(_alternate_link(raw), feed_link or url)
    content = _content_detail(raw)
    summary = _field(raw, "summary_detail")
    if content is None and summary is not None and _field(summary, "value"):
        content, summary = summary, None
    content_html = _html(content, url, link or feed_link or url, rules)
    summary_html = _html(summary, url, link or feed_link or url, rules)
    if summary_html == content_html or not summary_html:
        summary_html = None

    authors, contacts = _people(raw, link or feed_link or url)
    if not authors:  # RFC 4287 §4.2.1: an Atom entry without authors has its feed's.
        contacts = feed_people[1]
    language = next(
        (_field(d, "language") for d in (content, _field(raw, "title_detail"), summary)
         if d is not None and _field(d, "language")),
        None,
    )
    media_base = link or feed_link or url
    enclosures = _enclosures(raw, media_base)
    return ParsedEntry(
        guid=_identifier(_field(raw, "id")),
        link=link,
        title=rewrite_title(_text(_field(raw, "title_detail"), _field(raw, "title"), typed), rules),
        content_html=content_html or "",
        summary_html=summary_html,
        published=_utc(_field(raw, "published_parsed")),
        # dict.get: feedparser's own get() answers `updated_parsed` with the
        # published date when there is none (its issue 310 stopgap); an entry
        # that was never updated must keep updated=None.
        updated=_utc(_field(raw, "updated_parsed")),
        authors=authors or feed_people[0],
        contacts=contacts,
        # A tag names a feed and a file: markup in one is never meant.
        categories=unique(
            untyped_text(_field(tag, "term") or _field(tag, "label") or "")
            for tag in _field(raw, "tags") or [] if isinstance(tag, dict)
        )[:MAX_CATEGORIES],
        lang=declared_language(language),
        enclosures=enclosures,
        image=_image(raw, media_base, enclosures),
        episode=_episode(raw),
    )


def _enclosures(raw: Any, base: str) -> tuple[Enclosure, ...]:
    """The files an item carries: RSS `<enclosure>` and Atom `link rel="enclosure"`
    (feedparser puts both in `links`), then Media RSS `media:content` (in a
    `media:group` or not). `itunes:duration` is the duration of the item's
    audio or video, else of its first file.
    """
    found: list[Enclosure | None] = []
    for link in _field(raw, "links") or []:
        if isinstance(link, dict) and _field(link, "rel") == "enclosure":
            declared = media_type(_field(link, "type"))
            href = _field(link, "href")
            if declared == "text/html" and isinstance(href, str):
                # feedparser gives every Atom link without a type `text/html`.
                declared = type_of(href) or declared
            found.append(enclosure(href, base, type=declared, length=_field(link, "length"),
                                   title=_field(link, "title")))
    for media in _field(raw, "media_content") or []:
        if isinstance(media, dict):
            found.append(enclosure(_field(media, "url"), base, type=_field(media, "type"),
                                   length=_field(media, "filesize"),
                                   duration=_field(media, "duration")))
    kept = keep_enclosures(found)
    if not kept:
        return kept
    duration = duration_seconds(_field(raw, "itunes_duration"))
    if duration is None:
        return kept
    played = next((i for i, e in enumerate(kept) if media_kind(e) in ("audio", "video")), 0)
    if kept[played].duration is not None:
        return kept
    return (*kept[:played], replace(kept[played], duration=duration), *kept[played + 1:])


def _image(raw: Any, base: str, enclosures: tuple[Enclosure, ...]) -> str | None:
    """The item's picture: `itunes:image`, else the first `media:thumbnail`, else its first image file."""
    artwork = _field(raw, "image")
    if artwork is None and not enclosures and not _field(raw, "media_thumbnail"):
        return None  # most items: no picture to look for
    candidates = [_field(artwork, "href") if isinstance(artwork, dict) else None]
    candidates += [_field(t, "url") for t in _field(raw, "media_thumbnail") or []
                   if isinstance(t, dict)]
    for candidate in candidates:
        if (found := media_url(candidate, base)) is not None:
            return found
    return next((e.url for e in enclosures if media_kind(e) == "image"), None)


_EPISODE_TYPES = frozenset({"full", "trailer", "bonus"})
# Episode and season numbers beyond this are no podcast's.
_MAX_EPISODE = 10**6


_EPISODE_FIELDS = ("itunes_explicit", "itunes_episodetype", "itunes_episode", "itunes_season")


def _episode(raw: Any) -> Episode | None:
    """The item's iTunes episode tags, or None when it has none worth saying again."""
    for name in _EPISODE_FIELDS:
        if _field(raw, name) is not None:
            break
    else:
        return None  # most items are no episode: nothing to make and compare
    marked = _field(raw, "itunes_explicit")
    kind = _field(raw, "itunes_episodetype")
    kind = kind.strip().lower() if isinstance(kind, str) else None
    found = Episode(
        explicit=marked if isinstance(marked, bool) else None,
        episode=_episode_number(_field(raw, "itunes_episode")),
        season=_episode_number(_field(raw, "itunes_season")),
        kind=kind if kind in _EPISODE_TYPES else None,
    )
    return None if found == Episode() else found


def _episode_number(value: object) -> int | None:
    """An episode or season number: a positive integer up to `_MAX_EPISODE`, else None."""
    text = value.strip() if isinstance(value, str) else ""
    # isdigit() alone takes `²`, which int() refuses.
    if not (text.isascii() and text.isdigit()) or len(text) > 7:
        return None
    number = int(text)
    return number if 0 < number <= _MAX_EPISODE else None


def _content_detail(raw: Any) -> Any:
    """The entry's content to publish: the first HTML or XHTML one, else the first one."""
    contents = [c for c in _field(raw, "content") or [] if isinstance(c, dict) and _field(c, "value")]
    for c in contents:
        if _field(c, "type") in _HTML_TYPES:
            return c
    return contents[0] if contents else None


def _html(detail: Any, url: str, fallback_base: str,
          rules: Sequence[RewriteRule] = ()) -> str | None:
    """A feedparser text construct as sanitised HTML with absolute URLs.

    The base is the construct's own xml:base when it has one (feedparser
    reports it as `base`, possibly still relative to the document), else the
    entry link, else the feed link, else the document URL.
    """
    if detail is None:
        return None
    value = _field(detail, "value") or ""
    if _field(detail, "type") == "text/plain" and not rules:
        return text_to_html(value)
    if _field(detail, "type") == "text/plain":
        value = text_to_html(value)
    base = absolute_url(_field(detail, "base") or None, url) or fallback_base
    return sanitise_html(rewrite_html(value, rules) if rules else value, base)


def _text(detail: Any, fallback: object, typed: bool) -> str:
    """A title as plain text: markup removed unless the feed says it is text.

    Only a `typed` format (Atom) says so. For RSS, `text/plain` is
    feedparser's guess, and it guesses text for anything holding an element
    outside its list of harmless ones, `<script>` above all: there, text that
    looks like markup is taken as markup, and a bare `vector<int>` as text.
    """
    value = _field(detail, "value") if detail is not None else fallback
    if not isinstance(value, str):
        return ""
    if detail is None or _field(detail, "type") != "text/plain":
        return plain_text(value)
    return collapse_text(value) if typed else untyped_text(value)


def _alternate_link(obj: Any) -> str | None:
    """The rel=alternate link, preferring an HTML one; feedparser's `link` otherwise."""
    alternates = [
        link for link in _field(obj, "links") or []
        if isinstance(link, dict) and _field(link, "href")
        and (_field(link, "rel") or "alternate") == "alternate"
    ]
    for link in alternates:
        if (_field(link, "type") or "text/html") in _HTML_TYPES:
            return str(link["href"])
    if alternates:
        return str(alternates[0]["href"])
    value = _field(obj, "link")
    return value if isinstance(value, str) else None


def _authors(obj: Any) -> tuple[str, ...]:
    """Author names: `authors` (name, else email), else the single `author`."""
    names: list[str] = []
    for person in _field(obj, "authors") or []:
        if isinstance(person, dict):
            names.append(_field(person, "name") or _field(person, "email") or "")
    if not any(names) and isinstance(_field(obj, "author"), str):
        names.append(obj["author"])
    return unique(_person_name(name) for name in names)


def _contacts(obj: Any, base: str) -> tuple[Person, ...]:
    """The Person of each author in `authors` given an email or a URI, named as `_authors` names them.

    feedparser puts an Atom author's uri in `href` and splits RSS's
    `jo@example.org (Jo)` into email and name.
    """
    found: dict[str, Person] = {}
    for person in _field(obj, "authors") or []:
        if not isinstance(person, dict):
            continue
        name = _person_name(_field(person, "name") or _field(person, "email") or "")
        contact = author_contact(name, _field(person, "email"), _field(person, "href"), base)
        if contact is not None:
            found.setdefault(name, contact)
    return tuple(found.values())


def _people(obj: Any, base: str) -> tuple[tuple[str, ...], tuple[Person, ...]]:
    """`_authors(obj)`, and `_contacts(obj, base)` when there are any, each name made once."""
    named: list[tuple[str, Any]] = []  # each author's name, and the author
    given = False
    for person in _field(obj, "authors") or ():
        if isinstance(person, dict):
            name = _field(person, "name") or _field(person, "email") or ""
            given = given or bool(name)
            named.append((_person_name(name), person))
    names = [name for name, _person in named]
    if not given and isinstance(_field(obj, "author"), str):
        names.append(_person_name(obj["author"]))
    authors = unique(names)
    if not authors:
        return authors, ()
    found: dict[str, Person] = {}
    for name, person in named:
        contact = author_contact(name, _field(person, "email"), _field(person, "href"), base)
        if contact is not None:
            found.setdefault(name, contact)
    return authors, tuple(found.values())


def _person_name(value: str) -> str:
    """`x@example.com (Ann Lee)`, RSS's author form, as `Ann Lee`; other names collapsed."""
    text = collapse_text(value)
    email, sep, rest = text.partition(" (")
    if sep and "@" in email and " " not in email and rest.endswith(")") and rest[:-1].strip():
        return rest[:-1].strip()
    return text


def _identifier(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return clean_text(value).strip() or None


def _feed_identifier(value: object) -> str | None:
    """The feed's own id, unless it is a URL that runs or embeds code when followed.

    It is published as the `atom:source` id of the feed's entries, and some
    readers link an id that looks like a URL.
    """
    identifier = _identifier(value)
    if identifier is None:
        return None
    scheme = "".join(identifier.split()).partition(":")[0].lower()
    return None if scheme in _ACTIVE_SCHEMES else identifier


def _utc(value: object) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None when absent or impossible."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        # The fields as they are, when they are a time (feedparser's always
        # are): what the round trip through a timestamp gives, at a third of the cost.
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, TypeError):
        pass
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _ttl(feed: Any) -> int | None:
    """How long the feed says it stays fresh: RSS <ttl> (minutes), else the sy: module."""
    minutes = _positive_int(feed.get("ttl"))
    if minutes:
        return minutes * 60
    period = feed.get("sy_updateperiod")
    frequency = feed.get("sy_updatefrequency")
    if period is None and frequency is None:
        return None
    seconds = _SY_PERIODS.get(str(period or "daily").strip().lower())
    if seconds is None:
        return None
    return max(1, seconds // (_positive_int(frequency) or 1))


def _positive_int(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _end_itunes_explicit(parser: Any) -> None:
    """feedparser's `itunes:explicit` ending, reading Apple's current words too (see `explicit`).

    Without it an explicit episode would be republished without the mark;
    the fast reader (`fastxml`) reads the element the same way.
    """
    parser._get_context()["itunes_explicit"] = explicit(parser.pop("itunes_explicit", 0))


def _install_itunes_explicit() -> None:
    from feedparser.namespaces import itunes

    itunes.Namespace._end_itunes_explicit = _end_itunes_explicit


install_guard()
_install_itunes_explicit()
