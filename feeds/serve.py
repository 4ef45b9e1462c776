"""Serving the output directory over HTTP: `feeds serve` and `feeds run --serve`.

Starlette's StaticFiles does the careful parts of static serving (ETag and
Last-Modified with 304 answers, HEAD, refusing paths outside the directory)
and uvicorn is the well-kept ASGI server under it; this module only adds the
right content types, gzip, the index page at `/` and a JSON health report.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from .config import Config

CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/json",
}

Health = Callable[[], dict[str, Any]]


class _OutputFiles(StaticFiles):
    """StaticFiles with feed content types; never follows links out of the directory."""

    def file_response(self, full_path: Any, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        suffix = os.path.splitext(str(full_path))[1].lower()
        if suffix in CONTENT_TYPES:
            response.headers["content-type"] = CONTENT_TYPES[suffix]
        response.headers.setdefault("cache-control", "public, max-age=60")
        return response


def create_app(config: Config, health: Health) -> Starlette:
    """The ASGI application serving `config.output_dir` and `/healthz`."""
    config.output_dir.mkdir(parents=True, exist_ok=True)

    async def healthz(request: Request) -> JSONResponse:
        report = health()
        return JSONResponse(report, status_code=200 if report.get("status") == "ok" else 503)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Mount("/", app=_OutputFiles(directory=config.output_dir, html=True,
                                        follow_symlink=False)),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=512)],
    )


class Server:
    """uvicorn in a thread of its own, so the main thread keeps the signals."""

    def __init__(self, config: Config, health: Health, host: str, port: int) -> None:
        self._server = uvicorn.Server(uvicorn.Config(
            create_app(config, health), host=host, port=port, log_level="warning",
            access_log=False, lifespan="off", server_header=False,
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
