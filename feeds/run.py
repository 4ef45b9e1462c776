"""`feeds run`: the long-lived process that keeps every feed fresh.

APScheduler drives two jobs on one worker thread, so they never overlap:
`poll` wakes every second and fetches the sources whose due time (kept in
the store, so a restart catches up instead of starting over) has come;
`rebuild` republishes the feeds, and is queued by `poll` when entries
changed and by the article watcher when a file under the articles
directory is saved, added or removed (debounced). Signals end it cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from .aggregate import refresh
from .build import lock_for, publish, sync_articles
from .config import Config
from .errors import FeedsError, LockedError
from .fetch import FetchSettings
from .lock import ProjectLock
from .sources import load_sources
from .store import Store

log = logging.getLogger("feeds")

# Within this many seconds of a signal the process is gone, finished or not.
STOP_GRACE = 8.0


def configure_logging(level: str) -> None:
    """One line per event on stderr, with time and level."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        force=True,
    )
    for noisy in ("apscheduler", "httpx", "httpcore", "watchfiles", "uvicorn"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@dataclass
class _Status:
    started: float = field(default_factory=time.time)
    last_build: float | None = None
    last_build_error: str | None = None
    builds: int = 0
    polls: int = 0


class Daemon:
    """The scheduler, the article watcher and (optionally) the HTTP server."""

    def __init__(self, config: Config, settings: FetchSettings | None = None,
                 serve: tuple[str, int] | None = None) -> None:
        self.config = config
        self.settings = settings or FetchSettings()
        self.status = _Status()
        self._stop = threading.Event()
        self._serve = serve
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._run_lock = ProjectLock(config.store_path.with_name("run.lock"), wait=0)

    # --- jobs ---------------------------------------------------------------

    def _poll(self) -> None:
        if self._stop.is_set():
            return
        self.status.polls += 1
        try:
            sources = load_sources(self.config)
        except FeedsError as exc:
            log.error("sources: %s", exc)
            return
        if not sources:
            return
        with lock_for(self.config), Store(self.config.store_path) as store:
            outcomes = refresh(self.config, store, sources, only_due=True, settings=self.settings)
        changed = False
        for o in outcomes:
            if o.status in ("error", "gone"):
                log.warning("fetch %s: %s: %s", o.status, o.url, o.message)
            else:
                log.info("fetch %s: %s (%d new, %d changed)", o.status, o.url, o.new, o.changed)
            changed |= bool(o.new or o.changed)
        if changed and not self._stop.is_set():
            self.request_rebuild("new remote entries")

    def _rebuild(self, reason: str) -> None:
        if self._stop.is_set():
            return
        started = time.monotonic()
        try:
            with lock_for(self.config), Store(self.config.store_path) as store:
                articles, _ = sync_articles(self.config, store)
                for problem in articles.problems:
                    log.warning("%s", problem)
                report = publish(store, self.config).report
        except FeedsError as exc:
            self.status.last_build_error = str(exc)
            log.error("rebuild failed: %s", exc)
            return
        self.status.builds += 1
        self.status.last_build = time.time()
        self.status.last_build_error = None
        if report.written or report.removed:
            log.info("rebuilt (%s) in %.2f s: %d written, %d removed, %d unchanged", reason,
                     time.monotonic() - started, len(report.written), len(report.removed),
                     len(report.unchanged))
        else:
            log.debug("rebuild (%s): nothing changed", reason)

    def request_rebuild(self, reason: str) -> None:
        """Queue a rebuild on the worker; several requests in a row make one."""
        if self._stop.is_set():
            return
        self._scheduler.add_job(self._rebuild, args=[reason], id="rebuild",
                                replace_existing=True, next_run_time=datetime.now(UTC))

    def _watch(self) -> None:
        from watchfiles import watch

        folders = [p for p in (self.config.articles_dir, self.config.sources_dir) if p.is_dir()]
        if not folders:
            return
        for changes in watch(*folders, stop_event=self._stop, debounce=200, step=50,
                             rust_timeout=500, yield_on_timeout=False, raise_interrupt=False):
            names = sorted({os.path.basename(path) for _, path in changes})
            log.info("changed: %s", ", ".join(names[:5]) + (" …" if len(names) > 5 else ""))
            self.request_rebuild("articles changed")

    # --- health ---------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The scheduler's and the sources' state, for /healthz."""
        jobs = [
            {"id": job.id, "next_run": job.next_run_time.isoformat() if job.next_run_time else None}
            for job in self._scheduler.get_jobs()
        ]
        try:
            with Store(self.config.store_path) as store:
                sources = [
                    {"url": s.url, "status": s.status, "entries": s.entry_count,
                     "last_success": s.last_success, "last_error": s.last_error,
                     "error_count": s.error_count, "next_due": s.next_due}
                    for s in store.sources()
                ]
        except FeedsError as exc:
            return {"status": "error", "error": str(exc)}
        running = self._scheduler.running and not self._stop.is_set()
        return {
            "status": "ok" if running and not self.status.last_build_error else "degraded",
            "scheduler": {"running": running, "jobs": jobs, "polls": self.status.polls},
            "builds": self.status.builds,
            "last_build": self.status.last_build,
            "last_build_error": self.status.last_build_error,
            "uptime": round(time.time() - self.status.started, 1),
            "sources": sources,
        }

    # --- life cycle -----------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self._stop.set()

    def run(self) -> int:
        """Run until SIGTERM or SIGINT; returns the exit status."""
        try:
            self._run_lock.__enter__()
        except LockedError:
            raise LockedError(
                f"feeds run is already running for this project "
                f"({self._run_lock.path}); stop it first") from None
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        server = None
        try:
            if self._serve is not None:
                from .serve import Server

                server = Server(self.config, self.health, *self._serve)
                server.start()
                log.info("serving %s on http://%s:%d/", self.config.output_dir, *self._serve)
            self._scheduler.start()
            self._scheduler.add_job(self._poll, "interval", seconds=1, id="poll",
                                    next_run_time=datetime.now(UTC))
            self.request_rebuild("start")
            watcher = threading.Thread(target=self._watch, name="feeds-watch", daemon=True)
            watcher.start()
            log.info("running: %s", self.config.root)
            while not self._stop.wait(0.5):
                if server is not None and not server.running:
                    log.error("the HTTP server stopped unexpectedly")
                    self._stop.set()
        finally:
            self._stop.set()
            self._shutdown(server)
        return 0

    def _shutdown(self, server: Any) -> None:
        deadline = time.monotonic() + STOP_GRACE
        if server is not None:
            server.stop(timeout=2.0)
        stopper = threading.Thread(target=self._scheduler.shutdown, kwargs={"wait": True},
                                   daemon=True)
        if self._scheduler.running:
            stopper.start()
            stopper.join(max(0.1, deadline - time.monotonic()))
        self._run_lock.__exit__(None, None, None)
        if stopper.is_alive():
            # A fetch is still waiting on the network: abandon it. Nothing is
            # lost: store updates are transactions and output files are only
            # ever renamed into place.
            log.warning("abandoning in-flight fetches")
            logging.shutdown()
            os._exit(0)
        log.info("stopped")
