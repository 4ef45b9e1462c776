"""The site's pages as a plan: each page's path, what it depends on, and how to render it.

Every local article has a page per language, for good: a remote entry,
which the store forgets after a while, links its original instead.

A page is rendered only when its fingerprint changed since it was last
written, and its fingerprint is worked out from the store's listings and
entry versions without loading any text: a rebuild after one edited
article renders that article's pages and the listings that show it
(its feeds' pages and the front page), nothing else.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..config import Config, shown_path
from ..errors import TemplateError
from ..model import Entry, FeedItem, FeedSpec
from .paths import ENTRIES_DIR, FRONT_PAGE, STYLESHEET, entry_page_paths, page_path
from .select import Listed, select_all

if TYPE_CHECKING:
    from .site import Site

# Entries the front page shows, newest first.
FRONT_ENTRIES = 20
_SITE_SPEC = FeedSpec("all", "all", "all", "")


@dataclass(frozen=True)
class Page:
    """One page to write: where, a digest of all it shows, and the entries it needs."""

    path: str
    fingerprint: str
    needs: tuple[str, ...]
    render: Callable[[Mapping[str, Entry]], bytes]


class KeptPages(NamedTuple):
    """An entry whose pages are as last written: its listing, their fingerprint and paths."""

    listing: Listed
    fingerprint: str
    paths: list[str]


class SitePlan:
    """Every page of a build: the entries' pages, the feeds' pages, the front page and the style."""

    def __init__(self, config: Config, settings: str, listings: Sequence[Listed],
                 selected: Mapping[FeedSpec, Sequence[tuple[Listed, str]]],
                 versions: Mapping[str, tuple[str, bool]],
                 before: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.config = config
        self.specs = list(selected)
        self.versions = versions
        self.base = _digest(settings, templates_digest(config))
        self.pages: list[Page] = [self._stylesheet()]
        self.pages += self._front(listings, selected)
        self.pages += [self._feed(spec, picks) for spec, picks in selected.items()]
        # The entries whose pages were last written from what they would show now.
        self.kept: dict[str, KeptPages] = {}
        self.pages += self._entries(listings, _pages_by_entry(before or {}))

    @functools.cached_property
    def site(self) -> Site:
        """The renderer, made when a page is rendered: a rebuild that keeps every page
        loads no template engine."""
        from .site import Site

        return Site(self.config)

    def _stylesheet(self) -> Page:
        return Page(STYLESHEET, _digest(self.base, STYLESHEET), (),
                    lambda _: self.site.stylesheet())

    def _front(self, listings: Sequence[Listed],
               selected: Mapping[FeedSpec, Sequence[tuple[Listed, str]]]) -> list[Page]:
        if not listings:
            return []
        newest = list(select_all([_SITE_SPEC], listings, FRONT_ENTRIES)[_SITE_SPEC])
        counts = {spec.stem: len(picks) for spec, picks in selected.items()}
        fingerprint = _digest(self.base, FRONT_PAGE, self._site_map(),
                              *(f"{stem}={n}" for stem, n in counts.items()),
                              *self._shown(newest))

        def render(entries: Mapping[str, Entry]) -> bytes:
            return self.site.front_page(_items(newest, entries), self.specs, counts)

        return [Page(FRONT_PAGE, fingerprint, _ids(newest), render)]

    def _feed(self, spec: FeedSpec, picks: Sequence[tuple[Listed, str]]) -> Page:
        path = page_path(spec)
        fingerprint = _digest(self.base, path, spec.kind, spec.key, spec.title,
                              spec.subtitle or "", self._site_map(), *self._shown(picks))

        def render(entries: Mapping[str, Entry]) -> bytes:
            return self.site.feed_page(spec, _items(picks, entries), self.specs)

        return Page(path, fingerprint, _ids(picks), render)

    def _entries(self, listings: Iterable[Listed],
                 before: Mapping[str, tuple[str, list[str]]]) -> list[Page]:
        """The pages of the entries that changed; those that did not are `kept`.

        An entry page shows the entry (its version), the language feeds it
        is found in and the pages of its tags: its fingerprint covers those
        and names the entry, so an unchanged entry is told from the last
        build's fingerprints alone, without working out its pages' paths.
        """
        lang_feeds = [spec.stem for spec in self.specs if spec.kind == "lang"]
        tag_feeds = {tag: spec.stem for spec in self.specs if spec.kind == "tag"
                     for tag in spec.filter.tags}
        contexts: dict[tuple[str, ...], str] = {}
        pages = []
        for listing in listings:
            version, local = self.versions.get(listing.id, ("", False))
            if not local:
                continue  # a remote entry links the original, not a page of its own
            context = contexts.get(listing.tags)
            if context is None:
                context = contexts[listing.tags] = _digest(
                    self.base, *lang_feeds,
                    *(f"{tag}={tag_feeds.get(tag, '')}" for tag in listing.tags))
            fingerprint = f"{_digest(context, version)}:{listing.id}"
            last = before.get(listing.id)
            if last is not None and last[0] == fingerprint and len(last[1]) == len(listing.languages):
                self.kept[listing.id] = KeptPages(listing, *last)
            else:
                pages += self._pages_of(listing, fingerprint)
        return pages

    def pages_of(self, entry_id: str) -> list[Page]:
        """The pages of a kept entry, planned after all (one of its files is gone)."""
        kept = self.kept[entry_id]
        return self._pages_of(kept.listing, kept.fingerprint)

    def _pages_of(self, listing: Listed, fingerprint: str) -> list[Page]:
        paths = entry_page_paths(listing.id, listing.languages, self.config)
        return [Page(path, fingerprint, (listing.id,), self._entry_renderer(listing.id, lang))
                for lang, path in zip(listing.languages, paths, strict=True)]

    def _entry_renderer(self, entry_id: str, lang: str) -> Callable[[Mapping[str, Entry]], bytes]:
        def render(entries: Mapping[str, Entry]) -> bytes:
            entry = entries[entry_id]
            variant = entry.variant(lang)
            assert variant is not None  # the listing's languages are the entry's
            return self.site.entry_page(entry, variant, self.specs)

        return render

    def _site_map(self) -> str:
        """Every feed and the tags it takes: what feed and front pages link to."""
        return _digest(*(f"{s.kind}\0{s.stem}\0{s.title}\0{sorted(s.filter.tags)}" for s in self.specs))

    def _shown(self, picks: Sequence[tuple[Listed, str]]) -> list[str]:
        return [f"{self.versions.get(listing.id, ('', False))}\0{lang}" for listing, lang in picks]


def render_page(page: Page, entries: Mapping[str, Entry], config: Config) -> bytes:
    """The page's bytes; TemplateError naming the template and line when its template fails."""
    import jinja2

    try:
        return page.render(entries)
    except jinja2.TemplateError as exc:
        raise TemplateError(*_template_fault(exc, config)) from exc


def _template_fault(exc: Exception, config: Config) -> tuple[str, str]:
    """Where a template failed (`templates/entry.html:12`) and why, for the build's problems."""
    import jinja2

    file, line = None, None
    if isinstance(exc, jinja2.TemplateSyntaxError):
        file, line = exc.filename or exc.name, exc.lineno
    else:
        # Jinja2 rewrites a rendering error's traceback so that template
        # frames name the template file and line: the innermost one failed.
        tb = exc.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_code.co_filename
            if name.endswith((".html", ".css", ".xml", ".txt")):
                file, line = name, tb.tb_lineno
            tb = tb.tb_next
    where = shown_path(Path(file), config.root) if file else "templates"
    reason = f"page template failed: {type(exc).__name__}: {exc}"
    return (f"{where}:{line}" if line else where), reason


def templates_digest(config: Config) -> str:
    """A digest of every template a page may be rendered with: the shipped ones and the project's."""
    digest = hashlib.sha256()
    shipped = resources.files("feeds") / "templates"
    folders = [Path(str(shipped))]
    if config.templates_dir.is_dir():
        folders.append(config.templates_dir)
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape"))
            digest.update(b"\0" + hashlib.sha256(path.read_bytes()).digest())
        digest.update(b"\1")
    return digest.hexdigest()


def _items(picks: Sequence[tuple[Listed, str]], entries: Mapping[str, Entry]) -> list[FeedItem]:
    items = []
    for listing, lang in picks:
        entry = entries[listing.id]
        variant = entry.variant(lang)
        assert variant is not None  # selection picks only languages the entry has
        items.append(FeedItem(entry, variant))
    return items


def _ids(picks: Sequence[tuple[Listed, str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(listing.id for listing, _ in picks))


def _pages_by_entry(before: Mapping[str, tuple[str, str]]) -> dict[str, tuple[str, list[str]]]:
    """Entry id → the fingerprint and the paths of its pages, from the outputs written last.

    An entry page's fingerprint is `<digest>:<entry id>` (see `SitePlan._entries`);
    pages of one entry share it.
    """
    found: dict[str, tuple[str, list[str]]] = {}
    for path, (fingerprint, _sha) in before.items():
        if path.startswith(_ENTRY_PAGES) and fingerprint[_DIGEST_CHARS:_DIGEST_CHARS + 1] == ":":
            entry_id = fingerprint[_DIGEST_CHARS + 1:]
            pages = found.get(entry_id)
            if pages is None:
                found[entry_id] = (fingerprint, [path])
            elif pages[0] == fingerprint:
                pages[1].append(path)
    return found


_ENTRY_PAGES = f"{ENTRIES_DIR}/"
_DIGEST_CHARS = 64  # a SHA-256 in hex


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
