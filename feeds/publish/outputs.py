"""Publishing: the store's published entries → every feed, the index and OPML, written.

Feeds are planned from the store's listings without loading any text, and
a feed whose inputs are as they were when it was last written is read back
instead of rendered again (see `publish`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..about import __version__
from ..codec import decode_entry
from ..config import Config
from ..model import Entry, FeedItem, FeedSpec, RenderedFeed
from ..store.protocol import PublishedEntries
from .index import render_index, render_opml
from .jsonfeed import render_json
from .render import render_feed
from .rss import render_rss
from .select import plan_feeds, select_all
from .write import WriteReport, write_outputs

RENDERERS: Mapping[str, Callable[[FeedSpec, Sequence[FeedItem], Config], bytes]] = {
    "atom": render_feed,
    "rss": render_rss,
    "json": render_json,
}


def render_all(entries: Sequence[Entry], config: Config) -> list[RenderedFeed]:
    """Every planned feed of `entries` rendered in each configured format, in plan order."""
    specs = plan_feeds(entries, config)
    selected = select_all(specs, entries, config.entries_per_feed)
    feeds: list[RenderedFeed] = []
    for spec, picks in selected.items():
        if picks:
            items = [_item(e, lang) for e, lang in picks]
            feeds.extend(RenderedFeed(spec, fmt, RENDERERS[fmt](spec, items, config), len(picks))
                         for fmt in config.formats)
    return feeds


def _item(entry: Entry, lang: str) -> FeedItem:
    variant = entry.variant(lang)
    assert variant is not None  # selection picks only languages the entry has
    return FeedItem(entry, variant)


@dataclass(frozen=True)
class Published:
    """What publishing wrote: the feeds, the files, how many entries were published."""

    feeds: tuple[RenderedFeed, ...]
    report: WriteReport
    entries: int


def publish(store: PublishedEntries, config: Config) -> Published:
    """Write every feed of the store's published entries, with the index and OPML.

    Feeds are planned from the store's listings, without loading any text.
    A feed's fingerprint covers the configuration, the feed and the stored
    form of each entry it shows; a feed whose fingerprint and file are as
    they were last written is not rendered again (its bytes are read back),
    so a rebuild renders only the feeds that something changed.
    """
    with store.snapshot():
        listings = store.published_listings()
        specs = plan_feeds(listings, config)
        selected = {spec: picks for spec, picks in
                    select_all(specs, listings, config.entries_per_feed).items() if picks}
        texts = store.entry_texts(listing.id for picks in selected.values()
                                  for listing, _ in picks)
        written_before = store.output_fingerprints()
    settings = render_fingerprint(config)
    decoded: dict[str, Entry] = {}
    feeds: list[RenderedFeed] = []
    outputs: dict[str, tuple[str, str]] = {}
    for spec, picks in selected.items():
        items: list[FeedItem] | None = None
        shown = [(texts[e.id], lang) for e, lang in picks]
        for fmt in config.formats:
            path = spec.file(fmt)
            fingerprint = feed_fingerprint(settings, spec, fmt, shown)
            data = _still_written(config.output_dir / path, written_before.get(path), fingerprint)
            if data is None:
                if items is None:
                    items = []
                    for listing, lang in picks:
                        if listing.id not in decoded:
                            decoded[listing.id] = decode_entry(texts[listing.id])
                        items.append(_item(decoded[listing.id], lang))
                data = RENDERERS[fmt](spec, items, config)
            feeds.append(RenderedFeed(spec, fmt, data, len(picks)))
            outputs[path] = (fingerprint, hashlib.sha256(data).hexdigest())
    files = {f.path: f.data for f in feeds}
    files["index.html"] = render_index(feeds, config)
    files["feeds.opml"] = render_opml(feeds, config)
    report = write_outputs(config.output_dir, files)
    store.record_outputs(outputs)
    return Published(tuple(feeds), report, len(listings))


def render_fingerprint(config: Config) -> str:
    """A digest of the configuration (and version) a feed is rendered with."""
    def plain(value: object) -> object:
        if isinstance(value, (set, frozenset)):
            return sorted(value, key=str)
        return str(value)

    blob = json.dumps([__version__, asdict(config)], default=plain, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def feed_fingerprint(settings: str, spec: FeedSpec, fmt: str,
                     shown: Sequence[tuple[str, str]]) -> str:
    """A digest of everything a feed's bytes depend on (pure).

    `shown` holds, in feed order, the stored form of each entry and the
    language of the variant the feed shows.
    """
    digest = hashlib.sha256()
    for part in (settings, spec.kind, spec.key, spec.file(fmt), spec.title, spec.subtitle or "",
                 spec.filter.lang or ""):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for text, lang in shown:
        digest.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
        digest.update(lang.encode("utf-8") + b"\0")
    return digest.hexdigest()


def _still_written(path: Path, before: tuple[str, str] | None, fingerprint: str) -> bytes | None:
    """The file's bytes when it is exactly what `fingerprint` rendered last time, else None."""
    if before is None or before[0] != fingerprint:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == before[1] else None


