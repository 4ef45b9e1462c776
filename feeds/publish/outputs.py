"""Publishing: the store's published entries → every feed, the index and OPML, written.

Feeds are planned from the store's listings without loading any text, and
a feed whose inputs are as they were when it was last written is read back
instead of rendered again (see `publish`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..about import __version__
from ..codec import decode_entry
from ..config import Config
from ..errors import TemplateError
from ..model import Entry, FeedItem, FeedSpec, Listing, Problem, RenderedFeed
from ..store.protocol import PublishedEntries
from .archives import Archive, History, archive_links, plan_archives
from .forms import EntryForms
from .index import render_index, render_opml
from .paths import ENTRIES_DIR
from .select import plan_feeds, select_all
from .write import WriteReport, write_files, write_outputs

if TYPE_CHECKING:  # the renderers and the pages are imported when something is rendered
    from .pages import SitePlan


def render_format(fmt: str, spec: FeedSpec, items: Sequence[FeedItem], config: Config,
                  history: History | None = None, forms: EntryForms | None = None) -> bytes:
    """A feed in `fmt`; the Atom one links its archives (`history`), which are Atom.

    `forms` keeps the entries' Atom and RSS forms for the other feeds of the
    same publish that show them. The renderers are imported here, not with
    the module: a rebuild that changed nothing renders no feed, and would pay
    for them for nothing.
    """
    if fmt == "atom":
        from .render import render_feed

        return render_feed(spec, items, config, history, forms)
    if fmt == "rss":
        from .rss import render_rss

        return render_rss(spec, items, config, forms)
    if fmt == "json":
        from .jsonfeed import render_json

        return render_json(spec, items, config)
    raise ValueError(f"no renderer for the format {fmt!r}")


def render_all(entries: Sequence[Entry], config: Config) -> list[RenderedFeed]:
    """Every planned feed of `entries` rendered in each configured format, in plan order."""
    specs = plan_feeds(entries, config)
    selected = {spec: picks for spec, picks in
                select_all(specs, entries, config.entries_per_feed).items() if picks}
    history = plan_archives(list(selected), entries)[1] if config.archives else {}
    feeds: list[RenderedFeed] = []
    forms = EntryForms()
    for spec, picks in selected.items():
        items = [_item(e, lang) for e, lang in picks]
        feeds.extend(RenderedFeed(spec, fmt, render_format(fmt, spec, items, config,
                                                           history.get(spec), forms), len(picks))
                     for fmt in config.formats)
    return feeds


def check_pages(entries: Sequence[Entry], config: Config) -> list[Problem]:
    """Render the pages every template makes and write none: the problem a template has, if any.

    The front page, every feed's page and the pages of the entries those
    show: every template, with entries of every kind, without the cost of
    ten thousand entry pages (a build reports any other the same way).
    """
    if not config.pages:
        return []
    from .pages import SitePlan, render_page

    specs = plan_feeds(entries, config)
    selected = {spec: picks for spec, picks in
                select_all(specs, entries, config.entries_per_feed).items() if picks}
    shown = {entry.id for picks in selected.values() for entry, _ in picks}
    versions = {entry.id: ("", entry.source is None) for entry in entries}
    plan = SitePlan(config, render_fingerprint(config),
                    [entry for entry in entries if entry.id in shown], selected, versions)
    by_id = {entry.id: entry for entry in entries}
    try:
        for page in plan.pages:
            render_page(page, by_id, config)
    except TemplateError as exc:
        return [Problem(exc.where, exc.reason)]
    return []


def _item(entry: Entry, lang: str) -> FeedItem:
    variant = entry.variant(lang)
    assert variant is not None  # selection picks only languages the entry has
    return FeedItem(entry, variant)


@dataclass(frozen=True)
class Published:
    """What publishing wrote: the feeds, the files, how many entries, and what went wrong."""

    feeds: tuple[RenderedFeed, ...]
    report: WriteReport
    entries: int
    problems: tuple[Problem, ...] = ()


# Output path → (fingerprint of what it was rendered from, SHA-256 of its bytes).
Outputs = dict[str, tuple[str, str]]


def publish(store: PublishedEntries, config: Config) -> Published:
    """Write every feed of the store's published entries, its archives, the pages, the index, OPML.

    Feeds, archives and pages are planned from the store's listings, without loading
    any text. A feed's fingerprint covers the configuration, the feed and
    the stored form of each entry it shows; a feed whose fingerprint and
    file are as they were last written is not rendered again (its bytes are
    read back). An archive's or a page's fingerprint covers the same from the
    entries' versions, and one whose fingerprint is unchanged and whose file
    is there is left alone. So a rebuild renders only what something changed.
    A page template that fails is reported, and the pages stay as they were.
    """
    settings = render_fingerprint(config)
    decoded: dict[str, Entry] = {}
    outputs: Outputs = {}
    with store.snapshot():
        listings = store.published_listings()
        specs = plan_feeds(listings, config)
        selected = {spec: picks for spec, picks in
                    select_all(specs, listings, config.entries_per_feed).items() if picks}
        written_before = store.output_fingerprints()
        versions = store.entry_versions() if config.pages or config.archives else {}
        archives, history = plan_archives(list(selected), listings) if config.archives else ({}, {})
        keep: set[str] = set()
        feeds = _feeds(store, config, settings, selected, history, written_before, decoded,
                       outputs, keep)
        # A feed read back as it was written is left alone, not compared again.
        files = {f.path: f.data for f in feeds if f.path not in keep}
        archived: list[str] = []
        if archives:
            archived = _archives(store, config, settings, archives, versions, written_before,
                                 decoded, outputs, keep)
        problems: list[Problem] = []
        if config.pages:
            from .pages import SitePlan

            plan = SitePlan(config, settings, listings, selected, versions, written_before)
            problem = _pages(store, plan, written_before, decoded, outputs, files, keep)
            problems += [problem] if problem else []
    if "index.html" not in files and "index.html" not in keep:
        files["index.html"] = render_index(feeds, config)
    files["feeds.opml"] = render_opml(feeds, config)
    report = write_outputs(config.output_dir, files, keep)
    if archived:
        rewritten = set(archived)
        report = replace(report, written=tuple(sorted((*archived, *report.written))),
                         unchanged=tuple(p for p in report.unchanged if p not in rewritten))
    store.record_outputs(outputs, written_before)
    return Published(tuple(feeds), report, len(listings), tuple(problems))


def _feeds(store: PublishedEntries, config: Config, settings: str,
           selected: Mapping[FeedSpec, Sequence[tuple[Listing, str]]],
           history: Mapping[FeedSpec, History], written_before: Outputs,
           decoded: dict[str, Entry], outputs: Outputs, keep: set[str]) -> list[RenderedFeed]:
    """Every planned feed in every format: read back when unchanged (and named in `keep`),
    else rendered."""
    texts = store.entry_texts(listing.id for picks in selected.values() for listing, _ in picks)
    # Each text digested once, though an entry is in several feeds and formats.
    digests = {entry_id: hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
               for entry_id, text in texts.items()}
    feeds: list[RenderedFeed] = []
    # An entry shown in several feeds is written once in each format.
    forms = EntryForms()
    for spec, picks in selected.items():
        items: list[FeedItem] | None = None
        shown = [(digests[e.id], lang) for e, lang in picks]
        for fmt in config.formats:
            path = spec.file(fmt)
            links = history.get(spec) if fmt == "atom" else None
            fingerprint = feed_fingerprint(settings, spec, fmt, shown, links)
            data = _still_written(config.output_dir / path, written_before.get(path), fingerprint)
            if data is not None:
                keep.add(path)
                outputs[path] = written_before[path]
            else:
                if items is None:
                    items = []
                    for listing, lang in picks:
                        if listing.id not in decoded:
                            decoded[listing.id] = decode_entry(texts[listing.id])
                        items.append(_item(decoded[listing.id], lang))
                data = render_format(fmt, spec, items, config, links, forms)
                outputs[path] = (fingerprint, hashlib.sha256(data).hexdigest())
            feeds.append(RenderedFeed(spec, fmt, data, len(picks)))
    return feeds


def _archives(store: PublishedEntries, config: Config, settings: str,
              archives: Mapping[Archive, Sequence[tuple[Listing, str]]],
              versions: Mapping[str, tuple[str, bool]], written_before: Outputs,
              decoded: dict[str, Entry], outputs: Outputs, keep: set[str]) -> list[str]:
    """Write every archive document whose fingerprint changed; the paths written.

    An archive's fingerprint covers its entries' versions and its links, so
    a past month is never rendered again unless one of its entries changed.
    Archives are written as they are rendered, a batch at a time, before the
    feeds that link them: the history of ten thousand entries is a hundred
    megabytes and more, too much to hold at once. Each file is whole, old
    or new; all are named in `keep` for the write of the rest.
    """
    present = _files_below(config.output_dir, {a.spec.file("atom").rpartition("/")[0]
                                               for a in archives})
    pending = []
    for archive, picks in archives.items():
        path = archive.spec.file("atom")
        shown = [(versions.get(listing.id, ("", False))[0], lang) for listing, lang in picks]
        fingerprint = feed_fingerprint(settings, archive.spec, "atom", shown, archive.history)
        before = written_before.get(path)
        if before is not None and before[0] == fingerprint and path in present:
            keep.add(path)
            outputs[path] = before
        else:
            pending.append((archive, picks, path, fingerprint))
    needed = {listing.id for _, picks, _, _ in pending for listing, _ in picks} - decoded.keys()
    decoded.update((entry_id, decode_entry(text))
                   for entry_id, text in store.entry_texts(needed).items())
    written: list[str] = []
    for start in range(0, len(pending), _ARCHIVE_BATCH):
        batch: dict[str, bytes] = {}
        for archive, picks, path, fingerprint in pending[start:start + _ARCHIVE_BATCH]:
            items = [_item(decoded[listing.id], lang) for listing, lang in picks]
            batch[path] = render_format("atom", archive.spec, items, config, archive.history)
            outputs[path] = (fingerprint, hashlib.sha256(batch[path]).hexdigest())
        written += write_files(config.output_dir, batch)[0]
        keep.update(batch)
    return written


# Archive documents rendered and written at a time (see `_archives`).
_ARCHIVE_BATCH = 200


def _pages(store: PublishedEntries, plan: SitePlan, written_before: Outputs,
           decoded: dict[str, Entry], outputs: Outputs, files: dict[str, bytes],
           keep: set[str]) -> Problem | None:
    """Render the pages whose fingerprint changed; the others are kept as written.

    A template that fails to render (a project's own, most likely) leaves
    every page as it was, and is reported as the problem returned.
    """
    from .pages import render_page

    output = plan.config.output_dir
    folders = {page.path.rpartition("/")[0] for page in plan.pages}
    present = _files_below(output, folders | ({ENTRIES_DIR} if plan.kept else set()))
    pending = []
    for entry_id, kept in plan.kept.items():
        if all(path in present for path in kept.paths):
            keep.update(kept.paths)
            outputs.update((path, written_before[path]) for path in kept.paths)
        else:
            pending += plan.pages_of(entry_id)
    for page in plan.pages:
        before = written_before.get(page.path)
        if before is not None and before[0] == page.fingerprint and page.path in present:
            keep.add(page.path)
            outputs[page.path] = before
        else:
            pending.append(page)
    needed = {entry_id for page in pending for entry_id in page.needs} - decoded.keys()
    decoded.update((entry_id, decode_entry(text))
                   for entry_id, text in store.entry_texts(needed).items())
    rendered: dict[str, tuple[str, bytes]] = {}
    try:
        for page in pending:
            rendered[page.path] = (page.fingerprint, render_page(page, decoded, plan.config))
    except TemplateError as exc:
        keep.update(page.path for page in pending if (output / page.path).is_file())
        return Problem(exc.where, exc.reason)
    for path, (fingerprint, data) in rendered.items():
        files[path] = data
        outputs[path] = (fingerprint, hashlib.sha256(data).hexdigest())
    return None


def _files_below(output: Path, folders: Iterable[str]) -> set[str]:
    """The files in each of `folders` of the output directory, as relative paths (one listing each)."""
    present: set[str] = set()
    for folder in folders:
        try:
            with os.scandir(output / folder) as found:
                present.update(f"{folder}/{item.name}" if folder else item.name
                               for item in found if item.is_file())
        except OSError:
            continue
    return present


# How feeds are rendered, beyond the version: changed when the same entries
# would now render differently, so that a feed written by the old rules is
# written again at the next build even if none of its entries changed.
# "links-2": an entry's own link first and, with translations, again last.
_RENDERING = "links-2"


def render_fingerprint(config: Config) -> str:
    """A digest of the configuration (and version and rules) a feed is rendered with."""
    def plain(value: object) -> object:
        if isinstance(value, (set, frozenset)):
            return sorted(value, key=str)
        return str(value)

    blob = json.dumps([__version__, _RENDERING, asdict(config)], default=plain, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def feed_fingerprint(settings: str, spec: FeedSpec, fmt: str,
                     shown: Sequence[tuple[str, str]], history: History | None = None) -> str:
    """A digest of everything a feed's bytes depend on (pure).

    `shown` holds, in feed order, a digest of the stored form (or the
    version) of each entry and the language of the variant the feed shows;
    `history` the archives the document links.
    """
    digest = hashlib.sha256()
    links = "\0".join(f"{rel}={path}" for rel, path in archive_links(history or History()).items())
    for part in (settings, spec.kind, spec.key, spec.file(fmt), spec.title, spec.subtitle or "",
                 spec.filter.lang or "", links):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for version, lang in shown:
        digest.update(version.encode("utf-8", "surrogatepass") + b"\0")
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


