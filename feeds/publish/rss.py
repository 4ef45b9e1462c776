"""Rendering a feed's items as RSS 2.0 bytes (pure: same input, same bytes).

For clients that read only RSS (many podcast apps and web services). The
document says what the Atom one says, in RSS's terms: the summary is the
`description`, the full HTML is `content:encoded`, an author without an
e-mail address is a `dc:creator` (RSS's own `author` must be an address),
a `tag:` id is a `guid` that is no permalink, and an aggregated item names
its source feed. Dates are RFC 822 as RSS requires, and `lastBuildDate` is
the newest entry's time, never the clock, so an unchanged feed keeps its
bytes.

Media: RSS allows one `<enclosure>` an item, so it is the item's first audio
or video file (else its first file) and the others are Media RSS
`media:content` (feedgen's media extension), with the picture as
`media:thumbnail`; podcast apps read all of them. An item with audio or
video, or whose feed gave iTunes tags, has them again (`itunes:duration`,
`itunes:image`, `itunes:explicit`, `itunes:episode`, `itunes:season`,
`itunes:episodeType`), written here: feedgen's podcast extension takes only
`.jpg` and `.png` image URLs and none of Apple's `true`/`false`. Namespaces
are declared only in a feed that uses them, so other feeds keep their bytes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ..about import PROJECT_URL, __version__
from ..config import Config
from ..model import Enclosure, Entry, FeedItem, FeedSpec
from ..text.links import iri_to_uri
from ..text.media import UNKNOWN_TYPE, media_kind
from .entrylinks import Linking
from .forms import EntryForms
from .paths import feed_url
from .render import MEDIA, splice, variant_id

RSS_TYPE = "application/rss+xml"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
DC = "http://purl.org/dc/elements/1.1/"
ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
_RSS_DOCS = "https://www.rssboard.org/rss-specification"


def rfc822(when: datetime) -> str:
    """`when` as RSS writes dates (RFC 822 with RFC 1123's four-digit year), in UTC.

    feedgen writes a year before 1000 with fewer digits, which no validator
    takes; an article may be dated so (Atom has no such limit).
    """
    when = when.astimezone(UTC)
    return f"{when:%a, %d %b} {when.year:04d} {when:%H:%M:%S} +0000"


class _ChannelDates:
    """feedgen feed extension: the channel's `lastBuildDate`, written as `rfc822` says,
    and its `atom:link`s beside the self link (feedgen writes only that one)."""

    def __init__(self) -> None:
        self.last_build: datetime | None = None
        self.links: list[dict[str, str]] = []
        self.itunes = False

    def extend_ns(self) -> dict[str, str]:
        return {"itunes": ITUNES} if self.itunes else {}

    def extend_atom(self, feed: Any) -> Any:
        return feed

    def extend_rss(self, feed: Any) -> Any:
        from feedgen.util import xml_elem

        element = feed.find("channel/lastBuildDate")
        if element is not None and self.last_build is not None:
            element.text = rfc822(self.last_build)
        channel = feed.find("channel")
        for link in self.links:
            xml_elem("{http://www.w3.org/2005/Atom}link", channel, **link)
        return feed


class _ItemExtras:
    """feedgen entry extension: the item's `pubDate` and `atom:link`s (feedgen has no links)."""

    def __init__(self) -> None:
        self.published: datetime | None = None
        self.links: list[dict[str, str]] = []
        self.itunes: list[tuple[str, dict[str, str], str | None]] = []

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, entry: Any) -> Any:
        return entry

    def extend_rss(self, item: Any) -> Any:
        from feedgen.util import xml_elem

        if self.published is not None:
            xml_elem("pubDate", item).text = rfc822(self.published)
        for link in self.links:
            xml_elem("{http://www.w3.org/2005/Atom}link", item, **link)
        for name, attributes, text in self.itunes:
            xml_elem(f"{{{ITUNES}}}{name}", item, **attributes).text = text
        return item


def render_rss(spec: FeedSpec, items: Sequence[FeedItem], config: Config,
               forms: EntryForms | None = None) -> bytes:
    """The RSS 2.0 document for `spec` with `items` in the given order.

    As in Atom (see `render.render_feed`), each item is written once by
    feedgen in a document declaring what this one declares, and kept in
    `forms` for the other feeds that show it.
    """
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.title(spec.title)
    fg.description(spec.subtitle or spec.title)
    fg.link(href=feed_url(spec.file("rss"), config), rel="self", type=RSS_TYPE)
    linking = Linking.of(config, "rss")
    fg.link(href=linking.feed_home(spec), rel="alternate")
    fg.generator("feeds", __version__, PROJECT_URL)
    fg.docs(_RSS_DOCS)
    if spec.filter.lang is not None:
        fg.language(spec.filter.lang)
    fg.register_extension("feeds_dates", _ChannelDates, atom=False, rss=True)
    last_build = max(item.entry.updated for item in items)
    fg.lastBuildDate(last_build)  # else feedgen writes the clock's time
    fg.feeds_dates.last_build = last_build
    fg.feeds_dates.links = [{"rel": "hub", "href": hub} for hub in config.named_hubs]
    itunes = fg.feeds_dates.itunes = any(_is_episode(item.entry) for item in items)
    media = any(item.entry.image or len(item.entry.enclosures) > 1 for item in items)
    if media:
        fg.load_extension("media", atom=False, rss=True)
    head: bytes = fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    # What the root declares, as feedgen gathers it: the extensions' and its own two.
    namespaces = {"dc": DC, **({"itunes": ITUNES} if itunes else {}),
                  **({"media": MEDIA} if media else {}), "atom": ATOM, "content": CONTENT}
    forms = EntryForms() if forms is None else forms
    context = ("rss", tuple(namespaces.items()))
    parts = [forms.get(item, context, partial(_item_form, item, linking, media, namespaces))
             for item in items]
    return splice(head, b"  </channel>\n</rss>\n", parts)


def _item_form(item: FeedItem, linking: Linking, media: bool,
               namespaces: Mapping[str, str]) -> bytes:
    """The lines of `item`'s element as feedgen writes them in a channel declaring `namespaces`."""
    from feedgen.util import xml_elem
    from lxml import etree

    root = xml_elem("rss", version="2.0", nsmap=dict(namespaces))
    xml_elem("channel", root).append(_item(item, linking, media).rss_entry())
    text: bytes = etree.tostring(root, pretty_print=True, encoding="UTF-8")
    start = text.index(b"\n", text.index(b"\n") + 1) + 1
    return text[start:-len(b"  </channel>\n</rss>\n")]


def _item(item: FeedItem, linking: Linking, media: bool) -> Any:
    """feedgen's entry for `item`, its extensions registered as `FeedGenerator.add_entry`
    registers them in a feed that loaded Dublin Core, media (`media`), and then ours."""
    from feedgen.entry import FeedEntry
    from feedgen.ext.dc import DcEntryExtension
    from feedgen.ext.media import MediaEntryExtension

    entry, variant = item.entry, item.variant
    fe = FeedEntry()
    fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    if media:
        fe.register_extension("media", MediaEntryExtension, atom=False, rss=True)
    fe.register_extension("feeds_items", _ItemExtras, atom=False, rss=True)
    extras: _ItemExtras = fe.feeds_items
    fe.title(variant.title)
    # RSS links are URIs: a non-ASCII path is percent-encoded (an IRI is not one).
    link = linking.link(entry, variant)
    link = iri_to_uri(link) if link else None
    if link:
        fe.link(href=link)
    guid = variant_id(entry, variant)
    fe.guid(guid, permalink=guid == link and guid.startswith(("http://", "https://")))
    extras.published = entry.published or entry.updated
    contacts = {p.name: p for p in entry.contacts}
    for name in entry.authors:
        person = contacts.get(name)
        if person is not None and person.email:
            fe.author({"name": name, "email": person.email})
        else:
            fe.dc.dc_creator(name)
    for tag in entry.tags:
        fe.category(term=tag)
    # Readers take a description for HTML: the plain-text summary is escaped
    # so that `a <b> tag` reads as written.
    fe.description(html.escape(variant.summary or variant.title, quote=False))
    fe.content(variant.content_html or "<p></p>", type="html")
    translations = linking.translations(entry, variant)
    extras.links.extend(
        {"rel": "alternate", "type": t.type, "hreflang": t.lang, "title": t.title, "href": t.href}
        for t in translations)
    original = linking.original(entry, variant)
    if original:
        extras.links.append({"rel": "related", "type": "text/html", "href": iri_to_uri(original)})
    # Readers that read the atom:links too keep the last alternate (feedparser,
    # newsboat): after the translations, the item's own link comes again, in
    # its language (as in Atom, see render.py).
    if link and translations and variant.lang:
        extras.links.append(
            {"rel": "alternate", "type": "text/html", "hreflang": variant.lang, "href": link})
    if entry.source is not None and entry.origin.startswith(("http://", "https://")):
        fe.source(url=iri_to_uri(entry.origin), title=entry.source.title)
    _add_media(fe, entry, extras)
    return fe


def _is_episode(entry: Entry) -> bool:
    """Whether podcast apps should find iTunes tags on the entry's item."""
    return entry.episode is not None or any(
        media_kind(e) in ("audio", "video") for e in entry.enclosures)


def _add_media(fe: Any, entry: Entry, extras: _ItemExtras) -> None:
    """The item's files (one `<enclosure>`, the rest `media:content`), picture and iTunes tags."""
    main: Enclosure | None = next(
        (e for e in entry.enclosures if media_kind(e) in ("audio", "video")),
        entry.enclosures[0] if entry.enclosures else None)
    if main is not None:
        # RSS requires the length; 0 is what the RSS Advisory Board advises for one unknown.
        fe.enclosure(iri_to_uri(main.url), str(main.length or 0), main.type or UNKNOWN_TYPE)
    for other in entry.enclosures:
        if other is not main:
            content = {"url": iri_to_uri(other.url), "type": other.type or UNKNOWN_TYPE,
                       "group": None}
            if other.length is not None:
                content["fileSize"] = str(other.length)
            if other.duration is not None:
                content["duration"] = str(other.duration)
            if (kind := media_kind(other)) is not None:
                content["medium"] = kind
            fe.media.content(content)
    if entry.image:
        fe.media.thumbnail(url=iri_to_uri(entry.image), group=None)
    if not _is_episode(entry):
        return
    if main is not None and main.duration is not None:
        extras.itunes.append(("duration", {}, str(main.duration)))
    if entry.image:
        extras.itunes.append(("image", {"href": iri_to_uri(entry.image)}, None))
    episode = entry.episode
    if episode is None:
        return
    if episode.explicit is not None:
        extras.itunes.append(("explicit", {}, "true" if episode.explicit else "false"))
    if episode.episode is not None:
        extras.itunes.append(("episode", {}, str(episode.episode)))
    if episode.season is not None:
        extras.itunes.append(("season", {}, str(episode.season)))
    if episode.kind is not None:
        extras.itunes.append(("episodeType", {}, episode.kind))
