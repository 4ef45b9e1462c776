"""Guarding the XML readers against hostile documents: no DTD, a bounded number of items and tags.

Remote documents are untrusted, and a parse costs far more than its bytes.
"""

from __future__ import annotations

import re
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import chain

import feedparser.api

# What may come before a document's first tag.
BLANK = b" \t\r\n"
BOM = b"\xef\xbb\xbf"
# Items (RSS <item>, Atom <entry>) read from one document: feeds list their
# newest items first, and retention keeps far fewer than this.
MAX_ITEMS = 1000
# Tags ("<" characters) a document may still hold after that cut: about ten
# seconds of feedparser's time. Real feeds of MAX_ITEMS items stay far below.
MAX_TAGS = 300_000

# feedparser.parse converts the document to UTF-8 and then hands it to
# `replace_doctype`, whose result both of its parsers read: expat first, and
# sgmllib (its "loose" parser) when expat refuses the document. That hand-over
# is the one place that sees the bytes actually parsed, whatever the
# document's encoding, so `guard_document` takes it over (and `fastxml`
# guards the same bytes with it).
#
# feedparser's own `replace_doctype` keeps the "safe" entity declarations of
# the DTD's internal subset and gives them to both parsers. expat limits
# entity amplification (a billion laughs stops it), but then the loose parser
# expands the same entities without any limit: a 50 KB entity referenced
# 50,000 times is 2.5 GB of text, and 1,000 bytes of nested entities is more.
# No feed needs a DTD, so it is dropped whole, entities and all: an entity
# reference then stays as literal text (`&name;`). External entities and
# external DTDs are never fetched either way (expat's external general
# entities are off, and without a DOCTYPE nothing names one).


class Refused(Exception):
    """A document too costly to parse; the message says why."""


@dataclass
class Guard:
    """One parse_feed call's limits, and what guarding its document changed."""

    max_items: int
    notes: list[str] = field(default_factory=list)
    external_dtd: bool = False


GUARD: ContextVar[Guard | None] = ContextVar("feeds_parse_guard", default=None)

_ITEM_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)(?=[\s/>])")
_ITEM_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
# End tags looked at from a document's end for its last item's (see `_last_item_end`).
_TAGS_AFTER_ITEMS = 32
# In a declaration: literals, comments and processing instructions (skipped
# whole) and the brackets of an internal subset.
_DECLARATION_MARK = re.compile(rb"[\"'<\[\]>]")


def guard_document(data: bytes) -> tuple[str | None, bytes, dict[str, str]]:
    """feedparser's `replace_doctype`, made safe: no DTD, at most `max_items` items.

    Returns what feedparser expects: the RSS version a DOCTYPE names
    ("rss091n" for Netscape's), the document to parse, and the entities the
    loose parser may expand (none). Raises Refused for a DOCTYPE that never
    ends and, within parse_feed (which sets the limits), for a document with
    more than MAX_TAGS tags left.
    """
    guard = GUARD.get()
    version = None
    span = _doctype_span(data)
    if span is not None:
        start, end = span
        if end < 0:
            if guard is not None:
                raise Refused("its DOCTYPE declaration never ends")
            end = len(data)  # all of it is the declaration
        declaration = data[start:end]
        if b"netscape" in declaration.lower():
            version = "rss091n"
        # Newlines stay, so expat's line numbers still match the document's.
        data = data[:start] + b"\n" * declaration.count(b"\n") + data[end:]
        if guard is not None and b"<!ENTITY" in declaration:
            guard.notes.append("ignored the entity declarations of its DTD")
        elif guard is not None:
            guard.external_dtd = b"SYSTEM" in declaration or b"PUBLIC" in declaration
    if guard is None:  # feedparser called by something else than parse_feed
        return version, data, {}
    tags = data.count(b"<")
    if tags > min(guard.max_items, MAX_TAGS):  # else it cannot hold too many items, nor tags
        data = _first_items(data, guard)
        tags = data.count(b"<")
    if tags > MAX_TAGS:
        raise Refused(f"{tags:,} tags, more than the {MAX_TAGS:,} read from one document")
    return version, data, {}


def has_doctype(data: bytes) -> bool:
    """Whether the document's prolog holds a document type declaration."""
    return _doctype_span(data) is not None


def _doctype_span(data: bytes) -> tuple[int, int] | None:
    """Where the prolog's document type declaration starts and ends (-1: never), if it has one.

    Only whitespace, the XML declaration, processing instructions and comments
    may come before it; anything else ends the prolog.
    """
    i = len(BOM) if data.startswith(BOM) else 0
    while True:
        while data[i : i + 1] and data[i] in BLANK:
            i += 1
        if data.startswith(b"<?", i):
            i = _after(data, b"?>", i + 2)
        elif data.startswith(b"<!--", i):
            i = _after(data, b"-->", i + 4)
        elif data.startswith(b"<!DOCTYPE", i):
            return i, _declaration_end(data, i + len(b"<!DOCTYPE"))
        else:
            return None
        if i < 0:
            return None


def _after(data: bytes, token: bytes, start: int) -> int:
    """The index just after the next `token` from `start`, or -1."""
    found = data.find(token, start)
    return found + len(token) if found >= 0 else -1


def _declaration_end(data: bytes, i: int) -> int:
    """The index after the `>` that closes a declaration (internal subset included), or -1."""
    depth = 0
    while i >= 0 and (mark := _DECLARATION_MARK.search(data, i)) is not None:
        i = mark.start()
        char = data[i : i + 1]
        if char in (b'"', b"'"):
            i = _after(data, char, i + 1)
        elif data.startswith(b"<!--", i):
            i = _after(data, b"-->", i + 4)
        elif data.startswith(b"<?", i):
            i = _after(data, b"?>", i + 2)
        elif char == b">" and depth == 0:
            return i + 1
        else:  # a bracket of the internal subset, or a "<" or ">" inside it
            if char == b"[":
                depth += 1
            elif char == b"]":
                depth = max(depth - 1, 0)
            i += 1
    return -1


def _first_items(data: bytes, guard: Guard) -> bytes:
    """`data` with only as many of its first items as the limits allow, noted in the guard.

    Items are kept while there are fewer than `guard.max_items` and the
    document keeps at most MAX_TAGS tags. The rest are cut out, from the
    start of the first item dropped to the end of the last item, so what
    follows the items (`</channel>`, `</feed>`) still closes the document.
    """
    starts = _ITEM_START.finditer(data)
    first = next(starts, None)
    if first is None:
        return data
    tail = _last_item_end(data, first.start())
    allowed = MAX_TAGS - data.count(b"<", tail)
    here, tags, kept = first.start(), data.count(b"<", 0, first.start()), 0
    for following in chain((m.start() for m in starts), [tail]):
        more = data.count(b"<", here, following)
        if kept == guard.max_items or tags + more > allowed:
            break
        here, tags, kept = following, tags + more, kept + 1
    else:
        return data
    if kept == 0:
        raise Refused(f"more than the {MAX_TAGS:,} tags read from one document "
                       "before its first item even ends")
    total = sum(1 for _ in _ITEM_START.finditer(data))
    guard.notes.append(f"read the first {kept:,} of its {total:,} items (at most "
                       f"{guard.max_items:,} items and {MAX_TAGS:,} tags are read)")
    return data[:here] + (data[tail:] if tail > here else b"")


def _last_item_end(data: bytes, start: int) -> int:
    """Where the last item's end tag from `start` ends, or the document's end without one.

    Looked for from the end backwards: the last item ends a few tags before
    the document does, and the regular expression's scan from `start` reads
    the whole document for it (a tenth of a millisecond a feed). An end tag
    holds no `<` after its first, so the tags never overlap and the last
    one found this way is the one the scan finds; a document with more
    than a few tags after it is scanned after all.
    """
    end = len(data)
    for _ in range(_TAGS_AFTER_ITEMS):
        at = data.rfind(b"</", start, end)
        if at < 0:
            return len(data)
        if (found := _ITEM_END.match(data, at)) is not None:
            return found.end()
        end = at + 1  # the next "</" found starts before this one
    last_end = deque(_ITEM_END.finditer(data, start), maxlen=1)
    return last_end[0].end() if last_end else len(data)


def install_guard() -> None:
    """Make feedparser hand every document to `guard_document`, and read XML with `sax`."""
    feedparser.api.replace_doctype = guard_document
    if "feeds.remote.sax" not in feedparser.api.PREFERRED_XML_PARSERS:
        feedparser.api.PREFERRED_XML_PARSERS.insert(0, "feeds.remote.sax")
