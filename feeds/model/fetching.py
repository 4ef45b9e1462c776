"""The plain data of fetching: how a source is asked, what came back, what its feed held,
where the source stands, the full-text pages kept, and the processes that share a store.

Apart from the rest of `feeds.model`, which every command makes; named
through it as any other of its types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from . import Enclosure, Episode, Person


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
