"""Identity games: guids shared between sources, reused within one, changed on every fetch.

The rules (README, "Remote sources"): an entry's identity is its source plus
its guid, so no source can overwrite or hide another's entries through
their guids; and the same article is published once, matched on its
canonical link, as the copy seen first. Entries are told apart by the store,
so every test runs on both (the `backend` fixture).
"""

from __future__ import annotations

from pathlib import Path

from atomcheck import assert_valid_atom
from conftest import write_links
from feedparser import FeedParserDict
from feedserver import FeedServer, Response
from harness import SETTINGS
from remote_feeds import rss

from feeds import build, fetch
from feeds.config import load_config
from feeds.store import open_at


def _published(project: Path) -> list[FeedParserDict]:
    entries: list[FeedParserDict] = assert_valid_atom(project / "output" / "all.atom").entries
    return entries


def _relinked(body: str, prefix: str) -> str:
    """`body` with its item links moved under `prefix`, so no two sources share a link."""
    return body.replace("http://example.com/rss/", f"http://example.com/{prefix}/")


def test_two_sources_with_the_same_guids_keep_all_their_entries(
    backend: str, project: Path, feed_server: FeedServer
) -> None:
    guids = [f"shared-{n}" for n in range(3)]
    a = feed_server.route("/a", Response(body=_relinked(rss(
        [(g, f"From A {g}", "A's text.") for g in guids], title="A"), "a")))
    b = feed_server.route("/b", Response(body=_relinked(rss(
        [(g, f"From B {g}", "B's text.") for g in guids], title="B"), "b")))
    write_links(project, a, b)
    build(load_config(project), settings=SETTINGS)
    entries = _published(project)
    assert sorted(e.title for e in entries) == sorted(
        [f"From A {g}" for g in guids] + [f"From B {g}" for g in guids])
    assert len({e.id for e in entries}) == 6
    assert {e.source.title for e in entries if e.title.startswith("From A")} == {"A"}


def test_a_source_cannot_overwrite_another_s_entries_by_copying_their_guids(
    backend: str, project: Path, feed_server: FeedServer
) -> None:
    items = [(f"g{n}", f"Original {n}", f"Original text {n}.") for n in range(2)]
    a = feed_server.route("/a", Response(body=rss(items, title="A")))
    write_links(project, a)
    config = load_config(project)
    build(config, settings=SETTINGS)
    original = {e.id: e.content[0].value for e in _published(project)}
    forged = [(g, f"Forged {n}", "Forged text.") for n, (g, _, _) in enumerate(items)]
    b = feed_server.route("/b", Response(body=rss(forged, title="B")))  # same guids, same links
    write_links(project, a, b)
    build(config, settings=SETTINGS)
    entries = _published(project)
    assert {e.id: e.content[0].value for e in entries} == original  # the copy seen first
    with open_at(config.store_url, config.store_path) as store:
        assert store.count_entries(a) == 2 and store.count_entries(b) == 2


def test_one_guid_for_every_entry_collapses_nothing(
    backend: str, project: Path, feed_server: FeedServer
) -> None:
    body = rss([("same", f"Story {n}", f"Text {n}.") for n in range(5)])
    for n in range(5):  # each story its own page, as only the guid is reused
        body = body.replace("rss/same?", f"rss/story-{n}?", 1)
    write_links(project, feed_server.route("/feed", Response(body=body)))
    config = load_config(project)
    build(config, settings=SETTINGS)
    assert sorted(e.title for e in _published(project)) == [f"Story {n}" for n in range(5)]
    fetch(config, settings=SETTINGS)  # the same document again changes nothing
    build(config, fetch=False)
    assert len(_published(project)) == 5


def test_guids_changing_on_every_fetch_never_duplicate_published_entries(
    backend: str, project: Path, feed_server: FeedServer
) -> None:
    stories = [f"Story {n}" for n in range(4)]

    def serve(round_: int) -> None:
        body = rss([(f"round-{round_}-{n}", title, "Same text.") for n, title in enumerate(stories)])
        for n in range(len(stories)):  # stable links: the canonical link matches them up
            body = body.replace(f"rss/round-{round_}-{n}?", f"rss/story-{n}?")
        feed_server.route("/feed", Response(body=body))

    url = feed_server.url("/feed")
    write_links(project, url)
    config = load_config(project)
    serve(0)
    build(config, settings=SETTINGS)
    first = {e.id for e in _published(project)}
    for round_ in range(1, 4):
        serve(round_)
        [outcome] = fetch(config, settings=SETTINGS)
        assert outcome.new == len(stories)  # new guids are new entries in the store ...
        build(config, fetch=False)
        entries = _published(project)
        assert sorted(e.title for e in entries) == stories  # ... but published once each
        assert {e.id for e in entries} == first  # as the copies readers already have
    with open_at(config.store_url, config.store_path) as store:
        assert store.count_entries(url) == 4 * len(stories)  # until retention drops them


def test_guids_changing_without_links_stay_within_entries_per_feed(
    backend: str, project: Path, feed_server: FeedServer
) -> None:
    (project / "feeds.toml").write_text("entries_per_feed = 10\n", encoding="utf-8")
    url = feed_server.url("/feed")
    write_links(project, url)
    config = load_config(project)
    for round_ in range(5):
        items = "".join(f'<item><guid isPermaLink="false">r{round_}-{n}</guid><title>Story {n}'
                        "</title><description>Text.</description></item>" for n in range(4))
        feed_server.route("/feed", Response(body=(
            '<rss version="2.0"><channel><title>No links</title>' + items + "</channel></rss>")))
        fetch(config, settings=SETTINGS)
        build(config, fetch=False)
        # Nothing ties a changed guid without a link to the entry it was: each
        # fetch adds its items, and each feed still shows at most the newest 10.
        assert len(_published(project)) == min(10, 4 * (round_ + 1))
