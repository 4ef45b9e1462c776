"""What one fetch means for its source: every rule of `decide`, with plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from feeds.errors import NotAFeedError, ParseError
from feeds.model import ErrorKind, FetchResult, ParsedFeed, SourceState, SourceStatus
from feeds.remote.decide import REDIRECTS_TO_ADOPT, decide
from feeds.schedule import MAX_HINTED_INTERVAL

NOW = 1_700_000_000.0
EVERY = 3600.0
URL = "http://feeds.example/a.xml"
STATE = SourceState(key=URL, url=URL, status="ok", etag='"old"', error_count=0)
FEED = ParsedFeed(id="urn:feed", title="A feed", link="https://feeds.example/",
                  updated=datetime(2025, 1, 2, tzinfo=UTC), lang="en", entries=())


def _ok(**fields: object) -> FetchResult:
    return FetchResult(URL, URL, 200, **fields)  # type: ignore[arg-type]


def _failed(status: int, kind: str = "http", **fields: object) -> FetchResult:
    return FetchResult(URL, URL, status, error=f"HTTP {status}", error_kind=kind,
                       **fields)  # type: ignore[arg-type]


def test_a_feed_is_stored_and_its_metadata_and_validators_kept() -> None:
    d = decide(STATE, EVERY, _ok(etag='"new"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT"),
               FEED, NOW)
    assert (d.outcome, d.store_feed, d.alias, d.blocked_until) == ("ok", True, None, None)
    s = d.state
    assert (s.status, s.last_fetch, s.last_success, s.error_count) == ("ok", NOW, NOW, 0)
    assert (s.etag, s.last_modified) == ('"new"', "Mon, 01 Jan 2024 00:00:00 GMT")
    assert (s.title, s.feed_id, s.feed_link) == ("A feed", "urn:feed", "https://feeds.example/")
    assert s.feed_updated == "2025-01-02T00:00:00+00:00"
    assert s.next_due == NOW + EVERY


def test_a_feed_that_asks_for_rarer_polling_gets_it_up_to_a_day() -> None:
    slow = replace(FEED, ttl_seconds=3 * 3600)
    assert decide(STATE, EVERY, _ok(), slow, NOW).state.next_due == NOW + 3 * 3600
    cached = _ok(headers=(("Cache-Control", "public, max-age=999999"),))
    assert decide(STATE, EVERY, cached, FEED, NOW).state.next_due == NOW + MAX_HINTED_INTERVAL


def test_a_feed_warning_is_the_outcome_message() -> None:
    warned = replace(FEED, warning="undefined entity")
    d = decide(STATE, EVERY, _ok(), warned, NOW)
    assert d.message == d.state.warning == "undefined entity"


@pytest.mark.parametrize("outcome", ["failed", "gone", "deferred", "not a feed", "warned"])
def test_a_message_quoting_control_characters_is_recorded_without_them(outcome: str) -> None:
    # A NUL could not be kept in a PostgreSQL store; none of them is for readers.
    said = "server said \x00bad\x01 \x1fthings\x7f\x85"
    result, parsed = {
        "failed": (replace(_failed(500), error=said), None),
        "gone": (replace(_failed(410, gone=True), error=said), None),
        "deferred": (replace(_failed(0, kind=ErrorKind.DEFERRED), error=said), None),
        "not a feed": (_ok(), NotAFeedError(said)),
        "warned": (_ok(), replace(FEED, warning=said)),
    }[outcome]
    d = decide(STATE, EVERY, result, parsed, NOW)
    recorded = {"deferred": d.message, "warned": d.state.warning}.get(outcome, d.state.last_error)
    assert d.message == recorded == "server said bad things"


def test_not_modified_keeps_the_entries_and_the_validators_asked_with() -> None:
    failing = SourceState(URL, URL, status="error", error_count=3, last_error="x")
    d = decide(failing, EVERY, _ok(not_modified=True, etag='"old"'), None, NOW)
    assert (d.outcome, d.store_feed) == ("not-modified", False)
    assert (d.state.status, d.state.error_count, d.state.etag) == ("ok", 0, '"old"')
    assert d.state.next_due == NOW + EVERY


def test_a_failure_counts_and_backs_off() -> None:
    d = decide(STATE, EVERY, _failed(500), None, NOW)
    assert (d.outcome, d.message, d.store_feed) == ("error", "HTTP 500", False)
    assert (d.state.status, d.state.error_count) == (SourceStatus.ERROR, 1)
    assert d.state.last_error_kind == ErrorKind.HTTP
    assert d.state.next_due is not None and d.state.next_due >= NOW + 2 * EVERY * 0.9
    assert d.state.etag == '"old"'  # what was known of the feed stays


@pytest.mark.parametrize("status", [429, 503])
def test_a_site_asking_to_wait_is_throttled_not_failing(status: int) -> None:
    state = SourceState(URL, URL, status="ok", error_count=2)
    d = decide(state, EVERY, _failed(status, retry_after=7200.0), None, NOW)
    assert (d.state.status, d.state.error_count) == (SourceStatus.THROTTLED, 2)
    assert d.blocked_until == NOW + 7200.0
    assert d.state.next_due is not None and d.state.next_due >= NOW + 7200.0


def test_a_deferred_fetch_asked_nothing_and_changes_nothing_but_its_time() -> None:
    result = _failed(0, "deferred", retry_after=600.0)
    d = decide(STATE, EVERY, result, None, NOW)
    assert (d.outcome, d.message, d.blocked_until) == ("deferred", result.error, None)
    assert d.state == replace(STATE, last_fetch=NOW, next_due=NOW + 600.0)


def test_a_gone_feed_is_never_fetched_again() -> None:
    due = replace(STATE, next_due=NOW)
    d = decide(due, EVERY, _failed(410, gone=True), None, NOW)
    assert (d.outcome, d.state.status, d.state.next_due) == ("gone", "gone", None)
    assert (d.state.error_count, d.state.last_error_kind) == (1, "http")
    assert d.message == d.state.last_error == "HTTP 410"
    assert d.blocked_until is None


def test_a_gone_feed_that_asks_to_wait_holds_its_domain_back() -> None:
    """The site's other feeds are not asked before the pause it asked for ends."""
    d = decide(STATE, EVERY, _failed(410, gone=True, retry_after=600.0), None, NOW)
    assert (d.outcome, d.blocked_until) == ("gone", NOW + 600.0)


@pytest.mark.parametrize(("error", "kind"), [
    (NotAFeedError("not a feed: looks like an HTML page"), ErrorKind.NOT_A_FEED),
    (ParseError("not a feed: unreadable XML (SAXParseException: junk)"), ErrorKind.PARSE),
    (ParseError("refused: an entity expands too far"), ErrorKind.PARSE),
])
def test_bytes_that_are_no_feed_are_told_from_a_broken_feed(error: ParseError,
                                                            kind: ErrorKind) -> None:
    d = decide(STATE, EVERY, _ok(), error, NOW)
    assert (d.outcome, d.message, d.store_feed) == ("error", str(error), False)
    assert (d.state.status, d.state.last_error_kind, d.state.error_count) == ("error", kind, 1)


def test_a_redirect_to_https_on_the_same_host_is_adopted_at_once() -> None:
    target = "https://feeds.example/a.xml"
    d = decide(STATE, EVERY, _ok(permanent_redirect=target), FEED, NOW)
    assert (d.state.url, d.alias, d.state.redirect_target) == (target, target, None)
    assert d.state.key == URL  # ids derived from the key survive the move


def test_a_redirect_elsewhere_is_adopted_only_when_seen_in_a_row() -> None:
    target = "https://elsewhere.example/feed"
    state = STATE
    for seen in range(1, REDIRECTS_TO_ADOPT):
        d = decide(state, EVERY, _ok(permanent_redirect=target), FEED, NOW)
        assert (d.state.url, d.alias, d.state.redirect_count) == (URL, None, seen)
        state = d.state
    d = decide(state, EVERY, _ok(permanent_redirect=target), FEED, NOW)
    assert (d.state.url, d.alias, d.state.redirect_count) == (target, target, 0)
    assert d.state.redirect_target is None  # nothing is pending once the move is made
    # A fetch without the redirect starts the count again.
    d = decide(state, EVERY, _ok(), FEED, NOW)
    assert (d.state.redirect_target, d.state.redirect_count) == (None, 0)


def test_a_site_asking_for_a_longer_wait_than_the_back_off_is_not_asked_before_then() -> None:
    """Retry-After outlasting the back-off sets the next fetch: asking earlier only earns another 429."""
    d = decide(STATE, EVERY, _failed(503, retry_after=5 * EVERY), None, NOW)
    assert (d.state.status, d.state.next_due) == (SourceStatus.THROTTLED, NOW + 5 * EVERY)


def test_a_redirect_that_changes_its_target_starts_the_count_again() -> None:
    """Only the same target seen in a row is trusted: a site trying two homes moves to neither yet."""
    state = STATE
    for target in ["https://one.example/feed"] * (REDIRECTS_TO_ADOPT - 1) + ["https://two.example/feed"]:
        state = decide(state, EVERY, _ok(permanent_redirect=target), FEED, NOW).state
    assert (state.url, state.redirect_target, state.redirect_count) == (URL, "https://two.example/feed", 1)


def test_a_not_modified_answer_after_a_move_to_https_adopts_it() -> None:
    """A 304 from the new address is as good as a feed for knowing where the feed now lives."""
    target = "https://feeds.example/a.xml"
    d = decide(STATE, EVERY, _ok(not_modified=True, permanent_redirect=target), None, NOW)
    assert (d.outcome, d.state.url, d.alias) == ("not-modified", target, target)


def test_a_fetch_without_a_body_read_keeps_what_is_stored() -> None:
    """Nothing parsed means nothing to store: the entries stay and the source is fine."""
    d = decide(STATE, EVERY, _ok(), None, NOW)
    assert (d.outcome, d.store_feed, d.state.status) == ("not-modified", False, "ok")
