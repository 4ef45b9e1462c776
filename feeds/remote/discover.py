"""Feed autodiscovery: the feeds an HTML page points to (pure).

Pages announce their feeds with `<link rel="alternate" type="application/
rss+xml" href="...">` in their head; `feeds add` uses this when given a page
instead of a feed.
"""

from __future__ import annotations

from urllib.parse import urljoin

import lxml.html

from ..sources import check_url, normalise_url

FEED_TYPES = (
    "application/atom+xml",
    "application/rss+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
)


def looks_like_html(data: bytes, content_type: str | None) -> bool:
    """Whether a response is an HTML page rather than a feed."""
    if content_type and "html" in content_type.lower():
        return True
    head = data[:512].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html")


def is_comment_feed(url: str, title: str) -> bool:
    """Whether an announced feed carries a page's comments rather than its articles.

    Blogs (WordPress first of all) announce "Site » Comments Feed" beside the
    main feed, often before it on article pages; nobody adding a site means it.
    """
    return "comment" in title.casefold() or "comment" in url.casefold()


def discover_feeds(data: bytes, base_url: str) -> list[tuple[str, str, str]]:
    """The (url, type, title) of each feed the page links to, in preference order.

    Main feeds before comment feeds; within each, Atom first, then RSS, then
    JSON Feed, each in page order. A `feed://` link names an http feed (see
    `normalise_url`); links that are not http(s) after that cannot be
    followed and are left out.
    """
    try:
        doc = lxml.html.document_fromstring(data)
    except (ValueError, lxml.etree.ParserError):
        return []
    found: list[tuple[bool, int, int, tuple[str, str, str]]] = []
    for i, link in enumerate(doc.iter("link")):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" in rels and kind in FEED_TYPES and href:
            url = normalise_url(urljoin(base_url, href))
            if not check_url(url):
                continue
            title = (link.get("title") or "").strip()
            found.append((is_comment_feed(url, title), FEED_TYPES.index(kind), i,
                          (url, kind, title)))
    found.sort()
    seen: set[str] = set()
    result = []
    for *_, item in found:
        if item[0] not in seen:
            seen.add(item[0])
            result.append(item)
    return result
