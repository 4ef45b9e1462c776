"""An article page's bytes into the article, as safe HTML with absolute URLs (pure).

For `full_text` sources. The source's rewrite rules run on the whole page
first (so `remove = "div.ad"` takes an advertisement out of the article as
well as out of the feed), then trafilatura finds the article among the
navigation, comments and footers, and `sanitise_html` makes it as safe as
any remote content, its relative URLs resolved against the page's address.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import lxml.html
from lxml import etree

from ..errors import ParseError
from ..model import RewriteRule
from ..text.rewrite import rewrite_html
from ..text.sanitise import plain_text, sanitise_html

_HTML_TYPES = ("text/html", "application/xhtml+xml")
# The markup read for an article at most, scripts and styles removed: see `_prepared`.
MAX_PAGE_CHARS = 1_000_000
# Never part of an article, and often most of a page's bytes.
_NEVER_ARTICLE = ("script", "style", "noscript", "svg", "template", "iframe", "object", "embed")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_LOOKS_HTML = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)


def extract_article(body: bytes, url: str, content_type: str | None,
                    rules: Sequence[RewriteRule] = ()) -> str:
    """The article of the page `body` fetched from `url`, sanitised; ParseError says why none.

    Refuses what is not an HTML page (by its Content-Type, or its first
    bytes when it has none), a page too large to read (see `_prepared`)
    and a page with no article text.
    """
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media not in _HTML_TYPES:
        raise ParseError(f"not an HTML page (Content-Type {media})")
    if not media and not _LOOKS_HTML.match(body[:4096]):
        raise ParseError("not an HTML page")
    page = _prepared(_decode(body, content_type), url)
    if rules:
        page = rewrite_html(page, rules, document=True)
    import trafilatura  # only pages need it, and it takes a while to import

    try:
        found = trafilatura.extract(page, url=url, output_format="html", include_links=True,
                                    include_images=True, include_tables=True,
                                    include_comments=False)
    except Exception as exc:  # the extractor on a hostile page must not stop the rest
        raise ParseError(f"could not read the page: {type(exc).__name__}: {exc}") from exc
    article = sanitise_html(found or "", url)
    if not plain_text(article):
        raise ParseError("no article found on the page")
    return article


def _prepared(page: str, url: str) -> str:
    """`page` without scripts, styles and comments, its links absolute against `url`.

    trafilatura resolves a relative link against the site's root, not the
    page's folder, so `papers/one.pdf` on `/a/one.html` would point to
    `/papers/one.pdf`; lxml resolves them as browsers do (`<base href>`
    included). What is left must be under MAX_PAGE_CHARS: extraction costs
    about five seconds a megabyte of markup, and a refresh must not stall
    on one hostile page.
    """
    try:
        root = lxml.html.document_fromstring(page)
    except (etree.ParserError, ValueError):
        return page
    etree.strip_elements(root, *_NEVER_ARTICLE, etree.Comment, with_tail=False)
    root.make_links_absolute(url, resolve_base_href=True, handle_failures="discard")
    cleaned = str(lxml.html.tostring(root, encoding="unicode"))
    if len(cleaned) > MAX_PAGE_CHARS:
        raise ParseError(f"page too large to read for its article ({len(cleaned):,} characters "
                         f"without its scripts and styles; at most {MAX_PAGE_CHARS:,})")
    return cleaned


def _decode(body: bytes, content_type: str | None) -> str:
    """The page as text, in the charset its header or its `<meta>` declares, else UTF-8."""
    declared = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", content_type or "", re.I)
    meta = _CHARSET.search(body[:4096])
    for name in (declared.group(1) if declared else None,
                 meta.group(1).decode("ascii") if meta else None):
        if name:
            try:
                return body.decode(name, errors="replace")
            except LookupError:
                continue
    return body.decode("utf-8", errors="replace")
