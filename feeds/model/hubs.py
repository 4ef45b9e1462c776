"""The plain data of WebSub: the pings owed to the configured hubs, and feeds' own hub's
subscriptions and deliveries.

Apart from the rest of `feeds.model`, which every command makes; named
through it as any other of its types.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ping:
    """A WebSub publish notification owed: tell `hub` that the feed at `url` changed."""

    hub: str
    url: str


@dataclass(frozen=True)
class PendingPing:
    """A ping not yet delivered, as the store keeps it until a hub takes it.

    `attempts` counts the failed tries (0: owed, never tried); `next_try` is
    when it is due again (epoch seconds); `last_error` says why the last try
    failed.
    """

    hub: str
    url: str
    attempts: int = 0
    next_try: float = 0.0
    last_error: str | None = None


@dataclass(frozen=True)
class PingResult:
    """How one ping went: `error` is None when the hub answered 2xx."""

    hub: str
    url: str
    error: str | None = None


@dataclass(frozen=True)
class HubState:
    """A configured hub as the store knows it, for `feeds sources` and /healthz.

    `pending` counts the pings it has not taken yet, `failing` those of
    them it was already sent and refused or missed (a build that could not
    try, `--offline`, owes pings that have not failed); `next_try` is the
    earliest of their due times.
    """

    url: str
    pending: int = 0
    failing: int = 0
    last_success: float | None = None
    last_error: str | None = None
    last_failure: float | None = None
    next_try: float | None = None


# --- feeds' own WebSub hub ----------------------------------------------------


@dataclass(frozen=True)
class HubRequest:
    """A subscription request the hub accepted, to verify with its subscriber (W3C WebSub §5.1).

    `mode` is "subscribe" or "unsubscribe"; `lease_seconds` is already
    bounded to what the hub grants; `secret` signs deliveries (§8).
    """

    mode: str
    topic: str
    callback: str
    lease_seconds: int
    secret: str | None = None


@dataclass(frozen=True)
class Subscription:
    """A verified subscription: `topic`'s new content goes to `callback` until `expires`."""

    topic: str
    callback: str
    secret: str | None
    expires: float
    created: float


@dataclass(frozen=True)
class PendingDelivery:
    """A topic's new content owed to a subscriber, as the store keeps it until delivered.

    `attempts` counts the failed tries; `next_try` is when it is due again.
    """

    topic: str
    callback: str
    attempts: int = 0
    next_try: float = 0.0
    last_error: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One content distribution to send: `body` with its `content_type`, signed with `secret`."""

    topic: str
    callback: str
    body: bytes
    content_type: str
    secret: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """How one delivery (or verification) went: `error` is None when the subscriber took it."""

    topic: str
    callback: str
    error: str | None = None
