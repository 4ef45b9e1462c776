"""Rendering a feed's items as Atom 1.0 bytes (pure: same input, same bytes).

feedgen builds the document; a small entry extension adds what feedgen 1.0
does not emit itself: per-entry `xml:lang`, links with `rel`/`type`/`hreflang`
(feedgen drops those attributes on entry links) and a full `atom:source`.
An entry's media files are `link rel="enclosure"` (RFC 4287 §4.2.7.2) and
its picture a Media RSS `media:thumbnail` (feedgen's media extension, loaded
only for a feed that has pictures, so other feeds keep their bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..about import PROJECT_URL, __version__
from ..config import Config
from ..model import Enclosure, Entry, FeedItem, FeedSpec, Variant
from ..text.links import iri_to_uri, tag_specific, valid_id
from .archives import History, archive_links
from .entrylinks import Linking
from .paths import feed_url

ATOM_TYPE = "application/atom+xml"
FH = "http://purl.org/syndication/history/1.0"
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
                history: History | None = None) -> bytes:
    """The Atom document for `spec` with `items` in the given order.

    `history` adds the RFC 5005 links: a feed's to its newest archive, or an
    archive's to its neighbours and its feed (and marks it an archive).
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
    if archived:
        fg.register_extension("feeds_archived", _Archived, atom=True, rss=False)
    fg.generator("feeds", __version__, PROJECT_URL)
    if spec.filter.lang is not None:
        fg.language(spec.filter.lang)
    fg.updated(max(item.entry.updated for item in items))
    if any(item.entry.image for item in items):
        fg.load_extension("media", atom=True, rss=False)
    for item in items:
        _add_entry(fg, item, spec, linking)
    data: bytes = fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return data


def _add_entry(fg: Any, item: FeedItem, spec: FeedSpec, linking: Linking) -> None:
    entry, variant = item.entry, item.variant
    fe = fg.add_entry(order="append")
    fe.register_extension("feeds_extras", _EntryExtras, atom=True, rss=False)
    extras: _EntryExtras = fe.feeds_extras
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
    # A language feed states its language once; an entry says its own where
    # it differs, as `zh-Hant` does in the `zh` feed.
    if spec.filter.lang != variant.lang:
        extras.lang = variant.lang
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
