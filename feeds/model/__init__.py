"""Plain data passed between the stages of the pipeline.

sources → normalise → store → select → render → write. Every stage speaks in
these frozen types, so each stage can be tested with plain values.
All datetimes are timezone-aware and in UTC.

What only fetching and the hubs use is apart, in `fetching` and `hubs`,
and made when first named (`from feeds.model import FetchResult` works as
for the rest): a command that fetches nothing never makes it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol


@dataclass(frozen=True)
class Problem:
    """One reported problem with input: where (`path:line` or a URL) and what."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Variant:
    """One language version of an entry.

    A bilingual article (Chinese text, a thematic break, an English summary)
    becomes one entry with two variants; a remote entry has exactly one.
    """

    lang: str
    title: str
    content_html: str
    summary: str | None = None


@dataclass(frozen=True)
class Person:
    """How to reach an author (RFC 4287 §3.2): `email` and `uri` beside the name.

    Entries keep their authors' names in `Entry.authors` (what feeds filter
    and list by) and, apart, the Person of each author a feed gave an
    address for.
    """

    name: str
    email: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Enclosure:
    """A media file an entry carries: a podcast's audio, a video, a document.

    RSS `<enclosure>`, Atom `link rel="enclosure"`, JSON Feed `attachments`,
    Media RSS `media:content` and front matter `enclosures` all say this much.
    `url` is an absolute http(s) URL; `type` a MIME type (`audio/mpeg`),
    None when neither the feed nor the URL's suffix says; `length` is in
    bytes and `duration` in seconds, None when unknown.
    """

    url: str
    type: str | None = None
    length: int | None = None
    duration: int | None = None
    title: str | None = None


@dataclass(frozen=True)
class Episode:
    """What podcast apps show of an entry beside its media: Apple's iTunes item tags.

    Set only for an entry whose feed gave such tags, so that the RSS feeds
    it is republished in say them again (`itunes:explicit`,
    `itunes:episode`, `itunes:season`, `itunes:episodeType`); the duration
    is its enclosure's and the picture the entry's `image`.
    """

    explicit: bool | None = None
    episode: int | None = None
    season: int | None = None
    kind: str | None = None  # full, trailer or bonus


@dataclass(frozen=True)
class SourceRef:
    """Where an aggregated entry came from: RFC 4287 §4.2.11 `atom:source`."""

    id: str
    title: str
    link: str | None = None
    updated: datetime | None = None


@dataclass(frozen=True)
class Entry:
    """A normalised item ready for publishing, local or remote.

    `id` is a stable URI. `variants` is never empty; the first one is the
    entry's own language and is what a feed that carries the entry once shows.
    `origin` names where the entry came from (an article path or a source
    URL) for messages. `source` is set for aggregated entries only.
    """

    id: str
    variants: tuple[Variant, ...]
    updated: datetime
    published: datetime | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    link: str | None = None
    origin: str = ""
    source: SourceRef | None = None
    contacts: tuple[Person, ...] = ()  # of those `authors` with an email or a URI
    enclosures: tuple[Enclosure, ...] = ()
    image: str | None = None  # the entry's picture: an absolute http(s) URL
    episode: Episode | None = None  # set when its feed gave podcast (iTunes) tags

    @property
    def sort_time(self) -> datetime:
        """The time feeds are ordered by: published, else updated."""
        return self.published or self.updated

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(v.lang for v in self.variants)

    def variant(self, lang: str) -> Variant | None:
        """The variant in `lang`, or None when the entry has none in it."""
        for v in self.variants:
            if v.lang == lang:
                return v
        return None


# Slots: a build holds one per article, and a hundred thousand instances without
# a __dict__ each take a fifth of the memory.
@dataclass(frozen=True, slots=True)
class Listing:
    """An entry's place in the feeds without its text: what selection needs.

    The store lists every entry this way, cheaply, so a rebuild decides which
    feeds exist and what they hold before it loads any content.
    """

    id: str
    sort_time: datetime
    languages: tuple[str, ...]
    tags: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredForm:
    """An entry in the form the store keeps it, worked out ahead by a worker process.

    All that storing needs: an Entry then need not cross from the worker
    that parsed it to the process that stores it, which for a refresh cost
    as much again as sending the stored text. `data` is the entry's JSON,
    `listing` its listing, `digest` its content hash (see codec).
    """

    id: str
    updated: datetime
    published: datetime | None
    data: str
    listing: str
    digest: str

    @property
    def sort_time(self) -> datetime:
        return self.published or self.updated



@dataclass(frozen=True)
class UpsertStats:
    """How an update changed the stored entries."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass(frozen=True)
class Incoming:
    """An entry offered to the store with what the store needs to judge it.

    `declared_updated` is the time the entry itself claims (None when it has
    no date: then the store uses the time it was first seen). `encoded` and
    `digest`, when given, are the entry's `encode_entry` and `content_hash`
    worked out already (by a worker process), so the store need not.
    """

    entry: Entry | StoredForm
    declared_updated: datetime | None
    canonical_link: str | None = None
    encoded: str | None = None
    digest: str | None = None


# Slots: a build holds one per article, and a hundred thousand instances without
# a __dict__ each take a fifth of the memory.
@dataclass(frozen=True, slots=True)
class ArticleHead:
    """What an article's front matter says of its place in the feeds, body unread.

    Enough to tell whether any feed could show the article: of a corpus of
    10,000 articles whose feeds show 50 entries each, only the few hundred
    that can be shown need their Markdown rendered and their languages
    detected. `lang` is the declared language; without one, the body's
    sections decide, which only the full parse knows.
    """

    id: str
    sort_time: datetime
    tags: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    lang: str | None = None

    def __reduce__(self) -> tuple[type[ArticleHead], tuple[Any, ...]]:
        """Pickled as its fields, made again by the constructor.

        A cold build's workers send the main process a head for every
        article; a slotted frozen dataclass's own pickling sets each field
        through `object.__setattr__`, about twice the cost of this.
        """
        return ArticleHead, (self.id, self.sort_time, self.tags, self.authors, self.lang)


class Placed(Protocol):
    """What an entry's place in the feeds needs short of its languages.

    An article's front matter (`ArticleHead`) says this much before its
    body is parsed.
    """

    @property
    def id(self) -> str: ...
    @property
    def sort_time(self) -> datetime: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def authors(self) -> tuple[str, ...]: ...


class Headed(Placed, Protocol):
    """What choosing the articles to parse reads of a head: an `ArticleHead`, or a
    record of one that decodes it only when more than its id is asked for."""

    @property
    def lang(self) -> str | None: ...


# Slots: a build holds one per article, and a hundred thousand instances without
# a __dict__ each take a fifth of the memory.
@dataclass(frozen=True, slots=True)
class CachedArticle:
    """What the store remembers of an article file it has read.

    `digest` covers the file's bytes and the settings that shape its parse;
    `size` and `mtime_ns` let a rebuild trust an unchanged file without
    reading it. `entry_id` and `head` are None for a draft. `languages` are
    those of the entry stored for the file, and None when none is stored
    (no feed could show the article when it was last read).

    A store hands the head over as it keeps it, in `head_text`, with `head`
    None: most rebuilds never look at the heads of unchanged files, and
    decoding a hundred thousand of them was most of reading the cache.
    `codec.cached_head` gives the head either way.
    """

    digest: str
    size: int
    mtime_ns: int
    entry_id: str | None
    head: ArticleHead | None = None
    languages: tuple[str, ...] | None = None
    head_text: str | None = None


@dataclass(frozen=True)
class LocalState:
    """What the last sync of the local articles left, so that the next tells what changed in one pass.

    `manifest` has a line per file the article cache vouches for, its shown
    path, size and modification time as the cache keeps them
    (`codec.manifest_line`), in parts of a thousand lines
    (`codec.manifest_parts`): a scan of the tree compared with it as a
    whole finds the files to look at without a row of the cache each, and
    an edit changes the part of its file's line only. `key` is
    the configuration and version it was made under; the counts are those
    the sync reported, and `wanted` the ids of the articles some feed could
    show (None: every article, as with pages or archives). A store keeps
    one only when the sync met no problem, so a tree that matches its
    manifest has nothing to report.
    """

    key: str
    files: int
    drafts: int
    articles: int
    stored: int
    wanted: frozenset[str] | None
    manifest: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntryFilter:
    """Which entries a feed carries: all given criteria must hold.

    `lang` selects entries with a variant in that language (and the feed then
    shows that variant); `tags` and `authors` match any of their values.
    """

    lang: str | None = None
    tags: frozenset[str] = frozenset()
    authors: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FeedSpec:
    """One feed to write: where its files go under the output directory and what it holds.

    `stem` is relative to the output directory and uses `/` (e.g.
    `lang/zh`); each format of the feed, and its page, is a file beside the
    others (`lang/zh.atom`, `lang/zh.rss`, `lang/zh.json`, `lang/zh.html`).
    `kind` is one of all, lang, tag, custom.
    """

    kind: str
    key: str
    stem: str
    title: str
    filter: EntryFilter = field(default_factory=EntryFilter)
    subtitle: str | None = None

    def file(self, fmt: str) -> str:
        """The feed's file in format `fmt` (atom, rss, json, or html for its page)."""
        return f"{self.stem}.{fmt}"


@dataclass(frozen=True)
class FeedItem:
    """An entry as it appears in one feed: which variant it shows."""

    entry: Entry
    variant: Variant


@dataclass(frozen=True)
class RenderedFeed:
    """One format of a feed: its spec, the format, its bytes and how many entries it holds."""

    spec: FeedSpec
    fmt: str
    data: bytes
    entry_count: int

    @property
    def path(self) -> str:
        """The file it is written to, relative to the output directory."""
        return self.spec.file(self.fmt)


# --- Remote sources -------------------------------------------------------


@dataclass(frozen=True)
class RewriteRule:
    """One `[[source.rewrite]]` rule of a source, applied to its entries before sanitising.

    Either `remove` (a CSS selector: matching elements go from the content)
    or `replace` (a regular expression, replaced by `with_` in `field`,
    "title" or "content"). `where` is `path:line` of the rule, for messages.
    """

    remove: str | None = None
    replace: str | None = None
    with_: str = ""
    field: str = "content"
    where: str = ""


@dataclass(frozen=True)
class SourceConfig:
    """A remote feed someone follows, as configured (links.toml or OPML)."""

    url: str
    title: str | None = None
    tags: tuple[str, ...] = ()
    lang: str | None = None
    every_seconds: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    enabled: bool = True
    origin: str = ""  # where it was configured, e.g. "sources/links.toml"
    full_text: bool = False  # fetch each summary-only entry's page for its article
    rewrite: tuple[RewriteRule, ...] = ()  # [[source.rewrite]] rules, in order
    # How its requests are sent (see SourceHTTP); None: as every other source's.
    http: SourceHTTP | None = None


@dataclass(frozen=True)
class SourceAuth:
    """A source's credentials, named by environment variables: the secrets stay out of files.

    Basic auth names `user_env` and `password_env`; bearer auth names `token_env`.
    """

    user_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None

    def __str__(self) -> str:
        """What `feeds sources` shows: the kind and the variable, never the value."""
        if self.token_env:
            return f"bearer from ${self.token_env}"
        return f"basic from ${self.user_env}"


@dataclass(frozen=True)
class SourceHTTP:
    """A source's own ways of asking (links.toml): proxy, identity, headers, credentials.

    `proxy` is a proxy URL or "direct" (None: feeds.toml's, else the
    environment's); `retry_after_scope` is "site" or "source" (None:
    feeds.toml's). Cookie values are held with repr=False, as they may be
    session tokens.
    """

    proxy: str | None = None
    user_agent: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    auth: SourceAuth | None = None
    retry_after_scope: str | None = None


# --- Apart: what only fetching and the hubs use -------------------------------
# Each name and the module that defines it. Python compiles half a dozen
# methods for each dataclass, about a millisecond a class: a build that
# fetches nothing and owes no hub anything does not make these.
_APART = {
    **dict.fromkeys(("RequestOptions", "FetchRequest", "FetchResult", "ParsedEntry", "ParsedFeed",
                     "SourceStatus", "ErrorKind", "SourceState", "CachedPage", "WorkerState"),
                    "fetching"),
    **dict.fromkeys(("Ping", "PendingPing", "PingResult", "HubState", "HubRequest", "Subscription",
                     "PendingDelivery", "Delivery", "DeliveryResult"), "hubs"),
}

if TYPE_CHECKING:  # the names apart, as the type checker reads them
    from .fetching import CachedPage as CachedPage
    from .fetching import ErrorKind as ErrorKind
    from .fetching import FetchRequest as FetchRequest
    from .fetching import FetchResult as FetchResult
    from .fetching import ParsedEntry as ParsedEntry
    from .fetching import ParsedFeed as ParsedFeed
    from .fetching import RequestOptions as RequestOptions
    from .fetching import SourceState as SourceState
    from .fetching import SourceStatus as SourceStatus
    from .fetching import WorkerState as WorkerState
    from .hubs import Delivery as Delivery
    from .hubs import DeliveryResult as DeliveryResult
    from .hubs import HubRequest as HubRequest
    from .hubs import HubState as HubState
    from .hubs import PendingDelivery as PendingDelivery
    from .hubs import PendingPing as PendingPing
    from .hubs import Ping as Ping
    from .hubs import PingResult as PingResult
    from .hubs import Subscription as Subscription


def __getattr__(name: str) -> Any:
    module = _APART.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
