"""Which proxy a request goes through (pure): the configuration's, else the environment's.

httpx reads HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY only when it
builds its own transports; the fetcher brings its own (one small pool per
site, see transport.py), so the same rules are applied here, request by
request, and each pool is opened through the proxy its site needs. The rules
are httpx's (`get_environment_proxies` and `URLPattern`): the scheme's proxy,
else ALL_PROXY's; a NO_PROXY name `example.com` exempts it and its
subdomains, `.example.com` only the subdomains, an IP address or
`localhost` exactly that host, `*` everything. Loopback is not exempt
unless NO_PROXY says so, as in httpx.

A proxy configured in feeds.toml or for a source replaces the environment
for the requests it covers; `direct` there means no proxy at all.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

# A configured proxy that means "connect directly, whatever the environment says".
DIRECT = "direct"
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class _Rule:
    """One line of the routing table: requests it matches go through `proxy` (None: directly)."""

    scheme: str  # "" matches every scheme
    host: re.Pattern[str] | None  # None matches every host
    host_length: int
    port: int | None
    proxy: str | None

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        return ((not self.scheme or self.scheme == scheme)
                and (self.host is None or self.host.match(host) is not None)
                and (self.port is None or self.port == port))

    @property
    def priority(self) -> tuple[int, int, int]:
        # httpx's order: a port first, then the longer host, then the longer scheme.
        return (0 if self.port is not None else 1, -self.host_length, -len(self.scheme))


@dataclass(frozen=True)
class ProxyRules:
    """The environment's proxies as a routing table, most specific rule first."""

    rules: tuple[_Rule, ...] = ()

    def proxy_for(self, url: str, configured: str | None = None) -> str | None:
        """The proxy URL for a request to `url`, or None to connect directly.

        `configured` (from feeds.toml or the source) wins over the
        environment; `direct` means no proxy.
        """
        if configured is not None:
            return None if configured == DIRECT else configured
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = _port(scheme, parts.port)
        for rule in self.rules:
            if rule.matches(scheme, host, port):
                return rule.proxy
        return None


def rules_from_environment(proxies: Mapping[str, str]) -> ProxyRules:
    """The routing table for `proxies`, as `urllib.request.getproxies()` reads the environment.

    The keys are schemes (`http`, `https`, `all`) and `no`, the NO_PROXY list.
    """
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if proxies.get(scheme):
            value = proxies[scheme]
            mounts[f"{scheme}://"] = value if "://" in value else f"http://{value}"
    for name in (n.strip() for n in proxies.get("no", "").split(",")):
        if name == "*":
            return ProxyRules()
        if not name:
            continue
        if "://" in name:
            mounts[name] = None
        elif _is_ip(name, 4):
            mounts[f"all://{name}"] = None
        elif _is_ip(name, 6):
            mounts[f"all://[{name}]"] = None
        elif name.lower() == "localhost":
            mounts[f"all://{name}"] = None
        else:
            mounts[f"all://*{name}"] = None
    rules = [_rule(pattern, proxy) for pattern, proxy in mounts.items()]
    return ProxyRules(tuple(sorted((r for r in rules if r is not None), key=lambda r: r.priority)))


def _rule(pattern: str, proxy: str | None) -> _Rule | None:
    try:
        parts = urlsplit(pattern)
        port = parts.port
    except ValueError:
        return None  # a NO_PROXY entry no URL can match
    scheme = "" if parts.scheme == "all" else parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host or host == "*":
        regex = None
    elif host.startswith("*."):
        regex = re.compile(rf"^.+\.{re.escape(host[2:])}$")
    elif host.startswith("*"):
        regex = re.compile(rf"^(.+\.)?{re.escape(host[1:])}$")
    else:
        regex = re.compile(rf"^{re.escape(host)}$")
    host_length = 0 if host == "*" else len(host)
    return _Rule(scheme, regex, host_length, _port(scheme, port), proxy)


def _port(scheme: str, port: int | None) -> int | None:
    """A URL's port as httpx compares it: the scheme's default counts as none."""
    return None if port == _DEFAULT_PORTS.get(scheme) else port


def _is_ip(name: str, version: int) -> bool:
    try:
        address = ipaddress.ip_address(name.split("/")[0])
    except ValueError:
        return False
    return address.version == version


def check_proxy(value: str) -> str | None:
    """Why `value` cannot be a configured proxy, or None when it can be."""
    if value == DIRECT:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "is not a URL"
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        return (f"must be a proxy URL such as \"http://proxy.example:3128\" or "
                f"\"socks5://127.0.0.1:1080\" (schemes {', '.join(PROXY_SCHEMES)}), "
                f"or \"{DIRECT}\"")
    return None


def shown_proxy(value: str | None) -> str | None:
    """A proxy URL fit to print: any user name and password in it replaced by `***`."""
    if value is None or value == DIRECT:
        return value
    parts = urlsplit(value)
    if "@" not in parts.netloc:
        return value
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
