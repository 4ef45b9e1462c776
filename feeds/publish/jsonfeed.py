"""Rendering a feed's items as JSON Feed 1.1 bytes (pure: same input, same bytes).

JSON Feed (https://www.jsonfeed.org/version/1.1/) is what web developers'
readers and many services take most easily. The document carries what the
Atom one does: ids are the same, so an entry is one entry whichever format a
reader follows; `url` is where the entry is read and `external_url` the
original article when that is elsewhere; dates are RFC 3339. Keys are
written in a fixed order and without the clock, so an unchanged feed keeps
its bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..config import Config
from ..model import Enclosure, Entry, FeedItem, FeedSpec
from ..text.links import iri_to_uri
from ..text.media import UNKNOWN_TYPE
from .entrylinks import Linking
from .paths import feed_url
from .render import variant_id

JSON_FEED_TYPE = "application/feed+json"
VERSION = "https://jsonfeed.org/version/1.1"


def render_json(spec: FeedSpec, items: Sequence[FeedItem], config: Config) -> bytes:
    """The JSON Feed 1.1 document for `spec` with `items` in the given order."""
    linking = Linking.of(config, "json")
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": spec.title,
        "home_page_url": linking.feed_home(spec),
        "feed_url": feed_url(spec.file("json"), config),
    }
    if spec.subtitle:
        feed["description"] = spec.subtitle
    if spec.filter.lang is not None:
        feed["language"] = spec.filter.lang
    feed["authors"] = [{"name": config.author}]
    if config.named_hubs:
        feed["hubs"] = [{"type": "WebSub", "url": hub} for hub in config.named_hubs]
    feed["items"] = [_item(item, linking) for item in items]
    text = json.dumps(feed, ensure_ascii=False, indent=2)
    # U+2028 and U+2029 are valid JSON but end a line in JavaScript: escaped,
    # the document can also be embedded in a script.
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (text + "\n").encode("utf-8")


def _item(item: FeedItem, linking: Linking) -> dict[str, Any]:
    entry, variant = item.entry, item.variant
    out: dict[str, Any] = {"id": variant_id(entry, variant)}
    # JSON Feed URLs are URIs: a non-ASCII path is percent-encoded.
    link = linking.link(entry, variant)
    if link:
        out["url"] = iri_to_uri(link)
    original = linking.original(entry, variant)
    if original:
        out["external_url"] = iri_to_uri(original)
    out["title"] = variant.title
    out["content_html"] = variant.content_html or "<p></p>"
    if variant.summary:
        out["summary"] = variant.summary
    if entry.image:
        out["image"] = iri_to_uri(entry.image)
    out["date_published"] = (entry.published or entry.updated).isoformat()
    out["date_modified"] = entry.updated.isoformat()
    authors = _authors(entry)
    if authors:
        out["authors"] = authors
    if entry.tags:
        out["tags"] = list(entry.tags)
    out["language"] = variant.lang
    if entry.enclosures:
        out["attachments"] = [_attachment(e) for e in entry.enclosures]
    return out


def _attachment(file: Enclosure) -> dict[str, Any]:
    """A file as a JSON Feed attachment: `mime_type` is required, so an unknown one is said so."""
    out: dict[str, Any] = {"url": iri_to_uri(file.url), "mime_type": file.type or UNKNOWN_TYPE}
    if file.title:
        out["title"] = file.title
    if file.length is not None:
        out["size_in_bytes"] = file.length
    if file.duration is not None:
        out["duration_in_seconds"] = file.duration
    return out


def _authors(entry: Entry) -> list[dict[str, str]]:
    """Each author's name, with their URL (JSON Feed authors have no e-mail field)."""
    contacts = {p.name: p for p in entry.contacts}
    authors = []
    for name in entry.authors:
        person = contacts.get(name)
        authors.append({"name": name} | ({"url": iri_to_uri(person.uri)} if person and person.uri else {}))
    return authors
