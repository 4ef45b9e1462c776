"""What processes sharing a PostgreSQL store coordinate by: leases, site turns, heartbeats, one publisher.

Fetch workers on any number of hosts share nothing but the database, so
the database is where they agree:

- A source is claimed with `FOR UPDATE SKIP LOCKED` and a lease (its
  `lease_until` and `leased_by`, set in the same transaction): two workers
  claiming at once take different sources. Each heartbeat renews the
  leases a worker holds; a worker that dies stops renewing them, and once
  its lease has passed, its sources are due for any other worker. Storing
  a fetch locks the source's row and stores nothing unless the lease is
  still the writer's, so a worker that lost its lease (paused past it)
  cannot overwrite what the new holder stored. The leases end with the batch.
- The source list is put in the store when it changes, not sent with each
  batch: `list_sources` adds the new sources and marks which are listed,
  under an advisory lock, and keeps the list's fingerprint (`source_list`);
  a batch compares fingerprints, then claims from the listed sources'
  `next_due` index, so what a poll costs the server does not grow with the
  list.
- A site (a registrable domain) is one row: `busy_until` while a worker
  fetches from it (at most one request at a time, whichever worker sends
  it) and `next_allowed` (the spacing between request starts). A
  Retry-After pause is the `domains` row every worker reads before asking,
  and again once it holds the turn (its last holder kept the pause first).
- Each process writes a heartbeat row (`workers`): host, pid, role, when.
- The publisher holds a session-level advisory lock on a connection of its
  own (`PublisherSeat`); a standby polls for it, and PostgreSQL lets it go
  as soon as the holder's connection ends. A commit that brings entries
  sends a NOTIFY the seat listens for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, suppress
from typing import Any

import psycopg

from ..errors import StoreError
from ..model import UpsertStats, WorkerState
from .dialect import Connection

# The NOTIFY channel a commit that stored new or changed entries signals on.
ENTRIES_CHANNEL = "feeds_entries"
# The key of the publisher's advisory lock (any constant, apart from the migrations').
_PUBLISHER_LOCK = 0x66656571  # "feeq"
# The key of the advisory lock one source list is put in the store under.
_LIST_LOCK = 0x6665656c  # "feel"
# Gone workers' rows are kept this long for `feeds sources`, then forgotten.
_FORGET_AFTER = 86400.0


class Coordination:
    """Leases, site turns and heartbeats, over the store's connection (PostgreSQL only)."""

    _db: Connection
    _transaction: Callable[[], AbstractContextManager[None]]
    _worker: str | None = None  # the fetch worker this session stores for, if any
    ensure_sources: Callable[[Iterable[str]], None]  # provided by the store

    # --- the source list -------------------------------------------------------------

    def list_sources(self, urls: Sequence[str], claimable: Sequence[str], fingerprint: str,
                     now: float) -> bool:
        """Make the store's source list the one `fingerprint` names; whether it changed.

        Costs one small query while the store holds that list already.
        Otherwise, under a lock two workers cannot both hold: the sources of
        `urls` the store does not know are added (see `ensure_sources`), and
        those of `claimable` (following aliases, so a moved source keeps its
        row) are marked listed and the rest not, so that a source taken off
        the list is claimed no more.
        """
        if self._list_fingerprint() == fingerprint:
            return False
        with self._transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(?)", (_LIST_LOCK,))
            if self._list_fingerprint() == fingerprint:
                return False  # another worker put the same list in meanwhile
            self.ensure_sources(urls)
            self._db.execute(
                "WITH wanted AS (SELECT DISTINCT COALESCE(a.key, u.url) AS key "
                " FROM unnest(?::text[]) AS u(url) LEFT JOIN aliases a ON a.url = u.url) "
                "UPDATE sources SET listed = NOT listed WHERE listed <> EXISTS "
                "(SELECT 1 FROM wanted w WHERE w.key = sources.key)", (list(claimable),))
            self._db.execute(
                "INSERT INTO source_list (id, fingerprint, changed) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, "
                "changed = excluded.changed", (fingerprint, now))
        return True

    def _list_fingerprint(self) -> str | None:
        row = self._db.execute("SELECT fingerprint FROM source_list").fetchone()
        return None if row is None else str(row[0])

    def claim_listed(self, worker: str, now: float, lease: float, limit: int) -> list[str]:
        """Lease to `worker` up to `limit` listed sources that are due, not gone and not leased.

        Taken from the store's list (see `list_sources`): nothing the size of
        the list is sent. Rows another worker is claiming at this moment are
        skipped, not waited for; a lease that has passed counts as none.
        Hashed keys mix the sites: a batch is not one site's queue.
        """
        with self._transaction():
            rows = self._db.execute(
                "UPDATE sources SET lease_until = ?, leased_by = ? WHERE key IN ("
                " SELECT key FROM sources WHERE listed AND status <> 'gone'"
                " AND (next_due IS NULL OR next_due <= ?)"
                " AND (lease_until IS NULL OR lease_until <= ?)"
                " ORDER BY next_due NULLS FIRST, md5(key) LIMIT ? FOR UPDATE SKIP LOCKED)"
                " RETURNING key",
                (now + lease, worker, now, now, limit)).fetchall()
        return sorted(str(r[0]) for r in rows)

    # --- source leases -----------------------------------------------------------

    def work_as(self, worker: str) -> None:
        """Store only for sources `worker` still holds a lease on."""
        self._worker = worker

    def release_leases(self, worker: str) -> None:
        """End every lease `worker` still holds (sources it claimed and did not store)."""
        with self._transaction():
            self._db.execute("UPDATE sources SET lease_until = NULL, leased_by = NULL "
                             "WHERE leased_by = ?", (worker,))

    def _lease_held(self, key: str) -> bool:
        """Lock the source's row for this transaction; whether this session may store it."""
        row = self._db.execute("SELECT leased_by FROM sources WHERE key = ? FOR UPDATE",
                               (key,)).fetchone()
        if self._worker is None:
            return True
        return row is not None and row[0] == self._worker

    def _updated(self, key: str, stats: UpsertStats) -> None:
        """Tell the publisher when entries came (the lease ends with the batch: see `release_leases`).

        A source stays leased until its worker's batch ends, since the pages
        of a `full_text` source are fetched and recorded after its entries.
        """
        if stats.new or stats.changed:
            self._db.execute("SELECT pg_notify(?, ?)", (ENTRIES_CHANNEL, key))

    # --- site turns -----------------------------------------------------------------

    def take_site(self, domain: str, url: str, worker: str, now: float, spacing: float,
                  hold: float) -> tuple[str, float]:
        """Take `domain`'s turn to send the request for `url`: ("taken", 0.0) when taken.

        Else ("blocked", until) when the site (or this source) asked for a
        pause until then, or ("wait", until) when another request to the
        site is in flight or was started less than `spacing` ago: ask again
        then. A taken turn lasts until `leave_site`, or `hold` seconds if
        its worker dies (renewed by its heartbeats meanwhile).
        """
        if (until := self._blocked_until(domain, url, now)) is not None:
            return "blocked", until
        taken = self._db.execute(
            "INSERT INTO sites (domain, busy_until, busy_by, next_allowed) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (domain) DO UPDATE SET busy_until = excluded.busy_until, "
            "busy_by = excluded.busy_by, next_allowed = excluded.next_allowed "
            "WHERE (sites.busy_until IS NULL OR sites.busy_until <= ?) "
            "AND sites.next_allowed <= ? RETURNING domain",
            (domain, now + hold, worker, now + spacing, now, now)).fetchone()
        if taken is not None:
            # Read again with the turn held: its last holder kept the pause it
            # was asked for before it let go, after the read above may have
            # run, and the request must not go out past it.
            if (until := self._blocked_until(domain, url, now)) is None:
                return "taken", 0.0
            self.leave_site(domain, worker)
            return "blocked", until
        row = self._db.execute("SELECT busy_until, next_allowed FROM sites WHERE domain = ?",
                               (domain,)).fetchone()
        return "wait", now if row is None else float(row[1])

    def _blocked_until(self, domain: str, url: str, now: float) -> float | None:
        """Until when `domain` or the source at `url` asked for a pause, if it is not over."""
        row = self._db.execute(
            "SELECT MAX(blocked_until) FROM domains WHERE domain IN (?, ?) AND blocked_until > ?",
            (domain, url, now)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def leave_site(self, domain: str, worker: str) -> None:
        """End `worker`'s turn at `domain`: the next request may start once the spacing allows."""
        self._db.execute("UPDATE sites SET busy_until = NULL, busy_by = NULL "
                         "WHERE domain = ? AND busy_by = ?", (domain, worker))

    # --- heartbeats ------------------------------------------------------------------

    def beat(self, worker: WorkerState, lease: float) -> None:
        """Say `worker` is alive, and renew the leases of the sources and sites it holds."""
        now = worker.heartbeat
        with self._transaction():
            self._db.execute(
                "INSERT INTO workers (id, host, pid, role, started, heartbeat, every) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "heartbeat = excluded.heartbeat, every = excluded.every, role = excluded.role",
                (worker.id, worker.host, worker.pid, worker.role, worker.started, now,
                 worker.every))
            self._db.execute("UPDATE sources SET lease_until = ? WHERE leased_by = ?",
                             (now + lease, worker.id))
            self._db.execute("UPDATE sites SET busy_until = ? WHERE busy_by = ? "
                             "AND busy_until IS NOT NULL", (now + lease, worker.id))
            self._db.execute("DELETE FROM workers WHERE heartbeat < ?", (now - _FORGET_AFTER,))

    def forget_worker(self, worker: str) -> None:
        """A worker that stops cleanly: its row and its leases go."""
        with self._transaction():
            self._db.execute("DELETE FROM workers WHERE id = ?", (worker,))
            self._db.execute("UPDATE sources SET lease_until = NULL, leased_by = NULL "
                             "WHERE leased_by = ?", (worker,))
            self._db.execute("UPDATE sites SET busy_until = NULL, busy_by = NULL "
                             "WHERE busy_by = ?", (worker,))

    def workers(self, now: float) -> list[WorkerState]:
        """Every process that has beaten its heart lately, with the sources it holds now."""
        rows = self._db.execute(
            "SELECT w.id, w.host, w.pid, w.role, w.started, w.heartbeat, w.every, "
            "(SELECT COUNT(*) FROM sources s WHERE s.leased_by = w.id AND s.lease_until > ?) "
            "FROM workers w ORDER BY w.host, w.pid, w.id", (now,)).fetchall()
        return [WorkerState(str(r[0]), str(r[1]), int(r[2]), str(r[3]), float(r[4]),
                            float(r[5]), float(r[6]), int(r[7])) for r in rows]


class PublisherSeat:
    """The one publisher's seat: an advisory lock held, and entries listened for, on a connection of its own.

    The lock is a session's: it lasts while the connection does, and
    PostgreSQL lets it go as soon as the holder's process dies (its socket
    closes). Losing the connection loses the seat: `wait_for_entries` then
    raises StoreError, and the holder must stop publishing and take it again.
    """

    def __init__(self, url: str, shown: str) -> None:
        self._url = url
        self._shown = shown
        self._conn: psycopg.Connection[Any] | None = None

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10,
                                         keepalives=1, keepalives_idle=5,
                                         keepalives_interval=2, keepalives_count=3)
        return self._conn

    def try_take(self) -> bool:
        """Take the seat if nobody holds it; whether this process holds it now."""
        try:
            conn = self._connect()
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_PUBLISHER_LOCK,)).fetchone()
            if row is None or not row[0]:
                return False
            conn.execute(f"LISTEN {ENTRIES_CHANNEL}")
            return True
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"{self._shown}: cannot take the publisher's seat: {exc}") from exc

    def wait_for_entries(self, timeout: float) -> bool:
        """Wait up to `timeout` s for a commit that brought entries; whether one came.

        Raises StoreError when the connection (and with it the seat) is lost.
        """
        try:
            conn = self._connect()
            came = False
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                came = True
            # Several commits in a row are one rebuild: drain what else arrived.
            for _ in conn.notifies(timeout=0.0):
                came = True
            conn.execute("SELECT 1")  # a lost connection is found here, not at the next build
            return came
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"{self._shown}: lost the publisher's seat: {exc}") from exc

    def close(self) -> None:
        """Give up the seat (closing the connection ends the lock)."""
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
