"""Complete history: each feed's every entry in monthly archive documents (RFC 5005 §4) (pure).

A feed shows its newest entries; a reader who subscribes today would never
see the older ones. With `archives = true`, every feed's entries are also
kept in archive documents, one per month of their dates:
`archive/<feed>/<year>/<month>.atom` (`archive/lang/zh/2024/06.atom`), each
marked `fh:archive`, linked to the month before it (`prev-archive`) and
after it (`next-archive`) and to the feed (`current`); the feed links the
newest archive (`prev-archive`). Walking that chain from a feed gives every
entry once. The newest month's document also holds entries the feed still
shows, as RFC 5005 allows.

Archives are Atom documents, the format RFC 5005 defines them for; the
Atom feed links them. A document's fingerprint covers its entries and its
neighbours, so a new entry rewrites the feeds showing it, its month's
documents and, when it opens a month, the documents that now link it;
older months are never rewritten unless one of their entries changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model import FeedSpec
from .select import L, Pick, select_all

ARCHIVE_DIR = "archive"


@dataclass(frozen=True)
class History:
    """The RFC 5005 links of one document: the archives beside it and the feed it archives.

    Paths are relative to the output directory. A subscription feed has only
    `prev` (its newest archive); an archive has `current` and is marked so.
    """

    prev: str | None = None
    next: str | None = None
    current: str | None = None

    @property
    def is_archive(self) -> bool:
        return self.current is not None


@dataclass(frozen=True)
class Archive:
    """One month of one feed: its spec (whose stem is the document's path) and history."""

    spec: FeedSpec
    feed: FeedSpec
    month: str  # "2024-06"
    history: History


def archive_spec(feed: FeedSpec, month: str) -> FeedSpec:
    """The spec of a feed's archive of `month` ("2024-06"): its path, title and the feed's filter."""
    year, number = month.split("-")
    return FeedSpec(feed.kind, feed.key, f"{ARCHIVE_DIR}/{feed.stem}/{year}/{number}",
                    f"{feed.title} ({month})", feed.filter, feed.subtitle)


def plan_archives(
    feeds: Sequence[FeedSpec], entries: Sequence[L]
) -> tuple[dict[Archive, list[Pick[L]]], dict[FeedSpec, History]]:
    """Every archive document of `feeds` with its entries, and each feed's link to its newest.

    An archive holds the feed's entries of one month (by `sort_time`, in
    UTC), newest first like the feed; months without entries have no
    document, and the chain links the months that have one.
    """
    everything = select_all(feeds, entries, len(entries))
    archives: dict[Archive, list[Pick[L]]] = {}
    feed_history: dict[FeedSpec, History] = {}
    for feed in feeds:
        by_month: dict[str, list[Pick[L]]] = {}
        for entry, lang in everything[feed]:
            when = entry.sort_time
            by_month.setdefault(f"{when.year:04d}-{when.month:02d}", []).append((entry, lang))
        months = sorted(by_month)
        if not months:
            continue
        specs = [archive_spec(feed, month) for month in months]
        for i, month in enumerate(months):
            history = History(
                prev=specs[i - 1].file("atom") if i > 0 else None,
                next=specs[i + 1].file("atom") if i + 1 < len(specs) else None,
                current=feed.file("atom"),
            )
            archives[Archive(specs[i], feed, month, history)] = by_month[month]
        feed_history[feed] = History(prev=specs[-1].file("atom"))
    return archives, feed_history


def archive_links(history: History) -> Mapping[str, str]:
    """rel → path of the links `history` gives a document, in a fixed order."""
    links = {"current": history.current, "prev-archive": history.prev,
             "next-archive": history.next}
    return {rel: path for rel, path in links.items() if path is not None}
