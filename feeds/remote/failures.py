"""What can go wrong fetching one URL, and how it is told to the people who follow it."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx

from ..config import FetchSettings

_MIB = 1024 * 1024
_KIB = 1024


class Failure(Exception):
    """A per-URL failure found while fetching; turned into a FetchResult."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retry_after: float | None = None,
        gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.gone = gone


def describe_httpx_error(exc: httpx.HTTPError | httpx.InvalidURL, url: str, reading_body: bool,
                         settings: FetchSettings) -> Failure:
    """A kind and a message for users from an httpx exception and its causes."""
    if isinstance(exc, httpx.ConnectTimeout):
        return Failure(
            "timeout", f"timed out after {seconds(settings.connect_timeout)} s connecting"
        )
    if isinstance(exc, httpx.ReadTimeout):
        doing = "reading the body" if reading_body else "waiting for the response"
        return Failure("timeout", f"timed out after {seconds(settings.read_timeout)} s {doing}")
    if isinstance(exc, httpx.WriteTimeout):
        return Failure(
            "timeout", f"timed out after {seconds(settings.read_timeout)} s sending the request"
        )
    if isinstance(exc, httpx.PoolTimeout):
        return Failure("timeout", "timed out waiting for a free connection")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return Failure("network", f"invalid URL {url!r}: {exc}")
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return Failure("tls", f"TLS: certificate verify failed: {cause.verify_message}")
        if isinstance(cause, ssl.SSLError):
            detail = (cause.reason or str(cause)).lower().replace("_", " ")
            return Failure("tls", f"TLS: {detail}")
        if isinstance(cause, socket.gaierror):
            host = httpx.URL(url).host
            return Failure("network", f"DNS lookup failed for {host}: {cause.strerror}")
        if isinstance(cause, ConnectionRefusedError):
            return Failure("network", "connection refused")
        if isinstance(cause, ConnectionResetError):
            return Failure("network", "connection reset by the server")
    if isinstance(exc, httpx.RemoteProtocolError):
        return Failure("network", f"the server broke the HTTP protocol: {exc}")
    if isinstance(exc, httpx.ConnectError):
        return Failure("network", f"could not connect: {exc}")
    # An exception is always true: its text is what may be empty (anyio's
    # BrokenResourceError, which httpcore passes on as a ReadError, has none).
    if isinstance(exc, httpx.ReadError):
        return Failure("network", f"connection lost while reading: {str(exc) or 'closed'}")
    return Failure("network", f"network error: {str(exc) or type(exc).__name__}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from (httpx wraps the OS error twice)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def seconds(value: float) -> str:
    return f"{value:g}"


def size(n: int) -> str:
    if n and n % _MIB == 0:
        return f"{n // _MIB} MiB"
    if n and n % _KIB == 0:
        return f"{n // _KIB} KiB"
    return f"{n} bytes"
