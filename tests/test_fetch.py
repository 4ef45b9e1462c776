"""The fetcher against a real HTTP server on 127.0.0.1: no mocks, no other network.

The `feed_server` fixture comes from tests/feedserver.py through conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import re
import socket
import ssl
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from email.utils import formatdate
from typing import Any

import brotli  # type: ignore[import-untyped, unused-ignore]
import httpx
import pytest
from conftest import DATA
from feedserver import FeedServer, Response

from feeds.about import __version__
from feeds.config import FetchSettings
from feeds.model import FetchRequest, FetchResult
from feeds.remote.domains import _guess_registrable_domain, registrable_domain
from feeds.remote.http import fetch_all, fetch_all_sync

ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>\n'
)

# Small limits so failures show up in fractions of a second.
FAST = FetchSettings(
    domain_spacing=0.0,
    connect_timeout=2.0,
    read_timeout=2.0,
    total_timeout=5.0,
    max_retry_after=3600.0,
)


def fetch(
    urls: Sequence[str | FetchRequest],
    settings: FetchSettings = FAST,
    *,
    blocked_until: Mapping[str, float] | None = None,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    requests = [FetchRequest(u) if isinstance(u, str) else u for u in urls]
    return fetch_all_sync(requests, settings, blocked_until=blocked_until, on_result=on_result)


def fetch_one(url: str | FetchRequest, settings: FetchSettings = FAST) -> FetchResult:
    return fetch([url], settings)[0]


def tuned(**changes: Any) -> FetchSettings:
    """FAST with some limits changed."""
    return replace(FAST, **changes)


# --- Success and validators --------------------------------------------------


def test_200_returns_body_and_validators(feed_server: FeedServer) -> None:
    url = feed_server.route(
        "/feed.atom",
        Response(
            body=ATOM, etag='"v1"', headers={"Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"}
        ),
    )
    result = fetch_one(url)
    assert result.ok, result.error
    assert (result.status, result.body, result.final_url) == (200, ATOM, url)
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert result.header("Content-Type") == "application/atom+xml; charset=utf-8"
    assert not result.not_modified and result.permanent_redirect is None
    assert result.elapsed > 0


def test_requests_name_feeds_and_prefer_feed_types(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(body=ATOM))
    fetch_one(url, FetchSettings(domain_spacing=0.0))  # made here: the User-Agent is a default
    (seen,) = feed_server.requests
    assert seen.header("User-Agent") == f"feeds/{__version__} (+https://github.com/feeds-project/feeds)"
    accept = seen.header("Accept") or ""
    assert accept.startswith("application/atom+xml, application/rss+xml")
    assert "*/*;q=0.8" in accept
    encodings = {e.strip() for e in (seen.header("Accept-Encoding") or "").split(",")}
    assert encodings == {"gzip", "deflate", "br"}
    assert seen.header("If-None-Match") is None


def test_conditional_get_gives_not_modified(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(body=ATOM, etag='"v1"'))
    since = "Wed, 01 Jan 2025 00:00:00 GMT"
    result = fetch_one(FetchRequest(url, etag='"v1"', last_modified=since))
    assert result.ok and result.not_modified
    assert (result.status, result.body) == (304, None)
    assert (result.etag, result.last_modified) == ('"v1"', since)
    (seen,) = feed_server.requests
    assert seen.header("If-None-Match") == '"v1"'
    assert seen.header("If-Modified-Since") == since


def test_a_304_without_validators_keeps_the_ones_asked_with(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(status=304, content_type=None))
    since = "Wed, 01 Jan 2025 00:00:00 GMT"
    result = fetch_one(FetchRequest(url, etag='"v1"', last_modified=since))
    assert result.not_modified
    assert (result.etag, result.last_modified) == ('"v1"', since)


def test_a_304_with_fresh_validators_gives_them(feed_server: FeedServer) -> None:
    """The next conditional request must send what the server said last, not what it said before."""
    fresh = "Thu, 02 Jan 2025 00:00:00 GMT"
    url = feed_server.route(
        "/feed",
        Response(status=304, content_type=None, headers={"ETag": '"v2"', "Last-Modified": fresh}),
    )
    result = fetch_one(FetchRequest(url, etag='"v1"', last_modified="Wed, 01 Jan 2025 00:00:00 GMT"))
    assert result.not_modified
    assert (result.etag, result.last_modified) == ('"v2"', fresh)


def test_feeds_of_one_site_share_a_connection_through_304s(feed_server: FeedServer) -> None:
    """Reading a 304's empty body is what returns its connection to the pool."""
    urls = [feed_server.route(f"/feed{i}", Response(body=ATOM, etag=f'"v{i}"')) for i in range(4)]
    results = fetch_all_sync([FetchRequest(u, etag=f'"v{i}"') for i, u in enumerate(urls)], FAST)
    assert [r.status for r in results] == [304] * 4
    assert len({seen.client_port for seen in feed_server.requests}) == 1


def test_changed_etag_gives_the_new_body(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(body=ATOM, etag='"v2"'))
    result = fetch_one(FetchRequest(url, etag='"v1"'))
    assert (result.status, result.body, result.etag) == (200, ATOM, '"v2"')


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("gzip", gzip.compress(ATOM)),
        ("deflate", zlib.compress(ATOM)),
        ("deflate", zlib.compress(ATOM)[2:-4]),  # raw deflate, as some servers send
        ("br", brotli.compress(ATOM)),
    ],
    ids=["gzip", "deflate", "raw-deflate", "br"],
)
def test_compressed_body_is_decoded(
    feed_server: FeedServer, encoding: str, encoded: bytes
) -> None:
    url = feed_server.route("/feed", Response(body=encoded, headers={"Content-Encoding": encoding}))
    result = fetch_one(url)
    assert result.ok, result.error
    assert result.body == ATOM
    assert result.header("Content-Encoding") == encoding


def test_gzip_option_of_the_server_is_decoded(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(body=ATOM * 50, gzip=True, chunked=True))
    result = fetch_one(url)
    assert result.body == ATOM * 50


def test_codings_applied_in_turn_are_undone_in_reverse(feed_server: FeedServer) -> None:
    """`Content-Encoding: deflate, gzip` means deflated first, then gzipped."""
    encoded = gzip.compress(zlib.compress(ATOM))
    url = feed_server.route(
        "/feed", Response(body=encoded, headers={"Content-Encoding": "deflate, Gzip"})
    )
    assert fetch_one(url).body == ATOM


def test_codings_in_turn_decode_whole_when_the_inner_one_is_exactly_at_the_cap(
    feed_server: FeedServer,
) -> None:
    """The bytes between the two codings may fill the cap: only the decoded body has to fit it.

    Deflate without compression (level 0) makes the body a little longer,
    and the gzip around it makes it short again.
    """
    body = ATOM * 20
    deflated = zlib.compress(body, level=0)
    assert len(deflated) > len(body)
    url = feed_server.route(
        "/feed", Response(body=gzip.compress(deflated), headers={"Content-Encoding": "deflate, gzip"})
    )
    result = fetch_one(url, tuned(max_bytes=len(deflated)))
    assert (result.error, result.body) == (None, body)


@pytest.mark.parametrize("encoding", ["identity", "x-gzip"])
def test_other_names_of_known_codings_are_read(feed_server: FeedServer, encoding: str) -> None:
    body = gzip.compress(ATOM) if encoding == "x-gzip" else ATOM
    url = feed_server.route("/feed", Response(body=body, headers={"Content-Encoding": encoding}))
    assert fetch_one(url).body == ATOM


def test_an_unknown_coding_is_an_error_naming_it(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(body=ATOM, headers={"Content-Encoding": "compress"}))
    result = fetch_one(url)
    assert (result.error_kind, result.error) == ("http", "unsupported Content-Encoding 'compress'")
    assert result.body is None


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_a_corrupt_compressed_body_is_a_network_error(feed_server: FeedServer, encoding: str) -> None:
    """Bytes that are not what the header claims fail the fetch instead of storing garbage."""
    url = feed_server.route(
        "/feed", Response(body=b"this is not compressed", headers={"Content-Encoding": encoding})
    )
    result = fetch_one(url)
    assert result.error_kind == "network"
    assert (result.error or "").startswith(f"could not decode the {encoding} body: ")


def test_bytes_after_the_gzip_stream_are_ignored(feed_server: FeedServer) -> None:
    """Browsers show a gzipped page followed by junk; so do we, without the junk."""
    url = feed_server.route(
        "/feed",
        Response(body=gzip.compress(ATOM) + b"\0" * 70_000, headers={"Content-Encoding": "gzip"}),
    )
    result = fetch_one(url)
    assert result.ok, result.error
    assert result.body == ATOM


# --- Redirects ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "permanent"),
    [(302, None, False), (303, None, False), (307, None, False), (301, None, True),
     (308, None, True), (302, 301, False), (301, 302, True)],
)
def test_redirects_are_followed(
    feed_server: FeedServer, first: int, second: int | None, permanent: bool
) -> None:
    feed_server.route("/new", Response(body=ATOM))
    if second is None:
        url = feed_server.route("/old", Response(status=first, headers={"Location": "/new"}))
    else:
        feed_server.route("/mid", Response(status=second, headers={"Location": "new"}))
        url = feed_server.route("/old", Response(status=first, headers={"Location": "/mid"}))
    result = fetch_one(url)
    assert result.ok, result.error
    assert result.body == ATOM
    assert result.url == url
    assert result.final_url == feed_server.url("/new")
    expected = feed_server.url("/new" if second is None else "/mid")
    assert result.permanent_redirect == (expected if permanent else None)


def test_cookies_a_site_sets_are_sent_back_within_the_run(feed_server: FeedServer) -> None:
    """A cookie set on a redirect goes with the next hop; one set by a feed, with the next feed.

    Responses without Set-Cookie are not read for cookies: the cookies set
    still come back, and answers that set none change nothing.
    """
    feed_server.route("/login", Response(status=302, headers={
        "Location": "/feed", "Set-Cookie": "session=abc; Path=/"}))
    feed_server.route("/feed", Response(body=ATOM, headers={"Set-Cookie": "seen=1; Path=/"}))
    feed_server.route("/plain", Response(body=ATOM))
    feed_server.route("/other", Response(body=ATOM))
    results = fetch([feed_server.url("/login"), feed_server.url("/plain"),
                     feed_server.url("/other")], tuned(per_domain=1))
    assert all(r.ok for r in results), [r.error for r in results]
    cookies = [(r.path, r.header("Cookie")) for r in feed_server.requests]
    assert cookies == [("/login", None), ("/feed", "session=abc"),
                       ("/plain", "session=abc; seen=1"), ("/other", "session=abc; seen=1")]


def test_redirect_loop_fails(feed_server: FeedServer) -> None:
    url = feed_server.route("/a", Response(status=302, headers={"Location": "/b"}))
    feed_server.route("/b", Response(status=302, headers={"Location": "/a"}))
    result = fetch_one(url)
    assert result.error_kind == "redirect"
    assert "redirect loop" in (result.error or "")
    assert len(feed_server.requests) == 2


def test_a_redirect_loop_away_from_the_start_is_found(feed_server: FeedServer) -> None:
    """Every URL visited counts, not only the first: a loop ends as soon as it closes."""
    url = feed_server.route("/a", Response(status=302, headers={"Location": "/b"}))
    feed_server.route("/b", Response(status=302, headers={"Location": "/c"}))
    feed_server.route("/c", Response(status=302, headers={"Location": "/b"}))
    result = fetch_one(url)
    assert result.error == f"redirect loop back to {feed_server.url('/b')}"
    assert [r.path for r in feed_server.requests] == ["/a", "/b", "/c"]


def test_too_many_redirects_fail(feed_server: FeedServer) -> None:
    for i in range(10):
        feed_server.route(f"/r{i}", Response(status=307, headers={"Location": f"/r{i + 1}"}))
    result = fetch_one(feed_server.url("/r0"), tuned(max_redirects=3))
    assert result.error_kind == "redirect"
    assert result.error == "too many redirects (4)"
    assert len(feed_server.requests) == 4


def test_redirect_to_another_scheme_fails(feed_server: FeedServer) -> None:
    url = feed_server.route("/a", Response(status=301, headers={"Location": "ftp://x/feed"}))
    result = fetch_one(url)
    assert result.error_kind == "redirect"
    assert result.error == "redirect to unsupported URL 'ftp://x/feed'"


def test_redirect_to_https_is_followed(feed_server: FeedServer) -> None:
    """Sites moving to https redirect there; the loopback server speaks only http, so TLS fails."""
    target = feed_server.url("/feed").replace("http:", "https:")
    url = feed_server.route("/a", Response(status=301, headers={"Location": target}))
    result = fetch_one(url)
    assert (result.error_kind, result.final_url) == ("tls", target)


def test_a_redirect_target_loses_its_fragment(feed_server: FeedServer) -> None:
    """A fragment names a part of a page, not another feed: the URL stored is the feed's."""
    feed_server.route("/new", Response(body=ATOM))
    url = feed_server.route("/old", Response(status=301, headers={"Location": " /new#top "}))
    result = fetch_one(url)
    assert (result.final_url, result.permanent_redirect) == ((feed_server.url("/new"),) * 2)


def test_a_redirect_without_location_is_an_http_error(feed_server: FeedServer) -> None:
    result = fetch_one(feed_server.route("/a", Response(status=302)))
    assert (result.error_kind, result.error, result.status) == ("http", "HTTP 302 Found", 302)


def test_as_many_redirects_as_allowed_are_followed(feed_server: FeedServer) -> None:
    for i in range(3):
        feed_server.route(f"/r{i}", Response(status=307, headers={"Location": f"/r{i + 1}"}))
    feed_server.route("/r3", Response(body=ATOM))
    result = fetch_one(feed_server.url("/r0"), tuned(max_redirects=3))
    assert (result.body, result.final_url) == (ATOM, feed_server.url("/r3"))


def test_a_redirect_back_to_the_start_is_a_loop(feed_server: FeedServer) -> None:
    url = feed_server.route("/a", Response(status=302, headers={"Location": "/a"}))
    result = fetch_one(url)
    assert (result.error_kind, result.error) == ("redirect", f"redirect loop back to {url}")
    assert len(feed_server.requests) == 1


def test_a_slow_redirect_target_is_waited_for_as_a_response(feed_server: FeedServer) -> None:
    """The time-out message tells whether the server never answered or stalled mid-body."""
    feed_server.route("/slow", Response(body=ATOM, delay=3.0))
    url = feed_server.route("/a", Response(status=302, headers={"Location": "/slow"}))
    result = fetch_one(url, tuned(read_timeout=0.3))
    assert result.error == "timed out after 0.3 s waiting for the response"


# --- HTTP errors and pauses ------------------------------------------------------


def test_410_marks_the_feed_gone(feed_server: FeedServer) -> None:
    result = fetch_one(feed_server.route("/feed", Response(status=410)))
    assert (result.gone, result.error_kind, result.status) == (True, "http", 410)
    assert result.error == "HTTP 410 Gone: the feed was removed"


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (500, "Internal Server Error")])
def test_other_statuses_fail_with_code_and_reason(
    feed_server: FeedServer, status: int, reason: str
) -> None:
    result = fetch_one(feed_server.route("/feed", Response(status=status, body=b"oops")))
    assert result.error == f"HTTP {status} {reason}"
    assert (result.error_kind, result.status) == ("http", status)
    assert result.body is None and not result.gone


@pytest.mark.parametrize(
    ("status", "sent", "shown"),
    [(404, "Nope", "Not Found"), (599, "Custom Trouble", "Custom Trouble")],
)
def test_the_standard_reason_phrase_is_shown_when_there_is_one(
    feed_server: FeedServer, status: int, sent: str, shown: str
) -> None:
    """Messages read the same whatever a server words; an unknown status keeps its own words."""
    result = fetch_one(feed_server.route("/feed", Response(status=status, reason=sent)))
    assert result.error == f"HTTP {status} {shown}"


def test_429_pauses_the_domain_for_the_rest_of_the_run(feed_server: FeedServer) -> None:
    first = feed_server.route("/first", Response(status=429, headers={"Retry-After": "120"}))
    second = feed_server.route("/second", Response(body=ATOM))
    feed_server.route("/elsewhere", Response(body=ATOM))
    other_domain = feed_server.url("/elsewhere", host="localhost")
    results = fetch([first, second, other_domain])
    assert results[0].error_kind == "http" and results[0].status == 429
    assert results[0].retry_after == 120.0
    assert results[0].error == "HTTP 429 Too Many Requests; asked to wait 120 s"
    assert results[1].error_kind == "deferred"
    assert results[1].retry_after is not None and 118 < results[1].retry_after <= 120
    assert (results[1].status, results[1].url, results[1].final_url) == (0, second, second)
    assert results[1].error == "not sent: 127.0.0.1 asked for a pause; retry in 120 s"
    assert results[2].ok, "another registrable domain is not paused"
    # The two domains are fetched concurrently, so only the set of requests is fixed.
    assert sorted(r.path for r in feed_server.requests) == ["/elsewhere", "/first"]


def test_a_pause_without_a_wait_still_holds_the_domain_back_for_the_run(
    feed_server: FeedServer,
) -> None:
    """`Retry-After: 0` still means "not now": the rest of the site waits for the next run."""
    first = feed_server.route("/first", Response(status=503, headers={"Retry-After": "0"}))
    second = feed_server.route("/second", Response(body=ATOM))
    results = fetch([first, second])
    assert (results[0].status, results[0].retry_after) == (503, 0.0)
    assert (results[1].error_kind, results[1].retry_after) == ("deferred", 0.0)
    assert [r.path for r in feed_server.requests] == ["/first"]


def test_the_pause_falls_on_the_domain_that_asked_for_it(feed_server: FeedServer) -> None:
    """A feed moved to another site, which says 429: that site waits, the first one does not."""
    feed_server.route("/limited", Response(status=429, headers={"Retry-After": "120"}))
    feed_server.route("/feed", Response(body=ATOM))
    moved = feed_server.route(
        "/moved", Response(status=302, headers={"Location": feed_server.url("/limited", "localhost")})
    )
    urls = [moved, feed_server.url("/feed"), feed_server.url("/feed", host="localhost")]
    # One request at a time, in request order, so the pause comes before the third asks.
    results = fetch(urls, tuned(concurrency=1))
    assert (results[0].status, results[0].final_url) == (429, feed_server.url("/limited", "localhost"))
    assert results[1].ok, "the site that redirected is not paused"
    assert results[2].error_kind == "deferred"
    assert results[2].error == "not sent: localhost asked for a pause; retry in 120 s"


@pytest.mark.parametrize(
    ("status", "header", "expected", "tolerance"),
    [
        (429, "120", 120.0, 0),
        (503, " 30 ", 30.0, 0),
        (503, None, 60.0, 0),  # no Retry-After: the default minute
        (503, "soon", 60.0, 0),  # unreadable: the default minute
        (429, "99999999", 3600.0, 0),  # capped at max_retry_after
        # A date has whole seconds and is read a moment after it was written.
        (503, "GMT date in +300 s", 300.0, 2),
        (503, "-0000 date in +300 s", 300.0, 2),  # "-0000" is UTC too (RFC 5322)
        (503, "GMT date in -300 s", 0.0, 0),  # in the past: no wait left
    ],
    ids=["seconds", "padded", "missing", "unreadable", "capped", "date", "utc-date", "past"],
)
def test_retry_after_forms(
    feed_server: FeedServer, status: int, header: str | None, expected: float, tolerance: float
) -> None:
    headers = {} if header is None else {"Retry-After": header}
    if header is not None and (date := re.fullmatch(r"(\S+) date in ([-+]\d+) s", header)):
        zone, seconds = date.groups()
        headers["Retry-After"] = formatdate(time.time() + int(seconds), usegmt=zone == "GMT")
    result = fetch_one(feed_server.route("/feed", Response(status=status, headers=headers)))
    assert result.error_kind == "http"
    assert result.retry_after == pytest.approx(expected, abs=tolerance)


def test_a_date_in_minus_0000_is_utc_whatever_the_local_time_zone(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 5322's "-0000" zone is UTC with no claim about local time, never the machine's zone."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        wait = formatdate(time.time() + 300, usegmt=False)
        assert wait.endswith("-0000")
        result = fetch_one(feed_server.route(
            "/feed", Response(status=503, headers={"Retry-After": wait})))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert result.retry_after == pytest.approx(300, abs=2)


def test_blocked_until_defers_a_domain_without_asking_it(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(body=ATOM))
    (result,) = fetch([url], blocked_until={"127.0.0.1": time.time() + 30})
    assert result.error_kind == "deferred"
    assert result.retry_after == pytest.approx(30, abs=2)
    assert feed_server.requests == []
    (result,) = fetch([url], blocked_until={"127.0.0.1": time.time() + 0.9})
    assert result.error_kind == "deferred", "a pause is kept to its end, under a second too"
    (result,) = fetch([url], blocked_until={"127.0.0.1": time.time() - 1})
    assert result.ok


# --- Timeouts -------------------------------------------------------------------


def test_slow_headers_time_out_at_the_read_timeout(feed_server: FeedServer) -> None:
    url = feed_server.route("/slow", Response(body=ATOM, delay=3.0))
    result = fetch_one(url, tuned(read_timeout=0.3))
    assert result.error_kind == "timeout"
    assert result.error == "timed out after 0.3 s waiting for the response"
    assert result.elapsed < 1.5


def test_a_stalled_body_times_out_at_the_read_timeout(feed_server: FeedServer) -> None:
    url = feed_server.route("/stall", Response(body=b"<feed>", drip=3.0))
    result = fetch_one(url, tuned(read_timeout=0.3))
    assert result.error == "timed out after 0.3 s reading the body"
    assert result.status == 200 and result.body is None


def test_a_dripping_server_fails_at_the_total_timeout(feed_server: FeedServer) -> None:
    url = feed_server.route("/drip", Response(body=ATOM * 10, drip=0.02))
    result = fetch_one(url, tuned(read_timeout=1.0, total_timeout=0.5))
    assert result.error_kind == "timeout"
    assert result.error == "timed out after 0.5 s in total"
    assert 0.4 < result.elapsed < 1.5


# --- Size cap -------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversize_body_fails(feed_server: FeedServer, chunked: bool) -> None:
    url = feed_server.route("/big", Response(body=b"x" * 5000, chunked=chunked))
    result = fetch_one(url, tuned(max_bytes=1000))
    assert result.error_kind == "oversize"
    assert (result.error or "").startswith("body larger than 1000 bytes")
    assert result.body is None


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_at_the_cap_is_fine(feed_server: FeedServer, chunked: bool) -> None:
    url = feed_server.route("/exact", Response(body=b"x" * 1000, chunked=chunked))
    assert fetch_one(url, tuned(max_bytes=1000)).body == b"x" * 1000


def test_a_declared_length_over_the_cap_fails_before_reading(feed_server: FeedServer) -> None:
    url = feed_server.route("/big", Response(body=b"x" * 1001))
    result = fetch_one(url, tuned(max_bytes=1000))
    assert result.error == "body larger than 1000 bytes (Content-Length 1001)"


@pytest.mark.parametrize(
    ("max_bytes", "shown"),
    [(2048, "2 KiB"), (3 * 1024 * 1024, "3 MiB"), (1536, "1536 bytes"), (0, "0 bytes")],
)
def test_the_cap_is_named_in_the_unit_it_was_set_in(
    feed_server: FeedServer, max_bytes: int, shown: str
) -> None:
    url = feed_server.route("/big", Response(body=b"x" * (max_bytes + 1), chunked=True))
    result = fetch_one(url, tuned(max_bytes=max_bytes))
    assert result.error == f"body larger than {shown}"


@pytest.mark.parametrize("chunked", [False, True], ids=["unframed", "chunked"])
def test_an_endless_body_is_cut_off_at_the_cap(feed_server: FeedServer, chunked: bool) -> None:
    url = feed_server.route("/endless", Response(body=ATOM, endless=True, chunked=chunked))
    result = fetch_one(url, tuned(max_bytes=10_000))
    assert (result.error_kind, result.error) == ("oversize", "body larger than 10000 bytes")


# A cap above 64 KiB, what one read of the socket brings at most, is reached only across reads.
@pytest.mark.parametrize("cap", [10_000, 200_000])
def test_an_endless_stream_after_a_small_gzip_body_is_cut_off(feed_server: FeedServer, cap: int) -> None:
    """Bytes past the end of the gzip stream decode to nothing but still count against the cap."""
    url = feed_server.route(
        "/endless",
        Response(body=gzip.compress(ATOM), endless=True, headers={"Content-Encoding": "gzip"}),
    )
    result = fetch_one(url, tuned(max_bytes=cap))
    assert (result.error_kind, result.error) == ("oversize", f"body larger than {cap} bytes")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress)],
)
# brotli grows its output in blocks (32,752 bytes, then 65,520 more) and stops at the first
# block end past the room it is given: a body one byte past a block end is where too little
# room would leave its last byte inside the decoder.
@pytest.mark.parametrize("length", [2_000, 32_753, 98_273])
def test_a_compressed_body_exactly_at_the_cap_is_read_whole(
    feed_server: FeedServer, encoding: str, compress: Callable[[bytes], bytes], length: int
) -> None:
    body = (ATOM * (length // len(ATOM) + 1))[:length]
    url = feed_server.route("/exact", Response(body=compress(body), headers={"Content-Encoding": encoding}))
    result = fetch_one(url, tuned(max_bytes=length))
    assert (result.error, result.body) == (None, body)


@pytest.mark.parametrize(
    ("encoding", "bomb"),
    [
        ("gzip", gzip.compress(b"\0" * 20_000_000)),
        ("br", brotli.compress(b"\0" * 50_000_000, quality=5)),
    ],
)
def test_compression_bomb_is_stopped(feed_server: FeedServer, encoding: str, bomb: bytes) -> None:
    assert len(bomb) < 100_000, "the compressed size alone is within the cap"
    url = feed_server.route("/bomb", Response(body=bomb, headers={"Content-Encoding": encoding}))
    tracemalloc.start()
    try:
        result = fetch_one(url, tuned(max_bytes=100_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error_kind == "oversize"
    assert result.error == "body larger than 100000 bytes"
    # Decoding is bounded as it goes: the bomb never unfolds in memory.
    assert peak < 2_000_000, f"{peak} bytes held at once"


# --- Network failures -----------------------------------------------------------


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening, so connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_connection_refused(closed_port: int) -> None:
    result = fetch_one(f"http://127.0.0.1:{closed_port}/feed")
    assert (result.error_kind, result.error, result.status) == ("network", "connection refused", 0)


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A loopback port whose listen queue is full, so a new connection's handshake never ends.

    Linux drops the SYN of a connection its full accept queue has no room
    for, as it does for an overloaded server; nothing is ever accepted.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(4)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            yield port
        finally:
            for filler in fillers:
                filler.close()


def test_a_handshake_that_never_ends_fails_at_the_connect_timeout(full_backlog: int) -> None:
    result = fetch_one(f"http://127.0.0.1:{full_backlog}/feed", tuned(connect_timeout=0.3))
    assert (result.error_kind, result.error) == ("timeout", "timed out after 0.3 s connecting")


def test_tls_failure_is_reported_as_tls(feed_server: FeedServer) -> None:
    feed_server.route("/feed", Response(body=ATOM))
    result = fetch_one(feed_server.url("/feed").replace("http:", "https:"))
    assert (result.error_kind, result.error) == ("tls", "TLS: wrong version number")


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "not a url", "http://[::1:/"])
def test_unusable_urls_fail_without_raising(url: str) -> None:
    result = fetch_one(url)
    assert result.error_kind == "network"
    assert (result.error or "").startswith(f"invalid URL {url!r}: ")


def test_a_validator_no_request_can_carry_fails_its_source_only(feed_server: FeedServer) -> None:
    """A stored ETag with a line break cannot be sent: that source fails, saying why."""
    url = feed_server.route("/feed", Response(body=ATOM))
    result = fetch_one(FetchRequest(url, etag='"a\nb"'))
    assert (result.error_kind, result.error) == (
        "network", "network error: Illegal header value b'\"a\\nb\"'")
    assert feed_server.requests == []


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """A bare TCP server on 127.0.0.1 answering each connection with a given misbehaviour.

    For what the feed server, being a correct HTTP server, never does. The
    answer is given the connection as accepted, the request still unread.
    """
    listeners: list[socket.socket] = []

    def start(answer: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:  # closed: the test is over
                    return
                with conn:
                    answer(conn)

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/feed"

    yield start
    for listener in listeners:
        listener.close()


def _reset(conn: socket.socket) -> None:
    """Close with a TCP reset (linger zero), as a crashing or overloaded server does."""
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _not_http(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


def _short_body(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<feed")


@pytest.mark.parametrize(
    ("answer", "message", "status"),
    [
        (_reset, "connection reset by the server", 0),
        (_not_http, "the server broke the HTTP protocol: illegal status line", 0),
        (_short_body, "the server broke the HTTP protocol: peer closed connection without "
                      "sending complete message body", 200),
    ],
    ids=["reset", "not-http", "short-body"],
)
def test_a_misbehaving_server_gives_a_network_error_saying_how(
    raw_server: Callable[[Callable[[socket.socket], None]], str],
    answer: Callable[[socket.socket], None],
    message: str,
    status: int,
) -> None:
    result = fetch_one(raw_server(answer))
    assert (result.error_kind, result.status) == ("network", status)
    assert (result.error or "").startswith(message)


class _BrokenFor(httpx.AsyncBaseTransport):
    """A transport failing with a plain bug for one path and using the network for the rest."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._network = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self._path:
            raise RuntimeError("bug in a transport")
        return await self._network.handle_async_request(request)

    async def aclose(self) -> None:
        await self._network.aclose()


def _in_two_reads(encoding: str, head: bytes, tail: bytes) -> Callable[[socket.socket], None]:
    """Answer with a body in `encoding`: `head` first, `tail` a moment later, in reads of their own."""

    def answer(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s"
                     % (encoding.encode(), len(head) + len(tail), head))
        time.sleep(0.2)
        conn.sendall(tail)

    return answer


def test_a_compressed_body_at_the_cap_is_fine_however_it_arrives(
    raw_server: Callable[[Callable[[socket.socket], None]], str],
) -> None:
    """The whole body can be decoded before the stream ends: the cap is reached, not passed."""
    body = bytes(range(256)) * 4
    encoded = gzip.compress(body)  # the trailer, its last 8 bytes, comes after the body is decoded
    result = fetch_one(raw_server(_in_two_reads("gzip", encoded[:-8], encoded[-8:])),
                       tuned(max_bytes=len(body)))
    assert result.ok, result.error
    assert result.body == body


def test_a_deflate_body_failing_its_checksum_is_refused(
    raw_server: Callable[[Callable[[socket.socket], None]], str],
) -> None:
    """Once a zlib stream has begun, an error is an error, not a cue to start over as raw deflate.

    Here the wrong checksum happens to be a valid (empty) raw deflate stream.
    """
    encoded = zlib.compress(ATOM)
    result = fetch_one(raw_server(_in_two_reads("deflate", encoded[:-4], b"\x03\x00\x00\x00")))
    assert result.error_kind == "network"
    assert (result.error or "").startswith("could not decode the deflate body: ")


def test_raw_deflate_labelled_gzip_is_refused(feed_server: FeedServer) -> None:
    """Only "deflate" is read either way, because servers commonly get that one wrong."""
    raw = zlib.compress(ATOM)[2:-4]
    url = feed_server.route("/feed", Response(body=raw, headers={"Content-Encoding": "gzip"}))
    result = fetch_one(url)
    assert result.error_kind == "network"
    assert (result.error or "").startswith("could not decode the gzip body: ")


def _self_signed_tls(conn: socket.socket) -> None:
    """Offer a certificate no authority signed, as a misconfigured https site does."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(DATA / "tls" / "self-signed.pem")
    with contextlib.suppress(OSError):  # the client refuses the certificate and hangs up
        context.wrap_socket(conn, server_side=True)


def test_a_certificate_no_one_vouches_for_is_a_tls_error_saying_so(
    raw_server: Callable[[Callable[[socket.socket], None]], str],
) -> None:
    url = raw_server(_self_signed_tls).replace("http:", "https:")
    result = fetch_one(url)
    assert (result.error_kind, result.error) == (
        "tls", "TLS: certificate verify failed: self-signed certificate")


def _stop_reading(conn: socket.socket) -> None:
    """Read nothing more of the request, as a stuck server does, until the client gives up."""
    time.sleep(3)


def test_a_server_that_stops_reading_fails_at_the_write_timeout(
    raw_server: Callable[[Callable[[socket.socket], None]], str],
) -> None:
    """The write time-out is the read time-out: a request too big for the socket buffers waits on it."""
    url = raw_server(_stop_reading)
    result = fetch_one(FetchRequest(url, etag="x" * 8 * 1024 * 1024), tuned(read_timeout=0.3))
    assert (result.error_kind, result.error) == ("timeout", "timed out after 0.3 s sending the request")


def test_an_unexpected_error_fails_only_its_own_source(
    feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug met while fetching one feed is logged and reported; the others are fetched."""
    urls = [feed_server.route(path, Response(body=ATOM)) for path in ("/broken", "/feed")]
    results = fetch_all_sync([FetchRequest(u) for u in urls], FAST, transport=_BrokenFor("/broken"))
    assert (results[0].error_kind, results[0].error) == (
        "network", "unexpected error: RuntimeError('bug in a transport')")
    assert results[1].body == ATOM
    assert [r.getMessage() for r in caplog.records] == [f"unexpected error fetching {urls[0]}"]


# --- Politeness and ordering ---------------------------------------------------


def test_one_domain_is_fetched_one_at_a_time_and_spaced(feed_server: FeedServer) -> None:
    urls = [feed_server.route(f"/{i}", Response(body=ATOM, delay=0.05)) for i in range(4)]
    started = time.monotonic()
    results = fetch(urls, tuned(domain_spacing=0.3))
    assert all(r.ok for r in results)
    assert time.monotonic() - started >= 0.9  # three waits between four starts
    assert feed_server.max_in_flight == 1
    # The server sees a start only once the request reaches it: the first
    # request also opens the connection, so the first gap looks shorter by
    # that much, and the rest by the moment a busy machine takes to wake the
    # server's thread, which a tenth of a second covers.
    starts = [r.started for r in feed_server.requests]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.2 for gap in gaps[1:]), gaps


def test_requests_to_one_site_in_parallel_still_start_spaced(feed_server: FeedServer) -> None:
    """With two requests of a site allowed at once, their starts are still spaced apart."""
    urls = [feed_server.route(f"/{i}", Response(body=ATOM, delay=0.5)) for i in range(2)]
    results = fetch(urls, tuned(per_domain=2, domain_spacing=0.3))
    assert all(r.ok for r in results)
    assert feed_server.max_in_flight == 2
    first, second = sorted(r.started for r in feed_server.requests)
    # As seen by the server, each start comes once its connection is open,
    # and a busy machine may wake its threads late: a tenth of a second's slack.
    assert second - first >= 0.2


def test_requests_to_one_site_that_waited_for_a_slot_still_start_spaced(feed_server: FeedServer) -> None:
    """A request that queued for a free slot before its sibling started is spaced from it all the same.

    One slot for all: the other site takes it first, so both requests of the
    site wait for it before either has started, and the second gets it as
    soon as the first is done.
    """
    feed_server.route("/feed", Response(body=ATOM))
    urls = [feed_server.url("/feed", host="localhost")] + [feed_server.url("/feed")] * 2
    results = fetch(urls, tuned(concurrency=1, per_domain=2, domain_spacing=0.3))
    assert all(r.ok for r in results)
    first, second = (r.started for r in feed_server.requests if (r.header("Host") or "").startswith("127."))
    # The server sees each start a little after it was made: a tenth of a second's slack.
    assert second - first >= 0.2


def test_domains_are_fetched_in_parallel(feed_server: FeedServer) -> None:
    feed_server.route("/slow", Response(body=ATOM, delay=0.3))
    hosts = ["127.0.0.1", "localhost"] * 2
    urls = [feed_server.url("/slow", host=h) for h in hosts]
    seen: list[FetchResult] = []
    results = fetch(urls, on_result=seen.append)
    # Two domains with two requests each: one of each domain at a time, both at once.
    assert feed_server.max_in_flight == 2
    assert [r.url for r in results] == urls
    assert sorted(r.url for r in seen) == sorted(urls)


def test_concurrency_caps_requests_in_flight(feed_server: FeedServer) -> None:
    feed_server.route("/slow", Response(body=ATOM, delay=0.1))
    urls = [feed_server.url("/slow", host=h) for h in ["127.0.0.1", "localhost"] * 2]
    assert all(r.ok for r in fetch(urls, tuned(concurrency=1)))
    assert feed_server.max_in_flight == 1


def test_connections_stay_open_to_twice_as_many_sites_as_are_fetched_at_once() -> None:
    """A refresh reuses a site's connection for its next feed, but never keeps one to every site.

    Five sites (servers on one host, so fetched one after another in request
    order) with a concurrency of two: four connections stay open, and a
    fifth site closes the one least recently used.
    """
    with contextlib.ExitStack() as stack:
        a, b, c, d, e = (stack.enter_context(FeedServer()) for _ in range(5))
        for server in (a, b, c, d, e):
            server.route("/feed", Response(body=ATOM))
        order = [a, b, c, d, a, e, b]
        results = fetch([server.url("/feed") for server in order], tuned(concurrency=2))
        assert all(r.ok for r in results)
        ports = {server: {r.client_port for r in server.requests} for server in (a, b)}
    assert len(ports[a]) == 1, "a, used again among four sites, kept its connection"
    assert len(ports[b]) == 2, "the fifth site, e, closed the least recently used one, b"


def test_fetch_all_is_a_coroutine_for_async_callers(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(body=ATOM))
    (result,) = asyncio.run(fetch_all([FetchRequest(url)], FAST))
    assert result.body == ATOM


def test_without_keep_bodies_each_body_is_seen_once_and_not_returned(
    feed_server: FeedServer,
) -> None:
    """A large refresh handed to `on_result` body by body never holds every body at once."""
    urls = [feed_server.route(f"/{i}", Response(body=ATOM)) for i in range(2)]
    seen: list[bytes | None] = []
    results = fetch_all_sync([FetchRequest(u) for u in urls], FAST, keep_bodies=False,
                             on_result=lambda r: seen.append(r.body))
    assert seen == [ATOM, ATOM]
    assert [(r.status, r.body) for r in results] == [(200, None), (200, None)]


def test_admit_is_awaited_before_each_request_is_sent(feed_server: FeedServer) -> None:
    """A slow consumer holds requests back: none is sent before `admit` lets it go."""
    urls = [feed_server.route(f"/{i}", Response(body=ATOM)) for i in range(3)]
    sent_when_admitted: list[int] = []

    async def admit() -> None:
        sent_when_admitted.append(len(feed_server.requests))

    results = fetch_all_sync([FetchRequest(u) for u in urls], FAST, admit=admit)
    assert all(r.ok for r in results)
    assert sent_when_admitted == [0, 1, 2]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"concurrency": 0}, "concurrency and per_domain must be at least 1"),
        ({"per_domain": 0}, "concurrency and per_domain must be at least 1"),
        ({"connect_timeout": 0}, "timeouts must be positive"),
        ({"read_timeout": 0}, "timeouts must be positive"),
        ({"total_timeout": -1}, "timeouts must be positive"),
        ({"domain_spacing": -0.1}, "domain_spacing, max_bytes and max_redirects cannot be negative"),
        ({"max_bytes": -1}, "domain_spacing, max_bytes and max_redirects cannot be negative"),
        ({"max_redirects": -1}, "domain_spacing, max_bytes and max_redirects cannot be negative"),
        ({"max_retry_after": -1}, "max_retry_after cannot be negative"),
    ],
)
def test_settings_that_make_no_sense_are_refused(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        FetchSettings(**changes)  # type: ignore[arg-type]


def test_the_smallest_sensible_settings_are_accepted() -> None:
    """One request at a time, no spacing, no body, no redirect, no pause: strict, not wrong."""
    FetchSettings(concurrency=1, per_domain=1, connect_timeout=0.001, read_timeout=0.001,
                  total_timeout=0.001, domain_spacing=0, max_bytes=0, max_redirects=0,
                  max_retry_after=0)


# --- Registrable domains ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://a.b.example.co.uk/feed.xml", "example.co.uk"),
        ("a.b.example.co.uk", "example.co.uk"),
        # The public suffix list knows suffixes no rule of thumb does.
        ("https://feeds.example.kyoto.jp/", "example.kyoto.jp"),
        ("www.example.act.edu.au", "example.act.edu.au"),
        ("https://Blog.Example.COM./atom", "example.com"),
        ("https://example.com:8443/", "example.com"),
        ("http://127.0.0.1:8080/feed", "127.0.0.1"),
        ("http://[::1]:8080/feed", "::1"),
        ("http://localhost:5000/feed", "localhost"),
        ("http://localhost.:5000/feed", "localhost"),  # the fully qualified spelling
        ("http://127.0.0.1.:8080/feed", "127.0.0.1"),
        ("http://[::1:/", ""),
        ("http:///feed", ""),  # no host at all
    ],
)
def test_registrable_domain(url: str, domain: str) -> None:
    assert registrable_domain(url) == domain


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("a.b.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("www.example.com.au", "example.com.au"),
        ("blog.example.com", "example.com"),
        ("example.com", "example.com"),
        ("a.b.co.example", "co.example"),  # "co." counts only under a two-letter TLD
        ("feeds.example.de", "example.de"),  # a two-letter TLD without a usual second level
        ("co.uk", "co.uk"),
    ],
)
def test_without_the_suffix_list_the_usual_domains_are_still_grouped(host: str, domain: str) -> None:
    """The fallback when tldextract is missing: sibling hosts of one site still share a budget."""
    assert _guess_registrable_domain(host) == domain
