"""Remote feeds for the refresh benchmarks, and the loopback server that serves them.

`generate_feeds` makes M feeds of K entries each, RSS 2.0 and Atom 1.0
alternating, every entry carrying 2–3 KB of HTML, all a function of the seed.
`FeedServer` serves them from one listening socket per loopback address
(127.0.1.1, 127.0.1.2, …: Linux routes all of 127/8 to `lo`), so a fetcher
that is polite per host sees many hosts, as it would on the real web.

The server is one asyncio loop in a background thread: each request waits
`latency` seconds with a non-blocking sleep (modelling a distant server)
before it is answered, so fifty requests in flight cost fifty timers, not
fifty threads. Every feed has a strong ETag; a request whose If-None-Match
names it gets a bodiless 304, after the same latency.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from types import TracebackType
from typing import Self

from bench.corpus import EN_SENTENCES, EN_TITLES, ZH_SENTENCES, ZH_TITLES

__all__ = ["FeedServer", "RemoteFeed", "entry_html", "etag_matches", "generate_feeds", "loopback_hosts"]

_NEWEST = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class RemoteFeed:
    """One served feed document."""

    number: int
    host_index: int  # which loopback address serves it
    path: str
    kind: str  # "rss" or "atom"
    body: bytes
    etag: str

    @property
    def content_type(self) -> str:
        """The media type a real server would send for this kind of document."""
        if self.kind == "html":
            return "text/html; charset=utf-8"
        kind = "rss" if self.kind == "rss" else "atom"
        return f"application/{kind}+xml; charset=utf-8"


def loopback_hosts(count: int) -> list[str]:
    """`count` loopback addresses, 127.0.1.1 upwards (at most 254)."""
    if not 1 <= count <= 254:
        raise ValueError("between 1 and 254 loopback addresses")
    return [f"127.0.1.{i}" for i in range(1, count + 1)]


def entry_html(rng: random.Random, chinese: bool, link: str) -> str:
    """About 2–3 KB of article HTML: paragraphs, a list, emphasis and a link."""
    pool = ZH_SENTENCES if chinese else EN_SENTENCES
    joiner = "" if chinese else " "
    target = rng.randint(2000, 3000)
    parts: list[str] = []
    size = 0
    while size < target - 400:
        text = escape(joiner.join(rng.sample(pool, 2)))
        parts.append(f"<p>{text}</p>")
        size += len(parts[-1].encode())
    items = "".join(f"<li>{escape(s)}</li>" for s in rng.sample(pool, 2))
    parts.insert(1, f"<p><strong>{escape(rng.choice(pool))}</strong></p>")
    parts.append(f"<ul>{items}</ul>")
    parts.append(f'<p><a href="{escape(link)}">{"阅读全文" if chinese else "Read more"}</a></p>')
    return "\n".join(parts)


def _article_page(rng: random.Random, chinese: bool, title: str, link: str) -> bytes:
    """An entry's page as a site serves it: navigation, an advertisement, the article, comments."""
    pool = ZH_SENTENCES if chinese else EN_SENTENCES
    comments = "".join(f"<li class=\"comment\">{escape(s)}</li>" for s in rng.sample(pool, 3))
    return (
        f"<!DOCTYPE html>\n<html lang=\"{'zh' if chinese else 'en'}\"><head><meta charset=\"utf-8\">"
        f"<title>{title}</title><script>var tracker = 1;</script></head><body>"
        "<header><nav><a href=\"/\">Home</a> <a href=\"/about\">About</a></nav></header>"
        "<div class=\"ad\">Buy now</div>"
        f"<main><article><h1>{title}</h1>{entry_html(rng, chinese, link)}</article></main>"
        f"<section class=\"comments\"><ul>{comments}</ul></section>"
        "<footer>© the site</footer></body></html>\n"
    ).encode()


def _feed_document(seed: int, number: int, entries: int, base: str,
                   pages: dict[str, bytes] | None = None) -> tuple[str, bytes]:
    """A feed's document; with `pages`, a summary-only one whose entries link pages of
    their own on the feed's host, each added to `pages` by its path."""
    rng = random.Random(f"{seed}:feed:{number}")
    kind = "rss" if number % 2 == 0 else "atom"
    chinese = number % 3 == 2
    site = f"https://site{number:04d}.example.com"
    feed_title = f"Bench feed {number}"
    # A summary-only feed's site is its own host, where its entries' pages are.
    home = f"{site}/" if pages is None else "/"
    items: list[str] = []
    for k in range(entries):
        when = _NEWEST - timedelta(hours=k * 7 + rng.randrange(7), minutes=rng.randrange(60))
        title = escape(f"{rng.choice(ZH_TITLES if chinese else EN_TITLES)} #{number}.{k}")
        link = f"{site}/posts/{number}-{k}"
        if pages is None:
            html = escape(entry_html(rng, chinese, link))
        else:
            link = f"/posts/{number:05d}-{k}.html"  # relative: on the feed's own host
            pages[link] = _article_page(rng, chinese, title, link)
            html = escape(f"<p>{escape(rng.choice(ZH_SENTENCES if chinese else EN_SENTENCES))}</p>")
        if kind == "rss":
            items.append(
                f"<item><title>{title}</title><link>{link}</link>"
                f'<guid isPermaLink="false">bench-{seed}-{number}-{k}</guid>'
                f"<pubDate>{format_datetime(when)}</pubDate>"
                f"<author>desk@site{number:04d}.example.com (Desk)</author>"
                f"<category>{'科技' if chinese else 'technology'}</category>"
                f"<description>{html}</description></item>"
            )
        else:
            stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            items.append(
                f"<entry><title>{title}</title><link href=\"{link}\"/>"
                f"<id>tag:site{number:04d}.example.com,2025:{seed}-{k}</id>"
                f"<published>{stamp}</published><updated>{stamp}</updated>"
                f"<author><name>Desk</name></author>"
                f"<category term=\"{'科技' if chinese else 'technology'}\"/>"
                f"<content type=\"html\">{html}</content></entry>"
            )
    lang = "zh-CN" if chinese else "en"
    if kind == "rss":
        doc = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>{feed_title}</title><link>{home}</link>"
            f"<description>Benchmark feed {number}</description><language>{lang}</language>"
            f"<lastBuildDate>{format_datetime(_NEWEST)}</lastBuildDate>"
            + "".join(items) + "</channel></rss>\n"
        )
    else:
        doc = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">'
            f"<title>{feed_title}</title><id>{site}/</id>"
            f'<link rel="alternate" href="{home}"/><link rel="self" href="{base}"/>'
            f"<updated>{_NEWEST.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
            + "".join(items) + "</feed>\n"
        )
    return kind, doc.encode()


def generate_feeds(seed: int, count: int, entries: int, hosts: int,
                   summary_every: int = 0) -> list[RemoteFeed]:
    """`count` feeds of `entries` entries; feed N is served by loopback address N mod `hosts`.

    With `summary_every`, every such feed (0, N, 2N, …) gives summaries only
    and its entries link their pages on its host, served too (kind "html").
    """
    feeds = []
    for number in range(count):
        path = f"/feeds/{number:05d}.xml"
        pages: dict[str, bytes] | None = {} if summary_every and number % summary_every == 0 else None
        kind, body = _feed_document(seed, number, entries, path, pages)
        feeds.append(RemoteFeed(number, number % hosts, path, kind, body, _etag(body)))
        for page, html in (pages or {}).items():
            feeds.append(RemoteFeed(number, number % hosts, page, "html", html, _etag(html)))
    return feeds


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


_REASONS = {200: "OK", 301: "Moved Permanently", 304: "Not Modified", 404: "Not Found",
            410: "Gone", 500: "Internal Server Error"}


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match semantics (RFC 9110 §13.1.2): weak comparison, `*` matches."""
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


class FeedServer:
    """Serves feeds on one socket per loopback address, from a background asyncio loop."""

    def __init__(self, feeds: Sequence[RemoteFeed], hosts: Sequence[str], latency: float) -> None:
        self.hosts = list(hosts)
        self.latency = latency
        self._feeds = {f.path: f for f in feeds}
        self._ports: list[int] = []
        self._lock = threading.Lock()
        self._counts: Counter[int] = Counter()
        self._in_flight = 0
        self._max_in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None

    def url(self, feed: RemoteFeed) -> str:
        """The address of `feed` on this server (it must be started)."""
        return self.url_at(feed.host_index, feed.path)

    def url_at(self, host_index: int, path: str) -> str:
        """The address of `path` on loopback address number `host_index` (once started)."""
        return f"http://{self.hosts[host_index]}:{self._ports[host_index]}{path}"

    def take_stats(self) -> tuple[Counter[int], int]:
        """Responses by status and the most requests in flight at once, since the last call."""
        with self._lock:
            counts, peak = self._counts, self._max_in_flight
            self._counts, self._max_in_flight = Counter(), self._in_flight
        return counts, peak

    def start(self) -> None:
        """Bind every address and serve in a daemon thread; returns once listening."""
        self._thread = threading.Thread(target=self._run, name="bench-feed-server", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError("the feed server did not start within 30 s")

    def stop(self) -> None:
        """Close every socket and end the loop thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start() when it happens while binding
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        servers = []
        try:
            for host in self.hosts:
                server = await asyncio.start_server(self._handle, host, 0, backlog=1024)
                servers.append(server)
                self._ports.append(server.sockets[0].getsockname()[1])
            self._ready.set()
            await self._stop.wait()
        finally:
            for server in servers:
                server.close()
            for server in servers:
                await server.wait_closed()

    async def _answer(
        self, method: str, target: str, headers: dict[str, str]
    ) -> tuple[int, bytes, bytes] | None:
        """(status, extra header lines, body) after the latency; None closes unanswered."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return self._respond(method, target, headers)

    def _respond(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, bytes, bytes]:
        feed = self._feeds.get(target.split("?", 1)[0])
        if feed is None:
            return 404, b"Content-Type: text/plain\r\n", b"not found\n"
        tag = f"ETag: {feed.etag}\r\n".encode()
        inm = headers.get("if-none-match")
        if inm is not None and etag_matches(inm, feed.etag):
            return 304, tag, b""
        head = tag + f"Content-Type: {feed.content_type}\r\n".encode()
        return 200, head, b"" if method == "HEAD" else feed.body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, version = lines[0].split(" ", 2)
                except ValueError:
                    return
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                status = 0  # counted as 0 when the client goes away mid-answer
                with self._lock:
                    self._in_flight += 1
                    self._max_in_flight = max(self._max_in_flight, self._in_flight)
                try:
                    answer = await self._answer(method, target, headers)
                    if answer is None:  # a connection dropped without an answer
                        return
                    status, extra, body = answer
                    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                    reason = _REASONS.get(status, "Status")
                    length_header = b"" if status == 304 else f"Content-Length: {len(body)}\r\n".encode()
                    writer.write(
                        f"HTTP/1.1 {status} {reason}\r\n".encode() + extra + length_header
                        + (b"" if keep else b"Connection: close\r\n") + b"\r\n" + body
                    )
                    await writer.drain()
                finally:
                    with self._lock:
                        self._in_flight -= 1
                        self._counts[status] += 1
                if not keep:
                    return
        except ConnectionError:
            return
        finally:
            writer.close()
