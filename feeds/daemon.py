"""`feeds run`: the long-lived process that keeps every feed fresh.

APScheduler drives three jobs, each on a worker thread of its own, so that
publishing never waits behind fetching:

- `poll` fetches the sources whose due time (kept in the store, so a restart
  catches up instead of starting over) has come, then schedules itself a
  second later. Each source's outcome is committed, and logged, as it
  finishes.
- `publish` reads the articles into the store and writes the feeds. The
  article watcher queues it at once when a file is saved; a refresh queues it
  at most every PUBLISH_EVERY seconds while entries arrive, and once at its
  end, so the sources that finished are published while slow ones still run.
- `hubs` tells the WebSub hubs of the feeds a publish changed, after it,
  and sends again what a hub did not take when it is due (see
  `publish.websub.retry_delay`). It never holds the project lock and runs
  on a thread of its own, so a hub that hangs holds up no rebuild.
- `deliveries` (with `hub = "self"`) sends the subscribers of feeds' own
  hub the new content of the feeds a publish changed, and again what a
  subscriber did not take when it is due; like `hubs`, on its own thread
  and without the lock. Verifying a subscription request (the hub endpoint
  answers 202 at once) runs on the `subscribers` threads.

Both threads hold the project lock (shared between them: see `_SharedLock`)
and a store connection each. SQLite in WAL mode lets one connection write at
a time, and every write is a short transaction (one source, one article
sync, one record of outputs), so they interleave safely; publishing reads the
store in one snapshot. Only `publish` writes the output directory.

With a PostgreSQL store the work can be split between processes on any
hosts (`role`): fetch workers (`--role fetch`, as many as wanted) claim
due sources with leases in the store and take no project lock; one
publisher (`--role publish`) holds the publisher's seat in the store and
builds when a worker's commit brings entries (LISTEN/NOTIFY), and every
FALLBACK_CHECK seconds besides; a second publisher waits as a standby and
takes the seat when the first dies. A process with no role on a shared
store is both: it claims sources as a fetch worker does and publishes only
while it holds the seat, so it can run beside either. Every process on a
shared store writes a heartbeat there (see `feeds sources` and /healthz).

Editing feeds.toml reloads the configuration (what cannot change while
running is logged as needing a restart); editing the source list is read at
the next poll and reschedules the sources. Signals end it cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler

from .config import Config, FetchSettings, load_config
from .errors import ConfigError, FeedsError, LockedError, SubscriptionError
from .lock import ProjectLock
from .model import HubRequest, SourceConfig, WorkerState
from .pipeline import (
    Pipeline,
    beat,
    forget_worker,
    lock_for,
    publisher_seat,
    shared_store_needed,
)
from .remote.refresh import SourceOutcome
from .serve import health_report, iso, served_config
from .sources import load_sources

log = logging.getLogger("feeds")

# Within this many seconds of a signal the process is gone, finished or not.
STOP_GRACE = 8.0
# While a refresh stores new entries, publish at most this often.
PUBLISH_EVERY = 3.0
# Pause between the end of one poll and the next.
POLL_EVERY = 1.0
# Settings that cannot change while running, and why.
_FIXED = {
    "store_path": "the store in use stays open",
    "store_url": "the store in use stays open",
    "output_dir": "the output directory is served and watched as it was",
    "articles_dir": "the watcher watches the folders it started with",
    "sources_dir": "the watcher watches the folders it started with",
    "hub_self": "the hub endpoint is served as it started",
}
# Subscription requests being verified at once, at most; more are answered 503.
MAX_VERIFYING = 64
# A publisher builds at least this often, entries announced or not.
FALLBACK_CHECK = 30.0
# How often a standby publisher asks for the seat.
STANDBY_POLL = 0.5


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


class _SharedLock:
    """The project lock, held while either of the daemon's jobs works.

    An flock belongs to one open file, so two threads each taking
    `lock_for` would exclude each other and publishing would wait behind a
    whole refresh. The daemon's two threads share one: the first to need it
    takes it, the last to finish lets it go, and `feeds build` or `feeds
    fetch` from another process still wait for both.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._mutex = threading.Lock()
        self._count = 0
        self._held: ProjectLock | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._mutex:
            if self._count == 0:
                lock = lock_for(self._config)
                lock.__enter__()
                self._held = lock
            self._count += 1
        try:
            yield
        finally:
            with self._mutex:
                self._count -= 1
                if self._count == 0 and self._held is not None:
                    self._held.__exit__(None, None, None)
                    self._held = None


class Daemon:
    """The scheduler, the article watcher and (optionally) the HTTP server."""

    def __init__(self, config: Config, settings: FetchSettings | None = None,
                 serve: tuple[str, int] | None = None, health_details: bool = False,
                 role: str | None = None) -> None:
        if role is not None:
            shared_store_needed(config, f"feeds run --role {role}")
        self.role = role
        self._serve = serve
        self._base_note: str | None = None
        if serve is not None:
            config, self._base_note = served_config(config, *serve)
        self.config = config
        self.settings = settings or FetchSettings()
        self.status = _Status()
        self._health_details = health_details
        self._stop = threading.Event()
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"fetch": ThreadPoolExecutor(max_workers=1),
                       "publish": ThreadPoolExecutor(max_workers=1),
                       "hubs": ThreadPoolExecutor(max_workers=1),
                       "deliveries": ThreadPoolExecutor(max_workers=1),
                       "subscribers": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._run_lock = ProjectLock(config.store_path.with_name("run.lock"), wait=0)
        self._lock = _SharedLock(config)
        self._publish_mutex = threading.Lock()
        self._publish_queued = False
        self._publish_reasons: set[str] = set()
        self._last_publish = 0.0  # time.monotonic() when the last publish began
        # Job id ("hubs", "deliveries") → when its queued round runs.
        self._rounds_at: dict[str, datetime] = {}
        self._verifying = 0  # subscription requests accepted and not verified yet
        self._batch_changed = False
        self._reschedule = False
        self._said: dict[str, str] = {}  # what was last logged about each recurring problem
        self._problems_said: dict[str, set[str]] = {}
        self._beating: threading.Thread | None = None
        # On a shared store, a process with no role is a fetch worker and a publisher in one:
        # it claims the sources it fetches and publishes only from the seat, so it can run
        # beside fetch workers and publishers alike.
        shared = role is None and config.store_url is not None
        self._claims = role == "fetch" or shared
        self._takes_seat = role == "publish" or shared
        self._seated = not self._takes_seat  # a publisher publishes only while it holds the seat
        self.worker = WorkerState(f"{socket.gethostname()}/{os.getpid()}/{time.time():.0f}",
                                  socket.gethostname(), os.getpid(), role or "fetch+publish",
                                  time.time(), time.time(), float(config.heartbeat_seconds))

    # --- fetching -------------------------------------------------------------

    def _poll(self) -> None:
        try:
            if not self._stop.is_set():
                self._fetch_due()
        finally:
            if not self._stop.is_set():
                # A one-off job that schedules the next: an interval job that
                # fires while a long refresh runs is skipped with a warning.
                self._scheduler.add_job(
                    self._poll, id="poll", executor="fetch", replace_existing=True,
                    next_run_time=datetime.now(UTC) + timedelta(seconds=POLL_EVERY))

    def _fetch_due(self) -> None:
        self.status.polls += 1
        config = self.config
        try:
            sources = load_sources(config)
        except FeedsError as exc:
            self._say_once("sources", logging.ERROR, f"sources: {exc}")
            return
        self._say_once("sources", logging.DEBUG, "sources: read")
        if not sources:
            return
        self._batch_changed = False
        started = time.monotonic()
        reschedule, self._reschedule = self._reschedule, False
        try:
            if self._claims:
                outcomes = self._fetch_claimed(sources, reschedule)
            else:
                outcomes = Pipeline(config, self._lock.held).refresh(
                    sources, only_due=True, settings=self.settings, on_outcome=self._on_outcome,
                    reschedule=reschedule)
        except FeedsError as exc:
            self._reschedule |= reschedule  # not done: the next poll tries again
            log.error("fetch: %s", exc)
            return
        if outcomes:
            counts: dict[str, int] = {}
            for outcome in outcomes:
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
            level = logging.INFO if set(counts) - {"not-modified"} else logging.DEBUG
            log.log(level, "fetched %d source%s in %.1f s: %s", len(outcomes),
                    "" if len(outcomes) == 1 else "s", time.monotonic() - started,
                    ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
        if self._batch_changed and not self._stop.is_set():
            self.request_rebuild("new remote entries")

    def _fetch_claimed(self, sources: list[SourceConfig], reschedule: bool
                       ) -> list[SourceOutcome]:
        """As a fetch worker: claim due sources in the shared store, batch after batch."""
        from .remote.refresh import Claim, list_fingerprint

        pipeline = Pipeline(self.config, nullcontext)
        if reschedule:
            pipeline.reschedule(sources)
        claim = Claim(self.worker.id, float(self.config.lease_seconds),
                      max(1, self.settings.concurrency), list_fingerprint(sources))
        outcomes: list[SourceOutcome] = []
        while not self._stop.is_set():
            batch = pipeline.refresh_claimed(sources, claim, settings=self.settings,
                                             on_outcome=self._on_outcome)
            if not batch:
                break
            outcomes += batch
        return outcomes

    def _on_outcome(self, o: SourceOutcome) -> None:
        """Log one source as soon as it is stored, and publish what it brought."""
        if o.status in ("error", "gone"):
            log.warning("fetch %s: %s: %s", o.status, o.url, o.message)
        elif o.status == "not-modified":
            log.debug("fetch not-modified: %s", o.url)
        elif o.status == "deferred":
            log.info("fetch deferred: %s: %s", o.url, o.message)
        else:
            log.info("fetch ok: %s (%d new, %d changed)", o.url, o.new, o.changed)
        if o.new or o.changed:
            self._batch_changed = True
            self.request_rebuild("new remote entries", throttle=PUBLISH_EVERY)

    # --- publishing -----------------------------------------------------------

    def _rebuild(self) -> None:
        with self._publish_mutex:
            self._publish_queued = False
            reasons = ", ".join(sorted(self._publish_reasons)) or "requested"
            self._publish_reasons.clear()
            self._last_publish = time.monotonic()
        if self._stop.is_set() or not self._seated:
            return  # a publisher that lost its seat meanwhile publishes nothing
        started = time.monotonic()
        config = self.config
        try:
            synced = Pipeline(config, self._lock.held).sync_and_publish(
                lambda articles: self._log_problems([str(p) for p in articles.problems]))
        except FeedsError as exc:
            self.status.last_build_error = str(exc)
            log.error("rebuild failed: %s", exc)
            return
        report = synced.published.report
        self._log_problems([str(p) for p in synced.published.problems], topic="publish")
        self.status.builds += 1
        self.status.last_build = time.time()
        self.status.last_build_error = None
        if report.written and self.config.hubs:
            self.request_pings()
        if report.written and self.config.hub_self:
            self.request_deliveries()
        if report.written or report.removed:
            log.info("rebuilt (%s) in %.2f s: %d written, %d removed, %d unchanged", reasons,
                     time.monotonic() - started, len(report.written), len(report.removed),
                     len(report.unchanged))
        else:
            log.debug("rebuild (%s): nothing changed", reasons)

    def _log_problems(self, problems: list[str], topic: str = "articles") -> None:
        # A broken article (or page template) is read again on every rebuild;
        # say so when it breaks (or breaks differently), not every time
        # anything is saved.
        said = self._problems_said.get(topic, set())
        for problem in problems:
            if problem not in said:
                log.warning("%s", problem)
        self._problems_said[topic] = set(problems)

    def request_rebuild(self, reason: str, throttle: float = 0.0) -> None:
        """Queue a publish; requests made before it starts are served by it.

        With `throttle`, it runs no sooner than `throttle` seconds after the
        last one began (used while a refresh stores entries); without, at once.
        """
        if self._stop.is_set() or not self._seated or self.role == "fetch":
            return
        with self._publish_mutex:
            self._publish_reasons.add(reason)
            now = datetime.now(UTC)
            if self._publish_queued:
                if not throttle:
                    # A JobLookupError: it was already handed to its thread.
                    with suppress(JobLookupError):
                        self._scheduler.modify_job("publish", next_run_time=now)
                return
            wait = max(0.0, self._last_publish + throttle - time.monotonic()) if throttle else 0.0
            self._publish_queued = True
            # Two instances at most: the one running and the one queued here
            # (`_publish_queued` allows no more), so none is ever skipped.
            self._scheduler.add_job(self._rebuild, id="publish", executor="publish",
                                    replace_existing=True, max_instances=2,
                                    next_run_time=now + timedelta(seconds=wait))

    # --- the publisher's seat ------------------------------------------------------

    def _hold_seat(self) -> None:
        """As a publisher: take the seat (waiting as a standby), then build as entries come.

        A worker's commit that brings entries wakes it (NOTIFY); without
        one, it builds every FALLBACK_CHECK seconds all the same. Losing
        the connection loses the seat: publishing stops until it is taken again.
        """
        seat = None
        last_check = time.monotonic()
        while not self._stop.is_set():
            try:
                if seat is None:
                    seat = publisher_seat(self.config)
                if not self._seated:
                    if not seat.try_take():
                        self._say_once("seat", logging.INFO, "publisher: standby; another "
                                       "publisher holds the seat")
                        self._stop.wait(STANDBY_POLL)
                        continue
                    self._seated = True
                    self._say_once("seat", logging.INFO, "publisher: took the seat; publishing")
                    self.request_rebuild("took the publisher's seat")
                    self.request_pings()
                    self.request_deliveries()
                    last_check = time.monotonic()
                if seat.wait_for_entries(1.0):
                    self.request_rebuild("new remote entries", throttle=PUBLISH_EVERY)
                elif time.monotonic() - last_check >= FALLBACK_CHECK:
                    last_check = time.monotonic()
                    self.request_rebuild("periodic check")
            except FeedsError as exc:
                if self._seated:
                    log.error("publisher: %s; publishing stops until the seat is taken again", exc)
                    self._said["seat"] = "lost"  # taking it again is said again
                else:
                    self._say_once("seat", logging.ERROR, f"publisher: {exc}")
                self._seated = False
                if seat is not None:
                    seat.close()
                seat = None
                self._stop.wait(1.0)
        if seat is not None:
            seat.close()

    # --- heartbeats ---------------------------------------------------------------

    def _heartbeat(self) -> None:
        """On a shared store: say this process is alive, and renew its leases, every heartbeat."""
        while True:
            self.worker = replace(self.worker, heartbeat=time.time(),
                                  every=float(self.config.heartbeat_seconds))
            try:
                beat(self.config, self.worker)
                self._say_once("heartbeat", logging.DEBUG, "heartbeat: ok")
            except FeedsError as exc:
                self._say_once("heartbeat", logging.WARNING, f"heartbeat: {exc}")
            if self._stop.wait(self.config.heartbeat_seconds):
                break

    # --- telling the hubs ------------------------------------------------------

    def request_pings(self, at: datetime | None = None) -> None:
        """Queue a round of pings at `at` (default: now), unless one is queued no later."""
        if not self._stop.is_set() and self.role != "fetch":
            self._queue_round("hubs", self._ping_round, at)

    def _queue_round(self, job: str, run: Callable[[], None], at: datetime | None) -> None:
        """Queue the round `job` (run on its own executor) at `at`, unless one is queued no later."""
        when = at or datetime.now(UTC)
        with self._publish_mutex:
            queued = self._rounds_at.get(job)
            if queued is not None and queued <= when:
                return
            self._rounds_at[job] = when
            # A round running, one handed to the thread and this one, at most.
            self._scheduler.add_job(run, id=job, executor=job, replace_existing=True,
                                    max_instances=3, next_run_time=when)

    def _round_starts(self, job: str) -> bool:
        """Mark `job`'s queued round as started; whether it should run at all."""
        with self._publish_mutex:
            self._rounds_at.pop(job, None)
        return not self._stop.is_set()

    def _ping_round(self) -> None:
        if not self._round_starts("hubs"):
            return
        try:
            notified = Pipeline(self.config).notify_hubs(self.settings)
        except FeedsError as exc:
            log.error("websub: %s", exc)
            self.request_pings(datetime.now(UTC) + timedelta(seconds=self.config.hub_retry_seconds))
            return
        delivered: dict[str, int] = {}
        for ping in notified.delivered:
            delivered[ping.hub] = delivered.get(ping.hub, 0) + 1
        for hub, count in delivered.items():
            self._say_once(f"hub {hub}", logging.INFO, f"websub: {hub} took its pings")
            log.debug("websub: %s notified of %d feed%s", hub, count, "" if count == 1 else "s")
        failed: dict[str, list[str]] = {}
        for pending in notified.failed:
            failed.setdefault(pending.hub, []).append(pending.last_error or "failed")
        for hub, errors in failed.items():
            log.warning("websub: %s: %s; %d ping%s kept to retry", hub, errors[0], len(errors),
                        "" if len(errors) == 1 else "s")
            self._said[f"hub {hub}"] = "failing"
        if notified.next_try is not None:
            self.request_pings(datetime.fromtimestamp(notified.next_try, UTC))

    # --- feeds' own hub ----------------------------------------------------------

    def hub_request(self, form: dict[str, str]) -> tuple[int, str]:
        """Answer a subscription request to the hub endpoint: (HTTP status, text).

        202 when it is taken, its verification queued (W3C WebSub §5.1: the
        hub answers at once and verifies the intent afterwards); 4xx with
        the reason when it is refused; 503 when too many wait to be verified.
        """
        try:
            request = Pipeline(self.config).hub_request(form)
        except SubscriptionError as exc:
            return 400, f"{exc}\n"
        except FeedsError as exc:
            log.error("hub: %s", exc)
            return 500, "the hub cannot take requests now\n"
        with self._publish_mutex:
            if self._verifying >= MAX_VERIFYING or self._stop.is_set():
                return 503, "too many requests being verified; try again later\n"
            self._verifying += 1
        try:
            self._scheduler.add_job(self._verify, args=(request,), executor="subscribers")
        except SchedulerNotRunningError:  # stopping: the request was not taken
            with self._publish_mutex:
                self._verifying -= 1
            return 503, "the hub is stopping; try again later\n"
        return 202, "accepted: the subscription is verified with the callback\n"

    def _verify(self, request: HubRequest) -> None:
        try:
            refused = Pipeline(self.config).confirm(request, self.settings)
        except FeedsError as exc:
            refused = str(exc)
        finally:
            with self._publish_mutex:
                self._verifying -= 1
        if refused is None:
            log.info("hub: %s %s for %s", request.mode, request.topic, request.callback)
        else:
            log.info("hub: %s of %s for %s not verified: %s", request.mode, request.topic,
                     request.callback, refused)

    def request_deliveries(self, at: datetime | None = None) -> None:
        """Queue a round of deliveries at `at` (default: now), unless one is queued no later."""
        if not self._stop.is_set() and self.config.hub_self and self.role != "fetch":
            self._queue_round("deliveries", self._delivery_round, at)

    def _delivery_round(self) -> None:
        if not self._round_starts("deliveries"):
            return
        try:
            done = Pipeline(self.config).distribute(self.settings)
        except FeedsError as exc:
            log.error("hub: %s", exc)
            self.request_deliveries(
                datetime.now(UTC) + timedelta(seconds=self.config.hub_retry_seconds))
            return
        for item in done.delivered:
            log.debug("hub: delivered %s to %s", item.topic, item.callback)
        for item in done.failed:
            log.warning("hub: delivery of %s to %s failed (%d): %s", item.topic, item.callback,
                        item.attempts, item.last_error)
        if done.next_try is not None:
            self.request_deliveries(datetime.fromtimestamp(done.next_try, UTC))

    # --- watching -------------------------------------------------------------

    def _config_file(self) -> Path:
        return self.config.path or self.config.root / "feeds.toml"

    def _watch(self) -> None:
        from watchfiles import DefaultFilter, watch

        config = self.config
        config_file = self._config_file()
        folders = [p for p in (config.articles_dir, config.sources_dir) if p.is_dir()]
        default = DefaultFilter()

        # The project's page templates too: the root is watched (for the
        # configuration), so a templates/ folder made later is seen as well.
        templates = config.templates_dir

        def wanted(change: Any, path: str) -> bool:
            p = Path(path)
            return default(change, path) and (
                p == config_file or p.is_relative_to(templates)
                or any(p.is_relative_to(f) for f in folders))

        # The configuration file's folder is watched, not the file: editors
        # save by renaming a new file over the old, which ends a file watch.
        paths = [*folders, *dict.fromkeys((config_file.parent, config.root))]
        for changes in watch(*paths, watch_filter=wanted, stop_event=self._stop, debounce=200,
                             step=50, rust_timeout=500, yield_on_timeout=False,
                             raise_interrupt=False, recursive=True):
            changed = {Path(path) for _, path in changes}
            names = sorted({p.name for p in changed})
            log.info("changed: %s", ", ".join(names[:5]) + (" …" if len(names) > 5 else ""))
            if config_file in changed:
                self._reload_config()
            if any(not p.is_relative_to(config.articles_dir) and p.is_relative_to(
                    config.sources_dir) for p in changed):
                # The next poll reads the list again; sources whose interval
                # got shorter are brought forward.
                self._reschedule = True
                log.info("sources changed: the source list is read again at the next poll")
            self.request_rebuild("files changed")

    def _reload_config(self) -> None:
        old = self.config
        try:
            new = load_config(old.root, old.path)
        except ConfigError as exc:
            log.error("configuration error: %s; keeping the configuration in use", exc)
            return
        if self._serve is not None:
            new, _ = served_config(new, *self._serve)
        for name, why in _FIXED.items():
            if getattr(new, name) != getattr(old, name):
                log.warning("configuration: '%s' changed; restart feeds run for it to take "
                            "effect (%s)", name.removesuffix("_dir").removesuffix("_path"), why)
                new = replace(new, **{name: getattr(old, name)})
        if new == old:
            return
        self.config = new
        self._reschedule = True
        log.info("configuration reloaded from %s", self._config_file())

    def _say_once(self, topic: str, level: int, message: str) -> None:
        """Log `message` unless it is what was last said about `topic`."""
        if self._said.get(topic) != message:
            self._said[topic] = message
            log.log(level, "%s", message)

    # --- health ---------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The scheduler's and the sources' state, for /healthz (see serve.health_status)."""
        running = self._scheduler.running and not self._stop.is_set()
        jobs = [{"id": job.id, "next_run": job.next_run_time.isoformat(timespec="seconds")
                 if job.next_run_time else None} for job in self._scheduler.get_jobs()]
        return health_report(self.config, details=self._health_details, running=running,
                             role=self.role,
                             build_error=self.status.last_build_error is not None, daemon={
                                 "started": iso(self.status.started),
                                 "scheduler": {"running": running, "jobs": jobs,
                                               "polls": self.status.polls},
                                 "builds": self.status.builds,
                                 "last_build": iso(self.status.last_build),
                                 "last_build_error": self.status.last_build_error,
                             })

    # --- life cycle -----------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self._stop.set()

    def run(self) -> int:
        """Run until SIGTERM or SIGINT; returns the exit status."""
        # Fetch workers and publishers share the project through the store,
        # any number of them on one host too.
        if self.role is None:
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
            if self._base_note is not None:
                log.warning("%s", self._base_note)
            if self._serve is not None:
                from .serve import Server

                server = Server(self.config, self.health, *self._serve,
                                hub=self.hub_request if self.config.hub_self else None)
                server.start()
                log.info("serving %s on http://%s:%d/", self.config.output_dir, *self._serve)
            self._scheduler.start()
            self._start_roles()
            watcher = threading.Thread(target=self._watch, name="feeds-watch", daemon=True)
            watcher.start()
            log.info("running%s: %s", f" as {self.role}" if self.role else "", self.config.root)
            while not self._stop.wait(0.5):
                if server is not None and not server.running:
                    log.error("the HTTP server stopped unexpectedly")
                    self._stop.set()
        finally:
            self._stop.set()
            self._shutdown(server)
        return 0

    def _start_roles(self) -> None:
        """Start the jobs and threads of this process's role (both roles without one)."""
        if self.config.store_url is not None:
            self._beating = threading.Thread(target=self._heartbeat, name="feeds-heartbeat",
                                             daemon=True)
            self._beating.start()
        if self._takes_seat:
            threading.Thread(target=self._hold_seat, name="feeds-seat", daemon=True).start()
        else:
            # Local articles are published at once, while the first refresh runs.
            self.request_rebuild("start")
        if self.role != "publish":
            self._scheduler.add_job(self._poll, id="poll", executor="fetch",
                                    next_run_time=datetime.now(UTC))
        # Pings a build (or the last run) could not deliver are sent when due.
        self.request_pings()
        self.request_deliveries()

    def _shutdown(self, server: Any) -> None:
        deadline = time.monotonic() + STOP_GRACE
        if server is not None:
            server.stop(timeout=2.0)
        stopper = threading.Thread(target=self._scheduler.shutdown, kwargs={"wait": True},
                                   daemon=True)
        if self._scheduler.running:
            stopper.start()
            stopper.join(max(0.1, deadline - time.monotonic()))
        if self._beating is not None:
            self._beating.join(max(0.1, deadline - time.monotonic()))
            # Out of the workers, its leases and site turns ended: the jobs have
            # stopped, or are abandoned below with the process.
            with suppress(FeedsError):
                forget_worker(self.config, self.worker.id)
        if self.role is None:
            self._run_lock.__exit__(None, None, None)
        if stopper.is_alive():
            # A fetch is still waiting on the network: abandon it. Nothing is
            # lost: store updates are transactions and output files are only
            # ever renamed into place.
            log.warning("abandoning in-flight fetches")
            log.info("stopped")
            logging.shutdown()
            os._exit(0)
        log.info("stopped")

