"""The HTTP edge of the aggregator: fetch many feed URLs politely, never raise.

`fetch_all` takes the sources due now and returns one `FetchResult` per
request, in request order. Every per-URL failure (DNS, refused connection,
TLS, timeouts, HTTP errors, oversized bodies, bad redirects) becomes a result
with `error` and `error_kind`, so one broken source never stops the others.

Being a good citizen matters as much as being fast: requests to one
registrable domain are serialised and spaced out, a 429/503 holds back the
rest of that domain for the run (and the caller carries the pause into later
runs through `blocked_until`), conditional GETs spare unchanged feeds, and
bodies are capped while they are decoded so a hostile server cannot exhaust
memory with a compression bomb.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

import httpx

from ..config import FetchSettings
from ..model import FetchRequest, FetchResult, RequestOptions
from .decoders import BodyDecoder, DecodeError, accept_encoding
from .domains import registrable_domain
from .failures import Failure, describe_httpx_error, seconds, size
from .politeness import Politeness, SiteTurns
from .transport import PROXY_EXTENSION, SHOWN_PROXY_EXTENSION, OriginPools

__all__ = [
    "fetch_all",
    "fetch_all_sync",
]

log = logging.getLogger(__name__)

# Feed types first; generic XML next because many servers label feeds that
# way; anything else last so a mislabelled feed is still delivered.
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)

_DEFAULT_RETRY_AFTER = 60.0
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
_PAUSE_STATUSES = frozenset({429, 503})
# C0 controls and DEL: never part of a validator.
_CONTROL = re.compile("[\x00-\x1f\x7f]")


DEFAULT_SETTINGS = FetchSettings()


# --- Public entry points ----------------------------------------------------


async def fetch_all(
    requests: Sequence[FetchRequest],
    settings: FetchSettings = DEFAULT_SETTINGS,
    *,
    blocked_until: Mapping[str, float] | None = None,
    on_result: Callable[[FetchResult], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    keep_bodies: bool = True,
    admit: Callable[[], Awaitable[None]] | None = None,
    turns: SiteTurns | None = None,
) -> list[FetchResult]:
    """Fetch every request politely and return their results in request order.

    Never raises for a per-URL failure. `blocked_until` maps a registrable
    domain to the epoch time (`time.time()`) before which it must not be
    asked anything: requests to it return `error_kind="deferred"`. To carry
    a 429/503 into the next run, store
    `registrable_domain(result.final_url) → time.time() + result.retry_after`.
    `on_result` is called in the event loop as each result is ready (for
    progress output and incremental storage), so it should be quick; an
    exception from it aborts the run. With `keep_bodies` false the returned
    results have no bodies: a caller that consumes each body in `on_result`
    then never holds every body of a large refresh at once. `admit`, when
    given, is awaited before each request is sent: a consumer slower than
    the network holds new requests back with it until it has caught up.
    `transport` replaces the network, for embedding and tests. `turns`
    shares each site's turn with other processes (see `SiteTurns`).
    """
    results: list[FetchResult | None] = [None] * len(requests)
    queues: dict[str, deque[int]] = {}
    for index, request in enumerate(requests):
        queues.setdefault(registrable_domain(request.url), deque()).append(index)
    politeness = Politeness(settings, blocked_until or {}, turns)

    async with _make_client(settings, transport) as client:

        async def fetch_one(request: FetchRequest) -> FetchResult:
            return await _fetch_one(client, request, settings)

        async def work_through(domain: str, queue: deque[int]) -> None:
            while queue:
                index = queue.popleft()
                if admit is not None:
                    await admit()
                result = await politeness.fetch(domain, requests[index], fetch_one)
                if on_result is not None:
                    on_result(result)
                results[index] = result if keep_bodies else replace(result, body=None)

        async with asyncio.TaskGroup() as group:
            for domain, queue in queues.items():
                for _ in range(min(settings.per_domain, len(queue))):
                    group.create_task(work_through(domain, queue))

    done = [r for r in results if r is not None]
    assert len(done) == len(requests), "every request gets exactly one result"
    return done


def fetch_all_sync(
    requests: Sequence[FetchRequest],
    settings: FetchSettings = DEFAULT_SETTINGS,
    *,
    blocked_until: Mapping[str, float] | None = None,
    on_result: Callable[[FetchResult], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    keep_bodies: bool = True,
    admit: Callable[[], Awaitable[None]] | None = None,
    turns: SiteTurns | None = None,
) -> list[FetchResult]:
    """`fetch_all` for synchronous callers such as the CLI: runs its own event loop."""
    return asyncio.run(
        fetch_all(
            requests,
            settings,
            blocked_until=blocked_until,
            on_result=on_result,
            transport=transport,
            keep_bodies=keep_bodies,
            admit=admit,
            turns=turns,
        )
    )


def _make_client(
    settings: FetchSettings, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """One client for the whole run, so connections to a host are reused."""
    if transport is None:
        # A pool per site (see transport.py), with room for every request in
        # flight and as many sites again kept open for their next request.
        transport = OriginPools(
            2 * settings.concurrency,
            httpx.Limits(max_connections=settings.concurrency,
                         max_keepalive_connections=settings.per_domain),
        )
    return _Client(
        headers={
            "User-Agent": settings.user_agent,
            "Accept": ACCEPT,
            # Set explicitly because the body is decoded here, not by httpx:
            # see decoders.BodyDecoder for why.
            "Accept-Encoding": accept_encoding(),
        },
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.total_timeout,
        ),
        follow_redirects=False,
        transport=transport,
    )


class _Cookies(httpx.Cookies):
    """The cookies of a run, read from a response only when it sets one.

    httpx hands every response to http.cookiejar, wrapping the request and
    the response for it (about 25 µs a request); the jar takes nothing from
    a response without a Set-Cookie or Set-Cookie2 header.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """httpx's client keeping its cookies in `_Cookies`: sent back as httpx sends them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._jar = _Cookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._jar = _Cookies(cookies)


# --- One URL ----------------------------------------------------------------


@dataclass
class _Attempt:
    """Where one fetch has got to, so a failure can say what it was doing."""

    request: FetchRequest
    url: str
    reading_body: bool = False
    permanent_redirect: str | None = None
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()

    def saw(self, response: httpx.Response) -> None:
        self.url = str(response.url)
        self.status = response.status_code
        self.headers = tuple(response.headers.multi_items())
        self.reading_body = False

    def result(
        self,
        *,
        body: bytes | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        not_modified: bool = False,
    ) -> FetchResult:
        return FetchResult(
            url=self.request.url,
            final_url=self.url,
            status=self.status,
            headers=self.headers,
            permanent_redirect=self.permanent_redirect,
            body=body,
            etag=_validator(etag),
            last_modified=_validator(last_modified),
            not_modified=not_modified,
        )

    def failure(self, failure: Failure) -> FetchResult:
        return replace(
            self.result(),
            error=failure.message,
            error_kind=failure.kind,
            retry_after=failure.retry_after,
            gone=failure.gone,
        )


async def _fetch_one(
    client: httpx.AsyncClient, request: FetchRequest, settings: FetchSettings
) -> FetchResult:
    """Fetch one URL within `total_timeout`, describing any failure for users."""
    started = time.monotonic()
    attempt = _Attempt(request=request, url=request.url)
    try:
        async with asyncio.timeout(settings.total_timeout):
            result = await _fetch_following_redirects(client, request, settings, attempt)
    except Failure as failure:
        result = attempt.failure(failure)
    except TimeoutError:
        # asyncio's own deadline: a server dripping bytes slowly enough to
        # never trip the read timeout still cannot hold a slot forever.
        result = attempt.failure(
            Failure("timeout", f"timed out after {seconds(settings.total_timeout)} s in total")
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        told = describe_httpx_error(exc, attempt.url, attempt.reading_body, settings)
        if (via := _proxy_of(exc)) is not None:
            # "connection refused" alone would send a user behind a proxy to the wrong host.
            told = Failure(told.kind, f"{told.message} (through the proxy {via})")
        result = attempt.failure(told)
    except Exception as exc:
        # A bug here must not cost the other sources their fetch; log it loudly.
        log.exception("unexpected error fetching %s", request.url)
        result = attempt.failure(Failure("network", f"unexpected error: {exc!r}"))
    return replace(result, elapsed=time.monotonic() - started)


def _proxy_of(exc: httpx.HTTPError | httpx.InvalidURL) -> str | None:
    """The proxy (as fit to print) the failed request went through, if any."""
    try:
        request = exc.request if isinstance(exc, httpx.RequestError) else None
    except RuntimeError:  # raised before any request was built
        return None
    via = request.extensions.get(SHOWN_PROXY_EXTENSION) if request is not None else None
    return via if isinstance(via, str) else None


async def _fetch_following_redirects(
    client: httpx.AsyncClient,
    request: FetchRequest,
    settings: FetchSettings,
    attempt: _Attempt,
) -> FetchResult:
    """Follow redirects by hand, to see the first hop's status and to catch loops."""
    conditional = _conditional_headers(request)
    options = request.options
    extensions = {} if options.proxy is None else {PROXY_EXTENSION: options.proxy}
    visited: set[str] = set()  # the URLs asked, once a redirect comes
    redirects = 0
    while True:
        headers = _source_headers(options, lambda: httpx.URL(attempt.url)) | conditional
        outgoing = client.build_request("GET", attempt.url, headers=headers,
                                        extensions=extensions)
        response = await client.send(outgoing, stream=True)
        try:
            attempt.saw(response)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECT_STATUSES or not location:
                return await _conclude(response, request, settings, attempt)
            redirects += 1
            if redirects > settings.max_redirects:
                raise Failure("redirect", f"too many redirects ({redirects})")
            target = _redirect_target(response, location)
            if redirects == 1 and response.status_code in _PERMANENT_REDIRECT_STATUSES:
                attempt.permanent_redirect = target
            if redirects == 1:
                visited.add(str(httpx.URL(request.url)))
            if target in visited:
                raise Failure("redirect", f"redirect loop back to {target}")
            visited.add(target)
            attempt.url = target
        finally:
            await response.aclose()


def _source_headers(options: RequestOptions, url: Callable[[], httpx.URL]) -> dict[str, str]:
    """The source's own headers for a request to `url()`: credentials only to its own site.

    A redirect to another host, or from https down to http, must not carry
    a password, a token or a session cookie there, as browsers and httpx
    itself drop Authorization on such a redirect. The URL is parsed only
    for a source with credentials.
    """
    headers: dict[str, str] = {}
    if options.user_agent:
        headers["User-Agent"] = options.user_agent
    if options.credentials and options.origin and _same_site(httpx.URL(options.origin), url()):
        headers.update(options.credentials)
    return headers


def _same_site(origin: httpx.URL, url: httpx.URL) -> bool:
    """Whether `url` is at `origin`, or at its https upgrade (same host, default port)."""
    if url.host != origin.host:
        return False
    if url.scheme == origin.scheme:
        return url.port == origin.port
    return origin.scheme == "http" and url.scheme == "https" and url.port is None


def _conditional_headers(request: FetchRequest) -> dict[str, str]:
    headers: dict[str, str] = {}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    return headers


def _redirect_target(response: httpx.Response, location: str) -> str:
    """The absolute URL a Location header points to (relative ones are common)."""
    try:
        target = response.url.join(location.strip())
    except httpx.InvalidURL as exc:
        raise Failure("redirect", f"redirect to an invalid URL {location!r}: {exc}") from exc
    if target.scheme not in ("http", "https"):
        raise Failure("redirect", f"redirect to unsupported URL {location!r}")
    return str(target.copy_with(fragment=None))


async def _conclude(
    response: httpx.Response,
    request: FetchRequest,
    settings: FetchSettings,
    attempt: _Attempt,
) -> FetchResult:
    """Turn the final (non-redirect) response into a result."""
    status = response.status_code
    if status == 304:
        # A 304 has no body, but the connection goes back to the pool for the
        # next feed of the same site only once that empty body has been read.
        await response.aread()
        # A 304 may carry fresh validators; otherwise the stored ones still hold.
        return attempt.result(
            not_modified=True,
            etag=response.headers.get("etag") or request.etag,
            last_modified=response.headers.get("last-modified") or request.last_modified,
        )
    if status == 200:
        body = await _read_body(response, settings, attempt)
        return attempt.result(
            body=body,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )
    reason = _reason(response)
    if status == 410:
        raise Failure("http", f"HTTP 410 {reason}: the feed was removed", gone=True)
    if status in _PAUSE_STATUSES:
        wait = _retry_after_seconds(
            response.headers.get("retry-after"), now=time.time(), cap=settings.max_retry_after
        )
        raise Failure(
            "http", f"HTTP {status} {reason}; asked to wait {wait:.0f} s", retry_after=wait
        )
    raise Failure("http", f"HTTP {status} {reason}")


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified worth keeping and sending back: None if it holds a control character.

    Neither may hold one (RFC 9110 §8.8.3, §5.6.7), so such a value can never
    match and is not kept; a NUL (which httpx's HTTP reader refuses today)
    could not be kept in a PostgreSQL store at all.
    """
    if value is None or _CONTROL.search(value) is None:
        return value
    return None


def _reason(response: httpx.Response) -> str:
    """The standard reason phrase, so messages read the same whatever the server says."""
    return httpx.codes.get_reason_phrase(response.status_code) or response.reason_phrase


def _retry_after_seconds(value: str | None, *, now: float, cap: float) -> float:
    """Seconds a Retry-After header asks for (delta-seconds or HTTP-date), capped.

    A missing or unreadable value means the default minute: the server did
    ask for a pause, just not how long.
    """
    seconds = _DEFAULT_RETRY_AFTER
    value = (value or "").strip()
    if value.isdigit():
        seconds = float(value)
    elif value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            pass
        else:
            if when.tzinfo is None:  # "-0000" means UTC with no claim about local time
                when = when.replace(tzinfo=UTC)
            seconds = when.timestamp() - now
    return min(max(seconds, 0.0), cap)


# --- Bodies -----------------------------------------------------------------


async def _read_body(
    response: httpx.Response, settings: FetchSettings, attempt: _Attempt
) -> bytes:
    """The decoded body, failing as soon as it grows past `max_bytes`."""
    limit = settings.max_bytes
    too_big = Failure("oversize", f"body larger than {size(limit)}")
    declared = _content_length(response)
    if declared is not None and declared > limit:
        raise Failure("oversize", f"body larger than {size(limit)} (Content-Length {declared})")
    try:
        decoder = BodyDecoder(response.headers.get("content-encoding", ""))
        attempt.reading_body = True
        body = bytearray()
        received = 0
        async for chunk in response.aiter_raw():
            # The raw count guards against a stream that keeps coming after the
            # compressed data ended and so never grows the decoded body.
            received += len(chunk)
            body += decoder.decode(chunk, limit - len(body))
            if received > limit or len(body) > limit:
                raise too_big
        body += decoder.flush(limit - len(body))
    except DecodeError as exc:
        raise Failure(exc.kind, str(exc)) from exc
    if len(body) > limit:
        raise too_big
    return bytes(body)


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else None
