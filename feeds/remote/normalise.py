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

from ..config import Config
from ..model import Entry, Incoming, ParsedEntry, ParsedFeed, SourceConfig, SourceRef, Variant
from ..text.lang import detect, same_language, script_contradicts
from ..text.links import canonical_link, valid_id
from ..text.sanitise import plain_text
from ..text.tags import normalise_tags

_SUMMARY_CHARS = 600
# Of content that is not otherwise made text, the opening read to detect its
# language: markup included, ample for the 300 characters detection reads.
_DETECTED_HTML_CHARS = 2000


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


# Chinese regions and scripts a declaration may name, as published: the
# `xml:lang` of a Chinese entry says which script it is written in.
_PRIMARY = re.compile(r"[a-z]{2,3}")
_CHINESE = {"zh-hant": "zh-Hant", "zh-tw": "zh-TW", "zh-hk": "zh-HK", "zh-mo": "zh-MO"}


def _language_tag(value: str | None) -> str | None:
    """A declared language as published: its primary subtag (`en-US` is `en`), Chinese with its script."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    primary = tag.split("-")[0]
    if not _PRIMARY.fullmatch(primary):
        return None
    if primary == "zh":
        return next((name for prefix, name in _CHINESE.items()
                     if tag == prefix or tag.startswith(prefix + "-")), "zh")
    return primary


def _declared_language(p: ParsedEntry, feed: ParsedFeed, source: SourceConfig,
                       feed_tag: str | None) -> str | None:
    """The language the source's configuration or the entry itself declares, if any.

    Both win over detection: `lang =` in links.toml is the reader's own
    word, and an entry's own `xml:lang` is specific to it. An entry whose
    `xml:lang` equals its feed's merely inherits it (feedparser reports the
    feed's for every entry), so it counts as the feed's, see `_entry_language`.
    `feed_tag` is `_language_tag(feed.lang)`, the same for every entry.
    """
    if (tag := _language_tag(source.lang)) is not None:
        return tag
    if p.lang and (not feed.lang or (p.lang != feed.lang and _language_tag(p.lang) != feed_tag)):
        return _language_tag(p.lang)
    return None


def _entry_language(declared: str | None, title: str, text: str, content_html: str,
                    config: Config) -> str:
    """An entry's language from its title and content and its feed's declaration.

    `text` is the content as text when it was made already, else "".

    A feed-level declaration (RSS `<language>`, the feed's `xml:lang`) is
    one value for every item, often a site-wide default that nobody set:
    a Chinese item in a feed declaring `en` is Chinese. So detection wins
    when it is reliable (enough text, see `feeds.text.lang`) and names another
    language; a short or ambiguous text keeps the declaration. Detection
    costs a tenth of a millisecond an entry, so a declared feed's entry is
    detected only when its title's script contradicts the declaration (a
    Han title in an `en` feed, a Latin one in a `zh` feed).
    """
    if declared is not None and not script_contradicts(title, declared):
        return declared
    sample = text[:2000] if text else plain_text(content_html[:_DETECTED_HTML_CHARS])
    found = detect(f"{title}\n{sample}", config.languages)
    if declared is None or (found.reliable and not same_language(found.lang, declared)):
        return found.lang
    return declared


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
    feed_lang = _language_tag(feed.lang)
    result: list[Incoming] = []
    for p, identity in zip(feed.entries, _identities(feed.entries), strict=True):
        declared_lang = _declared_language(p, feed, source, feed_lang)
        # The content as text is needed whole only to filter or to stand in
        # for a missing title; it is most of the cost of an entry, so it is
        # not made otherwise. Detection reads only its opening.
        text = ""
        if filtered or not p.title:
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
        lang = declared_lang or _entry_language(feed_lang, title, text, content, config)
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
            enclosures=p.enclosures,
            image=p.image,
            episode=p.episode,
        )
        result.append(Incoming(entry, declared, canonical_link(p.link) if p.link else None))
    return result
