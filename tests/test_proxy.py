"""Proxies: the environment's as httpx reads them, the configuration's over them, per source.

Two sites on two loopback addresses (127.0.0.2 and 127.0.0.3) let NO_PROXY
exempt one and not the other; small proxies on 127.0.0.1 record what they
relay (tests/proxyserver.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from atomcheck import assert_valid_atom
from conftest import child_env
from feedserver import FeedServer, Response
from proxyserver import ForwardProxy, Socks5Proxy
from remote_feeds import rss

from feeds.config import FetchSettings
from feeds.model import FetchRequest, RequestOptions
from feeds.remote.http import fetch_all_sync
from feeds.remote.proxies import DIRECT, rules_from_environment, shown_proxy

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=5)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
PROXY_PASSWORD = "pr0xy-S3CRET-pw"


@pytest.fixture(autouse=True)
def _no_proxy_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets the proxy variables it means; none leak in from outside."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def forward_proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as proxy:
        yield proxy


@pytest.fixture
def two_sites() -> Iterator[tuple[FeedServer, FeedServer]]:
    """Feed servers on 127.0.0.2 and 127.0.0.3, each serving /feed.xml."""
    with FeedServer(host="127.0.0.2") as one, FeedServer(host="127.0.0.3") as two:
        for server, name in ((one, "one"), (two, "two")):
            server.route("/feed.xml", Response(
                body=rss([(f"{name}-1", f"News from site {name}", "Text.")], title=f"Site {name}"),
                content_type="application/rss+xml"))
        yield one, two


# --- Which proxy: httpx's rules ---------------------------------------------

ENVIRONMENTS = [
    {"HTTP_PROXY": "http://proxy:3128"},
    {"http_proxy": "proxy:3128", "NO_PROXY": "127.0.0.3,.example.com,example.org,localhost"},
    {"ALL_PROXY": "socks5://proxy:1080", "HTTPS_PROXY": "http://tls-proxy:8080"},
    {"ALL_PROXY": "http://proxy:1", "NO_PROXY": "*"},
    {"HTTPS_PROXY": "http://proxy:1", "NO_PROXY": "http://example.com,::1,10.0.0.0/8"},
    {"HTTP_PROXY": "http://proxy:1", "no_proxy": "example.com:8080"},
]
URLS = ["http://127.0.0.1:8000/", "http://127.0.0.3/", "https://example.com/feed",
        "http://www.example.com/", "http://example.org/", "http://sub.example.org/",
        "http://notexample.org/", "http://localhost:9/", "https://[::1]:8443/",
        "http://example.com:8080/", "http://10.0.0.1/"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_environment_is_read_as_httpx_reads_it(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from httpx._utils import URLPattern, get_environment_proxies

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    ours = rules_from_environment(urllib.request.getproxies())
    mounts = sorted((URLPattern(k), v) for k, v in get_environment_proxies().items())
    for url in URLS:
        theirs = next((proxy for pattern, proxy in mounts if pattern.matches(httpx.URL(url))),
                      None)
        assert ours.proxy_for(url) == theirs, url


def test_loopback_is_not_exempt_unless_no_proxy_says_so() -> None:
    rules = rules_from_environment({"http": "http://proxy:3128"})
    assert rules.proxy_for("http://127.0.0.1:8080/feed") == "http://proxy:3128"
    assert rules.proxy_for("http://localhost/feed") == "http://proxy:3128"
    assert rules.proxy_for("https://example.com/feed") is None  # no HTTPS_PROXY


def test_a_configured_proxy_replaces_the_environment() -> None:
    rules = rules_from_environment({"http": "http://env-proxy:1", "no": "example.com"})
    assert rules.proxy_for("http://example.com/", "socks5://cfg:1080") == "socks5://cfg:1080"
    assert rules.proxy_for("http://other.net/", DIRECT) is None


def test_a_shown_proxy_hides_its_credentials() -> None:
    assert shown_proxy("http://user:pw@proxy:3128") == "http://***@proxy:3128"
    assert shown_proxy("http://proxy:3128") == "http://proxy:3128"
    assert shown_proxy(DIRECT) == DIRECT


# --- Fetching through them --------------------------------------------------


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_environment_proxy_carries_every_request_but_no_proxy_hosts(
    variable: str, two_sites: tuple[FeedServer, FeedServer], forward_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one, two = two_sites
    monkeypatch.setenv(variable, forward_proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.3")
    one.route("/other.xml", Response(body=rss([("o", "Other", "o")])))
    urls = [one.url("/feed.xml"), two.url("/feed.xml"), one.url("/other.xml")]
    results = fetch_all_sync([FetchRequest(u) for u in urls], FAST)
    assert [r.error for r in results] == [None, None, None]
    assert b"News from site one" in (results[0].body or b"")
    assert b"News from site two" in (results[1].body or b"")
    # The proxied site saw the proxy's requests; the exempt one the fetcher's own.
    assert forward_proxy.urls() == [urls[0], urls[2]]
    assert len(one.requests) == 2 and len(two.requests) == 1


def test_without_no_proxy_loopback_goes_through_the_proxy(
    feed_server: FeedServer, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = feed_server.route("/feed.xml", Response(body=rss([("a", "A", "a")])))
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    [result] = fetch_all_sync([FetchRequest(url)], FAST)
    assert result.ok and forward_proxy.urls() == [url]


def test_configured_proxy_overrides_the_environment_both_ways(
    two_sites: tuple[FeedServer, FeedServer], forward_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one, two = two_sites
    with ForwardProxy() as env_proxy:
        monkeypatch.setenv("HTTP_PROXY", env_proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.2")
        requests = [
            # Exempt by NO_PROXY, yet the source names a proxy: it is used.
            FetchRequest(one.url("/feed.xml"), options=RequestOptions(proxy=forward_proxy.url)),
            # The environment would proxy it; the source says direct.
            FetchRequest(two.url("/feed.xml"), options=RequestOptions(proxy=DIRECT)),
        ]
        results = fetch_all_sync(requests, FAST)
    assert [r.error for r in results] == [None, None]
    assert forward_proxy.urls() == [requests[0].url]
    assert env_proxy.urls() == []


def test_a_socks5_proxy_carries_the_request(two_sites: tuple[FeedServer, FeedServer]) -> None:
    one, _ = two_sites
    with Socks5Proxy() as socks:
        request = FetchRequest(one.url("/feed.xml"), options=RequestOptions(proxy=socks.url))
        [result] = fetch_all_sync([request], FAST)
    assert result.error is None and b"News from site one" in (result.body or b"")
    assert socks.targets == [("127.0.0.2", one.port)]


def test_a_refusing_proxy_fails_its_sources_alone(
    two_sites: tuple[FeedServer, FeedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = two_sites
    with ForwardProxy(password=PROXY_PASSWORD) as proxy:
        wrong = proxy.url.replace("http://", "http://proxyuser:not-it@")
        requests = [FetchRequest(one.url("/feed.xml"), options=RequestOptions(proxy=wrong)),
                    FetchRequest(two.url("/feed.xml"))]
        results = fetch_all_sync(requests, FAST)
    assert results[0].status == 407 and results[0].error_kind == "http"
    assert "not-it" not in (results[0].error or "")
    assert results[1].error is None


# --- The command line: environment and feeds.toml ---------------------------


def _project(root: Path, sources: str, config: str = "") -> Path:
    (root / "sources").mkdir(parents=True)
    (root / "sources" / "links.toml").write_text(sources, encoding="utf-8")
    (root / "feeds.toml").write_text('title = "Proxied"\n' + config, encoding="utf-8")
    return root


def _feeds(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = child_env(**env)
    for name in PROXY_VARIABLES:
        if name not in env:
            base.pop(name, None)
        if name.lower() not in env:
            base.pop(name.lower(), None)
    return subprocess.run([sys.executable, "-m", "feeds", *args], cwd=root, env=base,
                          capture_output=True, text=True, timeout=120, check=False)


def _published_titles(root: Path) -> set[str]:
    return {e.title for e in assert_valid_atom(root / "output" / "all.atom").entries}


def test_build_behind_the_environment_proxy_publishes_every_source(
    tmp_path: Path, two_sites: tuple[FeedServer, FeedServer], forward_proxy: ForwardProxy
) -> None:
    one, two = two_sites
    root = _project(tmp_path, f'[[source]]\nurl = "{one.url("/feed.xml")}"\n\n'
                              f'[[source]]\nurl = "{two.url("/feed.xml")}"\n')
    done = _feeds(root, "build", HTTP_PROXY=forward_proxy.url, NO_PROXY="127.0.0.3")
    assert done.returncode == 0, done.stderr
    assert _published_titles(root) == {"News from site one", "News from site two"}
    assert forward_proxy.urls() == [one.url("/feed.xml")]
    assert len(two.requests) == 1


def test_feeds_toml_proxy_and_a_source_going_direct(
    tmp_path: Path, two_sites: tuple[FeedServer, FeedServer]
) -> None:
    one, two = two_sites
    with ForwardProxy(password=PROXY_PASSWORD) as proxy:
        with_secret = proxy.url.replace("http://", f"http://proxyuser:{PROXY_PASSWORD}@")
        root = _project(tmp_path,
                        f'[[source]]\nurl = "{one.url("/feed.xml")}"\n\n'
                        f'[[source]]\nurl = "{two.url("/feed.xml")}"\nproxy = "direct"\n',
                        f'proxy = "{with_secret}"\n')
        done = _feeds(root, "build")
        shown = _feeds(root, "sources")
        listed = _feeds(root, "sources", "--json")
    assert done.returncode == 0, done.stderr
    assert _published_titles(root) == {"News from site one", "News from site two"}
    assert proxy.urls() == [one.url("/feed.xml")]  # and it checked the credentials
    assert len(two.requests) == 1
    assert "proxy: http://***@127.0.0.1:" in shown.stdout and "proxy: direct" in shown.stdout
    by_url = {s["url"]: s for s in json.loads(listed.stdout)}
    assert by_url[one.url("/feed.xml")]["proxy"].startswith("http://***@127.0.0.1:")
    assert by_url[two.url("/feed.xml")]["proxy"] == "direct"
    for run in (done, shown, listed):
        assert PROXY_PASSWORD not in run.stdout + run.stderr
    for path in root.rglob("*"):
        if path.is_file() and path.name != "feeds.toml":  # where it was given
            assert PROXY_PASSWORD.encode() not in path.read_bytes(), path


def test_a_proxy_that_is_no_url_is_refused_by_name(tmp_path: Path) -> None:
    root = _project(tmp_path, '[[source]]\nurl = "http://127.0.0.2:9/feed"\nproxy = "ftp://x"\n',
                    'proxy = "gopher://proxy:70"\n')
    done = _feeds(root, "check")
    assert done.returncode != 0
    assert "feeds.toml: 'proxy' must be a proxy URL" in done.stderr


def test_a_proxy_that_cannot_be_reached_is_named_without_its_password(
    feed_server: FeedServer,
) -> None:
    import socket

    url = feed_server.route("/feed.xml", Response(body=rss([("a", "A", "a")])))
    with socket.socket() as closed:  # a port nothing listens on once closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    proxy = f"http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:{port}"
    [result] = fetch_all_sync([FetchRequest(url, options=RequestOptions(proxy=proxy))], FAST)
    assert result.error_kind == "network"
    assert result.error == f"connection refused (through the proxy http://***@127.0.0.1:{port})"
    assert feed_server.requests == []
