"""Registrable domains: the unit a politeness budget is shared by (pure).

One operator often serves many feeds from sibling hosts (`a.example.com`,
`b.example.com`, `alice.github.io`); spacing and pauses apply to what they
share, as the public suffix list tells it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import cache
from urllib.parse import urlsplit


def registrable_domain(url: str) -> str:
    """The domain a politeness budget is shared by: `a.b.example.co.uk` → `example.co.uk`.

    Accepts a URL or a bare host name. IP literals, single-label hosts
    (`localhost`) and hosts the public suffix list cannot split are returned
    as they are; an unparseable URL gives "". Only the ICANN part of the
    public suffix list is used, so `alice.github.io` and `bob.github.io`
    share `github.io`: they are served by one operator, who rate-limits them
    together. Pure: the suffix list is the snapshot bundled with tldextract,
    never downloaded.
    """
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:
        return ""
    if not host:
        return ""
    host = host.rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    if "." not in host:
        return host
    split = _suffix_splitter()
    if split is None:
        return _guess_registrable_domain(host)
    return split(host) or host


@cache
def _suffix_splitter() -> Callable[[str], str] | None:
    """tldextract over its bundled snapshot, or None when it is not installed.

    `suffix_list_urls=()` and `cache_dir=None` keep it offline and off disk;
    loading the snapshot takes a few hundred milliseconds, hence the cache.
    """
    try:
        import tldextract  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def split(host: str) -> str:
        return str(extract(host).top_domain_under_public_suffix)

    return split


# Second-level labels that ccTLDs commonly sell under (example.co.uk,
# example.com.au): enough for the fallback to get the usual cases right.
_COMMON_SECOND_LEVEL = frozenset(
    {"ac", "co", "com", "edu", "gob", "gov", "go", "ltd", "mil", "ne", "net", "or", "org", "plc"}
)


def _guess_registrable_domain(host: str) -> str:
    """Without the public suffix list: the last two labels, three under a ccTLD's `co.`."""
    labels = host.split(".")
    keep = 2
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _COMMON_SECOND_LEVEL:
        keep = 3
    return ".".join(labels[-keep:])
