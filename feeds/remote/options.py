"""How one source's requests are sent (pure): its settings and feeds.toml's, secrets resolved.

Credentials are named in links.toml by environment variables and read here,
from the environment the caller passes, at the moment of a refresh: the
secrets live only in the process's memory and in the requests to the
source's own site. A variable that is missing stops that source alone,
with a message naming the variable (never a value).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from ..config import Config
from ..errors import SourceError
from ..model import RequestOptions, SourceAuth, SourceConfig
from .proxies import shown_proxy


def request_options(source: SourceConfig, config: Config,
                    environ: Mapping[str, str]) -> RequestOptions:
    """The options for `source`'s requests; SourceError (at its URL) if a secret is missing."""
    http = source.http
    scope = (http.retry_after_scope if http else None) or config.retry_after_scope
    proxy = (http.proxy if http else None) or config.proxy
    if http is None:
        return RequestOptions(proxy=proxy, pause_source=scope == "source")
    credentials = list(http.headers)
    if http.cookies:
        credentials.append(("Cookie", "; ".join(f"{k}={v}" for k, v in http.cookies)))
    if http.auth is not None:
        credentials.append(("Authorization", _authorization(source.url, http.auth, environ)))
    return RequestOptions(proxy=proxy, user_agent=http.user_agent,
                          credentials=tuple(credentials), origin=source.url,
                          pause_source=scope == "source")


def _authorization(url: str, auth: SourceAuth, environ: Mapping[str, str]) -> str:
    """The Authorization header's value: `Bearer token` or `Basic base64(user:password)`."""

    def read(name: str) -> str:
        value = environ.get(name, "")
        if not value:
            raise SourceError(url, f"'auth' names the environment variable {name}, which is "
                                   "not set (or empty)")
        return value

    if auth.token_env:
        token = read(auth.token_env)
        # A header value must be visible ASCII: anything else would fail in
        # the HTTP library, whose message would quote the token.
        if not (token.isascii() and token.isprintable()) or " " in token:
            raise SourceError(url, f"the environment variable {auth.token_env} must hold a "
                                   "token of visible ASCII characters")
        return f"Bearer {token}"
    assert auth.user_env and auth.password_env
    user, password = read(auth.user_env), read(auth.password_env)
    if ":" in user or not (user + password).isprintable():
        raise SourceError(url, f"the environment variables {auth.user_env} and "
                               f"{auth.password_env} must hold printable text, and the user "
                               "name no ':'")
    pair = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def describe_http(source: SourceConfig, config: Config) -> dict[str, str | None]:
    """What `feeds sources` shows of how a source is fetched: no secret, no value of one.

    `proxy` is the configured one (its user and password hidden), or
    "environment" when the *_PROXY variables decide; `auth` names the kind and
    the variable, `headers` and `cookies` only their names.
    """
    http = source.http
    proxy = (http.proxy if http else None) or config.proxy
    scope = (http.retry_after_scope if http else None) or config.retry_after_scope
    return {
        "proxy": shown_proxy(proxy) if proxy else "environment",
        "user_agent": http.user_agent if http else None,
        "headers": ", ".join(name for name, _ in http.headers) if http and http.headers else None,
        "cookies": ", ".join(name for name, _ in http.cookies) if http and http.cookies else None,
        "auth": str(http.auth) if http and http.auth else None,
        "retry_after_scope": scope,
    }
