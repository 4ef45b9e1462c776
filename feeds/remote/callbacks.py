"""The HTTP edge of feeds' own WebSub hub: requests to subscribers' callbacks, and only safe ones.

A callback URL comes from anyone who can reach the hub endpoint, so every
request to one is made with care (W3C WebSub §5.3, §7, and the SSRF rules
of the README's "Own hub" section):

- its host is resolved here, and every address it resolves to is checked
  (`publish.subscriptions.refused_address`): private, loopback, link-local,
  multicast, reserved and unspecified addresses are refused unless
  `hub_allow_private`;
- the connection then goes to the address that was checked, never to the
  name again: the URL is rewritten to that IP, the Host header (and, over
  HTTPS, the TLS server name, against which the certificate is still
  verified) keep the original name. A DNS answer that changes between the
  check and the connection (DNS rebinding) therefore changes nothing: the
  second answer is never asked for. Each request resolves and checks
  afresh, so a later request sees a later answer, checked in turn;
- redirects are not followed (a 3xx is a failure), proxies from the
  environment are not used (they would connect by name), time-outs are
  short and an answer's body is read only up to a few bytes.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ..config import FetchSettings
from ..errors import SubscriptionError
from ..model import Delivery, DeliveryResult, HubRequest
from ..publish.subscriptions import link_header, refused_address, signature, verification_accepted
from .failures import describe_httpx_error, seconds

# Seconds one request to a callback may take, connecting, sending and answering.
CALLBACK_TIMEOUT = 5.0
# Seconds a whole round of deliveries may take; what is not sent by then is retried.
ROUND_TIMEOUT = 30.0
# Deliveries in flight at once.
PARALLEL = 8
# Bytes of a verification answer read: a challenge is short.
MAX_ANSWER_BYTES = 1024


@dataclass(frozen=True)
class _Pinned:
    """A request's target after resolving: the URL with the checked IP, and what keeps the name."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any]


def check_callback_address(callback: str, allow_private: bool) -> None:
    """Resolve the callback's host and raise SubscriptionError if any address is refused.

    Called before a request is accepted, so a refused callback is told so
    (4xx) and never requested. Blocks while resolving: call it off the event loop.
    """
    try:
        url = httpx.URL(callback)
    except httpx.InvalidURL as exc:
        raise SubscriptionError(f"hub.callback is not a URL: {exc}") from None
    try:
        infos = socket.getaddrinfo(url.host, url.port or _default_port(url),
                                   type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise SubscriptionError(f"hub.callback host {url.host!r} cannot be resolved: "
                                f"{exc}") from None
    _checked([str(info[4][0]) for info in infos], url.host, allow_private)


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _checked(addresses: Sequence[str], host: str, allow_private: bool) -> str:
    """The address to connect to, once every address of `host` passed the check."""
    if not addresses:
        raise SubscriptionError(f"hub.callback host {host!r} has no address")
    if not allow_private:
        for address in addresses:
            reason = refused_address(address)
            if reason is not None:
                raise SubscriptionError(f"hub.callback host {host!r} is refused: {reason}")
    return addresses[0]


async def _pin(url_text: str, allow_private: bool) -> _Pinned:
    url = httpx.URL(url_text)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(url.host, url.port or _default_port(url),
                                       type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise SubscriptionError(f"{url.host!r} cannot be resolved: {exc}") from None
    address = _checked([str(info[4][0]) for info in infos], url.host, allow_private)
    extensions: dict[str, Any] = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return _Pinned(url.copy_with(host=address), {"Host": url.netloc.decode("ascii")}, extensions)


def _client(settings: FetchSettings) -> httpx.AsyncClient:
    limit = min(settings.connect_timeout, settings.read_timeout, CALLBACK_TIMEOUT)
    # identity: the few bytes of an answer read are the bytes sent, never a
    # compressed body inflated past the cap.
    return httpx.AsyncClient(headers={"User-Agent": settings.user_agent,
                                      "Accept-Encoding": "identity"},
                             timeout=httpx.Timeout(limit), follow_redirects=False,
                             trust_env=False)


def verify_intent(request: HubRequest, settings: FetchSettings | None = None, *,
                  allow_private: bool = False) -> str | None:
    """Ask the subscriber to confirm `request` (§5.3); None when it did, else why not.

    The GET carries hub.mode, hub.topic, a fresh random hub.challenge and,
    to subscribe, hub.lease_seconds, added to the callback's own query; the
    subscriber must answer 2xx with the challenge as its body. Runs its own
    event loop, for the daemon's threads.
    """
    return asyncio.run(_verify(request, settings or FetchSettings(), allow_private))


async def _verify(request: HubRequest, settings: FetchSettings, allow_private: bool) -> str | None:
    challenge = secrets.token_urlsafe(32)
    params = {"hub.mode": request.mode, "hub.topic": request.topic, "hub.challenge": challenge}
    if request.mode == "subscribe":
        params["hub.lease_seconds"] = str(request.lease_seconds)
    try:
        pinned = await _pin(request.callback, allow_private)
        async with _client(settings) as client, asyncio.timeout(CALLBACK_TIMEOUT), client.stream(
                "GET", pinned.url.copy_merge_params(params), headers=pinned.headers,
                extensions=pinned.extensions) as answer:
            body = b""
            async for chunk in answer.aiter_raw():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    break
            status = answer.status_code
    except _FAILURES as exc:
        return _why(exc, request.callback, settings)
    if verification_accepted(status, body, challenge):
        return None
    if not 200 <= status < 300:
        return f"the subscriber answered HTTP {status}"
    return "the subscriber did not answer with the challenge"


# What a request to a callback can fail with, each told by `_why`.
_FAILURES = (SubscriptionError, TimeoutError, httpx.HTTPError, httpx.InvalidURL)


def _why(exc: Exception, callback: str, settings: FetchSettings) -> str:
    """Why a request to `callback` failed, as the log and the store say it."""
    if isinstance(exc, SubscriptionError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"timed out after {seconds(CALLBACK_TIMEOUT)} s"
    assert isinstance(exc, httpx.HTTPError | httpx.InvalidURL)
    return describe_httpx_error(exc, callback, False, settings).message


def deliver(deliveries: Sequence[Delivery], hub: str, settings: FetchSettings | None = None, *,
            allow_private: bool = False,
            round_timeout: float = ROUND_TIMEOUT) -> list[DeliveryResult]:
    """POST each delivery's body to its callback (§7, signed per §8); how each went.

    A delivery cut off by the round's deadline has no result (it is
    retried). Runs its own event loop, for the daemon's threads.
    """
    if not deliveries:
        return []
    return asyncio.run(_deliver_all(deliveries, hub, settings or FetchSettings(), allow_private,
                                    round_timeout))


async def _deliver_all(deliveries: Sequence[Delivery], hub: str, settings: FetchSettings,
                       allow_private: bool, round_timeout: float) -> list[DeliveryResult]:
    results: list[DeliveryResult] = []
    gate = asyncio.Semaphore(PARALLEL)
    async with _client(settings) as client:

        async def one(delivery: Delivery) -> None:
            async with gate:
                error = await _post(client, delivery, hub, settings, allow_private)
            results.append(DeliveryResult(delivery.topic, delivery.callback, error))

        try:
            async with asyncio.timeout(round_timeout), asyncio.TaskGroup() as group:
                for delivery in deliveries:
                    group.create_task(one(delivery))
        except TimeoutError:
            pass  # those left without a result are retried
    return results


async def _post(client: httpx.AsyncClient, delivery: Delivery, hub: str,
                settings: FetchSettings, allow_private: bool) -> str | None:
    """None when the subscriber took the delivery (2xx), else why not."""
    headers = {"Content-Type": delivery.content_type,
               "Link": link_header(hub, delivery.topic)}
    if delivery.secret is not None:
        headers["X-Hub-Signature"] = signature(delivery.body, delivery.secret)
    try:
        pinned = await _pin(delivery.callback, allow_private)
        async with asyncio.timeout(CALLBACK_TIMEOUT), client.stream(
                "POST", pinned.url, content=delivery.body, headers=headers | pinned.headers,
                extensions=pinned.extensions) as answer:
            status = answer.status_code
    except _FAILURES as exc:
        return _why(exc, delivery.callback, settings)
    if 200 <= status < 300:
        return None
    return f"the subscriber answered HTTP {status}"
