"""Refreshing remote sources: fetch → parse → normalise → store.

Fetching is asynchronous and polite (see http.py); parsing is CPU-bound, so
bodies go to a process pool as they arrive, using both cores while the
network is still busy. Each source's outcome, success or failure, is stored
in one transaction of its own, so one source never harms another.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import Any

from ..codec import stored_form
from ..config import Config, FetchSettings
from ..errors import ParseError, SourceError
from ..model import (
    Entry,
    ErrorKind,
    FetchRequest,
    FetchResult,
    Incoming,
    ParsedFeed,
    SourceConfig,
    SourceState,
)
from ..schedule import is_due
from ..store.protocol import EntryStore, SharedStore
from ..workers import worker_pool
from .decide import decide
from .domains import registrable_domain
from .http import fetch_all_sync
from .options import request_options
from .pages import FullText
from .politeness import SiteTurns

# Below this many bodies a process pool costs more than it saves.
_POOL_MIN = 8
# Fetched bodies allowed to wait for a parsing worker, per core, and their
# bytes in all. A request is sent only once there is room, and its body comes
# back a round trip later: the backlog must hold what the workers parse in
# that time, or they run dry and wait with it (with 8 a core, a refresh of
# 1,000 feeds 100 ms away left the cores idle a tenth of its time). The
# bytes bound what a few large bodies (each up to `max_bytes`) hold.
_BACKLOG_PER_WORKER = 32
_BACKLOG_BYTES = 32 * 2**20


@dataclass(frozen=True)
class SourceOutcome:
    """What happened to one source in a refresh, for the summary and tests."""

    key: str
    url: str
    status: str  # ok, not-modified, error, gone, deferred
    new: int = 0
    changed: int = 0
    message: str | None = None


@dataclass(frozen=True)
class _Prepared:
    """A fetched body parsed and normalised: the feed's metadata and its entries for the store."""

    feed: ParsedFeed  # without its items, which `incoming` holds normalised
    incoming: tuple[Incoming, ...]


def _prepare(
    result: FetchResult, source: SourceConfig, key: str, config: Config, now: float
) -> _Prepared | ParseError:
    """Parse and normalise one fetched body: all the CPU work a source costs.

    Runs in a worker process when there are many bodies, so both cores work
    and the main process only stores what comes back. Entries come back in
    the form the store keeps (see StoredForm). A parser crash on hostile
    bytes becomes a ParseError.
    """
    from .normalise import normalise_feed
    from .parse import parse_feed

    assert result.body is not None
    try:
        parsed = parse_feed(result.body, result.final_url, result.headers, rules=source.rewrite)
    except ParseError as exc:
        return exc
    except Exception as exc:  # a parser crash on hostile bytes must not stop the rest
        return ParseError(f"could not parse the feed: {type(exc).__name__}: {exc}")
    when = datetime.fromtimestamp(now, UTC)
    incoming = normalise_feed(parsed, source, key, result.final_url, config, when)
    if source.full_text:  # their articles are put in before they are stored (see pages.py)
        return _Prepared(replace(parsed, entries=()), tuple(incoming))
    # Made directly rather than by dataclasses.replace, which costs as much as the Incoming.
    encoded = tuple(Incoming(stored_form(item.entry), item.declared_updated, item.canonical_link,
                             item.encoded, item.digest)
                    if isinstance(item.entry, Entry) else item for item in incoming)
    return _Prepared(replace(parsed, entries=()), encoded)


def select_sources(
    states: Sequence[SourceState], configs: dict[str, SourceConfig], now: float, *,
    only_due: bool, only_url: str | None = None,
) -> list[SourceState]:
    """The sources to fetch now: enabled, not gone, and due (unless forced)."""
    chosen = []
    for state in states:
        cfg = configs.get(state.key)
        if cfg is None or not cfg.enabled or state.status == "gone":
            continue
        if only_url is not None and only_url not in (state.key, state.url, cfg.url):
            continue
        if only_due and not is_due(state.next_due, now):
            continue
        chosen.append(state)
    return chosen


def refresh(
    config: Config,
    store: EntryStore,
    sources: Sequence[SourceConfig],
    *,
    only_due: bool = True,
    only_url: str | None = None,
    settings: FetchSettings | None = None,
    progress: Callable[[int, int, FetchResult], None] | None = None,
    clock: Callable[[], float] = time.time,
    on_outcome: Callable[[SourceOutcome], None] | None = None,
) -> list[SourceOutcome]:
    """Fetch the chosen sources, store their entries, record every outcome.

    `on_outcome` is called with each source's outcome once it is committed,
    while the others are still in flight: the daemon logs each source as it
    finishes and publishes what is stored without waiting for the slowest.
    """
    store.ensure_sources(s.url for s in sources)
    configs = {store.resolve_key(s.url): s for s in sources}
    started = clock()
    chosen = select_sources(store.sources(), configs, started, only_due=only_due,
                            only_url=only_url)
    order = {key: i for i, key in enumerate(configs)}
    chosen.sort(key=lambda s: order[s.key])  # report in the order they are configured
    if not chosen:
        return []
    return _fetch_and_store(config, store, chosen, configs, settings or FetchSettings(),
                            clock, on_outcome, progress)


def _fetch_and_store(
    config: Config, store: EntryStore, chosen: list[SourceState],
    configs: dict[str, SourceConfig], settings: FetchSettings, clock: Callable[[], float],
    on_outcome: Callable[[SourceOutcome], None] | None,
    progress: Callable[[int, int, FetchResult], None] | None, turns: SiteTurns | None = None,
) -> list[SourceOutcome]:
    run = _Refresh(config, store, chosen, configs, clock, on_outcome, progress)
    requests, unsent = _requests(config, chosen, configs)
    try:
        with store.checkpoints_deferred():
            for result in unsent:
                run.on_result(result)
            fetch_all_sync(requests, settings, keep_bodies=False,
                           blocked_until=store.domain_blocks(clock()), on_result=run.on_result,
                           admit=run.parsing.admit if run.parsing is not None else None,
                           turns=turns)
            if run.parsing is not None:
                run.parsing.finish()
            run.full_text.fetch(settings, turns)
    finally:
        if run.parsing is not None:
            run.parsing.close()
    return [outcome for outcome in run.outcomes if outcome is not None]


@dataclass(frozen=True)
class Claim:
    """A fetch worker's part in a shared store: who it is, how long its leases last, how many at once."""

    worker: str
    lease: float
    limit: int
    # The source list's fingerprint (`list_fingerprint`), when it is known for many
    # batches: computed once per poll, not once per batch.
    listed: str | None = None


def list_fingerprint(sources: Sequence[SourceConfig]) -> str:
    """What names one source list: its URLs in order, and which of them are enabled."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(f"{int(source.enabled)}{source.url}\n".encode())
    return digest.hexdigest()


class _StoreTurns:
    """Each site's turn, shared with every worker through the store (see `SiteTurns`)."""

    def __init__(self, store: SharedStore, worker: str, spacing: float, hold: float) -> None:
        self._store, self._worker, self._spacing, self._hold = store, worker, spacing, hold

    def take(self, domain: str, url: str) -> tuple[str, float]:
        return self._store.take_site(domain, url, self._worker, time.time(), self._spacing,
                                     self._hold)

    def leave(self, domain: str) -> None:
        self._store.leave_site(domain, self._worker)

    def pause(self, domain: str, until: float) -> None:
        self._store.block_domain(domain, until)


def refresh_claimed(
    config: Config,
    store: SharedStore,
    sources: Sequence[SourceConfig],
    claim: Claim,
    *,
    settings: FetchSettings | None = None,
    on_outcome: Callable[[SourceOutcome], None] | None = None,
) -> list[SourceOutcome]:
    """Claim due sources no other worker holds, fetch them, store them, let them go.

    What is stored is only what this worker still holds a lease on (see
    `coordination`); the states are read after the claim, so a source
    another worker stored a moment before is fetched from where it left it.
    Each site's turn is taken in the store, whichever worker asks.
    """
    settings = settings or FetchSettings()
    # The list goes to the store only when it changed (see `coordination`): a
    # batch then costs the server the same for ten listed sources as for a
    # million. The aliases are read whole (only moved sources have one), and the
    # claimed sources' states alone.
    store.list_sources([s.url for s in sources], [s.url for s in sources if s.enabled],
                       claim.listed or list_fingerprint(sources), time.time())
    claimed = set(store.claim_listed(claim.worker, time.time(), claim.lease, claim.limit))
    if not claimed:
        return []
    try:
        store.work_as(claim.worker)
        keys = store.resolve_keys(s.url for s in sources)
        configs = {keys[s.url]: s for s in sources if s.enabled}
        order = {key: i for i, key in enumerate(configs)}
        # A source another worker's newer list put in a moment ago is left to it:
        # its lease ends with this batch.
        chosen = sorted((s for s in store.sources_of(claimed) if s.key in order),
                        key=lambda s: order[s.key])
        if not chosen:
            return []
        turns = _StoreTurns(store, claim.worker, settings.domain_spacing, claim.lease)
        return _fetch_and_store(config, store, chosen, configs, settings, time.time, on_outcome,
                                None, turns)
    finally:
        store.release_leases(claim.worker)


def _requests(config: Config, chosen: Sequence[SourceState], configs: dict[str, SourceConfig]
              ) -> tuple[list[FetchRequest], list[FetchResult]]:
    """A request for each chosen source, or a failure for one whose credentials are missing."""
    requests, unsent = [], []
    for state in chosen:
        try:
            options = request_options(configs[state.key], config, os.environ)
        except SourceError as exc:
            unsent.append(FetchResult(state.url, state.url, 0, error=exc.reason,
                                      error_kind=ErrorKind.CONFIG))
            continue
        requests.append(FetchRequest(state.url, state.etag, state.last_modified, options))
    return requests, unsent


Parse = Future[_Prepared | ParseError]

# What a source records when the process parsing its body ended without an answer.
WORKER_LOST = ("the process parsing this feed ended without an answer (it crashed or was "
               "killed); nothing of it was stored, and it is tried again at its next fetch")


@dataclass(frozen=True)
class _Job:
    """A body handed to a worker: `result` without its body, `args` for `_prepare`."""

    i: int
    result: FetchResult
    args: tuple[Any, ...]
    alone: bool = False  # parsed in a worker of its own, after a worker was lost
    size: int = 0  # the body's bytes, counted in the backlog until its parse is stored


class _ParseQueue:
    """Fetched bodies being parsed by a process pool, stored as each parse finishes.

    Parsing is slower than fetching: without a bound, the bodies waiting for
    a worker would pile up in memory (90 MB on 1,000 feeds), so `admit`
    holds the next request back while `limit` bodies, or `limit_bytes` of
    them, wait. A finished parse is recorded on the event loop's thread (the
    store's connection is that thread's) as soon as the pool says it is done,
    so that one slow source does not hold back the rest; once the loop has
    ended, `finish` records what is left.

    A worker that dies (a crash in a parser's C code, the kernel's
    out-of-memory killer, a kill) breaks the whole pool, and every body it
    held fails alike: those bodies are parsed again one at a time in a
    worker of their own, so that only one that kills its worker again fails,
    as that source's error, and a fresh pool takes the rest.
    """

    def __init__(self, record: Callable[[int, FetchResult, _Prepared | ParseError], None],
                 limit: int, limit_bytes: int) -> None:
        self._record = record
        self._limit = limit
        self._limit_bytes = limit_bytes
        self._bytes = 0  # of the bodies submitted and not yet stored
        self._pool = worker_pool()
        self._alone: ProcessPoolExecutor | None = None  # parses suspects one at a time
        self._suspects: deque[_Job] = deque()
        self._alone_busy = False
        self._pending: dict[Parse, tuple[_Job, ProcessPoolExecutor]] = {}
        self._finished: SimpleQueue[Parse] = SimpleQueue()  # filled by the pool's threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._room = asyncio.Event()

    def submit(self, i: int, result: FetchResult, args: tuple[Any, ...]) -> None:
        """Parse `result`'s body in a worker; called on the event loop's thread."""
        self._loop = asyncio.get_running_loop()
        job = _Job(i, replace(result, body=None), args, size=len(result.body or b""))
        self._bytes += job.size
        try:
            self._start(self._pool, job)
        except BrokenProcessPool:  # a worker died since the last parse finished
            self._renew_pool(self._pool)
            self._start(self._pool, job)

    def _start(self, pool: ProcessPoolExecutor, job: _Job) -> None:
        future = pool.submit(_prepare, *job.args)
        self._pending[future] = (job, pool)
        future.add_done_callback(self._done)

    def _done(self, future: Parse) -> None:
        # On a pool thread: hand the parse over, and wake the loop to store it.
        self._finished.put(future)
        if self._loop is not None:
            # A loop that has ended leaves it to `finish`.
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._store_finished)

    def _store_finished(self) -> None:
        while not self._finished.empty():
            self._store(self._finished.get())
        if self._has_room():
            self._room.set()

    def _has_room(self) -> bool:
        return len(self._pending) < self._limit and self._bytes < self._limit_bytes

    def _store(self, future: Parse) -> None:
        job, pool = self._pending.pop(future)
        try:
            prepared = future.result()
        except BrokenProcessPool:
            if not job.alone:
                self._renew_pool(pool)
                self._suspects.append(job)
                self._next_suspect()
                return
            pool.shutdown(wait=False)
            self._alone = None  # it killed a worker of its own: this body is the cause
            prepared = ParseError(WORKER_LOST)
        self._bytes -= job.size
        if job.alone:
            self._alone_busy = False
            self._next_suspect()
        self._record(job.i, job.result, prepared)

    def _renew_pool(self, broken: ProcessPoolExecutor) -> None:
        """A fresh pool for the bodies still to come, unless `broken` was already replaced."""
        if broken is self._pool:
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = worker_pool()

    def _next_suspect(self) -> None:
        """Parse the next suspect body in a worker of its own, once the last has finished."""
        if self._alone_busy or not self._suspects:
            return
        job = replace(self._suspects.popleft(), alone=True)
        self._alone_busy = True
        while True:
            if self._alone is None:
                self._alone = worker_pool(1)
            try:
                self._start(self._alone, job)
                return
            except BrokenProcessPool:  # its worker died between two bodies: a fresh one
                self._alone.shutdown(wait=False)
                self._alone = None

    async def admit(self) -> None:
        """Wait, before the next request, until there is room in the backlog."""
        self._store_finished()
        while not self._has_room():
            self._room.clear()
            await self._room.wait()

    def finish(self) -> None:
        """Record every parse still running, as it finishes; the event loop has ended."""
        while self._pending:
            self._store(self._finished.get())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._alone is not None:
            self._alone.shutdown(wait=True, cancel_futures=True)


class _Refresh:
    """One refresh in progress: each source's outcome recorded as soon as it is known.

    Each source is stored as soon as its outcome is known, while others are
    still on the wire: the store's work overlaps the network's, and neither
    bodies nor parsed entries pile up for the whole refresh. Without a pool
    (a handful of bodies) each is parsed as it arrives: that holds the event
    loop for a moment, but the source is stored, and published by the
    daemon, without waiting for the slowest of the others.
    """

    def __init__(self, config: Config, store: EntryStore, chosen: list[SourceState],
                 configs: dict[str, SourceConfig], clock: Callable[[], float],
                 on_outcome: Callable[[SourceOutcome], None] | None,
                 progress: Callable[[int, int, FetchResult], None] | None) -> None:
        self._config, self._store, self._chosen, self._configs = config, store, chosen, configs
        self._clock, self._on_outcome, self._progress = clock, on_outcome, progress
        self._position = {s.url: i for i, s in enumerate(chosen)}
        self.outcomes: list[SourceOutcome | None] = [None] * len(chosen)
        self._done = 0
        self.full_text = FullText(config, store, clock)
        self.parsing: _ParseQueue | None = None
        if len(chosen) >= _POOL_MIN and (os.cpu_count() or 1) > 1:
            self.parsing = _ParseQueue(self._record,
                                       _BACKLOG_PER_WORKER * (os.cpu_count() or 1), _BACKLOG_BYTES)

    def on_result(self, result: FetchResult) -> None:
        self._done += 1
        i = self._position[result.url]
        state = self._chosen[i]
        if not result.ok or result.body is None:
            self._record(i, result, None)
        else:
            args = (result, self._configs[state.key], state.key, self._config, self._clock())
            if self.parsing is not None:
                # The parsers are imported only once a body needs them (a pass
                # of 304s never does), and before the first submit forks the
                # workers, so that they share them.
                from . import normalise, parse  # noqa: F401

                self.parsing.submit(i, result, args)
            else:
                self._record(i, result, _prepare(*args))
        if self._progress is not None:
            self._progress(self._done, len(self._chosen), result)

    def _record(self, i: int, result: FetchResult, prepared: _Prepared | ParseError | None) -> None:
        state = self._chosen[i]
        source = self._configs[state.key]
        if source.full_text and isinstance(prepared, _Prepared):
            prepared = replace(prepared, incoming=self.full_text.prepare(
                state.key, source, prepared.incoming))
        outcome = _record(self._config, self._store, state, self._configs[state.key], result,
                          prepared, self._clock())
        self.outcomes[i] = outcome
        if self._on_outcome is not None:
            self._on_outcome(outcome)


def _record(
    config: Config,
    store: EntryStore,
    state: SourceState,
    source: SourceConfig,
    result: FetchResult,
    prepared: _Prepared | ParseError | None,
    now: float,
) -> SourceOutcome:
    """Decide what the fetch means for the source and store it, entries too, at once."""
    every = float(source.every_seconds or config.default_every_seconds)
    parsed = prepared.feed if isinstance(prepared, _Prepared) else prepared
    decision = decide(state, every, result, parsed, now)
    if decision.blocked_until is not None:
        # A pause scoped to the source is kept under its URL, one to the site under its domain.
        scope = (source.http.retry_after_scope if source.http else None) or config.retry_after_scope
        store.block_domain(state.url if scope == "source"
                           else registrable_domain(result.final_url or state.url),
                           decision.blocked_until)
    changes = {f.name: getattr(decision.state, f.name) for f in fields(SourceState)
               if getattr(decision.state, f.name) != getattr(state, f.name)}
    changes["last_fetch"] = now
    if state.page_error and not source.full_text:
        changes["page_error"] = None  # full text was turned off: its last failure is moot
    if not decision.store_feed:
        store.update_source(state.key, changes, alias=decision.alias)
        return SourceOutcome(state.key, state.url, decision.outcome, message=decision.message)
    assert isinstance(prepared, _Prepared)
    stats = store.update_source(state.key, changes, prepared.incoming,
                                datetime.fromtimestamp(now, UTC), alias=decision.alias,
                                retention=(config.retention_entries, config.retention_days))
    return SourceOutcome(state.key, state.url, decision.outcome, stats.new, stats.changed,
                         decision.message)


def pull_forward(store: EntryStore, config: Config, sources: Sequence[SourceConfig],
                 now: float | None = None) -> None:
    """Bring forward healthy sources due later than their (new) interval allows.

    After the configuration or the source list changed, a source whose
    interval got shorter is polled on the new schedule instead of the old.
    A failing source keeps its back-off.
    """
    now = time.time() if now is None else now
    store.ensure_sources(s.url for s in sources)
    configs = {store.resolve_key(s.url): s for s in sources}
    for state in store.sources():
        cfg = configs.get(state.key)
        if cfg is None or state.status != "ok" or state.next_due is None:
            continue
        every = float(cfg.every_seconds or config.default_every_seconds)
        if state.next_due > now + every:
            store.update_source(state.key, {"next_due": now + every})
