"""Links: absolute for publishing, canonical for recognising one article from two sources."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from atomcheck import id_problem
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.text.links import (
    TRACKING_PARAMS,
    absolute_url,
    canonical_link,
    host_name,
    iri_to_uri,
    site_uri,
    tag_specific,
    url_path,
    valid_id,
)

# --- canonical_link ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.Example.COM/a?b=1", "//example.com/a?b=1"),
        ("http://example.com/a?b=1", "//example.com/a?b=1"),
        ("//example.com/a?b=1", "//example.com/a?b=1"),
        ("HTTP://EXAMPLE.com:80/a/", "//example.com/a/"),
        ("https://example.com:443", "//example.com/"),
        ("https://example.com:8443/x", "//example.com:8443/x"),
        ("http://example.com:443/x", "//example.com:443/x"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=feed&id=7&fbclid=x&ref=hn#top",
            "//example.com/a?id=7",
        ),
        ("https://example.com/a?b=2&a=1&gclid=z&c", "//example.com/a?b=2&a=1&c"),
        (
            "https://example.com/p?UTM_Campaign=x&mc_cid=1&mc_eid=2&igshid=3&ref_src=twsrc",
            "//example.com/p",
        ),
        ("https://example.com/a?reference=1&pref=2", "//example.com/a?reference=1&pref=2"),
        ("https://example.com/a?&&x=1&", "//example.com/a?x=1"),
        ("https://user:secret@example.com/x", "//example.com/x"),
        ("https://example.com/a/b/", "//example.com/a/b/"),
        ("https://example.com/a/b", "//example.com/a/b"),
        ("https://example.com/a/b#section-2", "//example.com/a/b"),
        ("https://example.com/%7euser/caf%c3%a9/%2f", "//example.com/~user/caf%C3%A9/%2F"),
        ("https://example.com/café?q=a b", "//example.com/caf%C3%A9?q=a%20b"),
        ("https://example.com/100%", "//example.com/100%25"),
        ("https://Bücher.example/", "//xn--bcher-kva.example/"),
        ("https://www.www.example.com/", "//example.com/"),
        ("https://www.com/", "//www.com/"),
        ("https://example.com./x", "//example.com/x"),
        ("https://[2001:DB8::1]:443/x", "//[2001:db8::1]/x"),
        ("  https://example.com/x \n", "//example.com/x"),
        ("urn:uuid:1234", "urn:uuid:1234"),
        ("tag:example.com,2024:x", "tag:example.com,2024:x"),
        ("mailto:a@example.com", "mailto:a@example.com"),
        ("/relative/path", "/relative/path"),
    ],
)
def test_canonical_link(url: str, key: str) -> None:
    assert canonical_link(url) == key


def test_the_same_article_from_two_sources_has_one_key() -> None:
    from_feed = "http://www.example.com/2024/03/post/?utm_source=feedburner&utm_medium=feed#more-1"
    from_aggregator = "https://example.com/2024/03/post/?ref=aggregator"
    assert canonical_link(from_feed) == canonical_link(from_aggregator)
    assert canonical_link("https://example.com/2024/03/post") != canonical_link(from_aggregator)


_LABEL = st.from_regex(r"[A-Za-z0-9ü][A-Za-z0-9-]{0,8}", fullmatch=True)
_HOST = st.builds(
    lambda www, labels: ("www." if www else "") + ".".join(labels),
    st.booleans(),
    st.lists(_LABEL, min_size=1, max_size=3),
)
_PARAM_NAME = st.sampled_from(["utm_source", "UTM_medium", "fbclid", "ref", "id", "q", "page", "b"])
_PARAM = st.builds(lambda k, v: f"{k}={v}", _PARAM_NAME, st.text(max_size=4)) | st.text(max_size=6)
_URL = st.builds(
    lambda scheme, host, port, segments, params, fragment: (
        f"{scheme}{host}{port}/" + "/".join(segments)
        + ("?" + "&".join(params) if params else "") + fragment
    ),
    st.sampled_from(["http://", "https://", "HTTPS://", "//"]),
    _HOST,
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.lists(st.text(max_size=6), max_size=4),
    st.lists(_PARAM, max_size=4),
    st.sampled_from(["", "#", "#top", "#a?b=c"]),
)


@given(_URL)
def test_canonical_link_is_idempotent_on_urls(url: str) -> None:
    key = canonical_link(url)
    assert canonical_link(key) == key


@given(_URL)
def test_canonical_link_has_no_scheme_tracking_or_fragment(url: str) -> None:
    key = canonical_link(url)
    parts = urlsplit(key)
    assert key.startswith("//") and parts.scheme == "" and parts.fragment == ""
    assert not (parts.hostname or "").startswith("www.") or (parts.hostname or "").count(".") == 1
    for param in filter(None, parts.query.split("&")):
        name = param.split("=", 1)[0].lower()
        assert name not in TRACKING_PARAMS and not name.startswith("utm_")


@given(st.text())
def test_canonical_link_is_idempotent_on_any_text(text: str) -> None:
    key = canonical_link(text)
    assert canonical_link(key) == key


# --- absolute_url -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("posts/1", "https://example.org/blog/", "https://example.org/blog/posts/1"),
        ("../x", "https://example.org/blog/a/", "https://example.org/blog/x"),
        ("//cdn.example/x", "https://a.example/", "https://cdn.example/x"),
        ("/a b", "https://x.example/z", "https://x.example/a%20b"),
        ("https://o.example/p#frag", "https://x.example/", "https://o.example/p#frag"),
        ("https://o.example/", None, "https://o.example/"),
        ("  https://o.example/\n", None, "https://o.example/"),
        ("x", None, None),
        ("x", "urn:uuid:1", None),
        (None, "https://x.example/", None),
        ("", "https://x.example/", None),
        ("  ", "https://x.example/", None),
        ("javascript:alert(1)", "https://x.example/", None),
        ("data:text/html,hi", "https://x.example/", None),
        ("mailto:a@b.example", "https://x.example/", None),
        ("https://[::1", "https://x.example/", None),
    ],
)
def test_absolute_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert absolute_url(url, base) == expected


@given(st.text(), st.sampled_from([None, "https://example.org/a/b", "http://x.example", "urn:x"]))
def test_absolute_url_gives_http_or_nothing(url: str, base: str | None) -> None:
    result = absolute_url(url, base)
    assert result is None or urlsplit(result).scheme.lower() in ("http", "https")


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://WWW.Example.com:8080/feed", "www.example.com"),
        ("urn:uuid:1", None),
        ("https://[::1", None),
        ("", None),
    ],
)
def test_host_name(url: str, host: str | None) -> None:
    assert host_name(url) == host


# --- ids and links that validators accept --------------------------------------

_PCHAR = "ABCXYZabcxyz0189-._~!$&'()*+,;=:@/?"


@given(st.text(alphabet=_PCHAR))
def test_a_valid_tag_specific_never_changes(text: str) -> None:
    assert tag_specific(text) == text


@given(st.text())
def test_any_text_becomes_a_valid_tag_specific_that_decodes_back(text: str) -> None:
    text = text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates in a file name
    specific = tag_specific(text)
    assert id_problem(f"tag:example.org,2024:{specific}") is None
    if "%" not in text:
        assert unquote(specific) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("tag:example.org,2024:a/b", "tag:example.org,2024:a/b"),
        ("urn:example:plain", "urn:example:plain"),
        ("https://example.org/a?b=1#c", "https://example.org/a?b=1#c"),
        ("https://example.org/a%20b", "https://example.org/a%20b"),
        ("https://example.org/文章", "https://example.org/%E6%96%87%E7%AB%A0"),
        ("https://example.org/a b", "https://example.org/a%20b"),
        ("tag:example.org,2024:科技", "tag:example.org,2024:%E7%A7%91%E6%8A%80"),
        ("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
        ("urn:uuid:not-a-uuid", None),
        ("tag:example.org:no-date", None),
        ("just words", None),
        ("", None),
        (None, None),
    ],
)
def test_valid_id(value: str | None, expected: str | None) -> None:
    assert valid_id(value) == expected
    if expected is not None:
        assert id_problem(expected) is None


def test_iri_to_uri_keeps_a_uri_and_encodes_the_rest() -> None:
    assert iri_to_uri("https://example.org/a?b=%41") == "https://example.org/a?b=%41"
    assert iri_to_uri('https://例子.org/"a"') == "https://%E4%BE%8B%E5%AD%90.org/%22a%22"


def test_url_path_escapes_each_non_ascii_byte_and_keeps_slashes() -> None:
    assert url_path("tags/科技.atom") == "tags/%E7%A7%91%E6%8A%80.atom"
    assert url_path("custom/tech-zh.atom") == "custom/tech-zh.atom"


@given(st.text(), st.sampled_from(["", "http://example.org", "https://例子.org:8080/"]))
def test_a_published_link_is_always_an_iri(text: str, prefix: str) -> None:
    """Whatever a feed puts in a link, what is published is an IRI (RFC 3987) or nothing."""
    import rfc3987

    link = absolute_url(prefix + text, "http://example.org/dir/")
    assert link is None or rfc3987.match(link, "IRI"), link


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
        ("https://example.org/a%20b/", "https://example.org/a%20b/"),
        ("https://例子.org:8443/订阅/", "https://xn--fsqu00a.org:8443/%E8%AE%A2%E9%98%85/"),
    ],
)
def test_site_uri_is_what_a_client_fetches(url: str, uri: str) -> None:
    assert site_uri(url) == uri


@pytest.mark.parametrize(("url", "base", "absolute"), [
    ('https://e.org/a b"c<d>e', None, "https://e.org/a%20b%22c%3Cd%3Ee"),
    ('/x y"<>', "https://e.org/base/", "https://e.org/x%20y%22%3C%3E"),
])
def test_spaces_quotes_and_angle_brackets_are_escaped_in_links(
    url: str, base: str | None, absolute: str
) -> None:
    """Written into an attribute or read by a reader's parser, these would end the URL early."""
    assert absolute_url(url, base) == absolute


@pytest.mark.parametrize(("url", "base", "absolute"), [
    ("https://e.org/a#b#c", None, "https://e.org/a#b%23c"),  # a second `#` is the fragment's text
    ("/p#f#g", "https://e.org/a/", "https://e.org/p#f%23g"),
    ("http://[::1]:8080/x?q=1", None, "http://[::1]:8080/x?q=1"),  # brackets belong to IPv6 hosts
    ("http://[::1]:8080/a|b", None, "http://[::1]:8080/a%7Cb"),
    ("https://e.org/a|b{c}", None, "https://e.org/a%7Cb%7Bc%7D"),
    ("https://e.org/%zz", None, "https://e.org/%25zz"),  # a `%` that starts no escape
    ("http://user@e.org/x", None, "http://user@e.org/x"),
    ("http://a@b@e.org/", None, None),  # no host has two user parts
    ("https://e.org:99999/", None, None),
    ("https://e.org:port/", None, None),
    ("http://e]x.org/", None, None),  # a bracket outside an IPv6 host
    ("http://[::1]{]/", None, None),  # nor after one
    ("HTTP://e.org/a|b", None, "HTTP://e.org/a%7Cb"),  # whatever the scheme's case
    ("https:///x", None, None),  # http(s) without a host leads nowhere
    ("ftp://e.org/", None, None),
    ("x/y", None, None),  # relative, and nothing to resolve it against
])
def test_absolute_url_examples(url: str, base: str | None, absolute: str | None) -> None:
    assert absolute_url(url, base) == absolute


@pytest.mark.parametrize(("url", "key"), [
    ("https://www.Example.COM./a", "//example.com/a"),  # case, trailing dot and www. go
    ("https://www.www.e.org/", "//e.org/"),
    ("https://www.org/", "//www.org/"),  # a bare www.TLD is the host itself
    ("https://例子.org./x", "//xn--fsqu00a.org/x"),  # one spelling of an internationalised host
    ("https://xn--fsqu00a.org/x", "//xn--fsqu00a.org/x"),
    # Full stops as Chinese and Japanese text writes them are dots of the name too.
    ("https://bücher。example。/x", "//xn--bcher-kva.example/x"),
    # A label over 63 characters is no valid IDN: its lower-cased form is the key.
    ("https://Bü" + "x" * 64 + ".example/", "//bü" + "x" * 64 + ".example/"),
    ("https://example.com:abc/x", "//example.com/x"),  # a port that is no number names no page
    ("//WWW.Example.com/a?utm_source=x", "//example.com/a"),  # scheme-less, as keys are written
])
def test_canonical_hosts(url: str, key: str) -> None:
    assert canonical_link(url) == key


@pytest.mark.parametrize(("text", "specific"), [
    ("a%zz", "a%25zz"),  # a `%` that starts no escape is escaped itself
    ("a%41b", "a%41b"),  # an escape is kept as it is
    ("a:b/c?d", "a:b/c?d"),  # RFC 4151 allows these
    ("储能 新闻", "%E5%82%A8%E8%83%BD%20%E6%96%B0%E9%97%BB"),
])
def test_tag_specific_examples(text: str, specific: str) -> None:
    assert tag_specific(text) == specific


def test_url_path_keeps_the_characters_a_path_allows() -> None:
    assert url_path("a b/c(d)@e:f;g=h,i+j$k!l*m'n&o") == "a%20b/c(d)@e:f;g=h,i+j$k!l*m'n&o"


def test_tracking_parameters_go_whatever_their_value_holds() -> None:
    assert canonical_link("https://e.org/?utm_source=a=b&x=1") == "//e.org/?x=1"
    assert canonical_link("https://e.org/?fbclid=a=b&x=1") == "//e.org/?x=1"


@pytest.mark.parametrize(("url", "key"), [
    ("https://example.com/a?é", "//example.com/a?%C3%A9"),  # a parameter of non-ASCII alone
    ("https://example.com/café/%2f", "//example.com/caf%C3%A9/%2F"),  # escapes beside non-ASCII
])
def test_non_ascii_is_encoded_once_and_escapes_are_kept_in_a_key(url: str, key: str) -> None:
    """`/café` and `/caf%C3%A9` are one page: the key must not depend on which was written."""
    assert canonical_link(url) == key
    assert canonical_link(key.replace("//", "https://", 1)) == key


@pytest.mark.parametrize("url", ["http://:80/x", "https://user@/x", "ftp://Example.com/a"])
def test_what_is_no_http_url_with_a_host_is_its_own_key(url: str) -> None:
    assert canonical_link(url) == url


def test_a_lone_surrogate_from_a_broken_file_name_is_encoded_in_ids() -> None:
    """An article id comes from its file name, which may hold bytes that are no UTF-8."""
    assert iri_to_uri("a\udc80") == "a%ED%B2%80"
    assert tag_specific("a\udc80 b") == "a%ED%B2%80%20b"


def test_escapes_are_kept_beside_text_that_must_be_encoded() -> None:
    """In either case of hex digit: an id that held an escape keeps it when the rest is encoded."""
    assert tag_specific("科%4A%4a%") == "%E7%A7%91%4A%4a%25"


def test_a_base_url_whose_host_is_no_valid_idn_is_still_an_ascii_uri() -> None:
    """RFC 3986 §3.2.2 allows a percent-encoded host: the self link stays a URI."""
    host = "bü" + "x" * 64 + ".example"
    assert site_uri(f"https://{host}/订阅/") == (
        f"https://b%C3%BC{'x' * 64}.example/%E8%AE%A2%E9%98%85/")


def test_site_uri_of_an_internationalised_host_with_a_port() -> None:
    assert site_uri("https://例子.org:8443/订阅/") == (
        "https://xn--fsqu00a.org:8443/%E8%AE%A2%E9%98%85/")


def test_author_contacts_keep_only_what_is_usable() -> None:
    from feeds.model import Person
    from feeds.text.links import author_contact

    base = "https://e.org/"
    assert author_contact("Jo", "not-an-email", "/p", base) == Person("Jo", None, "https://e.org/p")
    assert author_contact("Jo", "jo@e.org", 5, base) == Person("Jo", "jo@e.org", None)
    assert author_contact("Jo", 7, "javascript:alert(1)", base) is None
    assert author_contact("Jo", None, None, None) is None


_PLAIN_CHARS = "abcXYZ09._~/!$&'()*+,=:@-"


@given(scheme=st.sampled_from(["http", "https"]),
       host=st.text("abcXYZ019.-", min_size=1, max_size=12),
       path=st.text(_PLAIN_CHARS + "/?#;%", max_size=20),
       base=st.sampled_from([None, "", "http://base.example/dir/", "https://b/a?q#f",
                             "ftp://x/", "HTTP://B/"]))
def test_a_link_in_its_plainest_shape_is_what_urljoin_and_every_check_give(
        scheme: str, host: str, path: str, base: str | None) -> None:
    """The links `absolute_url` passes through at once are the ones its work would keep as they are."""
    from urllib.parse import urljoin

    from feeds.text import links

    link = f"{scheme}://{host}{'/' if path else ''}{path}"
    if links._PLAIN_LINK.fullmatch(link):
        assert absolute_url(link, base) == link
        assert (urljoin(base, link) if base else link) == link
        parts = urlsplit(link)
        assert parts.hostname and parts.port is None and "#" not in link
        assert not links._NOT_IN_PATH.search(link) and not links._BAD_AUTHORITY.search(parts.netloc)


_KEYED_PART = st.text("abcXYZ09._~/!$&'()*+,;=:@-?%#\t ", max_size=12)


@settings(max_examples=500)
@given(scheme=st.sampled_from(["http", "https", "HTTP", "ftp", "http:", ""]),
       host=st.builds(str.__add__, st.sampled_from(["", "www.", "WWW.", "www.www.", "a.www."]),
                      st.text("abXY09.-", max_size=8))
       | st.sampled_from(["", ".", "www.com", "b:80", "u@h", "[::1]", "é.org", "h:x"]),
       path=st.builds(str.__add__, st.sampled_from(["", "/", "/", "/%7e", "/a%2f", "/%", "/é", "//"]),
                      _KEYED_PART),
       params=st.lists(st.sampled_from(["utm_source=rss", "UTM_x=1", "ref", "utm+a=1", "mtm%5Fk=2", "a=b",
                                        "", "q=?/:", "c=%7e"]) | _KEYED_PART, max_size=4),
       tail=st.sampled_from(["", "#", "#top", " ", "\n"]))
def test_canonical_link_of_a_plain_link_is_urllibs(
        scheme: str, host: str, path: str, params: list[str], tail: str) -> None:
    """The links `canonical_link` keys without urllib get the key urllib's parts give."""
    from feeds.text import links

    query = "?" + "&".join(params) if params else ""
    link = f"{scheme}://{host}{path}{query}{tail}"
    assert canonical_link(link) == links._canonical_by_urllib(link.strip())


def test_the_plain_link_shortcut_is_taken_for_a_common_link() -> None:
    """The property above compares something: the links most feeds carry take the shortcut."""
    from feeds.text import links

    for link in ("https://www.example.com/a/b-1?id=2&utm_source=rss", "http://Example.org", "https://e.org/?"):
        assert links._PLAIN_KEYED.fullmatch(link)
    key = canonical_link("https://www.Example.com./a/b-1?id=2&utm_source=rss&&x")
    assert key == "//example.com/a/b-1?id=2&x"
