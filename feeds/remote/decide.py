"""What one fetch means for its source (pure): its new state and what to store.

A fetch ends in one of five ways: deferred (the site's domain asked us to
wait, so nothing was asked), gone (410), failed (no feed came: the network,
the HTTP status, or bytes that are no feed), not modified, or a feed. Each
sets the source's state its own way: back-off after failures, a longer
interval when the feed asks for one, permanent redirects adopted with
care. Deciding apart from storing lets every rule be tested with plain
values; `refresh` stores the decision in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from ..errors import NotAFeedError, ParseError
from ..model import ErrorKind, FetchResult, ParsedFeed, SourceState, SourceStatus
from ..schedule import max_age, next_due, polling_interval
from ..text.sanitise import clean_text

# A permanent redirect to anything but the same host over https is adopted
# only after it has been seen this many times in a row.
REDIRECTS_TO_ADOPT = 3


@dataclass(frozen=True)
class Decision:
    """A source's new state after a fetch, and what else to record with it.

    `outcome` is what the refresh reports (ok, not-modified, error, gone,
    deferred) with its `message`. `store_feed` says that the parsed
    entries are to be stored (and retention applied); `alias` is a URL the
    source answered at before a redirect was adopted; `blocked_until`, an
    epoch time before which nothing of the source's domain may be asked.
    """

    state: SourceState
    outcome: str
    message: str | None = None
    store_feed: bool = False
    alias: str | None = None
    blocked_until: float | None = None


def decide(state: SourceState, every: float, result: FetchResult,
           parsed: ParsedFeed | ParseError | None, now: float) -> Decision:
    """The decision for `state` after `result` (and `parsed`, its body read, if any).

    `every` is the source's configured polling interval in seconds. The
    messages it records are cleaned of control characters (see `_shown`).
    """
    if result.error is not None:
        result = replace(result, error=_shown(result.error))
    fetched = replace(state, last_fetch=now)
    if result.error_kind == ErrorKind.DEFERRED:
        return Decision(replace(fetched, next_due=now + (result.retry_after or every)),
                        "deferred", result.error)
    blocked = None if result.retry_after is None else now + result.retry_after
    if result.gone:
        gone = replace(fetched, status=SourceStatus.GONE, last_error=result.error,
                       last_error_kind=ErrorKind.HTTP, next_due=None,
                       error_count=state.error_count + 1)
        return Decision(gone, "gone", result.error, blocked_until=blocked)
    if isinstance(parsed, ParseError) or not result.ok:
        return _failed(fetched, every, result, parsed, now, blocked)
    moved, alias = _adopt_redirect(fetched, result)
    ok = replace(moved, status=SourceStatus.OK, last_success=now, error_count=0,
                 next_due=next_due(now, every),
                 # A 304's result already carries the validators it was asked with.
                 etag=result.etag, last_modified=result.last_modified)
    if result.not_modified or parsed is None:
        return Decision(ok, "not-modified", alias=alias, blocked_until=blocked)
    interval = polling_interval(every, parsed.ttl_seconds, max_age(result.header("cache-control")))
    warning = None if parsed.warning is None else _shown(parsed.warning)
    ok = replace(ok, next_due=next_due(now, interval), title=parsed.title,
                 warning=warning, feed_id=parsed.id, feed_link=parsed.link,
                 feed_updated=parsed.updated.isoformat() if parsed.updated else None)
    return Decision(ok, "ok", warning, store_feed=True, alias=alias,
                    blocked_until=blocked)


def _shown(message: str) -> str:
    """`message` without the control characters that no reader wants shown.

    A message may quote what a server sent (a header, a parser's complaint),
    and a NUL in it could not be kept in a PostgreSQL store at all: cleaned
    here, a source records the same on every store.
    """
    return clean_text(message)


def _failed(state: SourceState, every: float, result: FetchResult,
            parsed: ParseError | ParsedFeed | None, now: float,
            blocked: float | None) -> Decision:
    """A fetch that brought no feed: counted as a failure, unless the site only asked to wait."""
    if isinstance(parsed, ParseError):
        message: str | None = _shown(str(parsed))
        kind: str | None = (ErrorKind.NOT_A_FEED if isinstance(parsed, NotAFeedError)
                            else ErrorKind.PARSE)
    else:
        message, kind = result.error, result.error_kind
    throttled = result.status in (429, 503)
    errors = state.error_count if throttled else state.error_count + 1
    failed = replace(state, status=SourceStatus.THROTTLED if throttled else SourceStatus.ERROR,
                     last_error=message, last_error_kind=kind, error_count=errors,
                     next_due=next_due(now, every, errors, result.retry_after))
    return Decision(failed, "error", message, blocked_until=blocked)


def _adopt_redirect(state: SourceState, result: FetchResult) -> tuple[SourceState, str | None]:
    """The source after a permanent redirect (or none), and the URL to keep as an alias."""
    target = result.permanent_redirect
    if target is None:
        return replace(state, redirect_target=None, redirect_count=0), None
    old, new = urlsplit(state.url), urlsplit(target)
    upgrade = old.scheme == "http" and new.scheme == "https" and old.hostname == new.hostname
    count = state.redirect_count + 1 if state.redirect_target == target else 1
    if upgrade or count >= REDIRECTS_TO_ADOPT:
        return replace(state, url=target, redirect_target=None, redirect_count=0), target
    return replace(state, redirect_target=target, redirect_count=count), None
