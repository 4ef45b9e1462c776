"""The readable site beside the feeds: a front page, a page per feed, a page per entry (pure).

Feed readers read the feeds; a person who follows a link from a search
engine or a chat message reads these pages. Every function here turns
plain values into bytes (UTF-8 HTML or CSS) and is deterministic: the same
input gives the same bytes, with no clock anywhere, so an unchanged page is
never rewritten and a rebuild can compare fingerprints.

Paths (relative to the output directory, `/`-separated; see `paths`):

- `index.html`: the front page (`Site.front_page`);
- `<feed stem>.html`, e.g. `lang/zh.html`, `tags/科技.html`: a feed's page
  (`page_path`, `Site.feed_page`);
- `entries/<slug>.<lang>.html`: one language version of an entry
  (`entry_page_path`, `Site.entry_page`), permanent once published;
- `style.css` (`STYLESHEET`, `Site.stylesheet`), shared by all pages.

Every entry a page lists links its entry page, and an entry page links
the pages of all its variants: the entry pages to write are those of every
variant of every entry on the front page and the feed pages.

Every link between pages is relative (`relative_url`), so `output/` can be
served from any path, or opened from disk; only what must be absolute is:
autodiscovery links and the canonical and Open Graph URLs, which are read
away from the page (see `feeds.publish.render.feed_url`).

Templates are Jinja2 with autoescaping and `StrictUndefined` (a misspelt
variable fails the build rather than printing nothing). A project's own
`templates/` folder (`Config.templates_dir`) is searched before the
templates shipped in `feeds/templates/`, so overriding `base.html`,
`front.html`, `feed.html`, `entry.html` or `style.css` is a matter of
copying the file there. The context each template gets is documented on
the `Site` method that renders it; values are plain dicts and strings,
with every URL already worked out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
)
from jinja2.bccache import Bucket
from markupsafe import Markup

from ..config import Config
from ..model import Enclosure, Entry, FeedItem, FeedSpec, Variant
from ..text.links import iri_to_uri
from ..text.media import media_kind
from ..text.sanitise import page_content
from .paths import (
    FORMAT_NAMES,
    FRONT_PAGE,
    MEDIA_TYPES,
    OPML,
    STYLESHEET,
    entry_page_path,
    feed_url,
    page_path,
    relative_url,
)
from .select import lang_matches

# The language of the site's own words (headings, labels). An entry's text
# says its own language; the words around it are these.
UI_LANG = "en"
# The languages CLD2 tells apart most often, named in themselves.
_AUTONYMS: Mapping[str, str] = {
    "zh": "中文", "zh-hans": "简体中文", "zh-hant": "繁體中文", "zh-cn": "简体中文",
    "zh-tw": "繁體中文", "zh-hk": "繁體中文", "en": "English", "ja": "日本語", "ko": "한국어",
    "de": "Deutsch", "fr": "Français", "es": "Español", "pt": "Português", "it": "Italiano",
    "nl": "Nederlands", "ru": "Русский", "uk": "Українська", "pl": "Polski", "ar": "العربية",
    "he": "עברית", "th": "ไทย", "vi": "Tiếng Việt", "el": "Ελληνικά", "tr": "Türkçe",
}
_KIND_HEADINGS = (
    ("all", "Everything"),
    ("lang", "By language"),
    ("tag", "By tag"),
    ("custom", "Selections"),
)












def media_file(file: Enclosure) -> dict[str, Any]:
    """A file an entry carries, as its page shows it.

    `kind` is `audio` or `video` for what the page plays (an `<audio>` or
    `<video>` element, a plain link inside for browsers that play neither),
    else None; `label` is its title, else its file name; `about` says its
    type, size and duration when known.
    """
    kind = media_kind(file)
    name = unquote(urlsplit(file.url).path.rstrip("/").rsplit("/", 1)[-1])
    about = [file.type] if file.type else []
    if file.length:
        about.append(_size(file.length))
    if file.duration is not None:
        about.append(_clock(file.duration))
    return {
        "url": iri_to_uri(file.url),
        "type": file.type,
        "kind": kind if kind in ("audio", "video") else None,
        "label": file.title or name or file.url,
        "about": ", ".join(about),
    }


def _size(length: int) -> str:
    """A byte count as people read it: `980 bytes`, `4.2 MB`."""
    if length < 1000:
        return f"{length} bytes"
    value = float(length)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            break
    return f"{value:.1f} {unit}"


def _clock(seconds: int) -> str:
    """A duration as `1:02:03` or `2:03`."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def language_name(lang: str) -> str:
    """What a language switch shows for `lang`: the language's own name when known, else the tag.

    A reader looking for their language recognises `中文` or `Deutsch`
    sooner than `zh` or `de`.
    """
    return _AUTONYMS.get(lang.lower(), lang)


def og_locale(lang: str) -> str:
    """A language tag as Open Graph writes a locale: `language_TERRITORY` (`zh_TW`, `en`).

    The Open Graph protocol knows no script subtag, so `zh-Hant` is `zh`;
    the page's own `lang` and hreflang links keep the full tag.
    """
    parts = lang.replace("_", "-").split("-")
    region = next((p for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    return parts[0].lower() + (f"_{region.upper()}" if region else "")


def tag_pages(tags: Sequence[str], feeds: Sequence[FeedSpec]) -> list[tuple[str, str | None]]:
    """Each tag with the page of the tag feed that holds it, or None where no feed does.

    A tag feed's filter lists the tags it takes (select.plan_feeds groups
    those that share a slug), so the feed is found from the plan itself
    and never from a second derivation of its name.
    """
    by_tag = {tag: spec for spec in feeds if spec.kind == "tag" for tag in spec.filter.tags}
    return [(tag, page_path(by_tag[tag]) if tag in by_tag else None) for tag in tags]


def _when(moment: datetime | None, tz: tzinfo) -> dict[str, str] | None:
    """A date as `<time>` needs it: ISO 8601 (UTC, as stored) for machines, the site's day for people.

    The day is the one in the configured time zone, where the articles were
    dated: an article of 08:00 in Shanghai is not shown as the day before.
    """
    if moment is None:
        return None
    return {"iso": _html_time(moment), "day": moment.astimezone(tz).strftime("%Y-%m-%d")}


def _uri(url: str | None) -> str | None:
    """A link from an entry as a page writes it: what no URL may hold percent-encoded.

    The pipeline stores absolute, encoded links; an entry made another way
    (a project's own code, an older store) must not give a page an `href`
    with a quote or a space in it, which the W3C HTML checker refuses.
    """
    return None if url is None else iri_to_uri(url)


def _html_time(moment: datetime) -> str:
    """`moment` as HTML's global date and time string, which allows at most three digits
    of a second's fraction: `isoformat` writes six whenever there are microseconds (a
    remote entry without a date is dated when it was fetched, to the microsecond).
    """
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


class _CompiledTemplates(FileSystemBytecodeCache):
    """Templates compiled by an earlier build, each checked against its source.

    Compiling the templates was a tenth of a rebuild that renders a page or
    two. A cache that cannot be written is no error: the template is only
    compiled again next time.
    """

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _compiled_templates(folder: Path) -> FileSystemBytecodeCache | None:
    """A cache of compiled templates in `folder`, beside the store; None where there is no store."""
    if not folder.parent.is_dir():
        return None  # nothing kept yet (`feeds check`): leave no folder behind
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return None
    return _CompiledTemplates(str(folder))


class Site:
    """The page renderer of one configuration: its templates and how its pages link.

    Building one reads no template yet; each is loaded on first use.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        loaders: list[BaseLoader] = []
        if config.templates_dir.is_dir():
            loaders.append(FileSystemLoader(str(config.templates_dir)))
        loaders.append(PackageLoader("feeds", "templates"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            bytecode_cache=_compiled_templates(config.store_path.with_name("templates")),
            autoescape=lambda name: name is None or not name.endswith(".css"),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # --- pages -------------------------------------------------------------

    def front_page(
        self, newest: Sequence[FeedItem], feeds: Sequence[FeedSpec], counts: Mapping[str, int]
    ) -> bytes:
        """`index.html`: the newest entries, a language switch and every feed to subscribe to.

        `counts` maps a feed's stem to how many entries it holds (a feed
        missing from it shows none). Template `front.html` gets, beside
        the base context: `items` (see `_item`), `languages` (label, lang,
        href of each language page), `sections` (heading and feeds, see
        `_feed_row`) and `opml` (the relative link to `feeds.opml`).
        """
        page = FRONT_PAGE
        langs = [{"label": language_name(spec.key), "lang": spec.key, "current": False, "title": None,
                  "href": relative_url(page, page_path(spec))}
                 for spec in feeds if spec.kind == "lang"]
        sections = [
            {"heading": heading,
             "feeds": [self._feed_row(page, spec, counts.get(spec.stem, 0))
                       for spec in feeds if spec.kind == kind]}
            for kind, heading in _KIND_HEADINGS if any(spec.kind == kind for spec in feeds)
        ]
        context = self._base(page, UI_LANG, self.config.title, self._discovery(feeds))
        context |= {
            "items": [self._item(page, item, feeds) for item in newest],
            "languages": langs,
            "sections": sections,
            "opml": relative_url(page, OPML),
        }
        return self._render("front.html", context)

    def feed_page(self, spec: FeedSpec, items: Sequence[FeedItem], feeds: Sequence[FeedSpec]) -> bytes:
        """The page of one feed: its entries in the feed's order and how to subscribe to it.

        The page is in the site's words (`UI_LANG`); each entry says its own
        language, as a feed mixing languages needs.
        Template `feed.html` gets `feed` (see `_feed_row`, without a count),
        `items` (see `_item`) and `opml`.
        """
        page = page_path(spec)
        context = self._base(page, UI_LANG, spec.title, self._discovery([spec]))
        context |= {
            "feed": self._feed_row(page, spec, len(items)),
            "items": [self._item(page, item, feeds) for item in items],
            "opml": relative_url(page, OPML),
        }
        return self._render("feed.html", context)

    def entry_page(self, entry: Entry, variant: Variant, feeds: Sequence[FeedSpec]) -> bytes:
        """The page of one language version of an entry.

        Every variant has a page, and each links all of them, itself
        included, with `hreflang` (search engines want the set symmetric),
        and names the entry's first variant, its own language, `x-default`.
        Template `entry.html` gets `item` (see `_item`) and, for the head,
        `og` (Open Graph properties as (property, content) pairs) and
        `translations` (lang, title, href, absolute URL, current of every
        variant, in the entry's order).
        """
        page = entry_page_path(entry.id, variant.lang, self.config)
        canonical = feed_url(page, self.config)
        translations = []
        for other in entry.variants:
            path = entry_page_path(entry.id, other.lang, self.config)
            translations.append({
                "lang": other.lang, "label": language_name(other.lang), "title": other.title,
                "href": relative_url(page, path),
                "url": feed_url(path, self.config), "current": other.lang == variant.lang,
            })
        og: list[tuple[str, str]] = [
            ("og:type", "article"), ("og:title", variant.title), ("og:url", canonical),
            ("og:site_name", self.config.title), ("og:locale", og_locale(variant.lang)),
        ]
        og += [("og:locale:alternate", locale) for locale in dict.fromkeys(
            og_locale(other.lang) for other in entry.variants) if locale != og_locale(variant.lang)]
        if variant.summary:
            og.append(("og:description", variant.summary))
        if entry.image:
            og.append(("og:image", iri_to_uri(entry.image)))
        if entry.published is not None:
            og.append(("article:published_time", _html_time(entry.published)))
        og.append(("article:modified_time", _html_time(entry.updated)))
        og += [("article:author", name) for name in entry.authors]
        og += [("article:tag", tag) for tag in entry.tags]
        context = self._base(page, variant.lang, variant.title, self._discovery(
            [spec for spec in feeds if spec.kind == "lang" and spec.filter.lang is not None
             and lang_matches(spec.filter.lang, variant.lang)]))
        item = self._item(page, FeedItem(entry, variant), feeds)
        # Under the page's <h1> (the title): its headings start at <h2>.
        item["content"] = Markup(page_content(variant.content_html, 2))
        context |= {
            "canonical": canonical,
            "item": item,
            "og": og,
            "translations": translations if len(translations) > 1 else [],
            "default_url": translations[0]["url"],
        }
        return self._render("entry.html", context)

    def stylesheet(self) -> bytes:
        """`style.css`, shared by every page: system fonts, light and dark, no external asset."""
        return self.env.get_template(STYLESHEET).render().encode("utf-8")

    # --- context -----------------------------------------------------------

    def _base(self, page: str, lang: str, title: str,
              discovery: list[dict[str, str]]) -> dict[str, Any]:
        """What every page's `base.html` needs: where it is, its language, title and links."""
        return {
            "site": {"title": self.config.title, "subtitle": self.config.subtitle,
                     "home": relative_url(page, FRONT_PAGE)},
            "page": {"path": page, "lang": lang, "title": title},
            "ui_lang": UI_LANG,
            "stylesheet": relative_url(page, STYLESHEET),
            "discovery": discovery,
            "canonical": None,
        }

    def _discovery(self, feeds: Sequence[FeedSpec]) -> list[dict[str, str]]:
        """Autodiscovery links: every format of every feed given, with absolute URLs.

        Feed readers resolve them against the page, but many copy them
        away from it (a bookmarklet, a shared link), so they are absolute.
        """
        return [
            {"type": MEDIA_TYPES[fmt], "title": f"{spec.title} ({FORMAT_NAMES[fmt]})",
             "href": feed_url(spec.file(fmt), self.config)}
            for spec in feeds for fmt in self.config.formats if fmt in MEDIA_TYPES
        ]

    def _feed_row(self, page: str, spec: FeedSpec, count: int) -> dict[str, Any]:
        """A feed as the subscribe lists show it: title, page, a link per format and its size."""
        return {
            "title": spec.title, "kind": spec.kind, "key": spec.key, "subtitle": spec.subtitle,
            "lang": spec.filter.lang,
            "href": relative_url(page, page_path(spec)),
            "formats": [{"name": fmt, "label": FORMAT_NAMES[fmt], "type": MEDIA_TYPES[fmt],
                         "href": relative_url(page, spec.file(fmt))}
                        for fmt in self.config.formats if fmt in MEDIA_TYPES],
            "count": count,
        }

    def _item(self, page: str, item: FeedItem, feeds: Sequence[FeedSpec]) -> dict[str, Any]:
        """An entry's variant as pages show it, every link relative to `page`.

        `content` is marked safe: entry HTML is sanitised before it is
        stored (nh3 for remote entries, the article renderer for local
        ones), and escaping it again would print its markup.
        """
        entry, variant = item.entry, item.variant
        source = None
        if entry.source is not None:
            source = {"title": entry.source.title, "link": _uri(entry.source.link)}
        return {
            "id": entry.id,
            "lang": variant.lang,
            "title": variant.title,
            # A local article has a page of its own; a remote entry links its original.
            "href": (relative_url(page, entry_page_path(entry.id, variant.lang, self.config))
                     if entry.source is None else _uri(entry.link)),
            "summary": variant.summary,
            "content": Markup(variant.content_html),
            "link": _uri(entry.link),
            "authors": list(entry.authors),
            "tags": [{"label": tag, "href": relative_url(page, path) if path else None}
                     for tag, path in tag_pages(entry.tags, feeds)],
            "published": _when(entry.published, self.config.tz),
            "updated": _when(entry.updated, self.config.tz) if entry.updated != entry.published else None,
            "source": source,
            "image": _uri(entry.image),
            "media": [media_file(file) for file in entry.enclosures],
        }

    def _render(self, name: str, context: Mapping[str, Any]) -> bytes:
        return self.env.get_template(name).render(context).encode("utf-8")
