"""Which entries of a `full_text` source need their page, and the article put in them (pure).

A summary-only feed gives a paragraph and a link; with `full_text = true`
the entry's page is fetched and its article published as the content. The
decisions live here, apart from the fetch (`remote.pages`):

- An entry *is only a summary* when its feed gives one text for it (a
  description, a summary or a content, alone or equal to each other) or
  when its content, as text, is no longer than its summary.
- Pages are fetched only for the newest `window` entries of a fetch (the
  most a feed shows), never for the older ones a feed carries.
- A kept page is fetched again only when its entry's own text changed,
  or after PAGE_REFRESH_SECONDS (conditionally, with its validators); one
  that failed, after PAGE_RETRY_SECONDS. A poll of an unchanged feed
  fetches no page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..model import CachedPage, Entry, FetchRequest, Incoming
from ..text.sanitise import plain_text

PAGE_REFRESH_SECONDS = 7 * 86_400
PAGE_RETRY_SECONDS = 86_400
# As normalise keeps a feed's own summary: the opening of its text.
_SUMMARY_CHARS = 600


@dataclass(frozen=True)
class PageWanted:
    """A page to fetch for the entry at `index` of a source's incoming entries."""

    index: int
    link: str  # the entry's canonical link: the page's key in the store
    request: FetchRequest
    entry_digest: str


@dataclass(frozen=True)
class PagePlan:
    """The entries with the articles already kept put in, and the pages still to fetch."""

    incoming: tuple[Incoming, ...]
    wanted: tuple[PageWanted, ...]


def is_summary_only(entry: Entry) -> bool:
    """Whether the entry's content is only a summary (see the module docstring)."""
    variant = entry.variants[0]
    if variant.summary is None:
        return True
    return len(plain_text(variant.content_html)) <= len(variant.summary)


def entry_digest(entry: Entry) -> str:
    """A digest of the entry's own text as its feed gives it: when it changes, so may the page."""
    variant = entry.variants[0]
    text = f"{variant.title}\0{variant.content_html}\0{variant.summary or ''}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def plan_pages(incoming: Sequence[Incoming], cached: Mapping[str, CachedPage], now: float,
               window: int) -> PagePlan:
    """What to do for a fetch's `incoming` entries of a `full_text` source.

    Each summary-only entry whose page is kept with an article gets it now;
    among the newest `window` entries, those whose page is not kept, or is
    due again (see the module docstring), are wanted. `incoming` holds
    Entries (not their stored form), as the refresh keeps them for such a
    source.
    """
    newest = sorted(range(len(incoming)), key=lambda i: _sort_time(incoming[i]),
                    reverse=True)[:window]
    shown = set(newest)
    result: list[Incoming] = []
    wanted: list[PageWanted] = []
    for i, item in enumerate(incoming):
        entry = item.entry
        if not isinstance(entry, Entry) or not item.canonical_link or not entry.link \
                or not is_summary_only(entry):
            result.append(item)
            continue
        page = cached.get(item.canonical_link)
        digest = entry_digest(entry)
        if i in shown and _due(page, digest, now):
            with_content = page is not None and page.content_html is not None
            wanted.append(PageWanted(i, item.canonical_link, FetchRequest(
                entry.link, page.etag if with_content and page else None,
                page.last_modified if with_content and page else None), digest))
        if page is not None and page.content_html:
            item = with_article(item, page.content_html)
        result.append(item)
    return PagePlan(tuple(result), tuple(wanted))


def _sort_time(item: Incoming) -> float:
    when = item.entry.published or item.entry.updated
    return when.timestamp()


def _due(page: CachedPage | None, digest: str, now: float) -> bool:
    if page is None or page.entry_digest != digest:
        return True
    wait = PAGE_RETRY_SECONDS if page.content_html is None else PAGE_REFRESH_SECONDS
    return now - page.fetched >= wait


def with_article(item: Incoming, article_html: str) -> Incoming:
    """`item` with `article_html` as its content; the feed's text stays its summary."""
    entry = item.entry
    assert isinstance(entry, Entry)
    variant = entry.variants[0]
    summary = variant.summary or plain_text(variant.content_html)[:_SUMMARY_CHARS] or None
    return replace(item, entry=replace(entry, variants=(
        replace(variant, content_html=article_html, summary=summary), *entry.variants[1:])),
        encoded=None, digest=None)
