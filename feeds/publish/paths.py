"""Where each page of the site is, and how one page links another (pure).

Paths are relative to the output directory and `/`-separated: the front
page `index.html`, a feed's page beside its files (`lang/zh.html`), an
entry's permanent page per language (`entries/<slug>.<lang>.html`) and the
shared `style.css`. Feeds link pages with absolute URLs (`feed_url`),
pages link each other relatively (`relative_url`).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from urllib.parse import unquote

from ..config import Config
from ..model import FeedSpec
from ..text.links import site_uri, url_path
from ..text.slug import slugify

# Each feed format: the media type it is served and discovered as, and its name for people.
MEDIA_TYPES: Mapping[str, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
FORMAT_NAMES: Mapping[str, str] = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
FRONT_PAGE = "index.html"
STYLESHEET = "style.css"
OPML = "feeds.opml"
ENTRIES_DIR = "entries"
# 96 bits of the id: two entries of a store sharing a page by chance is
# out of reach (a birthday collision needs some 2**48 entries).
_HASH_CHARS = 24
# A language tag longer than this is no BCP 47 tag in use; it is cut and
# hashed so that the file name stays short.
_MAX_LANG = 35
# An id of the site's own entries: `tag:<authority>,<date>:<specific>`.
_TAG_ID = re.compile(r"tag:([^,:]+),([0-9-]+):(.*)", re.DOTALL)


def entry_page_path(entry_id: str, lang: str, config: Config) -> str:
    """The permanent page of an entry's variant in `lang`: `entries/<slug>.<lang>.html`.

    Derived from the id and the language alone (and the site's authority
    and id date, which shape its own ids), so a page never moves once
    published and links to it keep working. It takes the id and language
    rather than the Entry so that the pages of a rebuild can be planned
    from the store's listings, before any text is loaded.

    The site's own ids (`tag:<authority>,<date>:<specific>`, see
    `feeds.local.front`) give a readable name: the percent-decoded specific
    part, when it is a slug already (`2025-storage`). Anything else (a
    specific part that slugifying would change, such as `news/储能` or a
    remote entry's `remote/<hash>`, another site's tag, a URL, a
    `urn:uuid:`) gets the slug followed by `--` and a hash of the whole
    id. A slug never holds `--` (slugify joins words with one `-`), so a
    hashed name can never equal a readable one, and two ids never share a
    page. Slugs hold neither `/` nor `.` nor `..`, so the path stays inside
    `entries/` whatever the id.
    """
    return f"{ENTRIES_DIR}/{_entry_stem(entry_id, config)}.{_lang_part(lang)}.html"


def entry_page_paths(entry_id: str, langs: Sequence[str], config: Config) -> list[str]:
    """`entry_page_path` of each of `langs`, working out the entry's part of the name once."""
    stem = _entry_stem(entry_id, config)
    return [f"{ENTRIES_DIR}/{stem}.{_lang_part(lang)}.html" for lang in langs]


def _entry_stem(entry_id: str, config: Config) -> str:
    return _stem_of(entry_id, config.authority, config.id_date)


def _stem(entry_id: str, authority: str, id_date: str) -> str:
    found = _TAG_ID.fullmatch(entry_id)
    own = found is not None and (found[1], found[2]) == (authority, id_date)
    specific = unquote(found[3], errors="surrogateescape") if found is not None else entry_id
    slug = slugify(specific)
    if own and slug == specific:
        return slug
    digest = hashlib.sha256(entry_id.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    # The readable head is cut short: the hash alone tells ids apart.
    head = slug.encode("utf-8")[:80].decode("utf-8", "ignore").rstrip("-_")
    return f"{head}--{digest}" if head else digest


# A daemon plans the same pages on every rebuild. Wrapped rather than
# decorated so that the function itself stays in reach of mutation testing.
_stem_of = lru_cache(maxsize=1 << 16)(_stem)


def _lang_part(lang: str) -> str:
    """The language as the file name says it: `zh-Hant` as `zh-hant`, bounded in length."""
    part = slugify(lang)
    if len(part) > _MAX_LANG:
        digest = hashlib.sha256(lang.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        part = f"{part[:_MAX_LANG - 10].rstrip('-_')}--{digest}"
    return part


def page_path(spec: FeedSpec) -> str:
    """The page of a feed, beside its files in every format: `lang/zh.html` for `lang/zh`."""
    return spec.file("html")


def relative_url(from_page: str, to_path: str) -> str:
    """The relative link from the page at `from_page` to the file at `to_path`, percent-encoded.

    Both are paths relative to the output directory. A relative link works
    wherever the output is served (a sub-path, a CDN, `file://`); it is
    percent-encoded as the server decodes it (`tags/科技.html`), and a first
    segment that looks like a scheme (`a:b.html`) is guarded with `./`.
    """
    start = posixpath.dirname(from_page) or "."
    relative = posixpath.relpath(to_path, start)
    link = url_path(relative)
    if ":" in link.split("/", 1)[0]:
        link = "./" + link
    return link


def feed_url(path: str, config: Config) -> str:
    """The URL a written file is served at: its path percent-encoded below the base URL.

    A self link must equal the URL a client fetched (RFC 4287 §4.2.7.2), and
    that URL is ASCII (RFC 3986); the server decodes it back to the file.
    Feeds link pages, and pages name their canonical URL, the same way.
    """
    return site_uri(config.base_url) + url_path(path)
