"""URLs from feeds: made absolute for publishing, made canonical for de-duplication.

Two different jobs. `absolute_url` produces a link a reader can follow, so it
keeps everything the URL says. `canonical_link` produces a *key*: the same
article reached through two sources (one feed links `http://www.example.com/a?
utm_source=rss`, an aggregator links `https://example.com/a`) must give the
same key, and the key is never fetched or shown.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import quote, unquote_plus, urljoin, urlsplit

from ..model import Person
from .sanitise import clean_text, collapse_text

# Query parameters that only say how someone arrived (campaigns, click ids,
# newsletter ids, referrers), never which page it is. Compared case-insensitively.
TRACKING_PARAMS: frozenset[str] = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
    "twclid", "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "ref",
    "ref_src", "ref_url", "_ga", "_gl", "_hsenc", "_hsmi", "__hssc", "__hstc",
    "__hsfp", "hsctatracking", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id",
    "vero_conv", "wickedid", "rb_clickid", "s_cid", "ncid", "cmpid", "sr_share",
    "pk_campaign", "pk_kwd", "pk_keyword", "pk_source", "pk_medium", "pk_content",
})  # fmt: skip
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "mtm_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are in a path or query: RFC 3986 pchar plus "/" and "?".
_SAFE = frozenset("!$&'()*+,;=:@/?") | _UNRESERVED
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})?")
# RFC 5322 addr-spec, loosely: one @, no spaces, nothing that ends the form.
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+")
# Spaces and `<>"`, and the code points RFC 3987 §2.2 leaves out of IRIs
# (surrogates, noncharacters such as U+FFFE and U+2FFFE, tag characters and,
# outside a query, private use, here everywhere): a published link must be an
# IRI, so these are percent-encoded. Other non-ASCII stays as it is, readable
# and the same as in the links already stored.
_NONCHARACTERS = "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
_UNSAFE_IN_LINK = re.compile(
    '[\\s<>"\x7f\ud800-\uf8ff\ufdd0-\ufdef\U000e0000-\U000e0fff\U000f0000-\U0010ffff'
    + _NONCHARACTERS + "]")
# The same characters of ASCII: a smaller class, searched four times faster.
_UNSAFE_IN_ASCII_LINK = re.compile('[\\s<>"\x7f]')
# An absolute http(s) link in its plainest shape: a lower-case scheme, a host
# of letters, digits, dots and hyphens, no port, user, escape, parameters,
# dot segment or fragment, and a path and query of unreserved characters and
# a few delimiters. urljoin gives it back as it is against any base, and each
# check of `absolute_url` passes it unchanged; most entry links are such.
_PLAIN_LINK = re.compile(
    r"(?!.*/\.)https?://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~/!$&'()*+,=:@-]*)?"
    r"(?:\?[A-Za-z0-9._~/!$&'()*+,=:@-]+)?")
# An http(s) link `canonical_link` needs no urllib for: a plain host (no user,
# port or brackets), a path and query of characters `_normalise_escapes`
# keeps as they are (no `%`), no fragment and no tab or line break (urlsplit
# drops those). Groups: the host, the path, the query.
_PLAIN_KEYED = re.compile(
    r"https?://([A-Za-z0-9.-]+)(/[A-Za-z0-9._~/!$&'()*+,;=:@-]*)?(?:\?([A-Za-z0-9._~/!$&'()*+,;=:@?-]*))?")
_BAD_AUTHORITY = re.compile(r'[\\{}|^`"<>\[\]]|%(?![0-9A-Fa-f]{2})')
_NOT_IN_PATH = re.compile(r"[\[\]{}|\\^`]|%(?![0-9A-Fa-f]{2})")
# What RFC 3986 allows nowhere in a URI: non-ASCII (RFC 3987 §3.1 maps it to
# UTF-8 escapes), controls, space and `<>"{}|\^``.
_NOT_IN_URI = re.compile(r'[^\x21-\x7e]|[<>"{}|\\^`]')
# RFC 4151 §2.1: tagURI = "tag:" taggingEntity ":" specific [ "#" fragment ],
# taggingEntity = (DNSname / emailAddress) "," date, specific = *(pchar / "/" / "?").
_DNS_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
_TAG_CHARS = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*"
# The same without escapes: one class, which the regular expression engine runs
# through several times faster than the alternation.
_TAG_CHARS_PLAIN = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@/?-]*")
_TAG_URI = re.compile(
    rf"tag:(?:{_DNS_NAME}|[A-Za-z0-9._-]+@{_DNS_NAME}),\d{{4}}(?:-\d\d(?:-\d\d)?)?:"
    rf"{_TAG_CHARS}(?:#{_TAG_CHARS})?")
_UUID_URN = re.compile(r"urn:uuid:[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}", re.IGNORECASE)
_ABSOLUTE_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9._~!$&'()*+,;=:@/?#\[\]-]|%[0-9A-Fa-f]{2})+")


def canonical_link(url: str) -> str:
    """The de-duplication key of an http(s) URL, in the scheme-less form `//host/path?query`.

    http and https give the same key (sites move between them and feeds lag
    behind), so the key has no scheme. The host is lower-cased, IDNA-encoded
    and loses a leading `www.`, user info and its scheme's default port.
    Tracking parameters (`TRACKING_PARAMS`, `utm_*`, `mtm_*`) and the fragment
    are removed; other parameters keep their order. The path is kept, trailing
    slash included, with percent-escapes normalised (RFC 3986 §6.2.2.2).
    Anything that is not an http(s) URL with a host (`urn:`, `tag:`, a
    relative path) is returned stripped but otherwise unchanged.
    The function is idempotent: a key maps to itself.
    """
    text = clean_text(url).strip()
    plain = _PLAIN_KEYED.fullmatch(text)
    if plain is None:
        return _canonical_by_urllib(text)
    # What `_canonical_by_urllib` gives such a link, without its splits.
    host = _canonical_host(plain[1])
    if not host:
        return text
    query = "&".join(p for p in (plain[3] or "").split("&") if p and not _is_tracking(p))
    return f"//{host}{plain[2] or '/'}" + (f"?{query}" if query else "")


def _canonical_by_urllib(text: str) -> str:
    """`canonical_link` of stripped, cleaned `text`, by urllib's parts: for any link."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    try:
        port = parts.port
    except ValueError:
        port = None  # an invalid port names no real page; drop it
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "") or not parts.netloc or not parts.hostname:
        return text
    host = _canonical_host(parts.hostname)
    if not host:
        return text
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = _normalise_escapes(parts.path) or "/"
    params = [_normalise_escapes(p) for p in parts.query.split("&") if p]
    query = "&".join(p for p in params if not _is_tracking(p))
    return f"//{netloc}{path}" + (f"?{query}" if query else "")


def _canonical_host(hostname: str) -> str:
    """The host lower-cased, IDNA-encoded when possible, without trailing dot or `www.`."""
    host = hostname.lower().rstrip(".")
    if not host.isascii():
        # Not a valid IDN: the lower-cased Unicode form is still a stable key.
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
        host = host.lower().rstrip(".")
    # `www.example.com` and `example.com` serve the same site in practice;
    # `www.com` keeps its name, since without `www.` no domain would be left.
    while host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    return host


def _normalise_escapes(text: str) -> str:
    """`text` with unsafe characters escaped and escapes in one spelling.

    Unreserved characters are decoded (`%7E` → `~`), other escapes upper-cased
    (`%2f` → `%2F`), a `%` that starts no escape becomes `%25`, and anything
    outside the safe set (spaces, non-ASCII) is percent-encoded as UTF-8, so
    `/café` and `/caf%C3%A9` give the same key.
    """

    def escape(m: re.Match[str]) -> str:
        hexdigits = m.group(1)
        if hexdigits is None:
            return "%25"
        char = chr(int(hexdigits, 16))
        return char if char in _UNRESERVED else "%" + hexdigits.upper()

    escaped = _ESCAPE.sub(escape, text)
    if all(c in _SAFE or c == "%" for c in escaped):
        return escaped
    return "".join(
        c if c in _SAFE or c == "%" else "".join(f"%{b:02X}" for b in c.encode("utf-8"))
        for c in escaped
    )


def _percent_encode(m: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8", "surrogatepass"))


def iri_to_uri(text: str) -> str:
    """`text` with what no URI may hold percent-encoded as UTF-8 (RFC 3987 §3.1).

    Non-ASCII, controls, spaces and `<>"{}|\\^`` become escapes; everything
    else, existing escapes included, is kept, so a valid URI is returned
    byte-identical (ids are forever: a changed id is a new entry to readers).
    """
    return _NOT_IN_URI.sub(_percent_encode, text)


def tag_specific(text: str) -> str:
    """`text` as the specific part of a `tag:` URI (RFC 4151 §2.1: *( pchar / "/" / "?" )).

    What pchar does not allow (non-ASCII above all: an id built from the tag
    `科技` or the file `储能 新闻.md`) is percent-encoded as UTF-8; text that is
    already valid is returned unchanged, so no existing id moves. A `%` is
    kept only where it starts an escape.
    """
    if _TAG_CHARS_PLAIN.fullmatch(text) or re.fullmatch(_TAG_CHARS, text):
        return text
    return "".join(
        c if c in _SAFE or (c == "%" and re.match(r"[0-9A-Fa-f]{2}", text[i + 1:i + 3]))
        else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for i, c in enumerate(text)
    )


def valid_id(text: str | None) -> str | None:
    """`text` as an id feed validators accept, or None when it cannot be one.

    An id must be an absolute IRI (RFC 4287 §4.2.6); the W3C validator also
    checks the grammar of `tag:` (RFC 4151) and `urn:uuid:` (RFC 4122) ids.
    Non-ASCII and spaces are encoded (`iri_to_uri`); anything else invalid
    (no scheme, a malformed UUID) gives None, so the caller falls back.
    """
    if text is None:
        return None
    uri = iri_to_uri(clean_text(text).strip())
    if not _ABSOLUTE_URI.fullmatch(uri):
        return None
    scheme = uri.split(":", 1)[0].lower()
    if scheme == "tag" and not _TAG_URI.fullmatch(uri):
        return None
    if uri[:9].lower() == "urn:uuid:" and not _UUID_URN.fullmatch(uri):
        return None
    return uri


def site_uri(url: str) -> str:
    """An http(s) URL as the ASCII URI a client sends: IDNA host, UTF-8 escapes elsewhere.

    The base URL of the site may be written as an IRI (`https://例子.org/订阅/`);
    links that must equal the URL fetched (self links) need the form a
    client fetches. An ASCII URL is returned unchanged.
    """
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    rest = url[len(f"{parts.scheme}://{parts.netloc}"):]
    return iri_to_uri(f"{parts.scheme}://{netloc}{rest}")


def url_path(path: str) -> str:
    """A relative file path (`tags/科技.atom`) as a URL path: each byte outside pchar escaped.

    Links to written files (self links, index.html, feeds.opml) must equal
    the URL a client fetches, which servers decode back to the file name.
    """
    return quote(path, safe="/!$&'()*+,;=:@")


def _is_tracking(param: str) -> bool:
    name = unquote_plus(param.split("=", 1)[0]).strip().lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def absolute_url(url: str | None, base: str | None) -> str | None:
    """`url` resolved against `base` as an absolute http(s) URL, or None.

    Feeds carry relative links (RSS without xml:base, JSON Feed, sloppy Atom);
    a published link must be absolute. Links of any other scheme are refused
    (None) because an entry link is followed by readers: a `javascript:` or
    `data:` link must not get through, and nothing else is a web page.
    Spaces and `<>"` inside the URL are percent-encoded; the rest is kept.
    """
    if url is None:
        return None
    text = clean_text(url).strip()
    if not text:
        return None
    if _PLAIN_LINK.fullmatch(text):
        return text  # what the work below would return, in a tenth of the time
    unsafe = _UNSAFE_IN_ASCII_LINK if text.isascii() else _UNSAFE_IN_LINK
    text = unsafe.sub(_percent_encode, text)
    try:
        joined = urljoin(base, text) if base else text
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    # Past the host, `[]{}|\\^`` and a `%` that starts no escape are not allowed
    # in an IRI either (RFC 3987 §2.2); brackets are, in the host (IPv6).
    try:
        parts.port  # noqa: B018  (raises on a port that is no number: no page has it)
    except ValueError:
        return None
    # Whatever follows an IPv6 host's `]` is checked too (`[::1]{]` is no host).
    authority = parts.netloc.split("]", 1)[-1] if "[" in parts.netloc else parts.netloc
    if _BAD_AUTHORITY.search(authority) or parts.netloc.count("@") > 1:
        return None  # no host has these; the link leads nowhere
    # urlsplit lower-cases the scheme, so `HTTP://` starts the same head; the
    # link keeps the scheme as it was written.
    head = len(f"{parts.scheme}://{parts.netloc}")
    if (joined[:head].lower() == f"{parts.scheme}://{parts.netloc}".lower()
            and _NOT_IN_PATH.search(joined, head)):
        joined = joined[:head] + _NOT_IN_PATH.sub(_percent_encode, joined[head:])
    before, sep, fragment = joined.partition("#")
    if "#" in fragment:  # a second `#` belongs to the fragment's text
        joined = before + sep + fragment.replace("#", "%23")
    return joined


def author_contact(name: str, email: object, uri: object, base: str | None) -> Person | None:
    """The Person for an author named `name`, or None when the feed gave no usable address.

    A feed's author email and URI are kept so that readers can reach the
    author (Atom `author/email` and `author/uri`, RSS `jo@example.org (Jo)`,
    JSON Feed `authors[].url`). An email that is not one address is dropped;
    the URI is resolved against `base` and, like an entry link, must be
    http(s) (a `javascript:` author link must not get through).
    """
    mail = collapse_text(email) if isinstance(email, str) else ""
    mail = mail if _EMAIL.fullmatch(mail) else ""
    link = absolute_url(uri, base) if isinstance(uri, str) else None
    if not name or not (mail or link):
        return None
    return Person(name, mail or None, link)


def host_name(url: str) -> str | None:
    """The host of `url`, lower-cased, or None when it has none or cannot be parsed.

    For naming a source that gives itself no title.
    """
    try:
        return urlsplit(url.strip()).hostname or None
    except ValueError:
        return None
