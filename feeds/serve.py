"""Serving the output directory over HTTP: `feeds serve` and `feeds run --serve`.

Starlette's StaticFiles does the careful parts of static serving (ETag and
Last-Modified with 304 answers, HEAD, refusing paths outside the directory)
and uvicorn is the well-kept ASGI server under it; this module only adds the
right content types, gzip, the index page at `/` and a JSON health report.

uvicorn holds a new connection open until its client sends a whole request,
however long that takes, and has no cap on open connections: a few hundred
slow clients would use up the process's file descriptors, and then every
client is refused. `_GuardedH11` adds both: a deadline for a request's
headers and a cap on open connections (derived from RLIMIT_NOFILE) beyond
which the longest-idle connection is dropped for the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import resource
import threading
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from .config import Config
from .errors import FeedsError
from .model import HubState, SourceState, WorkerState
from .pipeline import hub_states, stored_sources, workers

log = logging.getLogger("feeds")

CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    # The only JSON written is JSON Feed.
    ".json": "application/feed+json",
}

Health = Callable[[], dict[str, Any]]
# The own WebSub hub's answer to a subscription form: (HTTP status, text).
HubEndpoint = Callable[[dict[str, str]], tuple[int, str]]
# A subscription request's form is a few short fields; larger bodies are refused.
MAX_HUB_FORM_BYTES = 8 * 1024


class _HeldFileResponse(FileResponse):
    """A file answered from a descriptor opened before its headers were made.

    A build replaces output files while readers fetch them. StaticFiles takes
    the length, ETag and Last-Modified from a `stat` of the path and opens the
    path again to send it: a file replaced in between is sent with the other
    version's length, and the reader gets a truncated feed or a dropped
    connection. Opening first and describing the open file (`fstat`) sends
    one version, whole, whatever is replaced meanwhile.
    """

    def __init__(self, file: BinaryIO, status_code: int) -> None:
        self._file = file
        super().__init__(file.name, status_code=status_code,
                         stat_result=os.fstat(file.fileno()))

    @contextlib.asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        yield anyio.wrap_file(self._file)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Never `pathsend`, which names the path again.
        scope = {**scope, "extensions": {k: v for k, v in scope.get("extensions", {}).items()
                                         if k != "http.response.pathsend"}}
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._file.close()


class _OutputFiles(StaticFiles):
    """StaticFiles with feed content types; never follows links out of the directory."""

    def file_response(self, full_path: Any, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        try:
            file = open(full_path, "rb")  # noqa: SIM115 (closed when the answer is sent)
        except (FileNotFoundError, IsADirectoryError):
            raise HTTPException(status_code=404) from None  # removed by a build meanwhile
        held = _HeldFileResponse(file, status_code)
        response: Response = held
        if self.is_not_modified(held.headers, Headers(scope=scope)):
            file.close()
            response = NotModifiedResponse(held.headers)
        suffix = os.path.splitext(str(full_path))[1].lower()
        if suffix in CONTENT_TYPES:
            response.headers["content-type"] = CONTENT_TYPES[suffix]
        response.headers.setdefault("cache-control", "public, max-age=60")
        return response


def create_app(config: Config, health: Health, hub: HubEndpoint | None = None) -> Starlette:
    """The ASGI application serving `config.output_dir`, `/healthz` and, given `hub`, `/hub`."""
    config.output_dir.mkdir(parents=True, exist_ok=True)
    hub_routes = [] if hub is None else [Route("/hub", _hub_endpoint(hub), methods=["POST"])]

    async def healthz(request: Request) -> JSONResponse:
        report = health()
        # Load balancers take 503 for "down": only a dead scheduler or an
        # unreadable store is down; failing sources make it "degraded", 200.
        return JSONResponse(report, status_code=503 if report.get("status") == "down" else 200)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            *hub_routes,
            Mount("/", app=_OutputFiles(directory=config.output_dir, html=True,
                                        follow_symlink=False)),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=512)],
    )


def _hub_endpoint(hub: HubEndpoint) -> Callable[[Request], Any]:
    """The hub endpoint: a subscription form in, `hub`'s answer out (W3C WebSub §5.1)."""

    async def endpoint(request: Request) -> PlainTextResponse:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            return PlainTextResponse("a subscription request is an "
                                     "application/x-www-form-urlencoded form\n", 415)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_HUB_FORM_BYTES:
                return PlainTextResponse("the form is too large\n", 413)
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                              max_num_fields=32, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            return PlainTextResponse("the form cannot be read\n", 400)
        form: dict[str, str] = {}
        for key, value in pairs:
            form.setdefault(key, value)  # the first of a repeated field counts
        # Resolving the callback's host blocks: off the event loop.
        status, text = await run_in_threadpool(hub, form)
        return PlainTextResponse(text, status)

    return endpoint


# --- health -----------------------------------------------------------------

# More than this share of the sources failing (and at least one) is "degraded".
FAILING_SHARE = 0.25
# Source states that count as failing; "throttled" is only told to wait.
_FAILING = ("error", "gone")


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC time (RFC 3339), or None."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(
        timespec="seconds")


def sources_health(states: Sequence[SourceState], *, details: bool) -> dict[str, Any]:
    """The sources' part of /healthz (pure).

    Source URLs can carry credentials (tokens in query strings, user:password)
    and error messages quote them, so by default a source is named only by
    its position in the list and its failure by its class; `details` adds
    the URL, title and message, for a health endpoint that is not exposed.
    """
    failing = [s for s in states if s.status in _FAILING]
    by_kind: dict[str, int] = {}
    for state in failing:
        kind = state.last_error_kind or "unknown"
        by_kind[kind] = by_kind.get(kind, 0) + 1
    listed = []
    for index, state in enumerate(states, 1):
        item: dict[str, Any] = {
            "index": index, "status": state.status, "entries": state.entry_count,
            "last_success": iso(state.last_success), "next_due": iso(state.next_due),
            "error_kind": state.last_error_kind if state.status != "ok" else None,
            "error_count": state.error_count,
        }
        if details:
            item |= {"url": state.url, "title": state.title, "last_error": state.last_error}
        listed.append(item)
    return {"total": len(states), "failing": len(failing),
            "failing_by_kind": dict(sorted(by_kind.items())), "list": listed}


def hubs_health(states: Sequence[HubState]) -> dict[str, Any]:
    """The WebSub hubs' part of /healthz (pure).

    Hub URLs are public (every feed names them) and the errors are the
    project's own words about them, so they are shown without --health-details.
    """
    listed = [{"url": h.url,
               "status": "failing" if h.failing else "pending" if h.pending else "ok",
               "pending": h.pending, "last_success": iso(h.last_success),
               "last_error": h.last_error if h.failing else None,
               "last_failure": iso(h.last_failure), "next_try": iso(h.next_try)}
              for h in states]
    return {"total": len(states), "failing": sum(1 for h in states if h.failing), "list": listed}


def health_status(*, running: bool, failing: int, total: int, build_error: bool,
                  hubs_failing: int = 0) -> str:
    """The documented rule (pure): down when nothing keeps the feeds fresh,
    degraded when the last build failed, more than FAILING_SHARE of the
    sources fail or a WebSub hub failed to take pings still pending, ok
    otherwise.

    A failing hub only delays what subscribers are told; the feeds are
    published and served all the same, so it never makes the service down.
    """
    if not running:
        return "down"
    if build_error or hubs_failing or (failing and failing > FAILING_SHARE * total):
        return "degraded"
    return "ok"


def health_report(config: Config, *, details: bool, daemon: dict[str, Any] | None = None,
                  running: bool = True, build_error: bool = False,
                  role: str | None = None) -> dict[str, Any]:
    """/healthz: the sources as stored, and the daemon's own state under `feeds run`.

    `feeds serve` has no scheduler (`daemon` is None): it reports the
    sources as the last fetch left them. An unreadable store is "down".
    On a PostgreSQL store, every process sharing it is listed under
    `workers` (see `workers_health`), and `role` is this process's.
    """
    now = time.time()
    checked = iso(now)
    try:
        states = stored_sources(config)
        hubs = hubs_health(hub_states(config))
        sharing = workers(config)
    except FeedsError as exc:
        return {"status": "down", "checked": checked, "error": type(exc).__name__}
    sources = sources_health(states, details=details)
    status = health_status(running=running, failing=sources["failing"], total=sources["total"],
                           build_error=build_error, hubs_failing=hubs["failing"])
    shared = {"role": role or "fetch+publish",
              "workers": workers_health(sharing, now)} if config.store_url is not None else {}
    return {"status": status, "checked": checked, **(daemon or {"scheduler": None}),
            "sources": sources, "hubs": hubs, **shared}


def workers_health(states: Sequence[WorkerState], now: float) -> list[dict[str, Any]]:
    """Each process sharing the store: host, pid, role, last heartbeat, sources it holds, alive or gone."""
    return [{"host": w.host, "pid": w.pid, "role": w.role,
             "status": "gone" if w.gone(now) else "alive",
             "last_heartbeat": iso(w.heartbeat), "started": iso(w.started),
             "in_flight": 0 if w.gone(now) else w.in_flight} for w in states]


# --- the address feeds are published under -------------------------------------

_WILDCARDS = ("", "0.0.0.0", "::")


def base_url_configured(config: Config) -> bool:
    """Whether the configuration file names a base_url (the default is only a guess)."""
    if config.path is None:
        return False
    try:
        with config.path.open("rb") as f:
            return "base_url" in tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return True  # load_config read it a moment ago; keep what it found


def served_config(config: Config, host: str, port: int) -> tuple[Config, str | None]:
    """The configuration to publish with when serving on host:port, and what to log.

    Without a configured base_url, feed links and ids would name the default
    http://127.0.0.1:8080/ whatever port is served: derive it from --host and
    --port instead. A wildcard host names no address a reader could use, so
    the links keep the loopback address and the message says to set base_url.
    """
    if base_url_configured(config):
        return config, None
    try:
        literal = ipaddress.ip_address(host)
        shown = f"[{host}]" if literal.version == 6 else host
    except ValueError:
        shown = host
    if host in _WILDCARDS:
        base = f"http://127.0.0.1:{port}/"
        return replace(config, base_url=base), (
            f"base_url is not set in feeds.toml and --host {host or '(all)'} names no address "
            f"readers can use: feed links point to {base}, which only this machine can reach; "
            f"set base_url to the address readers use")
    base = f"http://{shown}:{port}/"
    return replace(config, base_url=base), (
        f"base_url is not set in feeds.toml: publishing feed links under {base} "
        f"(from --host and --port)")


def built_base(output_dir: os.PathLike[str] | str) -> str | None:
    """The base_url the output directory was built with, read from its feeds.opml."""
    path = os.path.join(output_dir, "feeds.opml")
    try:
        tree = ElementTree.parse(path)  # our own file, written by render_opml
    except (OSError, ElementTree.ParseError):
        return None
    for outline in tree.iter("outline"):
        url = outline.get("xmlUrl")
        if url:
            return url
    return None


def check_built_base(config: Config) -> str | None:
    """A warning when the output's links do not start with the base it is served under."""
    url = built_base(config.output_dir)
    if url is None or url.startswith(config.base_url):
        return None
    return (f"{config.output_dir}/feeds.opml links to {url}, but the feeds are served under "
            f"{config.base_url}: readers would follow links that point elsewhere; run "
            f"'feeds build' (with base_url = \"{config.base_url}\" in feeds.toml if that is "
            f"the address readers use)")


# --- slow clients ------------------------------------------------------------------

# Seconds a client has to send a request's headers, on a new connection and
# between requests on a kept-alive one (uvicorn times out only the latter).
HEADER_TIMEOUT = 5.0
# Idle seconds a kept-alive connection stays open after a response.
KEEP_ALIVE = 5
# Headers larger than this are refused (h11's own default, made explicit).
MAX_HEADER_BYTES = 16 * 1024
# File descriptors left for everything but serving: the store, the watcher,
# the fetcher's connections, the parsing workers' pipes.
_RESERVED_FDS = 200


def connection_cap(nofile: int) -> int:
    """How many connections to keep open under an open-file limit of `nofile` (pure)."""
    return max(16, min(4096, (nofile - _RESERVED_FDS) // 2))


def accept_batch(nofile: int) -> int:
    """The listen backlog, which asyncio also uses as how many connections to accept
    in one go (pure).

    A batch is accepted, and the connections dropped for it are closed, a
    loop turn or two later: up to three batches can be open at once on top
    of the cap, so a batch is kept to a sixteenth of the limit.
    """
    return max(8, min(128, nofile // 16))


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and a cap on open connections."""

    cap = connection_cap(1024)
    header_timeout = HEADER_TIMEOUT
    # When the connection began waiting for a request's headers; None while
    # a request is being answered.
    _waiting_since: float | None = None
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # Connections already closing still hold their place in `connections`
        # until the loop has finished them; after a flood ends, all of them
        # may be closing at once, and a new client must not be refused for them.
        open_ = [c for c in self.connections
                 if isinstance(c, _GuardedH11) and not c.transport.is_closing()]
        if len(open_) >= self.cap:
            # Drop the connection idle longest (no request in progress) to
            # make room: a flood of slow clients cannot lock the others out.
            idle = [c for c in open_ if c._waiting_since is not None]
            if idle:
                min(idle, key=lambda c: c._waiting_since or 0.0).transport.close()
            else:
                transport.close()
                return
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._waiting_since = self.loop.time()
        self._deadline = self.loop.call_later(self.header_timeout, self._header_deadline)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _header_deadline(self) -> None:
        if self._waiting_since is not None and not self.transport.is_closing():
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._waiting_since = None  # a whole request arrived: the app has it
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def _protocol_for(cap: int) -> type[_GuardedH11]:
    return type("GuardedH11", (_GuardedH11,), {"cap": cap})


class Server:
    """uvicorn in a thread of its own, so the main thread keeps the signals."""

    def __init__(self, config: Config, health: Health, host: str, port: int,
                 hub: HubEndpoint | None = None) -> None:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if nofile == resource.RLIM_INFINITY:
            nofile = 65536
        cap = connection_cap(nofile)
        self._server = uvicorn.Server(uvicorn.Config(
            create_app(config, health, hub), host=host, port=port, log_level="warning",
            access_log=False, lifespan="off", server_header=False,
            http=_protocol_for(cap), timeout_keep_alive=KEEP_ALIVE,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            # Requests beyond this many at once are answered 503 by uvicorn.
            limit_concurrency=cap + 16,
            backlog=accept_batch(nofile),
        ))
        self._thread = threading.Thread(target=self._server.run, name="feeds-http", daemon=True)
    def start(self, timeout: float = 10.0) -> None:
        """Start serving; raises OSError-like RuntimeError if the port cannot be bound."""
        self._thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not self._server.started and self._thread.is_alive() and waited < timeout:
            deadline.wait(0.05)
            waited += 0.05
        if not self._server.started:
            raise RuntimeError("the HTTP server did not start (is the port in use?)")

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
