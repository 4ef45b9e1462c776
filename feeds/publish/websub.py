"""Which WebSub pings a build owes, and when an undelivered one is tried again (pure).

W3C WebSub §"Publishing": a publisher tells each hub a feed names
(`rel="hub"`) that the feed changed, with a `hub.mode=publish` POST naming
the feed's URL; the hub then fetches it and tells its subscribers. A feed
whose bytes did not change owes nothing: the hub would fetch the same
document and tell nobody anything new. Delivering the pings (`remote.ping`)
and keeping the undelivered ones (the store) are the pipeline's business;
here are only the decisions, functions of their arguments.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Config
from .paths import feed_url

if TYPE_CHECKING:  # made when a hub is configured (see `feeds.model`)
    from ..model import PendingPing, Ping, PingResult

# A failing hub is tried again after the configured first wait (hub_retry,
# a minute by default), doubling each time, but never waiting longer than this.
MAX_RETRY_SECONDS = 3600.0


def owed_pings(written: Iterable[str], feed_paths: Collection[str], config: Config) -> list[Ping]:
    """One ping per configured hub and per feed file among `written`, hub by hub, paths sorted.

    `written` are the output paths a build rewrote (WriteReport.written);
    `feed_paths` the paths of the feeds it published in any format. Pages,
    the index and OPML are not feeds and owe nothing; neither does a removed
    feed, which a hub could only fetch as missing.
    """
    if not config.hubs:
        return []
    from ..model import Ping

    changed = sorted({path for path in written if path in feed_paths})
    return [Ping(hub, feed_url(path, config)) for hub in config.hubs for path in changed]


def retry_delay(attempts: int, first: float) -> float:
    """Seconds to wait after the `attempts`-th failed try in a row: `first`, doubling, capped.

    The cap is MAX_RETRY_SECONDS, or `first` itself when that is longer: a
    hub that is down for a day is asked about 24 times, not thousands.
    """
    if attempts < 1:
        return 0.0
    cap = max(first, MAX_RETRY_SECONDS)
    # 2**attempts overflows a float long before attempts could; cap the exponent.
    return min(first * 2.0 ** min(attempts - 1, 64), cap)


@dataclass(frozen=True)
class Round:
    """A round of pings to send: the due ones, and those for hubs no longer configured."""

    due: tuple[PendingPing, ...]
    stale: tuple[PendingPing, ...]


def plan_round(pending: Iterable[PendingPing], hubs: Sequence[str], now: float) -> Round:
    """The pending pings due at `now` to hubs still configured, and the ones to forget.

    A hub taken out of the configuration is no longer named by any feed,
    so nothing it still owes is worth sending.
    """
    due: list[PendingPing] = []
    stale: list[PendingPing] = []
    for ping in pending:
        if ping.hub not in hubs:
            stale.append(ping)
        elif ping.next_try <= now:
            due.append(ping)
    return Round(tuple(due), tuple(stale))


@dataclass(frozen=True)
class Settled:
    """What a round of pings leaves: the delivered ones, and the failed ones as they now stand."""

    delivered: tuple[Ping, ...]
    failed: tuple[PendingPing, ...]


def settle(sent: Sequence[PendingPing], results: Iterable[PingResult], now: float,
           first: float) -> Settled:
    """Each sent ping delivered (forgotten) or failed once more (due again after `retry_delay`).

    A ping without a result (the round ran out of time first) counts as
    failed, so nothing is lost.
    """
    from ..model import PendingPing, Ping

    answered = {(r.hub, r.url): r for r in results}
    delivered: list[Ping] = []
    failed: list[PendingPing] = []
    for ping in sent:
        result = answered.get((ping.hub, ping.url))
        if result is not None and result.error is None:
            delivered.append(Ping(ping.hub, ping.url))
            continue
        attempts = ping.attempts + 1
        error = result.error if result is not None else "not sent: the round ran out of time"
        failed.append(PendingPing(ping.hub, ping.url, attempts,
                                  now + retry_delay(attempts, first), error))
    return Settled(tuple(delivered), tuple(failed))
