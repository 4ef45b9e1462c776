"""How a failed fetch is told: the kind and the message for failures loopback cannot cause.

tests/test_fetch.py makes refusals, resets, time-outs, TLS failures and
broken answers happen on real sockets. A name that does not resolve, a host
that cannot be reached or a connection that drops without a word need a
network the tests do not use; httpx reports them as an exception raised from
httpcore's, raised from the operating system's error, and that chain is what
`describe_httpx_error` reads. So here the chain is built as httpx builds it
and handed to the function.
"""

from __future__ import annotations

import errno
import socket

import anyio
import httpcore
import httpx
import pytest

from feeds.config import FetchSettings
from feeds.remote.failures import describe_httpx_error

URL = "http://feeds.invalid/feed.xml"


def _raised_from(exc: httpx.HTTPError, os_error: BaseException) -> httpx.HTTPError:
    """`exc` as httpx raises it: from httpcore's exception of the same name, from `os_error`."""
    core = getattr(httpcore, type(exc).__name__)(str(exc))
    core.__cause__ = os_error
    exc.__cause__ = core
    return exc


@pytest.mark.parametrize(
    ("exc", "kind", "message"),
    [
        (_raised_from(httpx.ConnectError("[Errno -2] Name or service not known"),
                      socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
         "network", "DNS lookup failed for feeds.invalid: Name or service not known"),
        (_raised_from(httpx.ConnectError("[Errno 113] No route to host"),
                      OSError(errno.EHOSTUNREACH, "No route to host")),
         "network", "could not connect: [Errno 113] No route to host"),
        (_raised_from(httpx.ReadError("[Errno 110] Connection timed out"),
                      TimeoutError(errno.ETIMEDOUT, "Connection timed out")),
         "network", "connection lost while reading: [Errno 110] Connection timed out"),
        # A stream that broke under anyio comes without a word: the message still says something.
        (_raised_from(httpx.ReadError(""), anyio.BrokenResourceError()),
         "network", "connection lost while reading: closed"),
        (_raised_from(httpx.WriteError(""), anyio.BrokenResourceError()),
         "network", "network error: WriteError"),
        (httpx.PoolTimeout("timed out"), "timeout", "timed out waiting for a free connection"),
    ],
    ids=["dns", "unreachable", "dropped-while-reading", "closed-while-reading", "nameless", "pool"],
)
def test_a_failure_is_told_by_its_kind_and_cause(exc: httpx.HTTPError, kind: str, message: str) -> None:
    failure = describe_httpx_error(exc, URL, False, FetchSettings())
    assert (failure.kind, failure.message) == (kind, message)
