"""Small proxies on loopback for tests: an HTTP forward proxy and a SOCKS5 one.

Each records what it relays, so a test can tell which requests went through
it and which did not. Both are just enough of their protocol for the
fetcher: the forward proxy answers absolute-URI GETs (as a client sends
plain-http requests to a proxy; no CONNECT), the SOCKS5 proxy takes CONNECT
without authentication. Each is started and stopped by its test.
"""

from __future__ import annotations

import http.client
import select
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

# Headers meant for the proxy or for one connection, not passed on.
_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te",
        "transfer-encoding", "upgrade", "content-length"}


class ForwardProxy:
    """An HTTP proxy on 127.0.0.1 relaying absolute-URI GETs; `relayed` lists what it saw.

    With `password`, a request without the matching Proxy-Authorization
    (basic, user "proxyuser") gets a 407.
    """

    def __init__(self, password: str | None = None) -> None:
        self.relayed: list[tuple[str, tuple[tuple[str, str], ...]]] = []  # (URL, headers)
        self.password = password
        self._lock = threading.Lock()
        self._httpd = _ProxyHTTPServer(("127.0.0.1", 0), _ForwardHandler)
        self._httpd.app = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        name="forward-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def urls(self) -> list[str]:
        with self._lock:
            return [url for url, _ in self.relayed]

    def record(self, url: str, headers: tuple[tuple[str, str], ...]) -> None:
        with self._lock:
            self.relayed.append((url, headers))

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _ProxyHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    app: ForwardProxy


class _ForwardHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5
    server: _ProxyHTTPServer

    def do_GET(self) -> None:
        app = self.server.app
        app.record(self.path, tuple(self.headers.items()))
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self._reply(400, b"a proxy takes absolute http URLs", ())
            return
        if app.password is not None:
            import base64

            expected = "Basic " + base64.b64encode(f"proxyuser:{app.password}".encode()).decode()
            if self.headers.get("Proxy-Authorization") != expected:
                self._reply(407, b"proxy authentication required",
                            (("Proxy-Authenticate", 'Basic realm="test"'),))
                return
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=5)
        try:
            path = target.path or "/"
            upstream.request("GET", path + (f"?{target.query}" if target.query else ""),
                             headers={k: v for k, v in self.headers.items()
                                      if k.lower() not in _HOP})
            answer = upstream.getresponse()
            body = answer.read()
            headers = tuple((k, v) for k, v in answer.getheaders() if k.lower() not in _HOP)
            self._reply(answer.status, body, headers, answer.reason)
        finally:
            upstream.close()

    def _reply(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...],
               reason: str | None = None) -> None:
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Socks5Proxy:
    """A SOCKS5 proxy on 127.0.0.1 (no authentication, CONNECT only); `targets` lists (host, port)."""

    def __init__(self) -> None:
        self.targets: list[tuple[str, int]] = []
        self._server = _Socks5Server(("127.0.0.1", 0), _Socks5Handler)
        self._server.app = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name="socks5-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Socks5Proxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Socks5Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: Socks5Proxy


class _Socks5Handler(socketserver.BaseRequestHandler):
    server: _Socks5Server

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(5)
        version, count = _read(client, 2)
        if version != 5:
            return
        _read(client, count)  # the methods offered; "no authentication" is chosen
        client.sendall(b"\x05\x00")
        _, command, _, kind = _read(client, 4)
        if kind == 1:
            host = socket.inet_ntoa(_read(client, 4))
        elif kind == 3:
            host = _read(client, _read(client, 1)[0]).decode()
        else:
            client.sendall(b"\x05\x08\x00\x01" + bytes(6))  # address type not supported
            return
        (port,) = struct.unpack("!H", _read(client, 2))
        self.server.app.targets.append((host, port))
        if command != 1:
            client.sendall(b"\x05\x07\x00\x01" + bytes(6))  # command not supported
            return
        with socket.create_connection((host, port), timeout=5) as upstream:
            client.sendall(b"\x05\x00\x00\x01" + bytes(6))
            _pipe(client, upstream)


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    while True:
        ready, _, _ = select.select([a, b], [], [], 5)
        if not ready:
            return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)
