"""Per-source HTTP: user agent, headers, cookies and credentials named by environment variables.

The secrets are given only through the environment of the `feeds`
subprocess; every test that can see an output checks they never show.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from atomcheck import assert_valid_atom
from conftest import child_env
from feedserver import FeedServer, RecordedRequest, Response
from remote_feeds import rss

from feeds.config import FetchSettings, load_config
from feeds.model import FetchRequest, RequestOptions
from feeds.pipeline import source_states
from feeds.remote.http import fetch_all_sync
from feeds.serve import sources_health
from feeds.sources import read_sources, source_from_table

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=5)
USER, PASSWORD, TOKEN = "reader", "pa55-W0RD-secret", "tok-3nv-SECRET"
SECRETS = (PASSWORD, TOKEN, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())


def _guarded(expected: dict[str, str], title: str) -> Callable[[RecordedRequest], Response]:
    """A route answering its feed only to a request carrying every expected header."""

    def answer(request: RecordedRequest) -> Response:
        for name, value in expected.items():
            if request.header(name) != value:
                return Response(status=401, body=f"missing {name}", content_type="text/plain")
        return Response(body=rss([(title, title, "Text.")], title=title),
                        content_type="application/rss+xml")

    return answer


def _feeds(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "feeds", *args], cwd=root,
                          env=child_env(**env), capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture
def guarded_project(project: Path, feed_server: FeedServer) -> Path:
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    feed_server.route("/basic.xml", _guarded(
        {"Authorization": basic, "User-Agent": "Custom Agent/1.0", "X-Client": "feeds-test",
         "Cookie": "consent=yes; lang=en"}, "Basic feed"))
    feed_server.route("/bearer.xml", _guarded(
        {"Authorization": f"Bearer {TOKEN}"}, "Bearer feed"))
    feed_server.route("/open.xml", Response(body=rss([("o", "Open feed", "Text.")]),
                                            content_type="application/rss+xml"))
    (project / "sources" / "links.toml").write_text(f'''
[[source]]
url = "{feed_server.url('/basic.xml')}"
user_agent = "Custom Agent/1.0"
headers = {{ "X-Client" = "feeds-test" }}
cookies = {{ consent = "yes", lang = "en" }}
auth = {{ user_env = "NEWS_USER", password_env = "NEWS_PASS" }}

[[source]]
url = "{feed_server.url('/bearer.xml')}"
auth = {{ token_env = "NEWS_TOKEN" }}

[[source]]
url = "{feed_server.url('/open.xml')}"

[[source]]
url = "{feed_server.url('/bearer.xml?unset')}"
auth = {{ token_env = "NEWS_MISSING_TOKEN" }}
''', encoding="utf-8")
    return project


def test_headers_cookies_and_both_auths_reach_the_server_and_no_secret_shows(
    guarded_project: Path, feed_server: FeedServer
) -> None:
    env = {"NEWS_USER": USER, "NEWS_PASS": PASSWORD, "NEWS_TOKEN": TOKEN}
    built = _feeds(guarded_project, "build", **env)
    assert built.returncode == 0, built.stderr
    titles = {e.title for e in assert_valid_atom(guarded_project / "output" / "all.atom").entries}
    assert titles == {"Basic feed", "Bearer feed", "Open feed"}
    open_request = feed_server.requests_for("/open.xml")[0]
    assert open_request.header("Authorization") is None and open_request.header("Cookie") is None
    # The source whose variable is missing failed alone, named by its variable.
    assert feed_server.requests_for("/bearer.xml?unset") == []
    assert "NEWS_MISSING_TOKEN" in built.stderr
    shown = _feeds(guarded_project, "sources", **env)
    listed = _feeds(guarded_project, "sources", "--json", **env)
    exported = _feeds(guarded_project, "export", **env)
    assert "auth: basic from $NEWS_USER" in shown.stdout
    assert "auth: bearer from $NEWS_TOKEN" in shown.stdout
    assert "headers: X-Client" in shown.stdout and "cookies: consent, lang" in shown.stdout
    assert "last error (config): 'auth' names the environment variable NEWS_MISSING_TOKEN" \
        in shown.stdout
    by_url = {s["url"]: s for s in json.loads(listed.stdout)}
    basic = by_url[feed_server.url("/basic.xml")]
    assert (basic["auth"], basic["user_agent"], basic["headers"], basic["cookies"]) == (
        "basic from $NEWS_USER", "Custom Agent/1.0", "X-Client", "consent, lang")
    assert by_url[feed_server.url("/bearer.xml?unset")]["last_error_kind"] == "config"
    config = load_config(guarded_project)
    states = source_states(config, read_sources(config).sources)
    health = json.dumps(sources_health(states, details=True))
    outputs = [built.stdout, built.stderr, shown.stdout, shown.stderr, listed.stdout,
               exported.stdout, health]
    for secret in SECRETS:
        assert not any(secret in text for text in outputs), secret
        for path in guarded_project.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
    # And the request the server saw did carry them: the test can fail.
    seen = feed_server.requests_for("/basic.xml")[0]
    assert seen.header("Authorization") == "Basic " + SECRETS[2]


def test_credentials_go_to_the_source_site_only(feed_server: FeedServer) -> None:
    other_site = feed_server.route("/elsewhere.xml", Response(body=rss([("e", "E", "e")])))
    other_site = other_site.replace("127.0.0.1", "localhost")
    feed_server.route("/moved.xml", Response(status=302, headers={"Location": other_site}))
    feed_server.route("/same.xml", Response(status=302, headers={"Location": "/here.xml"}))
    feed_server.route("/here.xml", Response(body=rss([("h", "H", "h")])))
    credentials = (("X-Client", "feeds-test"), ("Cookie", "session=abc"),
                   ("Authorization", f"Bearer {TOKEN}"))
    requests = [
        FetchRequest(url, options=RequestOptions(user_agent="Custom Agent/1.0",
                                                 credentials=credentials,
                                                 origin=feed_server.url("/moved.xml")))
        for url in (feed_server.url("/moved.xml"), feed_server.url("/same.xml"))
    ]
    assert TOKEN not in repr(requests)
    results = fetch_all_sync(requests, FAST)
    assert [r.error for r in results] == [None, None]
    [moved] = feed_server.requests_for("/moved.xml")
    [elsewhere] = feed_server.requests_for("/elsewhere.xml")
    [here] = feed_server.requests_for("/here.xml")
    for name, value in credentials:
        assert moved.header(name) == value and here.header(name) == value
        assert elsewhere.header(name) is None, name
    assert elsewhere.header("User-Agent") == "Custom Agent/1.0"


def test_conditional_requests_still_use_the_stored_validators(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", Response(body=rss([("a", "A", "a")]), etag='"v1"'))
    options = RequestOptions(credentials=(("Accept", "application/rss+xml"),), origin=url)
    [result] = fetch_all_sync([FetchRequest(url, etag='"v1"', options=options)], FAST)
    assert result.not_modified
    [seen] = feed_server.requests_for("/feed.xml")
    assert seen.header("Accept") == "application/rss+xml"
    assert seen.header("If-None-Match") == '"v1"'


BAD_TABLES = [
    ({"headers": {"Host": "x"}}, "'headers': 'Host' is set by the fetcher"),
    ({"headers": {"If-None-Match": "x"}}, "'headers': 'If-None-Match' is set by the fetcher"),
    ({"headers": {"accept-encoding": "br"}}, "'headers': 'accept-encoding' is set by the fetcher"),
    ({"headers": {"Authorization": "Bearer s3cret"}}, "'headers': 'Authorization' comes from 'auth'"),
    ({"headers": {"Cookie": "a=s3cret"}}, "'headers': 'Cookie' comes from 'cookies'"),
    ({"headers": {"User-Agent": "me"}}, "'headers': 'User-Agent' comes from 'user_agent'"),
    ({"headers": {"X-Key": "s3cret\nX-Other: 1"}}, "the value of 'X-Key' must be a one-line"),
    ({"headers": {"X-Key": "s3cret-café"}}, "the value of 'X-Key' must be a one-line"),
    ({"headers": {"Bad Name": "x"}}, "'headers': 'Bad Name' is not a valid name"),
    ({"headers": "X-Key: s3cret"}, "'headers' must be a table of header names to strings"),
    ({"cookies": {"session": "a;s3cret"}}, "'cookies': a value cannot hold"),
    ({"cookies": {"session": 5}}, "the value of 'session' must be a one-line string"),
    ({"auth": {"user": "me", "password": "s3cret"}}, "never the secrets"),
    ({"auth": {"token_env": "s3cret value"}}, "'token_env' must name an environment variable"),
    ({"auth": {"user_env": "A"}}, "'auth' must be"),
    ({"auth": "s3cret"}, "'auth' must be { user_env"),
    ({"proxy": "ftp://proxy"}, "'proxy' must be a proxy URL"),
    ({"retry_after_scope": "domain"}, "'retry_after_scope' must be \"site\" or \"source\""),
    ({"user_agent": "a\nb"}, "'user_agent' must be one line of ASCII"),
]


@pytest.mark.parametrize(("extra", "reason"), BAD_TABLES)
def test_bad_http_keys_are_refused_by_name_without_their_value(
    extra: dict[str, object], reason: str
) -> None:
    from feeds.errors import SourceError

    with pytest.raises(SourceError) as raised:
        source_from_table({"url": "https://example.org/feed", **extra}, "links.toml:3", "x")
    assert raised.value.where == "links.toml:3"
    assert reason in raised.value.reason
    assert "s3cret" not in str(raised.value)


def test_good_http_keys_are_read() -> None:
    source = source_from_table({
        "url": "https://example.org/feed", "proxy": "socks5://127.0.0.1:1080",
        "user_agent": "UA", "headers": {"Accept-Language": "zh"}, "cookies": {"a": "1"},
        "auth": {"token_env": "TOKEN"}, "retry_after_scope": "source"}, "links.toml:1", "x")
    assert source.http is not None
    assert source.http.proxy == "socks5://127.0.0.1:1080"
    assert source.http.headers == (("Accept-Language", "zh"),)
    assert str(source.http.auth) == "bearer from $TOKEN"
    assert source.http.retry_after_scope == "source"
    assert source_from_table({"url": "https://example.org/feed"}, "l:1", "x").http is None


@pytest.mark.parametrize(("auth", "environ", "named"), [
    ({"token_env": "T"}, {}, "'auth' names the environment variable T, which is not set"),
    ({"token_env": "T"}, {"T": ""}, "variable T, which is not set (or empty)"),
    ({"token_env": "T"}, {"T": "s3cret\nX-Injected: 1"}, "T must hold a token of visible ASCII"),
    ({"token_env": "T"}, {"T": "s3cret-é"}, "T must hold a token of visible ASCII"),
    ({"user_env": "U", "password_env": "P"}, {"U": "me"}, "environment variable P, which"),
    ({"user_env": "U", "password_env": "P"}, {"U": "m:e", "P": "s3cret"}, "no ':'"),
])
def test_unusable_credentials_fail_the_source_naming_the_variable_only(
    auth: dict[str, str], environ: dict[str, str], named: str, tmp_path: Path
) -> None:
    from feeds.errors import SourceError
    from feeds.remote.options import request_options

    source = source_from_table({"url": "https://example.org/feed", "auth": auth}, "l:1", "x")
    with pytest.raises(SourceError) as raised:
        request_options(source, load_config(tmp_path), environ)
    assert named in str(raised.value) and raised.value.where == "https://example.org/feed"
    assert "s3cret" not in str(raised.value)


def test_credentials_are_read_from_the_environment_given(tmp_path: Path) -> None:
    from feeds.remote.options import request_options

    source = source_from_table({"url": "https://example.org/feed", "cookies": {"a": "1"},
                                "auth": {"user_env": "U", "password_env": "P"}}, "l:1", "x")
    options = request_options(source, load_config(tmp_path), {"U": "Aladdin", "P": "open sesame"})
    assert options.credentials == (("Cookie", "a=1"),
                                   ("Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="))
    assert options.origin == "https://example.org/feed" and not options.pause_source
    assert "QWxhZGRpbjpvcGVuIHNlc2FtZQ" not in repr(options)
