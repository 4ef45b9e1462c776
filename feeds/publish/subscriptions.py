"""The rules of feeds' own WebSub hub (pure): which requests it takes, leases, signatures, deliveries.

W3C WebSub §5.1: a subscriber asks the hub, with a form POST, to be sent a
topic's new content at its callback; the hub answers 202 at once and then
verifies the intent with the subscriber (§5.3) before storing anything.
§7: after the topic changes, the hub POSTs its new content to every active
subscription, signed (§8) when the subscriber gave a secret. Sending the
requests (`remote.callbacks`) and keeping the subscriptions (the store) are
done elsewhere; here are only the decisions, functions of their arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import HUB_LEASE_MAX_SECONDS
from ..errors import SubscriptionError
from ..model import HubRequest, PendingDelivery, Subscription
from .websub import retry_delay

# The lease granted when a subscriber asks for none (§5.1: the hub's default).
DEFAULT_LEASE_SECONDS = 10 * 86400
# §5.1: a secret MUST be less than 200 bytes.
MAX_SECRET_BYTES = 199
# Longer callback URLs are refused: they are stored and requested as given.
MAX_CALLBACK_CHARS = 2000
# A delivery not taken after this many tries is given up (the subscriber
# gets the next change; its lease may also end first).
MAX_DELIVERY_ATTEMPTS = 8

# The content types of the feeds a topic can be, by file suffix.
FEED_CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    # The only JSON written is JSON Feed.
    ".json": "application/feed+json",
}
_MODES = ("subscribe", "unsubscribe")
# A URL holds no control character or space (RFC 3986 §2), and a secret no
# control character: either would be sent or signed with as given, and a NUL
# could not be kept in a PostgreSQL store at all.
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_CONTROL_OR_SPACE = re.compile("[\x00-\x20\x7f]")


def feed_content_type(path: str) -> str | None:
    """The Content-Type a feed file at `path` is served and delivered with; None for other files."""
    dot = path.rfind(".")
    return FEED_CONTENT_TYPES.get(path[dot:].lower()) if dot >= 0 else None


def grant_lease(asked: str | None, least: int) -> int:
    """The lease the hub grants for `asked` seconds (None or empty: the default), within bounds.

    Below `least` (a minute by default) a subscriber would have to renew
    all the time; beyond HUB_LEASE_MAX_SECONDS (30 days) a forgotten
    subscription would be served long after its subscriber is gone.
    """
    if asked is None or not asked.strip():
        seconds = DEFAULT_LEASE_SECONDS
    else:
        try:
            seconds = int(asked.strip())
        except ValueError:
            raise SubscriptionError(f"hub.lease_seconds must be a number of seconds, "
                                    f"not {asked[:40]!r}") from None
    return max(least, min(seconds, HUB_LEASE_MAX_SECONDS))


def read_request(form: Mapping[str, str], topics: Collection[str], least_lease: int) -> HubRequest:
    """The request a subscription form makes, or SubscriptionError saying why it is refused.

    `topics` are the URLs of this site's feeds (every format): a hub that
    took any topic would relay requests for other sites' URLs. The callback
    must be an absolute http(s) URL without credentials or a fragment; the
    address it names is checked apart, when it is resolved.
    """
    mode = form.get("hub.mode", "")
    if mode not in _MODES:
        raise SubscriptionError(f"hub.mode must be 'subscribe' or 'unsubscribe', not {mode[:40]!r}")
    topic = form.get("hub.topic", "")
    if topic not in topics:
        raise SubscriptionError(f"hub.topic {topic[:200]!r} is not one of this site's feeds")
    callback = form.get("hub.callback", "")
    check_callback(callback)
    secret = form.get("hub.secret") or None
    if secret is not None and _CONTROL.search(secret):
        raise SubscriptionError("hub.secret must not hold control characters")
    if secret is not None and len(secret.encode("utf-8")) > MAX_SECRET_BYTES:
        raise SubscriptionError(f"hub.secret must be less than 200 bytes, not "
                                f"{len(secret.encode('utf-8'))}")
    lease = grant_lease(form.get("hub.lease_seconds"), least_lease)
    return HubRequest(mode, topic, callback, lease, secret if mode == "subscribe" else None)


def check_callback(callback: str) -> None:
    """Raise SubscriptionError unless `callback` is an absolute http(s) URL the hub may call."""
    if not callback:
        raise SubscriptionError("hub.callback is missing")
    if len(callback) > MAX_CALLBACK_CHARS:
        raise SubscriptionError(f"hub.callback is longer than {MAX_CALLBACK_CHARS} characters")
    if _CONTROL_OR_SPACE.search(callback):
        raise SubscriptionError(f"hub.callback {callback[:200]!r} holds a space or a control "
                                "character")
    try:
        parts = urlsplit(callback)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SubscriptionError(f"hub.callback {callback[:200]!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubscriptionError(f"hub.callback must be an absolute http(s) URL, "
                                f"not {callback[:200]!r}")
    if parts.username is not None or parts.password is not None:
        raise SubscriptionError("hub.callback must not carry a user name or password")
    if parts.fragment:
        raise SubscriptionError("hub.callback must not have a fragment (#...)")


def callback_host(callback: str) -> str:
    """The host part of a callback URL, lower case: what the per-host limit counts."""
    return (urlsplit(callback).hostname or "").lower()


def check_host_limit(request: HubRequest, subscriptions: Iterable[Subscription],
                     most: int) -> None:
    """Raise SubscriptionError when subscribing would give the callback's host more than `most`.

    Renewing a subscription the host already has is always allowed; the
    limit keeps one host from filling the store and the delivery rounds.
    """
    if request.mode != "subscribe":
        return
    host = callback_host(request.callback)
    held = {(s.topic, s.callback) for s in subscriptions if callback_host(s.callback) == host}
    if (request.topic, request.callback) not in held and len(held) >= most:
        raise SubscriptionError(f"{host} already has {len(held)} subscriptions, the most this "
                                "hub allows one host")


def refused_address(address: str) -> str | None:
    """Why the hub must not connect to IP `address` (None: a public address it may).

    Callbacks name addresses the hub then requests: without this a
    subscriber could make the server probe its own network (SSRF). An
    IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, hit in (("loopback", ip.is_loopback), ("private", ip.is_private),
                      ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                      ("reserved", ip.is_reserved), ("unspecified", ip.is_unspecified),
                      ("not globally reachable", not ip.is_global)):
        if hit:
            return f"{ip} is a {kind} address" if kind != "not globally reachable" else (
                f"{ip} is {kind}")
    return None


def signature(body: bytes, secret: str) -> str:
    """The X-Hub-Signature header of a delivery (§8): `sha256=` and the hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def link_header(hub: str, topic: str) -> str:
    """The Link header of a delivery (§7): the hub and the topic, so a subscriber can renew."""
    return f'<{hub}>; rel="hub", <{topic}>; rel="self"'


@dataclass(frozen=True)
class DeliveryRound:
    """Deliveries due now (each with its subscription), and those to forget."""

    due: tuple[tuple[PendingDelivery, Subscription], ...]
    dropped: tuple[PendingDelivery, ...]


def plan_deliveries(pending: Iterable[PendingDelivery], subscriptions: Sequence[Subscription],
                    now: float) -> DeliveryRound:
    """The pending deliveries due at `now` to live subscriptions; the rest of the dead ones dropped.

    A delivery whose subscription ended (unsubscribed, lease expired) or
    that failed MAX_DELIVERY_ATTEMPTS times is dropped.
    """
    live = {(s.topic, s.callback): s for s in subscriptions if s.expires > now}
    due: list[tuple[PendingDelivery, Subscription]] = []
    dropped: list[PendingDelivery] = []
    for item in pending:
        sub = live.get((item.topic, item.callback))
        if sub is None or item.attempts >= MAX_DELIVERY_ATTEMPTS:
            dropped.append(item)
        elif item.next_try <= now:
            due.append((item, sub))
    return DeliveryRound(tuple(due), tuple(dropped))


def failed_again(item: PendingDelivery, error: str, now: float, first: float) -> PendingDelivery:
    """`item` after one more failed try: due again after `websub.retry_delay`."""
    attempts = item.attempts + 1
    return PendingDelivery(item.topic, item.callback, attempts,
                           now + retry_delay(attempts, first), error)


def topics_changed(written: Iterable[str], feed_urls: Mapping[str, str]) -> list[str]:
    """The topic URLs of the feed files among `written` (`feed_urls`: feed path → its URL)."""
    return sorted({feed_urls[path] for path in written if path in feed_urls})


def verification_accepted(status: int, body: bytes, challenge: str) -> bool:
    """Whether a subscriber's answer to a verification GET confirms its intent (§5.3).

    It must answer 2xx with the challenge as the body; surrounding white
    space (a trailing newline) is forgiven.
    """
    return 200 <= status < 300 and body.strip() == challenge.encode("ascii")
