"""Where a feed sends its reader: for each entry, its translations and the feed itself (pure).

With pages written (`pages = true`), a local article's entry links its own
page, its translations link theirs (with `hreflang`), the original article
it reports on stays one click away as a `related` link, and a feed links
its HTML twin, so a person who opens a feed URL in a browser finds the
page. A remote entry keeps the original as its link. Without pages, an
entry links the original and its translations link the language feeds
that show them, in the format of the feed at hand.

Atom, RSS and JSON Feed ask the same questions of one `Linking`, so the
three formats always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..config import Config
from ..model import Entry, FeedSpec, Variant
from ..text.links import site_uri
from ..text.slug import slugify
from .paths import MEDIA_TYPES, entry_page_path, feed_url, page_path
from .select import lang_matches

HTML_TYPE = "text/html"


@dataclass(frozen=True)
class Translation:
    """Where another language version of an entry is read."""

    lang: str
    title: str
    href: str
    type: str


@dataclass(frozen=True)
class Linking:
    """The links of the feeds in one format under one configuration."""

    config: Config
    fmt: str
    # Language → URL of its feed in `fmt`, for translations when no page is written.
    lang_feeds: Mapping[str, str]

    @classmethod
    def of(cls, config: Config, fmt: str) -> Linking:
        lang_feeds: Mapping[str, str] = {}
        if "lang" in config.families and not config.pages:
            lang_feeds = {lang: feed_url(f"lang/{slugify(lang)}.{fmt}", config)
                          for lang in config.languages}
        return cls(config, fmt, lang_feeds)

    def feed_home(self, spec: FeedSpec) -> str:
        """The HTML twin of a feed: its page, or the site when no pages are written."""
        if self.config.pages:
            return feed_url(page_path(spec), self.config)
        return site_uri(self.config.base_url)

    def page(self, entry: Entry, variant: Variant) -> str | None:
        """The absolute URL of a local article's page in `variant`'s language, when pages are written."""
        if not self.config.pages or entry.source is not None:
            return None
        return feed_url(entry_page_path(entry.id, variant.lang, self.config), self.config)

    def link(self, entry: Entry, variant: Variant) -> str | None:
        """Where the entry is read: a local article's own page, else the original article."""
        return self.page(entry, variant) or entry.link

    def original(self, entry: Entry, variant: Variant) -> str | None:
        """The original article when the entry's link is elsewhere (its own page), else None."""
        return entry.link if entry.link and entry.link != self.link(entry, variant) else None

    def translations(self, entry: Entry, variant: Variant) -> list[Translation]:
        """Where each other language version of the entry is read, in the entry's order."""
        found = []
        for other in entry.variants:
            if other.lang == variant.lang:
                continue
            page = self.page(entry, other)
            if page is not None:
                found.append(Translation(other.lang, other.title, page, HTML_TYPE))
                continue
            feed = _translation_feed(other.lang, self.lang_feeds)
            if feed is not None:
                found.append(Translation(other.lang, other.title, feed, MEDIA_TYPES[self.fmt]))
        return found


def _translation_feed(lang: str, feeds: Mapping[str, str]) -> str | None:
    """The URL of the language feed that shows a variant in `lang`, if one is written.

    The feed of exactly that language comes first, compared as language tags
    are, without regard to case (RFC 5646 §2.1.1): a `zh-Hant` variant has
    the `zh-hant` feed even where the wider `zh` feed is configured before it.
    """
    exact = next((url for feed_lang, url in feeds.items() if feed_lang.lower() == lang.lower()),
                 None)
    if exact is not None:
        return exact
    return next((url for feed_lang, url in feeds.items() if lang_matches(feed_lang, lang)), None)
