"""Conditional GET across refreshes: validators survive answers that do not repeat them."""

from __future__ import annotations

from pathlib import Path

from conftest import write_links
from feedserver import FeedServer, RecordedRequest, Response
from remote_feeds import atom

from feeds import fetch
from feeds.config import FetchSettings, load_config
from feeds.pipeline import open_store

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=4)
ETAG, SINCE = '"v1"', "Wed, 01 Jan 2025 00:00:00 GMT"


def _bare_304s(request: RecordedRequest) -> Response:
    """The feed with its validators, then bodiless 304s that carry none (RFC 9110 allows it)."""
    if request.header("If-None-Match") == ETAG:
        return Response(status=304, content_type=None)
    return Response(body=atom([("a1", "Compilers get faster", "Builds halve.")]),
                    etag=ETAG, headers={"Last-Modified": SINCE})


def test_a_304_without_validators_keeps_the_stored_ones(
    backend: str, project: Path, feed_server: FeedServer
) -> None:
    url = feed_server.route("/feed.xml", _bare_304s)
    write_links(project, url)
    config = load_config(project)
    statuses = [[o.status for o in fetch(config, settings=FAST)] for _ in range(3)]
    assert statuses == [["ok"], ["not-modified"], ["not-modified"]]
    sent = [(r.header("If-None-Match"), r.header("If-Modified-Since"))
            for r in feed_server.requests_for("/feed.xml")]
    assert sent == [(None, None), (ETAG, SINCE), (ETAG, SINCE)]
    with open_store(config) as store:
        [state] = store.sources()
    assert (state.etag, state.last_modified) == (ETAG, SINCE)
