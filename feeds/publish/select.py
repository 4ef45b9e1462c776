"""Choosing which feeds exist and which entries each one carries (pure).

The plan depends only on the entries and the configuration, so a rebuild
with the same input plans the same feeds in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from ..config import Config
from ..model import EntryFilter, FeedSpec, Headed, Placed
from ..text.slug import slugify


class Listed(Placed, Protocol):
    """What choosing feeds and their entries needs of an entry: no text.

    Both a full `Entry` and a store's `Listing` have it, so a rebuild can plan
    every feed without loading the content of entries no feed will show.
    """

    @property
    def languages(self) -> tuple[str, ...]: ...


P = TypeVar("P", bound=Placed)
L = TypeVar("L", bound=Listed)
# An entry as one feed shows it: the entry and the language of its variant there.
Pick = tuple[L, str]


def plan_feeds(entries: Sequence[Listed], config: Config) -> list[FeedSpec]:
    """Every feed to write for `entries`: all, per language, per tag, custom.

    A feed with no entry is not planned (its old file is then removed).
    Tags whose slugs collide (`Tech`, `tech`, `TECH!`) share one feed.
    """
    specs: list[FeedSpec] = []
    if not entries:
        return specs
    if "all" in config.families:
        specs.append(FeedSpec("all", "all", "all", config.title, subtitle=config.subtitle))
    if "lang" in config.families:
        # Only configured languages get a feed: an entry in another language
        # is still in all.atom and its tags' feeds, with its own xml:lang.
        present = {lang for e in entries for lang in e.languages}
        ordered = [lang for lang in config.languages
                   if any(lang_matches(lang, other) for other in present)]
        for lang in ordered:
            specs.append(
                FeedSpec("lang", lang, f"lang/{slugify(lang)}",
                         f"{config.title} ({lang})", EntryFilter(lang=lang))
            )
    if "tags" in config.families:
        for slug, tags in tag_groups(entries, config.min_tag_entries).items():
            label = min(tags, key=lambda t: (len(t), t))
            specs.append(
                FeedSpec("tag", slug, f"tags/{slug}", f"{config.title}: {label}",
                         EntryFilter(tags=frozenset(tags)))
            )
    for custom in config.custom:
        spec = FeedSpec("custom", custom.name, f"custom/{custom.name}", custom.title,
                        custom.filter)
        if any(matches(e, spec.filter) for e in entries):
            specs.append(spec)
    return specs


def tag_groups(entries: Iterable[Listed], min_entries: int) -> dict[str, set[str]]:
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


def lang_matches(wanted: str, lang: str) -> bool:
    """Whether a variant in `lang` belongs in the feed of language `wanted`.

    Tags compare without regard to case (RFC 5646 §2.1.1), and a feed of a
    bare language takes all its varieties: `zh` takes `zh-Hant` and `zh-TW`,
    while a feed of `zh-hant` takes only traditional Chinese.
    """
    wanted, lang = wanted.lower(), lang.lower()
    return wanted == lang or ("-" not in wanted and lang.split("-", 1)[0] == wanted)


def variant_language(entry: Listed, wanted: str) -> str | None:
    """The language of `entry`'s variant that a feed of `wanted` shows: an exact match first."""
    for lang in entry.languages:
        if lang == wanted:
            return lang
    return next((lang for lang in entry.languages if lang_matches(wanted, lang)), None)


def matches(entry: Listed, flt: EntryFilter) -> bool:
    """Whether `entry` belongs in a feed with filter `flt`."""
    if flt.lang is not None and variant_language(entry, flt.lang) is None:
        return False
    return _tags_and_authors_match(entry, flt)


def _tags_and_authors_match(entry: Placed, flt: EntryFilter) -> bool:
    if flt.tags and flt.tags.isdisjoint(entry.tags):
        return False
    return not (flt.authors and flt.authors.isdisjoint(entry.authors))


def newest_first(entries: Iterable[P]) -> list[P]:
    """Entries ordered as feeds show them: newest first, ties broken by id."""
    return sorted(entries, key=lambda e: (-e.sort_time.timestamp(), e.id))


def select_items(spec: FeedSpec, ordered: Sequence[L], limit: int) -> list[Pick[L]]:
    """The newest `limit` entries of a feed, from entries already `newest_first`.

    A language feed shows each entry's variant in that language; any other
    feed carries an entry once, as its first variant.
    """
    picks: list[Pick[L]] = []
    lang = spec.filter.lang
    for entry in ordered:
        if not matches(entry, spec.filter):
            continue
        shown = variant_language(entry, lang) if lang is not None else None
        picks.append((entry, shown or entry.languages[0]))
        if len(picks) >= limit:
            break
    return picks


def select_all(
    specs: Sequence[FeedSpec], entries: Sequence[L], limit: int
) -> Mapping[FeedSpec, list[Pick[L]]]:
    """The picks of every planned feed, sorting the entries once.

    A tag's feed looks only at the entries with one of its tags, found
    through an index made once: with ten thousand entries and fifty tags,
    scanning every entry for every tag was most of a rebuild's choosing.
    """
    ordered = newest_first(entries)
    tagged = {tag for spec in specs for tag in spec.filter.tags}
    positions: dict[str, list[int]] = {}
    if tagged:
        for i, entry in enumerate(ordered):
            for tag in entry.tags:
                if tag in tagged:
                    positions.setdefault(tag, []).append(i)
    picks: dict[FeedSpec, list[Pick[L]]] = {}
    for spec in specs:
        pool = ordered
        if spec.filter.tags:
            found = sorted({i for tag in spec.filter.tags for i in positions.get(tag, ())})
            pool = [ordered[i] for i in found]
        picks[spec] = select_items(spec, pool, limit)
    return picks


def articles_to_show(
    heads: Sequence[Headed], languages: Mapping[str, tuple[str, ...]], config: Config,
    *, ordered: bool = False,
) -> set[str]:
    """The ids of the local articles some feed could show, or every one with pages (pure).

    Only these need their bodies parsed and their entries stored: every
    feed shows its newest `entries_per_feed` entries, and remote entries can
    only push local ones out, so the newest few of each feed among the local
    articles alone are all it can take from them. A tag keeps as many as
    `min_tag_entries` asks for, so that it still counts enough to get a feed.

    `languages` holds the languages of the articles already parsed; the rest
    are known only when declared. An article whose languages are unknown and
    which a language's feed might show is returned, to be parsed: the
    caller asks again with what that taught it, until nothing new is wanted.
    A language with fewer articles than a feed shows then gets every
    article parsed, as it takes all of them to know that. With `ordered`,
    `heads` are already `newest_first` (see `ShownChooser`).
    """
    if shows_every_article(config):
        return {head.id for head in heads}
    in_order = heads if ordered else newest_first(heads)
    limit = config.entries_per_feed
    wanted: set[str] = set()
    if "all" in config.families:
        wanted.update(h.id for h in in_order[:limit])
    if "tags" in config.families:
        enough = max(limit, config.min_tag_entries)
        counts: dict[str, int] = {}
        slugs: dict[str, str] = {}
        full: set[str] = set()  # tags whose feed has enough articles already
        for head in in_order:
            tags = head.tags
            if full.issuperset(tags):
                continue  # no tag of it wants more: most heads, once the newest are counted
            for slug in {slugs.get(t) or slugs.setdefault(t, slugify(t)) for t in tags}:
                if counts.get(slug, 0) < enough:
                    counts[slug] = counts.get(slug, 0) + 1
                    wanted.add(head.id)
            full.update(t for t in tags if counts[slugs[t]] >= enough)
    filters = [custom.filter for custom in config.custom]
    if "lang" in config.families:
        filters += [EntryFilter(lang=lang) for lang in config.languages]
    for flt in filters:
        found = 0
        for head in in_order:
            if not _tags_and_authors_match(head, flt):
                continue
            langs = languages.get(head.id) or ((head.lang,) if head.lang is not None else None)
            if flt.lang is not None and langs is not None and not any(
                    lang_matches(flt.lang, lang) for lang in langs):
                continue
            wanted.add(head.id)  # shown, or parsed to learn whether it would be
            found += 1
            if found >= limit:
                break
    return wanted


class ShownChooser:
    """`articles_to_show` for the rounds of one read, the heads put in order once.

    A read asks again with the same heads and what parsing taught it of
    their languages, until nothing new is wanted; ordering the heads by
    date is most of a round (about 0.1 s at 100,000 articles). The caller
    passes the same sequence, unchanged, to every round of a read; another
    sequence is ordered anew.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._heads: Sequence[Headed] | None = None
        self._ordered: Sequence[Headed] = ()

    def __call__(self, heads: Sequence[Headed],
                 languages: Mapping[str, tuple[str, ...]]) -> set[str]:
        if heads is not self._heads or len(heads) != len(self._ordered):
            self._heads, self._ordered = heads, newest_first(heads)
        return articles_to_show(self._ordered, languages, self._config, ordered=True)


def shows_every_article(config: Config) -> bool:
    """Whether the site shows every local article, and so stores every one.

    With pages or archives every article has a page of its own and a place
    in the archives, shown in a feed or not.
    """
    return config.pages or config.archives
