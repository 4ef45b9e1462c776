"""Rendering a feed's items as Atom 1.0 bytes (pure: same input, same bytes).

feedgen builds the document; a small entry extension adds what feedgen 1.0
does not emit itself: per-entry `xml:lang`, links with `rel`/`type`/`hreflang`
(feedgen drops those attributes on entry links) and a full `atom:source`.
An entry's media files are `link rel="enclosure"` (RFC 4287 §4.2.7.2) and
its picture a Media RSS `media:thumbnail` (feedgen's media extension, loaded
only for a feed that has pictures, so other feeds keep their bytes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from ..about import PROJECT_URL, __version__
from ..config import Config
from ..model import Enclosure, Entry, FeedItem, FeedSpec, Variant
from ..text.links import iri_to_uri, tag_specific, valid_id
from .archives import History, archive_links
from .entrylinks import Linking
from .forms import EntryForms
from .paths import feed_url

ATOM_TYPE = "application/atom+xml"
FH = "http://purl.org/syndication/history/1.0"
MEDIA = "http://search.yahoo.com/mrss/"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def variant_id(entry: Entry, variant: Variant) -> str:
    """The id of one language version: the entry's own id for its first variant.

    A translation is a different text, so it gets an id of its own; the same
    id always means the same text in every feed.
    """
    if variant is entry.variants[0] or variant.lang == entry.variants[0].lang:
        return entry.id
    # Traditional Chinese was detected as plain `zh` before its script was
    # told apart; its translation keeps the id it was published under.
    return f"{entry.id}/{'zh' if variant.lang == 'zh-Hant' else variant.lang}"


def feed_id(spec: FeedSpec, config: Config) -> str:
    """A stable id for a feed, from the site authority and the feed's path.

    A tag: URI's specific part is ASCII (RFC 4151 §2.1), so a path such as
    `tags/科技` is percent-encoded; ASCII paths give the id they always had.
    """
    specific = tag_specific(f"feed/{spec.stem}")
    return f"tag:{config.authority},{config.id_date}:{specific}"


class _EntryExtras:
    """feedgen entry extension: the attributes and elements feedgen leaves out."""

    def __init__(self) -> None:
        self.lang: str | None = None
        self.links: list[dict[str, str]] = []
        self.source: dict[str, Any] | None = None

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, entry: Any) -> Any:
        from feedgen.util import xml_elem

        if self.lang:
            entry.attrib[_XML_LANG] = self.lang
        for link in self.links:
            xml_elem("link", entry, **link)
        if self.source:
            src = xml_elem("source", entry)
            xml_elem("id", src).text = self.source["id"]
            xml_elem("title", src).text = self.source["title"]
            if self.source.get("link"):
                xml_elem("link", src, rel="alternate", href=self.source["link"])
            updated: datetime | None = self.source.get("updated")
            if updated is not None:
                xml_elem("updated", src).text = updated.isoformat()
        return entry

    def extend_rss(self, item: Any) -> Any:
        return item


def enclosure_link(file: Enclosure) -> dict[str, str]:
    """The attributes of an Atom `link rel="enclosure"` for `file` (RFC 4287 §4.2.7)."""
    link = {"rel": "enclosure", "href": iri_to_uri(file.url)}
    if file.type:
        link["type"] = file.type
    if file.length is not None:
        link["length"] = str(file.length)
    if file.title:
        link["title"] = file.title
    return link


class _Archived:
    """feedgen feed extension: the `fh:archive` mark of an archive document (RFC 5005 §4)."""

    def extend_ns(self) -> dict[str, str]:
        return {"fh": FH}

    def extend_atom(self, feed: Any) -> Any:
        from feedgen.util import xml_elem

        xml_elem(f"{{{FH}}}archive", feed)
        return feed

    def extend_rss(self, feed: Any) -> Any:
        return feed


def render_feed(spec: FeedSpec, items: Sequence[FeedItem], config: Config,
                history: History | None = None, forms: EntryForms | None = None) -> bytes:
    """The Atom document for `spec` with `items` in the given order.

    `history` adds the RFC 5005 links: a feed's to its newest archive, or an
    archive's to its neighbours and its feed (and marks it an archive).
    `forms` keeps each entry's form for the other feeds of a publish that
    show it (see `forms.py`).

    feedgen writes the feed's own elements; each entry is written once by
    feedgen into a document that declares what this feed declares, and its
    lines are put where feedgen would have put them: the bytes are the ones
    feedgen gives for the whole document.
    """
    # Imported here: a rebuild whose feeds are all unchanged renders nothing.
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(feed_id(spec, config))
    fg.title(spec.title)
    if spec.subtitle:
        fg.subtitle(spec.subtitle)
    fg.link(href=feed_url(spec.file("atom"), config), rel="self", type=ATOM_TYPE)
    linking = Linking.of(config, "atom")
    archived = history is not None and history.is_archive
    # An archive's page is its feed's.
    home = replace(spec, stem=history.current.removesuffix(".atom")) if (
        history is not None and history.current is not None) else spec
    fg.link(href=linking.feed_home(home), rel="alternate", type="text/html")
    fg.author({"name": config.author})
    for hub in () if archived else config.named_hubs:  # WebSub: where to ask to be told of changes
        fg.link(href=hub, rel="hub")
    for rel, path in archive_links(history or History()).items():
        fg.link(href=feed_url(path, config), rel=rel, type=ATOM_TYPE)
    namespaces: dict[str, str] = {}
    if archived:
        fg.register_extension("feeds_archived", _Archived, atom=True, rss=False)
        namespaces["fh"] = FH
    fg.generator("feeds", __version__, PROJECT_URL)
    if spec.filter.lang is not None:
        fg.language(spec.filter.lang)
    fg.updated(max(item.entry.updated for item in items))
    media = any(item.entry.image for item in items)
    if media:
        fg.load_extension("media", atom=True, rss=False)
        namespaces["media"] = MEDIA
    head: bytes = fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    forms = EntryForms() if forms is None else forms
    context = ("atom", tuple(namespaces.items()))
    parts = []
    for item in items:
        # A language feed states its language once; an entry says its own where
        # it differs, as `zh-Hant` does in the `zh` feed.
        lang = item.variant.lang if spec.filter.lang != item.variant.lang else None
        if lang and not _PLAIN_LANG.fullmatch(lang):
            parts.append(forms.get(item, (context, lang),
                                   partial(_entry_form, item, linking, lang, media, namespaces)))
            continue
        form = forms.get(item, context, partial(_entry_form, item, linking, None, media, namespaces))
        # The one attribute of the entry element: the same bytes as feedgen's for a plain tag.
        parts.append(b'  <entry xml:lang="%s">' % lang.encode("ascii") + form[len(_ENTRY_OPEN):]
                     if lang else form)
    return splice(head, b"</feed>\n", parts)


# An entry's start tag, as an entry at the top of a feed is written, without attributes.
_ENTRY_OPEN = b"  <entry>"
# A language tag written into an attribute as it is (nothing in it to escape).
_PLAIN_LANG = re.compile(r"[A-Za-z0-9-]+")


def splice(head: bytes, end: bytes, parts: Sequence[bytes]) -> bytes:
    """`head`, a document written without entries, with `parts` put before its closing `end`."""
    if not head.endswith(end):
        raise ValueError(f"a document without entries should end with {end!r}")
    return b"".join((head[:-len(end)], *parts, end))


def _entry_form(item: FeedItem, linking: Linking, lang: str | None, media: bool,
                namespaces: Mapping[str, str]) -> bytes:
    """The lines of `item`'s entry as feedgen writes them in a feed declaring `namespaces`."""
    from feedgen.util import xml_elem
    from lxml import etree

    fe = _entry(item, linking, lang, media)
    root = xml_elem("feed", xmlns="http://www.w3.org/2005/Atom", nsmap=dict(namespaces))
    root.append(fe.atom_entry())
    text: bytes = etree.tostring(root, pretty_print=True, encoding="UTF-8")
    return text[text.index(b"\n") + 1:-len(b"</feed>\n")]


def _entry(item: FeedItem, linking: Linking, lang: str | None, media: bool) -> Any:
    """feedgen's entry for `item`, its extensions registered as `FeedGenerator.add_entry`
    registers them in a feed that loaded media (`media`) and then ours."""
    from feedgen.entry import FeedEntry
    from feedgen.ext.media import MediaEntryExtension

    entry, variant = item.entry, item.variant
    fe = FeedEntry()
    if media:
        fe.register_extension("media", MediaEntryExtension, atom=True, rss=False)
    fe.register_extension("feeds_extras", _EntryExtras, atom=True, rss=False)
    extras: _EntryExtras = fe.feeds_extras
    extras.lang = lang
    fe.id(variant_id(entry, variant))
    fe.title(variant.title)
    fe.updated(entry.updated)
    if entry.published is not None:
        fe.published(entry.published)
    contacts = {p.name: p for p in entry.contacts}
    for name in entry.authors:
        person = contacts.get(name)
        if person is None:
            fe.author({"name": name})
        else:  # feedgen leaves out the keys it is not given
            fe.author({"name": name} | ({"email": person.email} if person.email else {})
                      | ({"uri": person.uri} if person.uri else {}))
    for tag in entry.tags:
        fe.category(term=tag)
    fe.content(variant.content_html or "<p></p>", type="html")
    if variant.summary:
        fe.summary(variant.summary)
    # Readers that keep one alternate link keep the first (sfeed, SimplePie,
    # Miniflux) or the last (feedparser, newsboat): the entry's own link is
    # both. Its last copy names the entry's language, as the translations
    # name theirs, so that no two alternates share a type and a language
    # (RFC 4287 §4.1.1).
    link = linking.link(entry, variant)
    if link:
        extras.links.append({"rel": "alternate", "type": "text/html", "href": link})
    translations = linking.translations(entry, variant)
    extras.links.extend(
        {"rel": "alternate", "type": t.type, "hreflang": t.lang, "title": t.title, "href": t.href}
        for t in translations)
    original = linking.original(entry, variant)
    if original:
        extras.links.append({"rel": "related", "type": "text/html", "href": original})
    extras.links.extend(enclosure_link(e) for e in entry.enclosures)
    if entry.image:
        fe.media.thumbnail(url=iri_to_uri(entry.image), group=None)
    if link and translations and variant.lang:
        extras.links.append(
            {"rel": "alternate", "type": "text/html", "hreflang": variant.lang, "href": link})
    if entry.source is not None:
        # A remote feed's own id may be no URI at all (a malformed urn:uuid:);
        # the source's URL then stands for it. RFC 4287 §4.2.11 wants an
        # `updated` in atom:source: entries stored before one was always
        # given fall back to their own.
        extras.source = {
            "id": valid_id(entry.source.id) or valid_id(entry.origin) or entry.id,
            "title": entry.source.title,
            "link": entry.source.link, "updated": entry.source.updated or entry.updated,
        }
    return fe
