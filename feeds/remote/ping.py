"""The HTTP edge of WebSub publishing: tell hubs which feeds changed, never raise, never linger.

Each ping is a `POST` to the hub with the form body `hub.mode=publish&
hub.url=<feed URL>` (W3C WebSub, "Publishing"); a hub answers 2xx when it
took it. Hubs are told after the files are written, so a hub that is down,
slow or wrong can only delay its own news: every request has short
time-outs, all hubs are asked at once (a few requests at a time each), a
hub that cannot be reached is not asked again in the same round, and the
whole round has a deadline. Whatever was not delivered comes back as a
`PingResult` with the cause, for the store to keep and a later round to send.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

import httpx

from ..config import FetchSettings
from ..model import Ping, PingResult
from ..text.sanitise import clean_text
from .failures import describe_httpx_error, seconds

# Seconds one ping may take, connecting, sending and waiting for the answer.
PING_TIMEOUT = 5.0
# Seconds a whole round may take, every hub at once; what is not sent by
# then waits for the next round.
ROUND_TIMEOUT = 10.0
# Requests in flight to one hub at a time: a first build owes a hub a ping
# per feed file, and a hub should not see a hundred connections at once.
PER_HUB = 4


def ping_hubs(pings: Sequence[Ping], settings: FetchSettings | None = None,
              *, round_timeout: float = ROUND_TIMEOUT) -> list[PingResult]:
    """Send every ping and return how each went (a ping cut off by the deadline has no result).

    `settings` gives the User-Agent and may shorten the time-outs (never
    lengthen them past PING_TIMEOUT). Runs its own event loop, so it suits
    the CLI and the daemon's threads alike.
    """
    if not pings:
        return []
    return asyncio.run(_ping_all(pings, _ping_settings(settings or FetchSettings()),
                                 round_timeout))


def _ping_settings(settings: FetchSettings) -> FetchSettings:
    return replace(settings,
                   connect_timeout=min(settings.connect_timeout, PING_TIMEOUT),
                   read_timeout=min(settings.read_timeout, PING_TIMEOUT),
                   total_timeout=min(settings.total_timeout, PING_TIMEOUT))


async def _ping_all(pings: Sequence[Ping], settings: FetchSettings,
                    round_timeout: float) -> list[PingResult]:
    by_hub: dict[str, deque[Ping]] = {}
    for ping in pings:
        by_hub.setdefault(ping.hub, deque()).append(ping)
    results: list[PingResult] = []
    timeout = httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout,
                            write=settings.read_timeout, pool=settings.total_timeout)
    async with httpx.AsyncClient(headers={"User-Agent": settings.user_agent}, timeout=timeout,
                                 follow_redirects=False) as client:
        try:
            async with asyncio.timeout(round_timeout), asyncio.TaskGroup() as group:
                for queue in by_hub.values():
                    _HubRound(client, settings, queue, results).start(group)
        except TimeoutError:
            pass  # the pings left without a result stay pending
    return results


class _HubRound:
    """One hub's pings of a round, sent a few at a time over one client."""

    def __init__(self, client: httpx.AsyncClient, settings: FetchSettings,
                 queue: deque[Ping], results: list[PingResult]) -> None:
        self._client = client
        self._settings = settings
        self._queue = queue
        self._results = results
        # Set when the hub could not be reached: its other pings of the
        # round fail with the same cause instead of waiting out time-outs.
        self._unreachable: str | None = None

    def start(self, group: asyncio.TaskGroup) -> None:
        for _ in range(min(PER_HUB, len(self._queue))):
            group.create_task(self._work())

    async def _work(self) -> None:
        while self._queue:
            ping = self._queue.popleft()
            error = self._unreachable or await self._send(ping)
            self._results.append(PingResult(ping.hub, ping.url, error))

    async def _send(self, ping: Ping) -> str | None:
        """None when the hub took the ping, else why not."""
        settings = self._settings
        try:
            # The total time-out bounds a hub that trickles its answer.
            async with asyncio.timeout(settings.total_timeout), self._client.stream(
                    "POST", ping.hub, data={"hub.mode": "publish", "hub.url": ping.url}) as answer:
                status, reason = answer.status_code, answer.reason_phrase
        except TimeoutError:
            self._unreachable = f"timed out after {seconds(settings.total_timeout)} s"
            return self._unreachable
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            self._unreachable = describe_httpx_error(exc, ping.hub, False, settings).message
            return self._unreachable
        if 200 <= status < 300:
            return None
        # The hub is there but refused this one: the others may still pass. Its own
        # words are kept, without control characters (a store keeps the message).
        reason = clean_text(reason).strip()
        return f"the hub answered HTTP {status}" + (f" {reason}" if reason else "")
