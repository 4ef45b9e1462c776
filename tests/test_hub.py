"""feeds as its own WebSub hub (`hub = "self"`): requests, verification, delivery, the rules.

The daemon runs as a real `feeds run --serve` process; subscribers are real
HTTP servers on 127.0.0.1 (tests/feedserver.py) that answer verification
GETs and record the deliveries POSTed to them; the store is real SQLite.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from feedserver import FeedServer, RecordedRequest, Response
from test_daemon import Daemon, _free_port, _wait

from feeds.config import HUB_LEASE_MAX_SECONDS, config_from_mapping, load_config
from feeds.daemon import Daemon as FeedsDaemon
from feeds.errors import ConfigError, SubscriptionError
from feeds.model import HubRequest, PendingDelivery, Subscription
from feeds.pipeline import Pipeline, build, open_store
from feeds.publish.subscriptions import (
    DEFAULT_LEASE_SECONDS,
    MAX_DELIVERY_ATTEMPTS,
    check_host_limit,
    grant_lease,
    plan_deliveries,
    read_request,
    refused_address,
    signature,
    verification_accepted,
)
from feeds.serve import Server
from feeds.store import Store, Tables

SECRET = "a shared secret"


class Subscriber:
    """WebSub callbacks on a loopback server: each answers verification and records deliveries."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.wrong: set[str] = set()  # callbacks that answer a wrong challenge

    def callback(self, name: str, *, wrong: bool = False) -> str:
        if wrong:
            self.wrong.add(name)
        return self.server.route(f"/{name}", self._answer, any_query=True)

    def _answer(self, request: RecordedRequest) -> Response:
        if request.method == "POST":
            return Response(status=204, content_type=None)
        query = parse_qs(urlsplit(request.path).query)
        name = urlsplit(request.path).path.strip("/")
        challenge = "not the challenge" if name in self.wrong else query["hub.challenge"][0]
        return Response(body=challenge, content_type="text/plain")

    def verifications(self, name: str) -> list[dict[str, str]]:
        return [{k: v[0] for k, v in parse_qs(urlsplit(r.path).query).items()}
                for r in self.server.requests
                if r.method == "GET" and urlsplit(r.path).path == f"/{name}"]

    def deliveries(self, name: str) -> list[RecordedRequest]:
        return [r for r in self.server.requests if r.method == "POST" and r.path == f"/{name}"]


def _article(root: Path, name: str, title: str) -> None:
    (root / "sources" / "articles" / f"{name}.md").write_text(
        f"---\ntitle: {title}\ndate: 2025-03-0{len(name) % 9 + 1}T09:00:00Z\nlang: en\n---\n"
        f"An English article about {title.lower()}, long enough to read.\n", encoding="utf-8")


def _subscribe(base: str, mode: str, topic: str, callback: str, **extra: str) -> httpx.Response:
    form = {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback} | extra
    return httpx.post(base + "hub", data=form, timeout=10)


def _stored(root: Path) -> set[tuple[str, str]]:
    """(topic, callback) of each subscription the project's store keeps, whichever store it is."""
    with open_store(load_config(root)) as store:
        return {(s.topic, s.callback) for s in store.subscriptions()}


@pytest.fixture
def hub_project(project: Path) -> Iterator[tuple[Path, int]]:
    port = _free_port()
    (project / "feeds.toml").write_text(
        f'base_url = "http://127.0.0.1:{port}/"\nhub = "self"\nhub_allow_private = true\n'
        'hub_lease_min = "1s"\nhub_retry = "1s"\nhub_max_per_host = 5\n', encoding="utf-8")
    _article(project, "first", "First light")
    yield project, port


def _delivered_with(subscriber: Subscriber, name: str, text: str) -> list[RecordedRequest]:
    return [r for r in subscriber.deliveries(name) if text.encode() in r.body]


@pytest.mark.slow
def test_subscribers_are_verified_served_and_dropped(
        hub_project: tuple[Path, int], feed_server: FeedServer) -> None:
    root, port = hub_project
    subscriber = Subscriber(feed_server)
    kept, leaving, brief, liar = (subscriber.callback("kept"), subscriber.callback("leaving"),
                                  subscriber.callback("brief"),
                                  subscriber.callback("liar", wrong=True))
    daemon = Daemon(root, port)
    topic = daemon.base + "lang/en.atom"
    try:
        _wait(lambda: "First light" in daemon.titles("lang/en.atom"), 20, "the English feed")
        # Every feed names the hub, in every format.
        hub = daemon.base + "hub"
        assert f'<link href="{hub}" rel="hub"/>' in daemon.get("lang/en.atom").text
        assert f'href="{hub}"' in daemon.get("lang/en.rss").text
        assert {"type": "WebSub", "url": hub} in daemon.get("lang/en.json").json()["hubs"]

        # Subscribing: 202 at once, then a verification GET, then stored.
        for callback, extra in ((kept, {"hub.secret": SECRET, "hub.lease_seconds": "600"}),
                                (leaving, {}), (brief, {"hub.lease_seconds": "1"})):
            answer = _subscribe(daemon.base, "subscribe", topic, callback, **extra)
            assert answer.status_code == 202, answer.text
        _wait(lambda: len(_stored(root)) == 3, 15, "three verified subscriptions")
        [check] = subscriber.verifications("kept")
        assert check["hub.mode"] == "subscribe" and check["hub.topic"] == topic
        assert len(check["hub.challenge"]) >= 32 and check["hub.lease_seconds"] == "600"
        assert subscriber.verifications("leaving")[0]["hub.lease_seconds"] == str(
            DEFAULT_LEASE_SECONDS)
        assert subscriber.verifications("brief")[0]["hub.lease_seconds"] == "1"

        # A subscriber that answers the wrong challenge is not stored.
        assert _subscribe(daemon.base, "subscribe", topic, liar).status_code == 202
        _wait(lambda: "not verified: the subscriber did not answer with the challenge"
              in daemon.output(), 15, "the failed verification")
        assert (topic, liar) not in _stored(root)

        # Unsubscribing is verified too, and then forgotten.
        assert _subscribe(daemon.base, "unsubscribe", topic, leaving).status_code == 202
        _wait(lambda: (topic, leaving) not in _stored(root), 15, "the unsubscription")
        assert subscriber.verifications("leaving")[-1]["hub.mode"] == "unsubscribe"
        assert "hub.lease_seconds" not in subscriber.verifications("leaving")[-1]

        time.sleep(1.2)  # the one-second lease of "brief" ends
        _article(root, "second", "Second wind")
        _wait(lambda: bool(_delivered_with(subscriber, "kept", "Second wind")), 20,
              "the delivery of the new feed")
        [delivery] = _delivered_with(subscriber, "kept", "Second wind")
        served = daemon.get("lang/en.atom")
        assert delivery.body == served.content
        assert delivery.header("Content-Type") == "application/atom+xml; charset=utf-8"
        assert delivery.header("Link") == f'<{hub}>; rel="hub", <{topic}>; rel="self"'
        expected = hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
        assert delivery.header("X-Hub-Signature") == f"sha256={expected}"
        assert (delivery.header("User-Agent") or "").startswith("feeds/")
        # Neither the unsubscribed nor the expired subscriber got it; the
        # expired subscription is dropped from the store.
        assert not subscriber.deliveries("leaving") and not subscriber.deliveries("brief")
        assert _stored(root) == {(topic, kept)}
    finally:
        assert daemon.stop() == 0, daemon.output()

    # A subscription survives a restart.
    daemon = Daemon(root, port)
    try:
        _article(root, "third", "Third time lucky")
        _wait(lambda: bool(_delivered_with(subscriber, "kept", "Third time lucky")), 20,
              "a delivery after the restart")
    finally:
        assert daemon.stop() == 0, daemon.output()


@pytest.mark.slow
def test_the_hub_endpoint_refuses_bad_requests_with_a_reason(
        hub_project: tuple[Path, int], feed_server: FeedServer) -> None:
    root, port = hub_project
    subscriber = Subscriber(feed_server)
    callback = subscriber.callback("cb")
    daemon = Daemon(root, port)
    topic = daemon.base + "lang/en.atom"
    try:
        _wait(lambda: "First light" in daemon.titles("lang/en.atom"), 20, "the English feed")
        for changed, reason in (
            ({"hub.topic": "https://elsewhere.example/feed.atom"}, "not one of this site's feeds"),
            ({"hub.topic": daemon.base + "index.html"}, "not one of this site's feeds"),
            ({"hub.callback": "ftp://127.0.0.1/cb"}, "absolute http(s) URL"),
            ({"hub.callback": "/cb"}, "absolute http(s) URL"),
            ({"hub.mode": "publish"}, "hub.mode"),
            ({"hub.secret": "x" * 200}, "less than 200 bytes"),
        ):
            form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback}
            answer = httpx.post(daemon.base + "hub", data=form | changed, timeout=10)
            assert answer.status_code == 400 and reason in answer.text, (changed, answer.text)
        not_form = httpx.post(daemon.base + "hub", json={"hub.mode": "subscribe"}, timeout=5)
        assert not_form.status_code == 415
        # Only POST is the endpoint; a GET looks for a file and finds none.
        assert httpx.get(daemon.base + "hub", timeout=5).status_code == 404
        assert not subscriber.server.requests  # nothing refused was ever requested
        # Any format of one of our feeds is a topic; the JSON Feed too.
        assert _subscribe(daemon.base, "subscribe", daemon.base + "all.json",
                          callback).status_code == 202
        _wait(lambda: (daemon.base + "all.json", callback) in _stored(root), 15,
              "the JSON Feed subscription")
    finally:
        assert daemon.stop() == 0, daemon.output()


# --- requests refused before anything is sent (in process, real store) ----------


@pytest.fixture
def built(project: Path) -> Path:
    (project / "feeds.toml").write_text('hub = "self"\nhub_max_per_host = 2\n', encoding="utf-8")
    _article(project, "first", "First light")
    build(load_config(project), fetch=False, notify=False)
    return project


def test_a_private_callback_is_refused_and_never_requested(
        built: Path, feed_server: FeedServer) -> None:
    config = load_config(built)
    assert not config.hub_allow_private
    callback = Subscriber(feed_server).callback("cb")
    port = _free_port()
    server = Server(config, lambda: {}, "127.0.0.1", port, hub=FeedsDaemon(config).hub_request)
    server.start()
    try:
        answer = httpx.post(f"http://127.0.0.1:{port}/hub", timeout=10, data={
            "hub.mode": "subscribe", "hub.callback": callback,
            "hub.topic": config.base_url + "lang/en.atom"})
    finally:
        server.stop()
    assert answer.status_code == 400
    assert "127.0.0.1 is a loopback address" in answer.text
    # By name, too: localhost resolves to loopback.
    with pytest.raises(SubscriptionError, match="loopback"):
        Pipeline(config).hub_request({"hub.mode": "subscribe",
                                      "hub.topic": config.base_url + "lang/en.atom",
                                      "hub.callback": feed_server.url("/cb", host="localhost")})
    # A URL only the HTTP client finds broken (a soft hyphen for a host) is refused as well.
    with pytest.raises(SubscriptionError, match="not a URL"):
        Pipeline(config).hub_request({"hub.mode": "subscribe",
                                      "hub.topic": config.base_url + "lang/en.atom",
                                      "hub.callback": "http://\u00ad/"})
    assert not feed_server.requests
    assert not (config.store_path.exists() and _stored(built))


def test_a_host_has_at_most_its_share_of_subscriptions(backend: str, built: Path,
                                                      feed_server: FeedServer) -> None:
    config = replace(load_config(built), hub_allow_private=True)
    topic = config.base_url + "lang/en.atom"
    with open_store(config) as store:
        for n in (1, 2):
            store.subscribe(Subscription(topic, f"http://127.0.0.1:9/{n}", None, 2e9, 1.0))
    form = {"hub.mode": "subscribe", "hub.topic": topic}
    with pytest.raises(SubscriptionError, match="already has 2 subscriptions"):
        Pipeline(config).hub_request(form | {"hub.callback": "http://127.0.0.1:9/3"})
    # Renewing one it has, and unsubscribing, are allowed.
    assert Pipeline(config).hub_request(form | {"hub.callback": "http://127.0.0.1:9/1"})
    assert Pipeline(config).hub_request(
        form | {"hub.mode": "unsubscribe", "hub.callback": "http://127.0.0.1:9/3"})
    # Checked again when verified: requests that arrived together each fit.
    late = HubRequest("subscribe", topic, Subscriber(feed_server).callback("late"), 60)
    with pytest.raises(SubscriptionError, match="already has 2 subscriptions"):
        Pipeline(config).confirm(late)
    assert len(_stored(built)) == 2


def test_a_failed_verification_changes_nothing(built: Path, feed_server: FeedServer) -> None:
    config = replace(load_config(built), hub_allow_private=True)
    subscriber = Subscriber(feed_server)
    topic = config.base_url + "lang/en.atom"
    for name, wrong in (("good", False), ("bad", True)):
        request = HubRequest("subscribe", topic, subscriber.callback(name, wrong=wrong), 60)
        refused = Pipeline(config).confirm(request)
        assert (refused is None) == (not wrong)
    feed_server.route("/moved", Response(status=302, headers={"Location": "/good"}),
                      any_query=True)
    moved = HubRequest("subscribe", topic, feed_server.url("/moved"), 60)
    assert Pipeline(config).confirm(moved) == "the subscriber answered HTTP 302"
    assert {c for _, c in _stored(built)} == {feed_server.url("/good")}


def test_a_delivery_not_taken_is_retried_until_it_is(backend: str, built: Path,
                                                     feed_server: FeedServer) -> None:
    config = replace(load_config(built), hub_allow_private=True, hub_retry_seconds=1)
    topic = config.base_url + "lang/en.atom"
    answers = iter([Response(status=503, content_type=None), Response(status=204,
                                                                     content_type=None)])
    callback = feed_server.route("/flaky", lambda _request: next(answers))
    with open_store(config) as store:
        store.subscribe(Subscription(topic, callback, None, time.time() + 600, time.time()))
        store.owe_deliveries([topic], time.time())
    first = Pipeline(config).distribute()
    [failed] = first.failed
    assert (failed.attempts, failed.last_error) == (1, "the subscriber answered HTTP 503")
    assert first.next_try is not None and first.next_try > time.time()
    time.sleep(max(0.0, first.next_try - time.time()) + 0.05)
    second = Pipeline(config).distribute()
    assert [d.callback for d in second.delivered] == [callback] and second.next_try is None
    bodies = [r.body for r in feed_server.requests_for("/flaky")]
    assert len(bodies) == 2 and bodies[0] == bodies[1] == (
        config.output_dir / "lang" / "en.atom").read_bytes()


def test_a_store_of_the_previous_schema_gains_the_subscription_tables(tmp_path: Path) -> None:
    from feeds.store.schema import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "s.sqlite3"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:6]:
        db.executescript(script)
    db.execute("PRAGMA user_version=6")
    db.commit()
    db.close()
    with Store(path) as store:
        _keeps_and_settles_subscriptions(store)
    assert SCHEMA_VERSION >= 7 and "hub_subscriptions" in MIGRATIONS[6]


def test_subscriptions_are_kept_and_settled_by_either_store(store_at: Callable[[], Tables]) -> None:
    with store_at() as store:
        _keeps_and_settles_subscriptions(store)


def _keeps_and_settles_subscriptions(store: Tables) -> None:
    assert store.subscriptions() == [] and store.pending_deliveries() == []
    store.subscribe(Subscription("t", "c", "s", 100.0, 1.0))
    store.owe_deliveries(["t", "other"], now=5.0)
    assert store.pending_deliveries() == [PendingDelivery("t", "c", 0, 5.0)]
    store.owe_deliveries(["t"], now=7.0)  # owed again: due at the earlier time still
    assert store.pending_deliveries() == [PendingDelivery("t", "c", 0, 5.0)]
    failed = PendingDelivery("t", "c", 1, 9.0, "HTTP 500")
    store.settle_deliveries([], [failed], [], began=8.0)
    assert store.pending_deliveries() == [failed]
    assert store.drop_expired(100.0) == 1
    # What an ended subscription was owed goes with it.
    assert store.subscriptions() == [] and store.pending_deliveries() == []


# --- the rules, with plain values -------------------------------------------------

TOPICS = {"https://site.example/lang/en.atom", "https://site.example/all.json"}


def _form(**fields: str) -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.topic": "https://site.example/lang/en.atom",
            "hub.callback": "https://reader.example/cb?u=1"} | {
        f"hub.{k}": v for k, v in fields.items()}


def test_a_valid_request_is_read_with_its_lease_and_secret() -> None:
    request = read_request(_form(secret="s", lease_seconds="3600"), TOPICS, 60)
    assert request == HubRequest("subscribe", "https://site.example/lang/en.atom",
                                 "https://reader.example/cb?u=1", 3600, "s")
    unsubscribe = read_request(_form(mode="unsubscribe", secret="s"), TOPICS, 60)
    assert unsubscribe.secret is None


@pytest.mark.parametrize(("fields", "reason"), [
    ({"mode": "publish"}, "hub.mode"),
    ({"topic": "https://site.example/lang/../all.json"}, "not one of this site's feeds"),
    ({"topic": ""}, "not one of this site's feeds"),
    ({"callback": ""}, "missing"),
    ({"callback": "javascript:alert(1)"}, "absolute http(s) URL"),
    ({"callback": "file:///etc/passwd"}, "absolute http(s) URL"),
    ({"callback": "http://user:pw@reader.example/"}, "user name or password"),
    ({"callback": "http://reader.example/#x"}, "fragment"),
    ({"callback": "http://reader.example:99999/"}, "not a URL"),
    ({"callback": "http://reader.example/" + "a" * 2000}, "longer than"),
    ({"secret": "é" * 100}, "less than 200 bytes"),
    ({"callback": "http://reader.example/cb\x00"}, "a space or a control character"),
    ({"callback": "http://reader.example/c b"}, "a space or a control character"),
    ({"callback": "http://reader.example/?a=\x1f"}, "a space or a control character"),
    ({"secret": "se\x00cret"}, "control characters"),
    ({"lease_seconds": "soon"}, "number of seconds"),
])
def test_a_bad_request_is_refused_with_a_reason(fields: dict[str, str], reason: str) -> None:
    with pytest.raises(SubscriptionError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_request(_form(**fields), TOPICS, 60)


@pytest.mark.parametrize(("asked", "granted"), [
    (None, DEFAULT_LEASE_SECONDS), ("", DEFAULT_LEASE_SECONDS), ("3600", 3600),
    ("5", 60), ("-1", 60), (str(10**12), HUB_LEASE_MAX_SECONDS), (" 90 ", 90),
])
def test_a_lease_is_bounded(asked: str | None, granted: int) -> None:
    assert grant_lease(asked, 60) == granted


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
    "224.0.0.1", "240.0.0.1", "100.64.0.1", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "fe80::1%eth0",
])
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refused_address(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refused_address(address) is None


def test_the_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    body = "<feed>é</feed>".encode()
    assert signature(body, "key") == "sha256=" + hmac.new(b"key", body, "sha256").hexdigest()
    assert signature(body, "key") != signature(body + b" ", "key")


def test_a_verification_must_echo_the_challenge() -> None:
    assert verification_accepted(200, b"abc", "abc")
    assert verification_accepted(204, b"abc\n", "abc")
    assert not verification_accepted(200, b"abcd", "abc")
    assert not verification_accepted(302, b"abc", "abc")
    assert not verification_accepted(200, b"", "abc")


def test_the_host_limit_counts_distinct_subscriptions_of_one_host() -> None:
    subs = [Subscription("t1", "http://a.example/1", None, 9e9, 0.0),
            Subscription("t2", "http://A.example/2", None, 9e9, 0.0),
            Subscription("t1", "http://b.example/1", None, 9e9, 0.0)]
    with pytest.raises(SubscriptionError):
        check_host_limit(HubRequest("subscribe", "t3", "http://a.example/3", 60), subs, 2)
    check_host_limit(HubRequest("subscribe", "t1", "http://a.example/1", 60), subs, 2)
    check_host_limit(HubRequest("subscribe", "t3", "http://b.example/3", 60), subs, 2)
    check_host_limit(HubRequest("unsubscribe", "t3", "http://a.example/3", 60), subs, 2)


def test_deliveries_go_only_to_live_subscriptions_when_due() -> None:
    live = Subscription("t", "live", None, 100.0, 0.0)
    ended = Subscription("t", "ended", None, 10.0, 0.0)
    pending = [PendingDelivery("t", "live", 0, 40.0), PendingDelivery("t", "ended", 0, 40.0),
               PendingDelivery("t", "gone", 0, 40.0),
               PendingDelivery("u", "live", MAX_DELIVERY_ATTEMPTS, 40.0)]
    planned = plan_deliveries(pending, [live, ended, Subscription("u", "live", None, 100.0, 0)],
                              now=50.0)
    assert [(d.callback, s) for d, s in planned.due] == [("live", live)]
    assert {(d.topic, d.callback) for d in planned.dropped} == {
        ("t", "ended"), ("t", "gone"), ("u", "live")}
    later = plan_deliveries([PendingDelivery("t", "live", 1, 60.0)], [live], now=50.0)
    assert later.due == () and later.dropped == ()


def test_hub_self_is_the_only_hub_value_and_names_the_endpoint(tmp_path: Path) -> None:
    config = config_from_mapping({"hub": "self", "hubs": ["https://hub.example/"],
                                  "base_url": "https://site.example/blog/"}, tmp_path)
    assert config.self_hub == "https://site.example/blog/hub"
    assert config.named_hubs == ("https://hub.example/", "https://site.example/blog/hub")
    assert config_from_mapping({}, tmp_path).named_hubs == ()
    with pytest.raises(ConfigError, match="'hub' can only be \"self\""):
        config_from_mapping({"hub": "https://hub.example/"}, tmp_path)
    with pytest.raises(ConfigError, match="hub_lease_min"):
        config_from_mapping({"hub_lease_min": "60d"}, tmp_path)
