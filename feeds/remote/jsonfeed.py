"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) into a `ParsedFeed` (pure).

feedparser reads only XML, so JSON Feed gets its own small reader. It is
lenient where the format allows guessing (a missing title, a date without a
UTC offset) and strict only about what makes a document a JSON Feed at all.
Every string passes through `sanitise`, like everything parsed from XML.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ..errors import NotAFeedError, ParseError
from ..model import Enclosure, ParsedEntry, ParsedFeed, Person, RewriteRule
from ..text.links import absolute_url, author_contact, host_name
from ..text.media import enclosure, keep_enclosures, media_kind, media_url
from ..text.rewrite import rewrite_html, rewrite_title
from ..text.sanitise import clean_text, collapse_text, sanitise_html, text_to_html, untyped_text
from .fields import declared_language, unique


def parse_json_feed(data: bytes, url: str, *, max_items: int | None = None,
                    max_categories: int | None = None,
                    rules: Sequence[RewriteRule] = ()) -> ParsedFeed:
    """The feed in `data`, a JSON Feed fetched from `url`.

    Raises ParseError when `data` is not JSON, or is JSON but not a JSON Feed
    (no `version` naming jsonfeed.org, or no `items` list). Items that are
    not objects are skipped and reported in `warning`; so are the items after
    the first `max_items`. An item keeps at most `max_categories` tags.
    The source's rewrite `rules` apply to titles and content before sanitising.
    """
    doc = _load(data)
    if not isinstance(doc, dict):
        raise NotAFeedError("not a JSON Feed: the top level is not an object")
    if not _is_jsonfeed_version(doc.get("version")):
        raise NotAFeedError("not a JSON Feed: no 'version' naming jsonfeed.org")
    items = doc.get("items")
    if not isinstance(items, list):
        raise NotAFeedError("not a JSON Feed: 'items' is not a list")

    link = absolute_url(_str(doc.get("home_page_url")), url)
    # JSON Feed 1.1 §"authors": an item without authors has the feed's.
    feed_people = (_authors(doc), _contacts(doc, link or url))
    read = items if max_items is None else items[:max_items]
    entries = tuple(
        _entry(item, link or url, feed_people, max_categories, rules)
        for item in read if isinstance(item, dict)
    )
    skipped = len(read) - len(entries)
    warnings = []
    if len(read) < len(items):
        warnings.append(f"read the first {len(read):,} of its {len(items):,} items")
    if skipped:
        warnings.append(f"skipped {skipped} item(s) that are not JSON objects")
    title = collapse_text(_str(doc.get("title")) or "")
    return ParsedFeed(
        # JSON Feed has no feed id; feed_url is the feed's own statement of
        # where it lives, the nearest thing to an identity it offers.
        id=absolute_url(_str(doc.get("feed_url")), url),
        title=title or host_name(url) or url,
        link=link,
        updated=None,  # JSON Feed has no feed-level date, and we never invent one
        lang=declared_language(doc.get("language")),
        entries=entries,
        warning="; ".join(warnings) or None,
    )


def _load(data: bytes) -> Any:
    # json.loads on bytes detects UTF-8/16/32 and a UTF-8 BOM, as RFC 8259 allows.
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise NotAFeedError(f"not a JSON Feed: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise NotAFeedError(
            f"not a JSON Feed: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4300 digits)
        raise ParseError(f"not a JSON Feed: unreadable JSON ({exc})") from None
    except RecursionError:
        raise NotAFeedError("not a JSON Feed: JSON nested too deeply") from None


def _is_jsonfeed_version(value: object) -> bool:
    """Whether `value` is a version URL such as https://jsonfeed.org/version/1.1."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    host = (parts.hostname or "").removeprefix("www.")
    return host == "jsonfeed.org" and parts.path.startswith("/version/")


def _entry(item: dict[str, Any], feed_base: str,
           feed_people: tuple[tuple[str, ...], tuple[Person, ...]],
           max_categories: int | None, rules: Sequence[RewriteRule] = ()) -> ParsedEntry:
    guid = item.get("id")
    # The spec says id is a string, but 1.0 feeds in the wild use numbers.
    if isinstance(guid, int | float) and not isinstance(guid, bool):
        guid = str(guid)
    guid = clean_text(guid).strip() if isinstance(guid, str) else None
    own = absolute_url(_str(item.get("url")), feed_base)
    # external_url is what a link-blog item is about; the link when there is
    # no page of its own, never the base of the item's own content.
    link = own or absolute_url(_str(item.get("external_url")), feed_base)
    base = own or feed_base

    content_html = _str(item.get("content_html"))
    content_text = _str(item.get("content_text"))
    summary = _str(item.get("summary"))
    if content_html and content_html.strip():
        content = sanitise_html(rewrite_html(content_html, rules) if rules else content_html, base)
    elif content_text and content_text.strip():
        content = text_to_html(content_text)
        if rules:
            content = sanitise_html(rewrite_html(content, rules), base)
    else:
        content = ""
    summary_html = text_to_html(summary) if summary and summary.strip() else None
    if not content and summary_html:
        content, summary_html = summary_html, None
    elif summary_html == content:
        summary_html = None

    authors = _authors(item)
    enclosures = _attachments(item, base)
    return ParsedEntry(
        guid=guid or None,
        link=link,
        title=rewrite_title(collapse_text(_str(item.get("title")) or ""), rules),
        content_html=content,
        summary_html=summary_html,
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        authors=authors or feed_people[0],
        contacts=_contacts(item, base) if authors else feed_people[1],
        categories=unique(  # a tag names a feed and a file: markup in one is never meant
            untyped_text(t) for t in _list(item.get("tags")) if isinstance(t, str)
        )[:max_categories],
        lang=declared_language(item.get("language")),
        enclosures=enclosures,
        image=media_url(item.get("image"), base) or media_url(item.get("banner_image"), base)
        or next((e.url for e in enclosures if media_kind(e) == "image"), None),
    )


def _attachments(item: dict[str, Any], base: str) -> tuple[Enclosure, ...]:
    """An item's `attachments` (JSON Feed 1.1 §"attachments"), those with a usable URL."""
    return keep_enclosures(
        enclosure(a.get("url"), base, type=a.get("mime_type"), length=a.get("size_in_bytes"),
                  duration=a.get("duration_in_seconds"), title=a.get("title"))
        for a in _list(item.get("attachments")) if isinstance(a, dict)
    )


def _authors(obj: dict[str, Any]) -> tuple[str, ...]:
    """Author names from 1.1 `authors` (a list) or 1.0 `author` (one object)."""
    names = (collapse_text(p["name"]) for p in _people(obj)
             if isinstance(p, dict) and isinstance(p.get("name"), str))
    return unique(names)


def _people(obj: dict[str, Any]) -> list[Any]:
    people = obj.get("authors")
    return people if isinstance(people, list) else [obj.get("author")]


def _contacts(obj: dict[str, Any], base: str) -> tuple[Person, ...]:
    """The Person of each named author with a `url` (JSON Feed authors have no email)."""
    found: dict[str, Person] = {}
    for p in _people(obj):
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            name = collapse_text(p["name"])
            contact = author_contact(name, None, p.get("url"), base)
            if contact is not None:
                found.setdefault(name, contact)
    return tuple(found.values())


def _date(value: object) -> datetime | None:
    """An RFC 3339 date as an aware UTC datetime; None when missing or unreadable.

    A date without an offset is taken as UTC, as feedparser does for XML feeds.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        return None


def _str(value: object) -> str | None:
    return clean_text(value) if isinstance(value, str) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


