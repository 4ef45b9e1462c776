"""A real HTTP server on 127.0.0.1 for tests, with declarative routes.

Tests of the fetcher (and of the whole pipeline) talk to this server over
loopback instead of mocking httpx, so they exercise real sockets, real
timeouts and real HTTP framing. Routes map a path to a `Response` (or to a
function of the request returning one); every request is recorded for
assertions. Use the `feed_server` fixture (tests/conftest.py imports it) or
`with FeedServer() as server:`.
"""

from __future__ import annotations

import gzip as gzip_module
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import pytest

# Loopback only: tests must never listen on a reachable address.
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Response:
    """What a route answers.

    `delay` is seconds before the status line; `drip` is seconds between
    body bytes (one byte per write). `gzip` compresses the body and sets
    Content-Encoding. With `etag`, the response carries it and a request
    whose If-None-Match matches gets a bodiless 304. `chunked` sends the
    body with chunked framing instead of a Content-Length. `endless` sends
    the body again and again until the client hangs up or the server stops,
    with no Content-Length. Headers in `headers` are sent as given and
    replace the defaults of the same name. `reason` replaces the status
    line's standard reason phrase, as some servers word their own.
    """

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = "application/atom+xml; charset=utf-8"
    delay: float = 0.0
    drip: float = 0.0
    gzip: bool = False
    etag: str | None = None
    chunked: bool = False
    endless: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; `started`/`finished` are time.monotonic().

    `finished` is when the answer was decided (after any `delay`), just
    before it is sent.

    `client_port` tells connections apart: requests that share it came over
    one kept-alive connection. `body` is what a POST sent.
    """

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    started: float
    finished: float | None = None
    client_port: int = 0
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)


Handler = Callable[[RecordedRequest], Response]


class FeedServer:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port) serving registered routes."""

    def __init__(self, port: int = 0, host: str = HOST) -> None:
        """On a free port, or on `port` (a test bringing back a server that was down).

        `host` may be another loopback address (127.0.0.2) for a second site.
        """
        assert host.startswith("127."), "tests listen on loopback only"
        self.host = host
        self._routes: dict[str, Handler] = {}
        self._any_query: dict[str, Handler] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        # Set on stop: wakes handlers sleeping in a delay or a drip, so a
        # test that gave up on a slow response does not hold up teardown.
        self.stopping = threading.Event()
        self._httpd = _HTTPServer((host, port), _RequestHandler)
        self._httpd.app = self
        # A short poll interval makes shutdown (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name="feed-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/", host: str | None = None) -> str:
        """The absolute URL of `path`; `host="localhost"` gives a second domain."""
        return f"http://{host or self.host}:{self.port}{path}"

    def route(self, path: str, answer: Response | Handler, *, any_query: bool = False) -> str:
        """Serve `answer` at `path` (query string included, if any); returns its URL.

        With `any_query`, `path` (without a query) also answers requests
        that add any query string, as a WebSub callback must.
        """
        handler = answer if callable(answer) else _constant(answer)
        with self._lock:
            self._routes[path] = handler
            if any_query:
                self._any_query[path] = handler
        return self.url(path)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Called from handler threads.

    def _begin(self, method: str, path: str, headers: tuple[tuple[str, str], ...],
               client_port: int = 0, body: bytes = b"") -> int:
        with self._lock:
            self._requests.append(
                RecordedRequest(method, path, headers, time.monotonic(), client_port=client_port,
                                body=body))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return len(self._requests) - 1

    def _end(self, index: int) -> None:
        with self._lock:
            self._in_flight -= 1
            done = self._requests[index]
            self._requests[index] = replace(done, finished=time.monotonic())

    def _handler(self, path: str) -> Handler | None:
        with self._lock:
            return self._routes.get(path) or self._any_query.get(path.split("?", 1)[0])


def _constant(response: Response) -> Handler:
    return lambda _request: response


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of
    # concurrent connections, and the client's retry a second later then
    # looks like a connect time-out.
    request_queue_size = 128
    app: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (timeout, size cap) closes its socket while a
        # handler is still writing; that is the point of those tests.
        pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # idle keep-alive connections end on their own
    server: _HTTPServer

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        """Record the body (a WebSub ping's form) and answer as the route says."""
        length = int(self.headers.get("Content-Length") or 0)
        self._answer("POST", self.rfile.read(length) if length else b"")

    def _answer(self, method: str, body: bytes = b"") -> None:
        app = self.server.app
        headers = tuple(self.headers.items())
        index = app._begin(method, self.path, headers, self.client_address[1], body)
        try:
            handler = app._handler(self.path)
            if handler is None:
                response = Response(status=404, body=b"not found", content_type="text/plain")
            else:
                response = handler(app.requests[index])
            if response.delay and app.stopping.wait(response.delay):
                return
        finally:
            # A request stops being in flight once its answer is decided, before
            # the first byte goes out: the client may have the whole answer and
            # send its next request before this thread runs again, and counting
            # until the thread ends would see two requests of a one-at-a-time
            # client overlap whenever the machine is busy.
            app._end(index)
        self._send(response, app.stopping)

    def _send(self, response: Response, stopping: threading.Event) -> None:
        body = response.body.encode() if isinstance(response.body, str) else response.body
        status = response.status
        defaults: dict[str, str] = {}
        if response.content_type:
            defaults["Content-Type"] = response.content_type
        if response.etag is not None:
            defaults["ETag"] = response.etag
            if _etag_matches(self.headers.get("If-None-Match"), response.etag):
                status, body = 304, b""
        if response.gzip and status != 304:
            body = gzip_module.compress(body)
            defaults["Content-Encoding"] = "gzip"
        bodiless = status == 304 or status == 204 or 100 <= status < 200
        if response.chunked and not bodiless:
            defaults["Transfer-Encoding"] = "chunked"
        elif not bodiless and not response.endless:
            defaults["Content-Length"] = str(len(body))
        if response.endless:
            self.close_connection = True  # without a length, only closing ends the body
        given = {k.lower() for k in response.headers}
        self.send_response(status, response.reason)
        for name, value in defaults.items():
            if name.lower() not in given:
                self.send_header(name, value)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if bodiless:
            return
        self._write_body(body, response, stopping)

    def _write_body(self, body: bytes, response: Response, stopping: threading.Event) -> None:
        # Dripping sends one byte per write, as a server stuck in a slow loop would.
        pieces = [body[i : i + 1] for i in range(len(body))] if response.drip else [body]
        while True:
            for piece in pieces:
                if response.chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if piece else b"")
                else:
                    self.wfile.write(piece)
                self.wfile.flush()
                if response.drip and stopping.wait(response.drip):
                    return
            if not response.endless or not body or stopping.is_set():
                break
        if response.chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean; requests are recorded instead


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2 weak comparison, as servers use for If-None-Match."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True

    def opaque(tag: str) -> str:
        return tag.strip().removeprefix("W/")

    return any(opaque(tag) == opaque(etag) for tag in if_none_match.split(","))


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started FeedServer, stopped (shutdown, close, join) after the test."""
    with FeedServer() as server:
        yield server
