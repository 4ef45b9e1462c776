"""Fetched bytes into a `ParsedFeed`: RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1 (pure).

XML goes through feedparser, which copes with the broken feeds found in the
wild; JSON Feed through `jsonfeed`. feedparser's own relative-URI resolution
and HTML sanitiser are turned off: together they cost about three times the
parse itself (63 ms against 18 ms on a 140 KB feed), and `sanitise_html`
does both jobs with nh3, once, for every entry.
"""

from __future__ import annotations

import calendar
import io
import time
import xml.sax
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import feedparser

from .errors import ParseError
from .jsonfeed import parse_json_feed
from .links import absolute_url, host_name
from .model import ParsedEntry, ParsedFeed
from .sanitise import clean_text, collapse_text, plain_text, sanitise_html, text_to_html

Headers = Mapping[str, str] | Sequence[tuple[str, str]]

_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_BLANK = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"

# RSS 1.0 syndication module: sy:updatePeriod (default daily) divided by
# sy:updateFrequency (default 1).
_SY_PERIODS = {
    "hourly": 3600,
    "daily": 86_400,
    "weekly": 7 * 86_400,
    "monthly": 30 * 86_400,
    "yearly": 365 * 86_400,
}


def parse_feed(data: bytes, url: str, headers: Headers | None = None) -> ParsedFeed:
    """The feed in `data`, fetched from `url` with response `headers`.

    Raises ParseError ("not a feed: ...") when `data` holds no feed: empty,
    an HTML page, JSON that is not a JSON Feed, or XML too broken to yield a
    single entry or a title. A feed that is broken but usable (malformed XML
    with entries, a wrong declared charset) is returned with `warning` set.
    """
    content_type = _header(headers, "content-type")
    head = data.lstrip(_BLANK).removeprefix(_BOM).lstrip(_BLANK)[:1024]
    if not head:
        raise ParseError("not a feed: empty document")
    if _is_json(head, content_type):
        return parse_json_feed(data, url)

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
    feed = result.get("feed") or {}
    raw_entries = result.get("entries") or []
    version = result.get("version") or ""
    # feedparser puts an XML declaration in front of a document without one,
    # which moves expat's line numbers down by one.
    shift = 0 if data.removeprefix(_BOM).startswith(b"<?xml") else 1
    problem = _describe(result.get("bozo_exception"), shift) if result.get("bozo") else None
    if not raw_entries:
        if not version:
            raise ParseError(_not_a_feed(head, content_type, problem))
        if problem and not feed.get("title"):
            raise ParseError(f"not a feed: {problem}")

    link = absolute_url(_alternate_link(feed), url)
    feed_authors = _authors(feed) if version.startswith("atom") else ()
    entries = tuple(
        entry for entry in (
            _entry(raw, url, link, feed_authors) for raw in raw_entries
        ) if entry.guid or entry.link or entry.title or entry.content_html
    )
    return ParsedFeed(
        id=_identifier(feed.get("id")),
        title=_text(feed.get("title_detail"), feed.get("title")) or host_name(url) or url,
        link=link,
        # RSS channels often carry only pubDate, no lastBuildDate.
        updated=_utc(dict.get(feed, "updated_parsed")) or _utc(feed.get("published_parsed")),
        lang=_language(feed.get("language")),
        entries=entries,
        warning=problem,
        ttl_seconds=_ttl(feed),
    )


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
    feed's); `feeds.discover` finds the feeds such a page links to.
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
           feed_authors: tuple[str, ...]) -> ParsedEntry:
    # feedparser resolves <link> against xml:base itself; a link still
    # relative after that (RSS has no xml:base) means the site, and feeds are
    # often served from elsewhere (FeedBurner), so the site link is the base.
    link = absolute_url(_alternate_link(raw), feed_link or url)
    content = _content_detail(raw)
    summary = raw.get("summary_detail")
    if content is None and summary is not None and summary.get("value"):
        content, summary = summary, None
    content_html = _html(content, url, link or feed_link or url)
    summary_html = _html(summary, url, link or feed_link or url)
    if summary_html == content_html or not summary_html:
        summary_html = None

    language = next(
        (d.get("language") for d in (content, raw.get("title_detail"), summary)
         if d is not None and d.get("language")),
        None,
    )
    return ParsedEntry(
        guid=_identifier(raw.get("id")),
        link=link,
        title=_text(raw.get("title_detail"), raw.get("title")),
        content_html=content_html or "",
        summary_html=summary_html,
        published=_utc(raw.get("published_parsed")),
        # dict.get: feedparser's own get() answers `updated_parsed` with the
        # published date when there is none (its issue 310 stopgap); an entry
        # that was never updated must keep updated=None.
        updated=_utc(dict.get(raw, "updated_parsed")),
        # RFC 4287 §4.2.1: an Atom entry without authors has its feed's.
        authors=_authors(raw) or feed_authors,
        categories=_unique(
            collapse_text(tag.get("term") or tag.get("label") or "")
            for tag in raw.get("tags") or [] if isinstance(tag, dict)
        ),
        lang=_language(language),
    )


def _content_detail(raw: Any) -> Any:
    """The entry's content to publish: the first HTML or XHTML one, else the first one."""
    contents = [c for c in raw.get("content") or [] if isinstance(c, dict) and c.get("value")]
    for c in contents:
        if c.get("type") in _HTML_TYPES:
            return c
    return contents[0] if contents else None


def _html(detail: Any, url: str, fallback_base: str) -> str | None:
    """A feedparser text construct as sanitised HTML with absolute URLs.

    The base is the construct's own xml:base when it has one (feedparser
    reports it as `base`, possibly still relative to the document), else the
    entry link, else the feed link, else the document URL.
    """
    if detail is None:
        return None
    value = detail.get("value") or ""
    if detail.get("type") == "text/plain":
        return text_to_html(value)
    base = absolute_url(detail.get("base") or None, url) or fallback_base
    return sanitise_html(value, base)


def _text(detail: Any, fallback: object) -> str:
    """A title as plain text: markup removed unless the feed says it is text."""
    value = detail.get("value") if detail is not None else fallback
    if not isinstance(value, str):
        return ""
    if detail is not None and detail.get("type") == "text/plain":
        return collapse_text(value)
    return plain_text(value)


def _alternate_link(obj: Any) -> str | None:
    """The rel=alternate link, preferring an HTML one; feedparser's `link` otherwise."""
    alternates = [
        link for link in obj.get("links") or []
        if isinstance(link, dict) and link.get("href")
        and (link.get("rel") or "alternate") == "alternate"
    ]
    for link in alternates:
        if (link.get("type") or "text/html") in _HTML_TYPES:
            return str(link["href"])
    if alternates:
        return str(alternates[0]["href"])
    value = obj.get("link")
    return value if isinstance(value, str) else None


def _authors(obj: Any) -> tuple[str, ...]:
    """Author names: `authors` (name, else email), else the single `author`."""
    names: list[str] = []
    for person in obj.get("authors") or []:
        if isinstance(person, dict):
            names.append(person.get("name") or person.get("email") or "")
    if not any(names) and isinstance(obj.get("author"), str):
        names.append(obj["author"])
    return _unique(_person_name(name) for name in names)


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


def _language(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return collapse_text(value).replace("_", "-") or None


def _utc(value: object) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None when absent or impossible."""
    if not isinstance(value, time.struct_time):
        return None
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


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    """The non-empty values, first occurrence kept, order kept."""
    return tuple(dict.fromkeys(v for v in values if v))
