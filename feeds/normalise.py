"""Turning a parsed remote feed into entries for the store (pure).

Identity, dates, language and tags are decided here, from the parsed feed,
the source's configuration and the fetch time passed in as `now`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from .article import normalise_tags
from .config import Config
from .lang import detect_language
from .links import canonical_link, valid_id
from .model import Entry, ParsedEntry, ParsedFeed, SourceConfig, SourceRef, Variant
from .sanitise import plain_text
from .store import Incoming

_SUMMARY_CHARS = 600


def remote_entry_id(source_key: str, identity: str, config: Config) -> str:
    """A stable tag: URI for a remote entry from its source and its identity there.

    Minting our own id (instead of reusing the guid) keeps ids unique when two
    sources share guids; deriving it from the source *key* (the URL it was
    first configured with) keeps it when the feed moves.
    """
    digest = hashlib.sha256(f"{source_key}\0{identity}".encode("utf-8", "surrogatepass"))
    return f"tag:{config.authority},{config.id_date}:remote/{digest.hexdigest()[:32]}"


def _identities(entries: Sequence[ParsedEntry]) -> list[str]:
    """Each item's identity in its source: guid, else link, else title and date.

    A feed that repeats one guid for different items gets each of them kept:
    the repeated guid is qualified by the item's link or title.
    """
    def base(p: ParsedEntry) -> str:
        if p.guid:
            return "guid:" + p.guid
        if p.link:
            return "link:" + p.link
        when = (p.published or p.updated)
        return "hash:" + hashlib.sha256(
            f"{p.title}\0{when.isoformat() if when else ''}".encode("utf-8", "surrogatepass")
        ).hexdigest()

    keys = [base(p) for p in entries]
    counts = Counter(keys)
    result: list[str] = []
    used: set[str] = set()
    for key, p in zip(keys, entries, strict=True):
        if counts[key] > 1:
            key = f"{key}\0{p.link or ''}\0{p.title}"
        candidate, n = key, 1
        while candidate in used:  # truly identical items: keep them apart, in order
            n += 1
            candidate = f"{key}\0#{n}"
        used.add(candidate)
        result.append(candidate)
    return result


def _declared_language(p: ParsedEntry, feed: ParsedFeed, source: SourceConfig) -> str | None:
    """The source's configured lang (an override), else the entry's, else the feed's."""
    for candidate in (source.lang, p.lang, feed.lang):
        if candidate:
            primary = candidate.strip().lower().replace("_", "-").split("-")[0]
            if re.fullmatch(r"[a-z]{2,3}", primary):
                return primary
    return None


def _passes(text: str, source: SourceConfig) -> bool:
    if source.include and not any(re.search(p, text, re.IGNORECASE) for p in source.include):
        return False
    return not any(re.search(p, text, re.IGNORECASE) for p in source.exclude)


def normalise_feed(
    feed: ParsedFeed,
    source: SourceConfig,
    source_key: str,
    fetched_url: str,
    config: Config,
    now: datetime,
) -> list[Incoming]:
    """The entries of a parsed feed, ready for the store.

    Dates stay as the feed gave them but a future date is clamped to `now`;
    an item with no date at all gets no published date and leaves `updated`
    to the store (the time first seen).
    """
    # atom:source must name the feed with a valid IRI and SHOULD say when it
    # changed (RFC 4287 §4.2.11): a feed id that is no URI gives way to the
    # URL fetched, a feed without a date takes its newest entry's, else now.
    newest = max((d for p in feed.entries for d in (p.updated, p.published) if d), default=now)
    ref = SourceRef(
        id=valid_id(feed.id) or valid_id(fetched_url) or fetched_url,
        title=feed.title or source.title or fetched_url,
        link=feed.link,
        updated=min(feed.updated or newest, now),
    )
    author_fallback = (source.title or feed.title or fetched_url,)
    filtered = bool(source.include or source.exclude)
    result: list[Incoming] = []
    for p, identity in zip(feed.entries, _identities(feed.entries), strict=True):
        declared_lang = _declared_language(p, feed, source)
        # The content as text is needed only to filter, to stand in for a
        # missing title or to detect a language no one declared; it is most of
        # the cost of an entry, so it is not made otherwise.
        text = ""
        if filtered or not p.title or declared_lang is None:
            text = plain_text(p.content_html or p.summary_html or "")
        if filtered and not _passes(f"{p.title}\n{text}", source):
            continue
        published = min(p.published, now) if p.published else None
        declared = min(p.updated, now) if p.updated else published
        title = p.title or text[:80].strip() or "(untitled)"
        summary = None
        if p.summary_html and p.content_html and p.summary_html != p.content_html:
            summary = plain_text(p.summary_html)[:_SUMMARY_CHARS] or None
        content = p.content_html or p.summary_html or ""
        lang = declared_lang or detect_language(f"{title}\n{text[:2000]}", config.languages)
        tags = normalise_tags([*p.categories, *source.tags], config.tag_aliases)
        entry = Entry(
            id=remote_entry_id(source_key, identity, config),
            variants=(Variant(lang, title, content, summary),),
            updated=declared or now,
            published=published,
            authors=p.authors or author_fallback,
            contacts=p.contacts if p.authors else (),
            tags=tags,
            link=p.link,
            origin=source_key,
            source=ref,
        )
        result.append(Incoming(entry, declared, canonical_link(p.link) if p.link else None))
    return result
