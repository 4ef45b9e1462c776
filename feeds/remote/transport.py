"""The connections of a refresh: one small pool per site, the least recently used closed first.

httpcore's connection pool scans every connection it holds each time a
request is queued or released, and polls each idle socket to see whether
it has expired: with one pool for a refresh of many sites that costs time in
proportion to sites × requests, a sixth of the main process's time when
fetching 1,000 feeds from 50 sites. Requests to one site go one at a time
anyway (per-domain politeness), so a pool per origin holds one connection
and scans nothing. A refresh of thousands of sites must not keep a socket
open to each of them, so at most `max_pools` pools stay open: the least
recently used one with no request in flight is closed to make room.

A pool is also that of a route: requests to one origin through a proxy and
without one (or through another) never share a connection. The proxy comes
from the request (the source's or feeds.toml's, see `PROXY_EXTENSION`) or
else from the environment, by httpx's rules (see proxies.py).
"""

from __future__ import annotations

import urllib.request
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable
from types import TracebackType

import httpx

from .proxies import ProxyRules, rules_from_environment, shown_proxy

# The request extension naming the configured proxy for it (a URL or
# "direct"); without it the environment's rules decide.
PROXY_EXTENSION = "feeds.proxy"
# Set by the transport on a request it sends through a proxy: the proxy's
# URL without its credentials, for the messages of failures.
SHOWN_PROXY_EXTENSION = "feeds.shown_proxy"

# (scheme, host, port, proxy URL or None)
_Origin = tuple[str, str, int | None, str | None]


class OriginPools(httpx.AsyncBaseTransport):
    """An httpx transport routing each request to the pool of its origin (scheme, host, port)."""

    def __init__(self, max_pools: int, limits: httpx.Limits, *, trust_env: bool = True,
                 proxies: ProxyRules | None = None) -> None:
        """`proxies` replaces the environment's proxy rules (read only with `trust_env`)."""
        if max_pools < 1:
            raise ValueError("max_pools must be at least 1")
        self._max_pools = max_pools
        self._limits = limits
        self._trust_env = trust_env
        if proxies is None:
            # What httpx itself reads: the *_PROXY variables, upper or lower case.
            proxies = (rules_from_environment(urllib.request.getproxies()) if trust_env
                       else ProxyRules())
        self._proxies = proxies
        self._routes: dict[tuple[str, str, int | None, str | None], str | None] = {}
        # Loading the certificate store costs milliseconds: one context for every pool.
        self._ssl = httpx.create_ssl_context(trust_env=trust_env)
        self._pools: OrderedDict[_Origin, httpx.AsyncHTTPTransport] = OrderedDict()
        self._in_flight: Counter[_Origin] = Counter()

    @property
    def open_pools(self) -> int:
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        configured = request.extensions.get(PROXY_EXTENSION)
        site = (request.url.scheme, request.url.host, request.url.port)
        proxy = None  # no proxy anywhere, the usual case
        if configured is not None or self._proxies.rules:
            route = (*site, configured)
            if route not in self._routes:
                # Matching the rules costs tens of microseconds: once per site and setting.
                self._routes[route] = self._proxies.proxy_for(str(request.url), configured)
            proxy = self._routes[route]
        origin = (*site, proxy)
        if proxy is not None:
            request.extensions[SHOWN_PROXY_EXTENSION] = shown_proxy(proxy)
        pool = self._pools.get(origin)
        if pool is None:
            await self._make_room()
            pool = httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits,
                                            trust_env=self._trust_env,
                                            proxy=httpx.Proxy(proxy) if proxy else None)
            self._pools[origin] = pool
        self._pools.move_to_end(origin)
        self._in_flight[origin] += 1
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._done(origin)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Released(response.stream, lambda: self._done(origin)),
            extensions=response.extensions,
        )

    def _done(self, origin: _Origin) -> None:
        self._in_flight[origin] -= 1
        if self._in_flight[origin] <= 0:
            del self._in_flight[origin]

    async def _make_room(self) -> None:
        """Close the least recently used idle pools until one more fits."""
        for origin in list(self._pools):
            if len(self._pools) < self._max_pools:
                return
            if origin not in self._in_flight:
                await self._pools.pop(origin).aclose()
        # Every pool has a request in flight: one more is allowed for now.

    async def aclose(self) -> None:
        pools = list(self._pools.values())
        self._pools.clear()
        for pool in pools:
            await pool.aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()


class _Released(httpx.AsyncByteStream):
    """A response body that tells its pool's owner when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, on_close: Callable[[], None]) -> None:
        self._stream = stream
        self._on_close: Callable[[], None] | None = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._on_close is not None:
                on_close, self._on_close = self._on_close, None
                on_close()
