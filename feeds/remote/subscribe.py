"""Finding the feed behind a URL someone wants to follow (`feeds add`).

The URL may be a feed, or a page that announces feeds in its head: the
page is fetched, its feeds listed best first (see `discover`), one chosen,
and that one fetched and parsed, so that nothing is added that is not a
feed this project can read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config import FetchSettings
from ..errors import FetchError, NotAFeedError, UsageError
from ..model import FetchRequest, FetchResult, RequestOptions
from .discover import discover_feeds, looks_like_html
from .http import fetch_all_sync
from .parse import parse_feed

# A feed a page announces: (url, type, title), as discover_feeds gives them.
Candidate = tuple[str, str, str]


@dataclass(frozen=True)
class Found:
    """The feed found for a URL: where it is, its title, and how it was found."""

    url: str
    title: str
    page: str | None  # the page URL when found by autodiscovery
    candidates: tuple[Candidate, ...] = ()  # every feed the page announces, best first
    chosen: int = 0  # index into candidates of the one found


def find_feed(url: str, settings: FetchSettings, *, pick: int | None = None,
              choose: Callable[[Sequence[Candidate]], int] | None = None,
              proxy: str | None = None) -> Found:
    """The feed at `url`, or the one the page at `url` announces.

    Of the feeds a page announces, the `pick`-th (from 1) is taken if given,
    else the one `choose` returns the index of (asked only when there is a
    choice), else the first: the main feed, comment feeds ranking last.
    Raises FetchError when it cannot be fetched, ParseError when it is
    neither a feed nor a page that links to one, UsageError for a `pick`
    the page does not have. `proxy` (feeds.toml's) replaces the environment's.
    """
    options = RequestOptions(proxy=proxy)
    result = _fetch(url, settings, options)
    assert result.body is not None
    if not looks_like_html(result.body, result.header("content-type")):
        if pick not in (None, 1):
            raise UsageError(f"--pick {pick}: {url} is a feed itself, not a page announcing "
                             f"several")
        return Found(url, _title(result), None)
    found = discover_feeds(result.body, result.final_url)
    if not found:
        raise NotAFeedError(f"{url}: this is an HTML page that links to no feed")
    chosen = 0
    if pick is not None:
        if not 1 <= pick <= len(found):
            listed = "; ".join(f"{i}. {t or '(untitled)'} {u}"
                               for i, (u, _, t) in enumerate(found, 1))
            raise UsageError(f"--pick {pick}: {url} announces {len(found)} feed(s): {listed}")
        chosen = pick - 1
    elif choose is not None and len(found) > 1:
        chosen = choose(found)
    feed_url = found[chosen][0]
    return Found(feed_url, _title(_fetch(feed_url, settings, options)), url, tuple(found),
                 chosen)


def _fetch(url: str, settings: FetchSettings, options: RequestOptions) -> FetchResult:
    result = fetch_all_sync([FetchRequest(url, options=options)], settings)[0]
    if not result.ok or result.body is None:
        raise FetchError(f"{url}: {result.error or 'no content'}")
    return result


def _title(result: FetchResult) -> str:
    """The feed's title; raises ParseError when the body is no feed this project reads."""
    assert result.body is not None
    return parse_feed(result.body, result.final_url, result.headers).title
