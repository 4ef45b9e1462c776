"""Fetching the article pages of `full_text` sources, after their feeds, through the polite fetcher.

A refresh stores each feed's entries as it comes (with the articles kept
from earlier fetches put in, see `remote.fulltext`); the pages still wanted
are fetched once every feed is in, with the same per-site spacing, size
caps, time-outs and conditional requests as feeds, so a site is never
asked for a page while one of its feeds is on the wire. Each article read
replaces its entry's content in the store; a page that fails keeps the
summary and is recorded on its source (`page_error`), never failing it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..config import Config, FetchSettings
from ..errors import ParseError, SourceError
from ..model import CachedPage, FetchResult, Incoming, SourceConfig
from ..store.protocol import EntryStore
from ..text.sanitise import clean_text
from .domains import registrable_domain
from .extract import extract_article
from .fulltext import PageWanted, plan_pages, with_article
from .http import fetch_all_sync
from .options import request_options
from .politeness import SiteTurns


@dataclass(frozen=True)
class _Pending:
    key: str
    source: SourceConfig
    item: Incoming
    wanted: PageWanted
    cached: CachedPage | None


class FullText:
    """The full-text work of one refresh: kept articles put in as entries are stored, pages fetched last."""

    def __init__(self, config: Config, store: EntryStore, clock: Callable[[], float]) -> None:
        self._config, self._store, self._clock = config, store, clock
        self._pending: dict[str, _Pending] = {}  # by page URL: a page shared by entries once

    def prepare(self, key: str, source: SourceConfig,
                incoming: Sequence[Incoming]) -> tuple[Incoming, ...]:
        """`incoming` with the kept articles put in; the pages due are noted for `fetch`."""
        cached = self._store.cached_pages(i.canonical_link for i in incoming if i.canonical_link)
        plan = plan_pages(incoming, cached, self._clock(), self._config.entries_per_feed)
        try:
            # Pages are asked for as their feed is: its proxy, user agent and
            # credentials (which go to the feed's own site only).
            options = request_options(source, self._config, os.environ)
        except SourceError:
            return plan.incoming  # the feed failed for the same reason: no page is wanted
        for wanted in plan.wanted:
            wanted = replace(wanted, request=replace(wanted.request, options=options))
            self._pending.setdefault(wanted.request.url, _Pending(
                key, source, plan.incoming[wanted.index], wanted, cached.get(wanted.link)))
        return plan.incoming

    def fetch(self, settings: FetchSettings, turns: SiteTurns | None = None) -> None:
        """Fetch every page noted, store each article read, record each source's page failures.

        `turns`: each site's turn shared with other fetch workers (see `SiteTurns`).
        """
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        kept: list[CachedPage] = []
        errors: dict[str, str | None] = {}

        def on_result(result: FetchResult) -> None:
            job = pending[result.url]
            page = self._settle(job, result)
            if page is None:
                return
            kept.append(page)
            if page.error is not None:
                errors[job.key] = errors.get(job.key) or f"{job.wanted.request.url}: {page.error}"
            else:
                errors.setdefault(job.key, None)

        # The feeds' run kept each site's requests spaced; this one starts
        # afresh, so it first waits the spacing out once for every site.
        time.sleep(settings.domain_spacing)
        fetch_all_sync([p.wanted.request for p in pending.values()], settings, keep_bodies=False,
                       blocked_until=self._store.domain_blocks(self._clock()),
                       on_result=on_result, turns=turns)
        self._store.record_pages(kept)
        for key, error in errors.items():
            self._store.update_source(key, {"page_error": error})

    def _settle(self, job: _Pending, result: FetchResult) -> CachedPage | None:
        """What to keep of the page after `result`; its entry re-stored when an article was read."""
        now = self._clock()
        if result.error_kind == "deferred":
            return None  # the site asked for a pause: the page waits for a later refresh
        if result.retry_after is not None and not job.wanted.request.options.pause_source:
            self._store.block_domain(registrable_domain(result.final_url or result.url),
                                     now + result.retry_after)
        old = job.cached
        page = CachedPage(job.wanted.link, result.final_url or result.url, now,
                          old.content_html if old else None, None, job.wanted.entry_digest,
                          result.etag, result.last_modified)
        if result.not_modified:
            return page if page.content_html else _failed(page, "not modified, but no article kept")
        if not result.ok or result.body is None:
            return _failed(page, result.error or f"HTTP {result.status}", old)
        try:
            article = extract_article(result.body, result.final_url,
                                      _header(result.headers, "content-type"),
                                      job.source.rewrite)
        except ParseError as exc:
            return _failed(page, str(exc), old)
        self._store.update_source(job.key, {}, [with_article(job.item, article)],
                                  datetime.fromtimestamp(now, UTC))
        return CachedPage(page.link, page.url, now, article, None, page.entry_digest,
                          page.etag, page.last_modified)


def _failed(page: CachedPage, error: str, old: CachedPage | None = None) -> CachedPage:
    """`page` after a failure: no new article, the kept one's validators kept with it.

    The message may quote what the server sent (its Content-Type): cleaned of
    control characters, as a source's messages are (see `decide`).
    """
    return CachedPage(page.link, page.url, page.fetched, page.content_html, clean_text(error),
                      page.entry_digest, old.etag if old else None,
                      old.last_modified if old else None)


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)
