"""Plain data passed between the stages of the pipeline.

sources → normalise → store → select → render → write. Every stage speaks in
these frozen types, so each stage can be tested with plain values.
All datetimes are timezone-aware and in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


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


@dataclass(frozen=True)
class RequestOptions:
    """How the fetcher sends one source's requests, everything resolved.

    `proxy` is a proxy URL or "direct" (None: the environment decides);
    `user_agent` replaces the default one on every request. `credentials`
    (the source's headers, Cookie and Authorization, secrets included) go
    only to `origin`, the configured URL's scheme, host and port (and its
    https upgrade), never to another site a redirect leads to; they are
    kept out of repr so no log or traceback shows them. With `pause_source`
    a 429/503 pauses only this source, not its whole site.
    """

    proxy: str | None = None
    user_agent: str | None = None
    credentials: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    origin: str | None = None
    pause_source: bool = False


@dataclass(frozen=True)
class FetchRequest:
    """What the fetcher needs for one source: its URL, stored validators and how to ask."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    options: RequestOptions = RequestOptions()


@dataclass(frozen=True)
class FetchResult:
    """The outcome of fetching one source, success or failure, never raised.

    `status` is the final HTTP status (0 when no response came). `body` is set
    only for a 200 with a body within the size cap. `error_kind` is one of
    network, tls, timeout, http, oversize, redirect, deferred, config (None on
    success);
    `error` is the message for users. `permanent_redirect` is the target of a
    301/308 seen on the way; `retry_after` is seconds the domain asked to wait
    (429/503); `gone` is True on 410.
    """

    url: str
    final_url: str
    status: int
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None
    error_kind: str | None = None
    permanent_redirect: str | None = None
    retry_after: float | None = None
    gone: bool = False
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None


@dataclass(frozen=True)
class ParsedEntry:
    """One item of a remote feed after parsing, before identity and storage.

    Text fields are already clean: `title` is plain text, `content_html` and
    `summary_html` are sanitised with absolute URLs. Dates are UTC or None.
    """

    guid: str | None
    link: str | None
    title: str
    content_html: str
    summary_html: str | None
    published: datetime | None
    updated: datetime | None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    lang: str | None = None
    contacts: tuple[Person, ...] = ()  # of those `authors` with an email or a URI
    enclosures: tuple[Enclosure, ...] = ()
    image: str | None = None
    episode: Episode | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """A remote feed document after parsing: its metadata and its items."""

    id: str | None
    title: str
    link: str | None
    updated: datetime | None
    lang: str | None
    entries: tuple[ParsedEntry, ...]
    warning: str | None = None  # e.g. feedparser's bozo message on a usable feed
    ttl_seconds: int | None = None


class SourceStatus(StrEnum):
    """Where a remote source stands after its last fetch.

    `throttled`: the site asked us to wait (429 or 503); that is not
    counted as a failure, so the source keeps its place in the back-off.
    """

    NEW = "new"
    OK = "ok"
    ERROR = "error"
    THROTTLED = "throttled"
    GONE = "gone"


class ErrorKind(StrEnum):
    """What kind of failure a source's last fetch met: the class /healthz counts by."""

    NETWORK = "network"
    TLS = "tls"
    TIMEOUT = "timeout"
    HTTP = "http"
    OVERSIZE = "oversize"
    REDIRECT = "redirect"
    DEFERRED = "deferred"
    NOT_A_FEED = "not-a-feed"
    PARSE = "parse"
    CONFIG = "config"  # the source's settings cannot be used now (a credential is missing)


@dataclass(frozen=True)
class SourceState:
    """A remote source as the store knows it: configuration key and fetch state.

    `key` is the URL the source was first configured with; it never changes,
    so entry ids derived from it survive a permanent move of the feed.
    `url` is where it is fetched now. Times are epoch seconds (UTC).
    `status` is a SourceStatus and `last_error_kind` an ErrorKind (both
    kept as their text).
    """

    key: str
    url: str
    title: str | None = None
    status: str = "new"
    etag: str | None = None
    last_modified: str | None = None
    last_fetch: float | None = None
    last_success: float | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    error_count: int = 0
    next_due: float | None = None
    redirect_target: str | None = None
    redirect_count: int = 0
    warning: str | None = None
    feed_id: str | None = None
    feed_link: str | None = None
    feed_updated: str | None = None
    entry_count: int = 0
    page_error: str | None = None  # the last full-text page that could not be read, and why


@dataclass(frozen=True)
class CachedPage:
    """An entry's page as last fetched for its full text, kept by the entry's canonical link.

    `content_html` is the sanitised article (None when none was ever read);
    `error` why the last fetch gave none; `entry_digest` the digest of the
    entry's own text when the page was fetched, so a changed entry is
    fetched again. `etag` and `last_modified` make the next fetch conditional.
    """

    link: str
    url: str
    fetched: float
    content_html: str | None = None
    error: str | None = None
    entry_digest: str = ""
    etag: str | None = None
    last_modified: str | None = None


# --- WebSub hubs ----------------------------------------------------------


@dataclass(frozen=True)
class Ping:
    """A WebSub publish notification owed: tell `hub` that the feed at `url` changed."""

    hub: str
    url: str


@dataclass(frozen=True)
class PendingPing:
    """A ping not yet delivered, as the store keeps it until a hub takes it.

    `attempts` counts the failed tries (0: owed, never tried); `next_try` is
    when it is due again (epoch seconds); `last_error` says why the last try
    failed.
    """

    hub: str
    url: str
    attempts: int = 0
    next_try: float = 0.0
    last_error: str | None = None


@dataclass(frozen=True)
class PingResult:
    """How one ping went: `error` is None when the hub answered 2xx."""

    hub: str
    url: str
    error: str | None = None


@dataclass(frozen=True)
class HubState:
    """A configured hub as the store knows it, for `feeds sources` and /healthz.

    `pending` counts the pings it has not taken yet, `failing` those of
    them it was already sent and refused or missed (a build that could not
    try, `--offline`, owes pings that have not failed); `next_try` is the
    earliest of their due times.
    """

    url: str
    pending: int = 0
    failing: int = 0
    last_success: float | None = None
    last_error: str | None = None
    last_failure: float | None = None
    next_try: float | None = None


# --- feeds' own WebSub hub ----------------------------------------------------


@dataclass(frozen=True)
class HubRequest:
    """A subscription request the hub accepted, to verify with its subscriber (W3C WebSub §5.1).

    `mode` is "subscribe" or "unsubscribe"; `lease_seconds` is already
    bounded to what the hub grants; `secret` signs deliveries (§8).
    """

    mode: str
    topic: str
    callback: str
    lease_seconds: int
    secret: str | None = None


@dataclass(frozen=True)
class Subscription:
    """A verified subscription: `topic`'s new content goes to `callback` until `expires`."""

    topic: str
    callback: str
    secret: str | None
    expires: float
    created: float


@dataclass(frozen=True)
class PendingDelivery:
    """A topic's new content owed to a subscriber, as the store keeps it until delivered.

    `attempts` counts the failed tries; `next_try` is when it is due again.
    """

    topic: str
    callback: str
    attempts: int = 0
    next_try: float = 0.0
    last_error: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One content distribution to send: `body` with its `content_type`, signed with `secret`."""

    topic: str
    callback: str
    body: bytes
    content_type: str
    secret: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """How one delivery (or verification) went: `error` is None when the subscriber took it."""

    topic: str
    callback: str
    error: str | None = None


# A process that has not said it is alive for this many of its heartbeats is gone.
GONE_AFTER_BEATS = 3


@dataclass(frozen=True)
class WorkerState:
    """A `feeds run` process sharing a PostgreSQL store, as its last heartbeat left it.

    `in_flight` counts the sources it holds a lease on now; `every` is its
    heartbeat interval in seconds, by which `gone` judges its silence.
    """

    id: str
    host: str
    pid: int
    role: str
    started: float
    heartbeat: float
    every: float
    in_flight: int = 0

    def gone(self, now: float) -> bool:
        """Whether it has missed GONE_AFTER_BEATS heartbeats (crashed, or its host is down)."""
        return now - self.heartbeat > GONE_AFTER_BEATS * self.every
