"""The WebSub tables: pings a hub has not taken yet, and how each hub last answered.

`HubTables` is the part of a store that keeps them; it works on the
connection and transactions the store opens. What is owed and when a
failed ping is due again are decided elsewhere (`publish.websub`); this
only remembers it, so that a ping survives a restart until a hub takes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from .. import model
from .dialect import Connection, Dialect

if TYPE_CHECKING:  # made when first used (see `feeds.model`)
    from ..model import HubState, PendingPing, Ping


class HubTables:
    """Pending pings and hub states, over the Store's connection."""

    _db: Connection
    _dialect: Dialect
    _transaction: Callable[[], AbstractContextManager[None]]

    def owe_pings(self, pings: Iterable[Ping], now: float) -> None:
        """Remember `pings` as due at `now`.

        A feed changed again while an older ping for it waits: that one is
        brought forward (its failures still counted), since one delivery
        tells the hub of both changes. `owed` keeps when it was last owed,
        so that a round that began before cannot settle it (see `settle_pings`).
        """
        with self._transaction():
            self._db.executemany(
                "INSERT INTO hub_pings (hub, url, attempts, next_try, owed) VALUES (?, ?, 0, ?, ?) "
                "ON CONFLICT(hub, url) DO UPDATE SET next_try = "
                f"{self._dialect.least}(hub_pings.next_try, excluded.next_try), owed = excluded.owed",
                ((p.hub, p.url, now, now) for p in pings))

    def pending_pings(self) -> list[PendingPing]:
        """Every ping not delivered yet, the earliest due first."""
        rows = self._db.execute(
            "SELECT hub, url, attempts, next_try, last_error FROM hub_pings "
            "ORDER BY next_try, hub, url")
        return [model.PendingPing(*row) for row in rows]

    def settle_pings(self, delivered: Iterable[Ping], failed: Iterable[PendingPing],
                     dropped: Iterable[Ping], now: float, *, began: float) -> None:
        """Forget the delivered and dropped pings, keep the failed ones as given; note each hub's answer.

        `began` is when the round read the pings it sent. A feed written
        again since (the daemon publishes while a round is out) owes a ping
        of its own: the hub may have fetched it before the change, so such
        a ping stays, due at once.
        """
        delivered, failed = list(delivered), list(failed)
        with self._transaction():
            self._db.executemany("DELETE FROM hub_pings WHERE hub = ? AND url = ? AND owed <= ?",
                                 ((p.hub, p.url, began) for p in delivered))
            self._db.executemany("DELETE FROM hub_pings WHERE hub = ? AND url = ?",
                                 ((p.hub, p.url) for p in dropped))
            self._db.executemany(
                "INSERT INTO hub_pings (hub, url, attempts, next_try, last_error, owed) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(hub, url) DO UPDATE SET "
                "attempts = excluded.attempts, last_error = excluded.last_error, "
                "next_try = CASE WHEN hub_pings.owed > ? THEN hub_pings.next_try "
                "ELSE excluded.next_try END",
                ((p.hub, p.url, p.attempts, p.next_try, p.last_error, began, began)
                 for p in failed))
            self._db.executemany(
                "INSERT INTO hubs (hub, last_success) VALUES (?, ?) "
                "ON CONFLICT(hub) DO UPDATE SET last_success = excluded.last_success",
                ((hub, now) for hub in {p.hub for p in delivered}))
            errors = {p.hub: p.last_error for p in failed}
            self._db.executemany(
                "INSERT INTO hubs (hub, last_error, last_failure) VALUES (?, ?, ?) "
                "ON CONFLICT(hub) DO UPDATE SET last_error = excluded.last_error, "
                "last_failure = excluded.last_failure",
                ((hub, error, now) for hub, error in errors.items()))

    def hub_states(self) -> list[HubState]:
        """Every hub pinged or owed a ping, by URL."""
        pending = {hub: (count, failing, next_try) for hub, count, failing, next_try in
                   self._db.execute("SELECT hub, COUNT(*), COUNT(CASE WHEN attempts > 0 THEN 1 END), "
                                    "MIN(next_try) "
                                    "FROM hub_pings GROUP BY hub")}
        known = {hub: (success, error, failure) for hub, success, error, failure in
                 self._db.execute("SELECT hub, last_success, last_error, last_failure FROM hubs")}
        states = []
        for hub in sorted(pending.keys() | known.keys()):
            count, failing, next_try = pending.get(hub, (0, 0, None))
            success, error, failure = known.get(hub, (None, None, None))
            states.append(model.HubState(hub, count, failing, success, error, failure,
                                         next_try))
        return states
