"""One connection pool per origin, with the least recently used idle ones closed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from feedserver import FeedServer, Response

from feeds.remote.transport import OriginPools


@pytest.fixture
def servers() -> Iterator[list[FeedServer]]:
    """Three sites: three servers on 127.0.0.1, each on its own port."""
    started = [FeedServer().start() for _ in range(3)]
    for server in started:
        server.route("/feed", Response(body=b"<feed/>"))
        server.route("/slow", Response(body=b"0123456789", drip=0.05))
    yield started
    for server in started:
        server.stop()


async def _fetch_all(pools: OriginPools, urls: list[str]) -> list[bytes]:
    async with httpx.AsyncClient(transport=pools) as client:
        return [(await client.get(url)).content for url in urls]


def _connections(server: FeedServer) -> list[int]:
    """The client port of each request the server saw: one per connection used."""
    return [r.client_port for r in server.requests]


def test_each_site_keeps_its_connection(servers: list[FeedServer]) -> None:
    a, b, _c = servers
    pools = OriginPools(8, httpx.Limits(max_keepalive_connections=1))
    urls = [a.url("/feed"), b.url("/feed")] * 3
    assert asyncio.run(_fetch_all(pools, urls)) == [b"<feed/>"] * 6
    for server in (a, b):
        ports = _connections(server)
        assert len(ports) == 3 and len(set(ports)) == 1, ports
    assert pools.open_pools == 0  # closed with the client


def test_the_least_recently_used_site_is_closed_beyond_the_bound(servers: list[FeedServer]) -> None:
    a, b, c = servers
    pools = OriginPools(2, httpx.Limits(max_keepalive_connections=1))
    urls = [a.url("/feed"), b.url("/feed"), a.url("/feed"), c.url("/feed"), a.url("/feed"),
            b.url("/feed")]

    async def run() -> list[int]:
        async with httpx.AsyncClient(transport=pools) as client:
            counts = []
            for url in urls:
                await client.get(url)
                counts.append(pools.open_pools)
            return counts

    assert asyncio.run(run()) == [1, 2, 2, 2, 2, 2]
    # a was used last before c came, so b's pool was the one closed: a kept
    # its connection throughout and b needed a new one.
    assert len(set(_connections(a))) == 1
    assert len(_connections(b)) == 2 and len(set(_connections(b))) == 2


def test_a_site_with_a_response_in_flight_is_never_closed(servers: list[FeedServer]) -> None:
    a, b, c = servers
    pools = OriginPools(1, httpx.Limits(max_keepalive_connections=1))

    async def run() -> tuple[bytes, list[bytes]]:
        async with httpx.AsyncClient(transport=pools) as client:
            async with client.stream("GET", a.url("/slow")) as slow:
                # While a's body drips in, two other sites come and go.
                others = [(await client.get(b.url("/feed"))).content,
                          (await client.get(c.url("/feed"))).content]
                body = await slow.aread()
            return body, others

    body, others = asyncio.run(run())
    assert body == b"0123456789" and others == [b"<feed/>", b"<feed/>"]


def test_a_failed_request_frees_its_site() -> None:
    pools = OriginPools(1, httpx.Limits(max_keepalive_connections=1))
    with FeedServer() as server:
        server.route("/feed", Response(body=b"<feed/>"))
        dead = server.url("/feed").replace(str(server.port), "1")  # nothing listens on port 1

        async def run() -> tuple[bytes, int]:
            async with httpx.AsyncClient(transport=pools) as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(dead)
                # The failed site holds nothing in flight, so it made room.
                return (await client.get(server.url("/feed"))).content, pools.open_pools

        assert asyncio.run(run()) == (b"<feed/>", 1)


def test_a_site_reached_directly_and_through_a_proxy_has_a_pool_for_each(
    servers: list[FeedServer],
) -> None:
    from proxyserver import ForwardProxy

    from feeds.remote.proxies import rules_from_environment
    from feeds.remote.transport import PROXY_EXTENSION

    a, b, _c = servers
    with ForwardProxy() as proxy:
        # As HTTP_PROXY would say, with b exempt by NO_PROXY.
        pools = OriginPools(8, httpx.Limits(max_keepalive_connections=1),
                            proxies=rules_from_environment(
                                {"http": proxy.url, "no": f"127.0.0.1:{b.port}"}))

        async def run() -> list[int]:
            async with httpx.AsyncClient(transport=pools) as client:
                counts = []
                for url, route in [(a.url("/feed"), None), (a.url("/feed"), "direct"),
                                   (b.url("/feed"), None), (a.url("/feed"), None)]:
                    extensions = {} if route is None else {PROXY_EXTENSION: route}
                    request = client.build_request("GET", url, extensions=extensions)
                    assert (await client.send(request)).content == b"<feed/>"
                    counts.append(pools.open_pools)
                return counts

        assert asyncio.run(run()) == [1, 2, 3, 3]
        assert proxy.urls() == [a.url("/feed"), a.url("/feed")]
