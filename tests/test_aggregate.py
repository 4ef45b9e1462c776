"""Aggregation end to end: real loopback feeds, a real store, real output files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from atomcheck import assert_valid_atom, assert_valid_output
from conftest import CliRunner, add_fixture, write_links
from feedserver import FeedServer, Response
from remote_feeds import atom, json_feed, rss

from feeds import build, fetch
from feeds.config import FetchSettings, load_config
from feeds.pipeline import open_store

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=4)
RSS_ITEMS = [("r1", "Quantum sensors leave the lab", "Sensors measure gravity."),
             ("r2", "Telescope finds water vapour", "A distant planet has vapour.")]
ATOM_ITEMS = [("a1", "Compilers get faster", "A new release halves build times.")]
JSON_ITEMS = [("j1", "国产大模型发布新版本", "新版本在推理速度上有明显提升。")]


@pytest.fixture
def three_feeds(feed_server: FeedServer, project: Path) -> list[str]:
    urls = [
        feed_server.route("/rss.xml", Response(body=rss(RSS_ITEMS), etag='"rss-1"',
                                               content_type="application/rss+xml")),
        feed_server.route("/atom.xml", Response(body=atom(ATOM_ITEMS), etag='"atom-1"')),
        feed_server.route("/feed.json", Response(body=json_feed(JSON_ITEMS),
                                                 content_type="application/feed+json")),
    ]
    write_links(project, *urls)
    add_fixture(project, "bilingual.md", "only-required.md")
    return urls


def test_remote_and_local_entries_are_published_together(
    project: Path, three_feeds: list[str]
) -> None:
    config = load_config(project)
    result = build(config, settings=FAST)
    assert [o.status for o in result.fetched] == ["ok", "ok", "ok"]
    assert not result.problems
    out = project / "output"
    everything = assert_valid_atom(out / "all.atom")
    titles = {e.title for e in everything.entries}
    assert {"Quantum sensors leave the lab", "Compilers get faster", "国产大模型发布新版本"} <= titles
    assert len(everything.entries) == 4 + 2  # four remote, two local articles
    remote = next(e for e in everything.entries if e.title == "Compilers get faster")
    assert remote.source.title == "Loopback Atom" and remote.source.id == "urn:loop:feed"
    assert remote.link == "http://example.org/atom/a1"
    assert [t.term for t in remote.tags] == ["tech"]
    # Languages come from the feeds: the JSON Feed says zh, the RSS channel en-us.
    zh_titles = {e.title for e in assert_valid_atom(out / "lang" / "zh.atom").entries}
    assert "国产大模型发布新版本" in zh_titles
    en_titles = {e.title for e in assert_valid_atom(out / "lang" / "en.atom").entries}
    assert "Telescope finds water vapour" in en_titles
    assert len(assert_valid_atom(out / "tags" / "science.atom").entries) == 2
    assert len(assert_valid_atom(out / "tags" / "科技.atom").entries) == 1
    assert_valid_output(project / "output")


def test_second_fetch_is_conditional_and_adds_no_duplicates(
    project: Path, three_feeds: list[str], feed_server: FeedServer
) -> None:
    config = load_config(project)
    build(config, settings=FAST)
    first = (project / "output" / "all.atom").read_bytes()
    outcomes = fetch(config, settings=FAST)
    assert {o.status for o in outcomes[:2]} == {"not-modified"}
    assert feed_server.requests_for("/rss.xml")[-1].header("If-None-Match") == '"rss-1"'
    assert outcomes[2].status == "ok" and outcomes[2].new == 0  # no validators: re-parsed
    build(config, fetch=False)
    assert (project / "output" / "all.atom").read_bytes() == first


def test_changed_entry_is_updated_in_place(
    project: Path, three_feeds: list[str], feed_server: FeedServer
) -> None:
    config = load_config(project)
    build(config, settings=FAST)
    changed = [("r1", "Quantum sensors leave the lab", "Now with a correction."), RSS_ITEMS[1]]
    feed_server.route("/rss.xml", Response(body=rss(changed), etag='"rss-2"'))
    [outcome] = fetch(config, only_url=three_feeds[0], settings=FAST)
    assert (outcome.new, outcome.changed) == (0, 1)
    build(config, fetch=False)
    entries = assert_valid_atom(project / "output" / "all.atom").entries
    sensors = [e for e in entries if e.title == "Quantum sensors leave the lab"]
    assert len(sensors) == 1 and "correction" in sensors[0].content[0].value


def test_failing_source_keeps_its_entries_and_shows_its_error(
    project: Path, three_feeds: list[str], feed_server: FeedServer, run_cli: CliRunner
) -> None:
    config = load_config(project)
    build(config, settings=FAST)
    feed_server.route("/rss.xml", Response(status=500, body="boom"))
    outcomes = fetch(config, settings=FAST)
    assert outcomes[0].status == "error" and "HTTP 500" in (outcomes[0].message or "")
    result = build(config, fetch=False)
    titles = {e.title for e in assert_valid_atom(project / "output" / "all.atom").entries}
    assert "Quantum sensors leave the lab" in titles
    assert result.entries == 6
    shown = run_cli("sources", cwd=project)
    assert shown.returncode == 0
    assert "HTTP 500" in shown.stdout and "status: error" in shown.stdout
    data = json.loads(run_cli("sources", "--json", cwd=project).stdout)
    rss_state = next(s for s in data if s["url"].endswith("/rss.xml"))
    assert rss_state["error_count"] == 1 and rss_state["entry_count"] == 2
    assert rss_state["last_error_kind"] == "http"


@pytest.mark.parametrize(
    ("response", "kind", "message"),
    [
        (Response(body="<html><body>Hello</body></html>", content_type="text/html"),
         "not-a-feed", "not a feed"),
        (Response(body=""), "not-a-feed", "empty"),
        (Response(body="x" * 5000), "oversize", "larger than"),
        (Response(body=rss(RSS_ITEMS), delay=3), "timeout", "timed out"),
        (Response(status=404, body="no"), "http", "HTTP 404"),
    ],
    ids=["html", "empty", "oversize", "slow", "404"],
)
def test_each_failure_is_recorded_and_never_loses_entries(
    project: Path, feed_server: FeedServer, response: Response, kind: str, message: str,
    backend: str,
) -> None:
    url = feed_server.route("/feed", Response(body=rss(RSS_ITEMS)))
    write_links(project, url)
    config = load_config(project)
    build(config, settings=FAST)
    feed_server.route("/feed", response)
    settings = FetchSettings(domain_spacing=0, read_timeout=1, total_timeout=2, max_bytes=4000)
    [outcome] = fetch(config, settings=settings)
    assert outcome.status == "error"
    assert message in (outcome.message or "")
    with open_store(config) as store:
        state = store.source(url)
        assert state is not None and state.last_error_kind == kind and state.entry_count == 2
    build(config, fetch=False)
    assert len(assert_valid_atom(project / "output" / "all.atom").entries) == 2


def test_malformed_but_usable_feed_is_accepted_with_a_warning(
    project: Path, feed_server: FeedServer, backend: str
) -> None:
    broken = rss(RSS_ITEMS).replace("</channel>", "<oops></channel>")
    write_links(project, feed_server.route("/feed", Response(body=broken)))
    config = load_config(project)
    build(config, settings=FAST)
    with open_store(config) as store:
        [state] = store.sources()
    assert state.status == "ok" and state.warning
    assert len(assert_valid_atom(project / "output" / "all.atom").entries) == 2


def test_wrong_declared_encoding_still_gives_text(project: Path, feed_server: FeedServer) -> None:
    body = rss([("e1", "Café culture returns", "Crème brûlée for everyone.")])
    latin = body.replace('encoding="utf-8"', 'encoding="iso-8859-1"').encode("utf-8")
    write_links(project, feed_server.route("/feed", Response(
        body=latin, content_type="application/rss+xml; charset=iso-8859-1")))
    build(load_config(project), settings=FAST)
    [entry] = assert_valid_atom(project / "output" / "all.atom").entries
    assert entry.title.startswith("Caf")


def test_gone_source_stops_polling(project: Path, feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(body=rss(RSS_ITEMS)))
    write_links(project, url)
    config = load_config(project)
    build(config, settings=FAST)
    feed_server.route("/feed", Response(status=410, body="gone"))
    [outcome] = fetch(config, settings=FAST)
    assert outcome.status == "gone"
    assert fetch(config, settings=FAST) == []
    assert len(feed_server.requests_for("/feed")) == 2
    build(config, fetch=False)
    assert len(assert_valid_atom(project / "output" / "all.atom").entries) == 2


def test_retry_after_pauses_the_site_without_counting_an_error(
    project: Path, feed_server: FeedServer, backend: str
) -> None:
    url = feed_server.route("/feed", Response(status=429, headers={"Retry-After": "120"}))
    write_links(project, url)
    config = load_config(project)
    [outcome] = fetch(config, settings=FAST)
    assert outcome.status == "error"
    with open_store(config) as store:
        state = store.source(url)
        assert state is not None and state.error_count == 0 and state.status == "throttled"
        assert store.domain_blocks(0)
    [again] = fetch(config, settings=FAST)
    assert again.status == "deferred"
    assert len(feed_server.requests_for("/feed")) == 1


def _limited_and_fine(project: Path, feed_server: FeedServer, per_source: str,
                      in_config: str) -> tuple[str, str]:
    """Two feeds of one site: the first answers 429 asking for two minutes, the second its feed."""
    limited = feed_server.route("/limited", Response(status=429, headers={"Retry-After": "120"}))
    fine = feed_server.route("/fine", Response(body=rss(RSS_ITEMS),
                                               content_type="application/rss+xml"))
    (project / "sources" / "links.toml").write_text(
        f'[[source]]\nurl = "{limited}"\n{per_source}\n[[source]]\nurl = "{fine}"\n',
        encoding="utf-8")
    (project / "feeds.toml").write_text(in_config, encoding="utf-8")
    return limited, fine


@pytest.mark.parametrize(("per_source", "in_config"), [
    ('retry_after_scope = "source"\n', ""),
    ("", 'retry_after_scope = "source"\n'),
], ids=["per-source", "feeds.toml"])
def test_retry_after_scoped_to_the_source_pauses_that_feed_only(
    backend: str, project: Path, feed_server: FeedServer, per_source: str, in_config: str
) -> None:
    limited, _ = _limited_and_fine(project, feed_server, per_source, in_config)
    config = load_config(project)
    assert [o.status for o in fetch(config, settings=FAST)] == ["error", "ok"]
    assert len(feed_server.requests_for("/fine")) == 1  # its sibling went on in the same run
    with open_store(config) as store:
        blocks = store.domain_blocks(0)
        state = store.source(limited)
        assert state is not None and state.status == "throttled" and state.error_count == 0
    assert list(blocks) == [limited]  # the feed is paused, not its site
    # The pause holds in the next run, even one that fetches everything now.
    assert [o.status for o in fetch(config, settings=FAST)] == ["deferred", "ok"]
    assert len(feed_server.requests_for("/limited")) == 1
    assert len(feed_server.requests_for("/fine")) == 2


def test_retry_after_scoped_to_the_site_pauses_its_other_feeds_in_the_same_run(
    backend: str, project: Path, feed_server: FeedServer
) -> None:
    _limited_and_fine(project, feed_server, "", 'retry_after_scope = "site"\n')
    config = load_config(project)
    assert [o.status for o in fetch(config, settings=FAST)] == ["error", "deferred"]
    assert feed_server.requests_for("/fine") == []
    with open_store(config) as store:
        assert list(store.domain_blocks(0)) == ["127.0.0.1"]


def test_permanent_redirect_is_adopted_after_three_fetches_and_ids_survive(
    project: Path, feed_server: FeedServer, backend: str
) -> None:
    old = feed_server.route("/old", Response(body=rss(RSS_ITEMS)))
    write_links(project, old)
    config = load_config(project)
    build(config, settings=FAST)
    ids = {e.id for e in assert_valid_atom(project / "output" / "all.atom").entries}
    new = feed_server.route("/new", Response(body=rss(RSS_ITEMS)))
    feed_server.route("/old", Response(status=301, headers={"Location": "/new"}))
    for expected in (old, old, new):
        fetch(config, settings=FAST)
        with open_store(config) as store:
            state = store.source(old)
            assert state is not None and state.url == expected
    feed_server.route("/old", Response(status=404))
    fetch(config, settings=FAST)
    assert feed_server.requests_for("/old")[-1:] and len(feed_server.requests_for("/new")) == 4
    build(config, fetch=False)
    assert {e.id for e in assert_valid_atom(project / "output" / "all.atom").entries} == ids


def test_temporary_redirect_never_changes_the_url(project: Path, feed_server: FeedServer,
                                                  backend: str) -> None:
    feed_server.route("/elsewhere", Response(body=rss(RSS_ITEMS)))
    url = feed_server.route("/feed", Response(status=302, headers={"Location": "/elsewhere"}))
    write_links(project, url)
    config = load_config(project)
    for _ in range(4):
        fetch(config, settings=FAST)
    with open_store(config) as store:
        state = store.source(url)
        assert state is not None and state.url == url and state.status == "ok"


def test_same_article_from_two_sources_is_published_once(
    project: Path, feed_server: FeedServer
) -> None:
    a = feed_server.route("/a", Response(body=rss(RSS_ITEMS, title="A")))
    b = feed_server.route("/b", Response(body=rss(RSS_ITEMS[:1], title="B").replace(
        "http://example.com/rss/r1?utm_source=feed", "https://www.example.com/rss/r1")))
    write_links(project, a, b)
    build(load_config(project), settings=FAST)
    titles = [e.title for e in assert_valid_atom(project / "output" / "all.atom").entries]
    assert sorted(titles) == sorted(t for _, t, _ in RSS_ITEMS)


def test_repeated_guid_for_different_items_keeps_them_all(
    project: Path, feed_server: FeedServer
) -> None:
    items = [("same", f"Story {i}", f"Text {i}") for i in range(3)]
    body = rss(items)
    for i in range(3):  # distinct links too, so link de-duplication does not merge them
        body = body.replace("rss/same?", f"rss/same{i}?", 1)
    write_links(project, feed_server.route("/feed", Response(body=body)))
    build(load_config(project), settings=FAST)
    entries = assert_valid_atom(project / "output" / "all.atom").entries
    assert sorted(e.title for e in entries) == ["Story 0", "Story 1", "Story 2"]


def test_add_finds_the_feed_of_a_page_and_export_round_trips(
    project: Path, feed_server: FeedServer, run_cli: CliRunner
) -> None:
    feed = feed_server.route("/blog/feed.atom", Response(body=atom(ATOM_ITEMS)))
    page = feed_server.route("/blog/", Response(
        content_type="text/html; charset=utf-8",
        body='<html><head><link rel="alternate" type="application/atom+xml" '
             'title="Blog" href="feed.atom"></head><body>hi</body></html>'))
    added = run_cli("add", page, "--tag", "blogs", cwd=project)
    assert added.returncode == 0, added.stderr
    assert f"announces the feed {feed}" in added.stdout
    links = (project / "sources" / "links.toml").read_text(encoding="utf-8")
    assert feed in links and '"blogs"' in links
    again = run_cli("add", feed, cwd=project)
    assert "already configured" in again.stdout
    exported = run_cli("export", "-o", str(project / "subs.opml"), cwd=project)
    assert exported.returncode == 0
    other = project / "other"
    (other / "sources").mkdir(parents=True)
    imported = run_cli("import", str(project / "subs.opml"), cwd=other)
    assert imported.returncode == 0 and "imported 1 source" in imported.stdout
    assert feed in (other / "sources" / "links.toml").read_text(encoding="utf-8")
    not_a_feed = feed_server.route("/plain", Response(content_type="text/html",
                                                      body="<html><body>x</body></html>"))
    failed = run_cli("add", not_a_feed, cwd=project)
    assert failed.returncode == 1 and "links to no feed" in failed.stderr


def test_invalid_links_toml_names_file_source_and_key(project: Path, run_cli: CliRunner) -> None:
    (project / "sources" / "links.toml").write_text(
        '[[source]]\nurl = "http://127.0.0.1:9/feed"\nevery = "often"\n', encoding="utf-8")
    result = run_cli("build", cwd=project)
    assert result.returncode == 0
    assert "sources/links.toml:1: [[source]] #1 (http://127.0.0.1:9/feed): 'every'" in result.stderr


def test_opml_in_sources_is_read_as_subscriptions(project: Path, feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Response(body=rss(RSS_ITEMS)))
    (project / "sources" / "subs.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        f'<outline text="Science"><outline type="rss" text="Loop" xmlUrl="{url}"/></outline>'
        "</body></opml>", encoding="utf-8")
    build(load_config(project), settings=FAST)
    entries = assert_valid_atom(project / "output" / "all.atom").entries
    assert len(entries) == 2
    assert all("science" in [t.term for t in e.tags] for e in entries)


def test_opml_round_trips_with_a_real_feed_reader(
    project: Path, run_cli: CliRunner, tmp_path: Path
) -> None:
    newsboat = shutil.which("newsboat")
    if newsboat is None:
        if os.environ.get("CI"):
            pytest.fail("newsboat is not installed; .ci/run installs it")
        pytest.skip("newsboat is not installed")
    home = tmp_path / "nb"
    home.mkdir()
    urls = ["http://127.0.0.1:9/science.xml", "http://127.0.0.1:9/blog.atom"]
    (home / "urls").write_text("".join(f"{u}\n" for u in urls), encoding="utf-8")
    (home / "config").write_text("", encoding="utf-8")
    base = [newsboat, "-C", str(home / "config"), "-c", str(home / "cache.db")]
    env = dict(os.environ, HOME=str(home))
    exported = subprocess.run([*base, "-u", str(home / "urls"), "-e"], env=env, check=True,
                              capture_output=True, timeout=60).stdout
    (tmp_path / "from-newsboat.opml").write_bytes(exported)
    imported = run_cli("import", str(tmp_path / "from-newsboat.opml"), cwd=project)
    assert imported.returncode == 0 and "imported 2 sources" in imported.stdout
    ours = tmp_path / "from-feeds.opml"
    assert run_cli("export", "-o", str(ours), cwd=project).returncode == 0
    subprocess.run([*base, "-u", str(home / "back"), "-i", str(ours)], env=env, check=True,
                   capture_output=True, timeout=60)
    back = (home / "back").read_text(encoding="utf-8").split()
    assert [u for u in back if u.startswith("http")] == urls


def test_a_full_parse_backlog_holds_fetches_back_and_loses_nothing(
    project: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """With room for one waiting body per core, fetching waits on parsing; all 30 sources land.

    Each feed takes far longer to parse (150 items) than to fetch over
    loopback, so the backlog fills and requests are held back.
    """
    from feeds.remote import refresh as aggregate

    monkeypatch.setattr(aggregate, "_BACKLOG_PER_WORKER", 1)
    urls = [
        feed_server.route(f"/f{i}.xml", Response(
            body=rss([(f"g{i}-{k}", f"Story {i}.{k}", f"Text {i}.{k}") for k in range(150)])))
        for i in range(30)
    ]
    write_links(project, *urls)
    config = load_config(project)
    outcomes = fetch(config, settings=FAST)
    assert [(o.status, o.new) for o in outcomes] == [("ok", 150)] * 30
    with open_store(config) as store:
        assert sum(store.count_entries(o.key) for o in outcomes) == 30 * 150
    build(config, fetch=False)
    assert len(assert_valid_atom(project / "output" / "all.atom").entries) == 50


def test_the_backlog_holds_bodies_by_their_bytes_too(
    project: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for one byte of waiting bodies, a request goes out only once every body
    fetched before it is stored: a few large feeds cannot fill memory, however many fit
    in the count."""
    import time
    from dataclasses import replace

    from feeds.remote import refresh as aggregate
    from feeds.remote.refresh import SourceOutcome, refresh
    from feeds.sources import load_sources

    monkeypatch.setattr(aggregate, "_BACKLOG_BYTES", 1)
    urls = [feed_server.route(f"/b{i}.xml", Response(body=rss([(f"b{i}", f"Big {i}", "x" * 2000)])))
            for i in range(10)]
    write_links(project, *urls)
    config = load_config(project)
    stored: list[float] = []

    def on_outcome(outcome: SourceOutcome) -> None:
        stored.append(time.monotonic())

    with open_store(config) as store:
        outcomes = refresh(config, store, load_sources(config), on_outcome=on_outcome,
                           settings=replace(FAST, per_domain=1))  # one request at a time
    assert [(o.status, o.new) for o in outcomes] == [("ok", 1)] * 10
    starts = sorted(r.started for r in feed_server.requests)
    assert len(starts) == 10
    for n, started in enumerate(starts):
        assert sum(t < started for t in stored) == n, (starts, stored)


@pytest.mark.parametrize("fast_sources", [2, 9])  # parsed here, and by the worker pool
def test_each_source_is_stored_as_it_finishes_not_after_the_slowest(
    feed_server: FeedServer, project: Path, fast_sources: int, backend: str
) -> None:
    import time
    from dataclasses import replace

    from feeds.remote.refresh import SourceOutcome, refresh
    from feeds.sources import load_sources

    fast = [feed_server.route(f"/fast{i}.xml", Response(body=rss([(f"f{i}", f"Fast {i}", "x")])))
            for i in range(fast_sources)]
    # Another site, so that per-site politeness does not queue it with the others.
    slow = feed_server.route("/slow.xml", Response(body=rss([("s", "Slow", "x")]), delay=3.0)
                             ).replace("127.0.0.1", "localhost")
    write_links(project, slow, *fast)
    config = load_config(project)
    stored: dict[str, float] = {}
    seen: dict[str, tuple[str, int, int]] = {}

    def on_outcome(outcome: SourceOutcome) -> None:
        stored[outcome.url] = time.monotonic()
        with open_store(config) as other:  # committed: another connection sees it
            seen[outcome.url] = (outcome.status, outcome.new, other.count_entries(outcome.key))

    with open_store(config) as store:
        outcomes = refresh(config, store, load_sources(config), on_outcome=on_outcome,
                           settings=replace(FAST, read_timeout=6, total_timeout=8))
    assert len(outcomes) == len(stored) == fast_sources + 1
    assert set(seen.values()) == {("ok", 1, 1)}
    slow_done = feed_server.requests_for("/slow.xml")[0].finished
    assert slow_done is not None
    assert all(stored[url] < slow_done for url in fast), (stored, slow_done)
    assert stored[slow] >= slow_done


def test_source_gets_a_valid_id_and_an_updated(project: Path, feed_server: FeedServer) -> None:
    """A remote feed's malformed id gives way to its URL; without a date, its newest entry's."""
    body = atom([*ATOM_ITEMS, ("a2", "Linkers too", "Linking is faster.")]).replace(
        "<id>urn:loop:feed</id>", "<id>urn:uuid:0000-not-a-uuid</id>").replace(
        "<updated>2025-09-20T00:00:00Z</updated>", "")
    url = feed_server.route("/bad-id.xml", Response(body=body))
    write_links(project, url)
    build(load_config(project), settings=FAST)
    entries = assert_valid_atom(project / "output" / "all.atom").entries
    assert {e.source.id for e in entries} == {url}
    assert {e.source.updated for e in entries} == {"2025-09-11T08:00:00+00:00"}


def _dateless_rss(guids: list[str]) -> str:
    return rss([(g, f"Item {g}", f"Text of {g}.") for g in guids]).replace(
        "<pubDate>", "<!--").replace("</pubDate>", "-->")


def test_entries_without_dates_keep_the_feed_order(project: Path, feed_server: FeedServer) -> None:
    """Undated items fetched together get distinct times in feed order, kept on refetch."""
    route = "/undated.xml"
    url = feed_server.route(route, Response(body=_dateless_rss(["u3", "u2", "u1"])))
    write_links(project, url)
    config = load_config(project)
    build(config, settings=FAST)
    first = assert_valid_atom(project / "output" / "all.atom").entries
    assert [e.title for e in first] == ["Item u3", "Item u2", "Item u1"]
    times = [e.updated for e in first]
    assert len(set(times)) == 3 and times == sorted(times, reverse=True)
    feed_server.route(route, Response(body=_dateless_rss(["u4", "u3", "u2", "u1"])))
    [outcome] = fetch(config, only_url=url, settings=FAST)
    assert (outcome.new, outcome.changed) == (1, 0)
    build(config, fetch=False)
    second = assert_valid_atom(project / "output" / "all.atom").entries
    assert [e.title for e in second] == ["Item u4", "Item u3", "Item u2", "Item u1"]
    assert {e.title: e.updated for e in second[1:]} == {e.title: e.updated for e in first}
    assert second[0].updated > second[1].updated


def test_authors_keep_their_email_and_uri(project: Path, feed_server: FeedServer) -> None:
    """Atom author/email and uri, RSS `jo@example.org (Jo)` and JSON Feed authors[].url survive."""
    rss_body = rss(RSS_ITEMS[:1]).replace(
        "<category>", "<author>jo@example.org (Jo Lee)</author><category>")
    atom_body = atom(ATOM_ITEMS).replace(
        "<category ", "<author><name>Ann</name><email>ann@example.org</email>"
                      "<uri>/people/ann</uri></author><category ")
    doc = json.loads(json_feed(JSON_ITEMS))
    doc["items"][0]["authors"] = [{"name": "王五", "url": "https://example.net/wang"}]
    write_links(project, feed_server.route("/a.xml", Response(body=rss_body)),
                feed_server.route("/b.xml", Response(body=atom_body)),
                feed_server.route("/c.json", Response(body=json.dumps(doc, ensure_ascii=False),
                                                      content_type="application/feed+json")))
    add_fixture(project, "only-required.md")
    build(load_config(project), settings=FAST)
    entries = assert_valid_atom(project / "output" / "all.atom").entries
    people = {e.title: dict(e.author_detail) for e in entries}
    assert people == {
        RSS_ITEMS[0][1]: {"name": "Jo Lee", "email": "jo@example.org"},
        ATOM_ITEMS[0][1]: {"name": "Ann", "email": "ann@example.org",
                           "href": "http://example.org/people/ann"},
        JSON_ITEMS[0][1]: {"name": "王五", "href": "https://example.net/wang"},
        "Only the required fields": {"name": "feeds"},
    }
