"""The tables of feeds' own WebSub hub: verified subscriptions, and deliveries not yet taken.

`SubscriptionTables` is the part of a store that keeps them, on the
connection and transactions the store opens. Which requests are taken,
what is due and when a failed delivery is tried again are decided in
`publish.subscriptions`; this only remembers it, so that a subscription
(and what its subscriber is owed) survives a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from .. import model
from .dialect import Connection, Dialect

if TYPE_CHECKING:  # made when first used (see `feeds.model`)
    from ..model import PendingDelivery, Subscription


class SubscriptionTables:
    """Subscriptions and pending deliveries, over the Store's connection."""

    _db: Connection
    _dialect: Dialect
    _transaction: Callable[[], AbstractContextManager[None]]

    def subscribe(self, subscription: Subscription) -> None:
        """Keep a verified subscription; one for the same topic and callback is renewed."""
        s = subscription
        with self._transaction():
            self._db.execute(
                "INSERT INTO hub_subscriptions (topic, callback, secret, expires, created) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(topic, callback) DO UPDATE SET "
                "secret = excluded.secret, expires = excluded.expires",
                (s.topic, s.callback, s.secret, s.expires, s.created))

    def unsubscribe(self, topic: str, callback: str) -> None:
        """Forget a subscription and whatever was still owed to it."""
        with self._transaction():
            self._db.execute("DELETE FROM hub_subscriptions WHERE topic = ? AND callback = ?",
                             (topic, callback))

    def subscriptions(self) -> list[Subscription]:
        """Every subscription kept, expired ones included, by topic and callback."""
        rows = self._db.execute("SELECT topic, callback, secret, expires, created "
                                "FROM hub_subscriptions ORDER BY topic, callback")
        return [model.Subscription(*row) for row in rows]

    def drop_expired(self, now: float) -> int:
        """Forget the subscriptions whose lease ended by `now`; returns how many."""
        with self._transaction():
            return self._db.execute("DELETE FROM hub_subscriptions WHERE expires <= ?",
                                    (now,)).rowcount

    def owe_deliveries(self, topics: Iterable[str], now: float) -> None:
        """Owe every live subscription to `topics` their new content, due at `now`.

        One already waiting is brought forward (its failures still counted):
        one delivery of the current content tells of both changes.
        """
        with self._transaction():
            self._db.executemany(
                "INSERT INTO hub_deliveries (topic, callback, attempts, next_try, owed) "
                "SELECT topic, callback, 0, ?, ? FROM hub_subscriptions "
                "WHERE topic = ? AND expires > ? "
                "ON CONFLICT(topic, callback) DO UPDATE SET "
                f"next_try = {self._dialect.least}(hub_deliveries.next_try, excluded.next_try), "
                "owed = excluded.owed",
                ((now, now, topic, now) for topic in topics))

    def pending_deliveries(self) -> list[PendingDelivery]:
        """Every delivery not taken yet, the earliest due first."""
        rows = self._db.execute("SELECT topic, callback, attempts, next_try, last_error "
                                "FROM hub_deliveries ORDER BY next_try, topic, callback")
        return [model.PendingDelivery(*row) for row in rows]

    def settle_deliveries(self, delivered: Iterable[PendingDelivery],
                          failed: Iterable[PendingDelivery], dropped: Iterable[PendingDelivery],
                          *, began: float) -> None:
        """Forget the delivered and dropped deliveries and keep the failed ones as given.

        A topic written again after `began` (when the round read what to
        send) owes its new content: such a delivery stays, due as owed.
        """
        with self._transaction():
            self._db.executemany(
                "DELETE FROM hub_deliveries WHERE topic = ? AND callback = ? AND owed <= ?",
                ((d.topic, d.callback, began) for d in delivered))
            self._db.executemany("DELETE FROM hub_deliveries WHERE topic = ? AND callback = ?",
                                 ((d.topic, d.callback) for d in dropped))
            self._db.executemany(
                "UPDATE hub_deliveries SET attempts = ?, last_error = ?, "
                "next_try = CASE WHEN owed > ? THEN next_try ELSE ? END "
                "WHERE topic = ? AND callback = ?",
                ((d.attempts, d.last_error, began, d.next_try, d.topic, d.callback)
                 for d in failed))
