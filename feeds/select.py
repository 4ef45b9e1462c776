"""Choosing which feeds exist and which entries each one carries (pure).

The plan depends only on the entries and the configuration, so a rebuild
with the same input plans the same feeds in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .config import Config
from .model import Entry, EntryFilter, FeedItem, FeedSpec
from .slug import slugify


def plan_feeds(entries: Sequence[Entry], config: Config) -> list[FeedSpec]:
    """Every feed to write for `entries`: all, per language, per tag, custom.

    A feed with no entry is not planned (its old file is then removed).
    Tags whose slugs collide (`Tech`, `tech`, `TECH!`) share one feed.
    """
    specs: list[FeedSpec] = []
    if not entries:
        return specs
    if "all" in config.families:
        specs.append(FeedSpec("all", "all", "all.atom", config.title, subtitle=config.subtitle))
    if "lang" in config.families:
        present = {lang for e in entries for lang in e.languages}
        ordered = [lang for lang in config.languages if lang in present]
        ordered += sorted(present - set(ordered))
        for lang in ordered:
            specs.append(
                FeedSpec("lang", lang, f"lang/{slugify(lang)}.atom",
                         f"{config.title} ({lang})", EntryFilter(lang=lang))
            )
    if "tags" in config.families:
        for slug, tags in tag_groups(entries, config.min_tag_entries).items():
            label = min(tags, key=lambda t: (len(t), t))
            specs.append(
                FeedSpec("tag", slug, f"tags/{slug}.atom", f"{config.title}: {label}",
                         EntryFilter(tags=frozenset(tags)))
            )
    for custom in config.custom:
        spec = FeedSpec("custom", custom.name, f"custom/{custom.name}.atom", custom.title,
                        custom.filter)
        if any(matches(e, spec.filter) for e in entries):
            specs.append(spec)
    return specs


def tag_groups(entries: Iterable[Entry], min_entries: int = 1) -> dict[str, set[str]]:
    """Tag slug → the tags that share it, for slugs used by at least `min_entries` entries."""
    groups: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for entry in entries:
        slugs = set()
        for tag in entry.tags:
            slug = slugify(tag)
            groups.setdefault(slug, set()).add(tag)
            slugs.add(slug)
        for slug in slugs:
            counts[slug] = counts.get(slug, 0) + 1
    return {s: groups[s] for s in sorted(groups) if counts[s] >= min_entries}


def matches(entry: Entry, flt: EntryFilter) -> bool:
    """Whether `entry` belongs in a feed with filter `flt`."""
    if flt.lang is not None and entry.variant(flt.lang) is None:
        return False
    if flt.tags and flt.tags.isdisjoint(entry.tags):
        return False
    return not (flt.authors and flt.authors.isdisjoint(entry.authors))


def newest_first(entries: Iterable[Entry]) -> list[Entry]:
    """Entries ordered as feeds show them: newest first, ties broken by id."""
    return sorted(entries, key=lambda e: (-e.sort_time.timestamp(), e.id))


def select_items(spec: FeedSpec, ordered: Sequence[Entry], limit: int) -> list[FeedItem]:
    """The newest `limit` items of a feed, from entries already `newest_first`.

    A language feed shows each entry's variant in that language; any other
    feed carries an entry once, as its first variant.
    """
    items: list[FeedItem] = []
    lang = spec.filter.lang
    for entry in ordered:
        if not matches(entry, spec.filter):
            continue
        variant = entry.variant(lang) if lang is not None else entry.variants[0]
        assert variant is not None  # matches() checked the language
        items.append(FeedItem(entry, variant))
        if len(items) >= limit:
            break
    return items


def select_all(
    specs: Sequence[FeedSpec], entries: Sequence[Entry], limit: int
) -> Mapping[FeedSpec, list[FeedItem]]:
    """Items for every planned feed, sorting the entries once."""
    ordered = newest_first(entries)
    return {spec: select_items(spec, ordered, limit) for spec in specs}
