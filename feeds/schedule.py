"""When a source is next due (pure: the clock is passed in).

A healthy source is polled every `every` seconds; a failing one backs off
exponentially (capped at about a week) so a dead site is not hammered, but
it is never abandoned; a site that asked us to wait (Retry-After) is not
asked again before then.
"""

from __future__ import annotations

import random

MAX_BACKOFF = 7 * 24 * 3600


def next_due(
    now: float,
    every: float,
    error_count: int = 0,
    retry_after: float | None = None,
    jitter: float | None = None,
) -> float:
    """The epoch time of the next fetch.

    `error_count` consecutive failures multiply the interval by 2**n (capped
    at MAX_BACKOFF); `jitter` (0..1, random when None and failing) spreads
    retries of many failing sources apart.
    """
    interval = every
    if error_count > 0:
        interval = min(every * (2 ** min(error_count, 20)), MAX_BACKOFF)
        j = random.random() if jitter is None else jitter
        interval *= 0.9 + 0.2 * j
    due = now + interval
    if retry_after is not None:
        due = max(due, now + retry_after)
    return due


def is_due(next_due_at: float | None, now: float) -> bool:
    """Whether a source should be fetched now; a never-fetched one always is."""
    return next_due_at is None or next_due_at <= now


# A source may ask to be polled less often, but never more than this rarely.
MAX_HINTED_INTERVAL = 24 * 3600


def max_age(cache_control: str | None) -> int | None:
    """The `max-age` of a Cache-Control header in seconds, or None."""
    if not cache_control:
        return None
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "max-age" and value.strip().strip('"').isdigit():
            return int(value.strip().strip('"'))
    return None


def polling_interval(every: float, *hints: int | None,
                     ceiling: float = MAX_HINTED_INTERVAL) -> float:
    """The interval to poll at: the configured one, lengthened by what the source says.

    RSS `<ttl>`, `sy:updatePeriod` and `Cache-Control: max-age` may only make
    polling rarer (up to `ceiling`), never more frequent than configured.
    """
    hinted = max((h for h in hints if h), default=0)
    return max(every, min(float(hinted), max(ceiling, every)))
