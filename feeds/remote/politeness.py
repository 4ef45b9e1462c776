"""Politeness: a domain's requests one at a time and spaced, its pauses kept, a cap on all.

Being a good citizen matters as much as being fast: requests to one
registrable domain are serialised and spaced out, and a 429/503 holds back
the rest of that domain for the run (the caller carries the pause into
later runs through `blocked_until`). A source whose pauses are its own
(`retry_after_scope = "source"`: many feeds of one service, each with its
own limit) is paused alone: `blocked_until` then holds its URL, and its
siblings on the site go on.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from ..config import FetchSettings
from ..model import FetchRequest, FetchResult
from .domains import registrable_domain


@dataclass
class _Domain:
    """What one run knows about one registrable domain."""

    last_start: float = -math.inf  # time.monotonic() of the latest request start
    blocked_until: float = 0.0  # time.time() before which nothing is sent
    paused: bool = False  # a 429/503 arrived this run: send nothing more
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Politeness:
    """Per-domain spacing and pauses plus the overall concurrency cap.

    A request is scheduled under the domain of the URL it names; the hops of
    a redirect to another domain are not spaced separately, as they are part
    of one fetch.
    """

    def __init__(self, settings: FetchSettings, blocked_until: Mapping[str, float]) -> None:
        self._spacing = settings.domain_spacing
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._domains: dict[str, _Domain] = {}
        self._sources: dict[str, float] = {}  # source URL → time.time() it may be asked again
        for key, until in blocked_until.items():
            if "://" in key:
                self._sources[key] = until
            else:
                self._domain(key).blocked_until = until

    def _domain(self, key: str) -> _Domain:
        return self._domains.setdefault(key, _Domain())

    async def fetch(
        self,
        key: str,
        request: FetchRequest,
        fetch_one: Callable[[FetchRequest], Awaitable[FetchResult]],
    ) -> FetchResult:
        """Run `fetch_one` when the domain's turn comes, or defer the request."""
        domain = self._domain(key)
        if self._sources.get(request.url, 0.0) > time.time():
            return _deferred(request, "this feed", self._sources[request.url] - time.time())
        if (deferred := self._deferred(key, domain, request)) is not None:
            return deferred
        # Wait out the spacing before taking an overall slot, so a domain's
        # pause does not idle a slot other domains could use.
        await sleep_until(domain.last_start + self._spacing)
        async with self._slots:
            async with domain.lock:
                # Normally a no-op; with per_domain > 1 a sibling may have
                # started while this one waited for a slot.
                await sleep_until(domain.last_start + self._spacing)
                if (deferred := self._deferred(key, domain, request)) is not None:
                    return deferred
                domain.last_start = time.monotonic()
            result = await fetch_one(request)
        if (result.retry_after is not None and result.error_kind == "http"
                and not request.options.pause_source):
            # The domain that answered is the one asking for a pause, which
            # after a redirect need not be the one the request named.
            self._pause(registrable_domain(result.final_url), result.retry_after)
        return result

    def _pause(self, key: str, seconds: float) -> None:
        domain = self._domain(key)
        domain.paused = True
        domain.blocked_until = max(domain.blocked_until, time.time() + seconds)

    @staticmethod
    def _deferred(key: str, domain: _Domain, request: FetchRequest) -> FetchResult | None:
        remaining = domain.blocked_until - time.time()
        if not domain.paused and remaining <= 0:
            return None
        return _deferred(request, key, remaining)


def _deferred(request: FetchRequest, who: str, remaining: float) -> FetchResult:
    remaining = max(remaining, 0.0)
    return FetchResult(
        url=request.url,
        final_url=request.url,
        status=0,
        error=f"not sent: {who} asked for a pause; retry in {remaining:.0f} s",
        error_kind="deferred",
        retry_after=remaining,
    )


async def sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
