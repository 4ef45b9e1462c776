"""What we publish is clean: no XML-forbidden characters, no active content, absolute URLs."""

from __future__ import annotations

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from feeds.sanitise import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    clean_text,
    plain_text,
    sanitise_html,
    text_to_html,
)

BASE = "https://example.org/blog/post/"


def is_xml_char(c: str) -> bool:
    """XML 1.0 §2.2 `Char`, written out independently of the implementation."""
    n = ord(c)
    return (
        n in (0x9, 0xA, 0xD)
        or 0x20 <= n <= 0xD7FF
        or 0xE000 <= n <= 0xFFFD
        or 0x10000 <= n <= 0x10FFFF
    )


# --- clean_text -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00b", "ab"),
        ("tab\tnewline\ncr\r", "tab\tnewline\ncr\r"),
        ("\x01\x08\x0b\x0c\x0e\x1f", ""),
        ("\ufffex\uffff", "x"),
        ("lone\ud800 \udfffsurrogates", "lone surrogates"),
        ("\x7fé😀\ufffd", "\x7fé😀\ufffd"),  # discouraged, but XML 1.0 allows them
        ("mis\x80read\x85 \x9fbytes", "misread bytes"),  # C1 controls: text read wrongly
        ("", ""),
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


# Every code point, surrogates included (hypothesis leaves them out by
# default), with the forbidden ones drawn often: as an alphabet for st.text()
# they would merge into one range and almost never come up.
_ANY_TEXT = st.lists(
    st.characters(exclude_categories=()) | st.sampled_from("\x00\x0b\x1f\ufffe\uffff\ud800\udfff")
).map("".join)


@given(_ANY_TEXT)
def test_clean_text_output_is_always_xml(text: str) -> None:
    out = clean_text(text)
    assert all(is_xml_char(c) for c in out)
    assert clean_text(out) == out
    etree.Element("t").text = out  # lxml raises ValueError on any forbidden character


@given(st.text().filter(lambda t: all(is_xml_char(c) and not "\x80" <= c <= "\x9f" for c in t)))
def test_clean_text_keeps_valid_text(text: str) -> None:
    assert clean_text(text) == text


# --- sanitise_html ------------------------------------------------------------

_BARE_LINK = '<a rel="noopener noreferrer">x</a>'  # the link text survives, the URL does not


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<p onclick="x()" style="color:red">hi</p>', "<p>hi</p>"),
        ("<script>alert(1)</script>ok", "ok"),
        ("<style>p{display:none}</style><p>t</p>", "<p>t</p>"),
        ('<a href="javascript:alert(1)">x</a>', _BARE_LINK),
        ('<a href=" JaVaScRiPt&#58;alert(1)">x</a>', _BARE_LINK),
        ('<a href="vbscript:msgbox(1)">x</a>', _BARE_LINK),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', _BARE_LINK),
        ('<img src="data:image/png;base64,AAAA" alt="d">', '<img alt="d">'),
        (
            '<img src="https://a.example/i.png" onerror="alert(1)">',
            '<img src="https://a.example/i.png">',
        ),
        ('<iframe src="https://evil.example/">fallback</iframe>after', "after"),
        ('<object data="x.swf"><embed src="y.swf">obj</object>', ""),
        ('<form action="/steal"><input name="q"><button>Go</button></form>', ""),
        ('<svg onload="x()"><text>svg</text></svg>t', "t"),
        ('<blockquote cite="javascript:x()">q</blockquote>', "<blockquote>q</blockquote>"),
        (
            '<a href="https://ok.example/" target="_blank" rel="opener">ok</a>',
            '<a href="https://ok.example/" rel="noopener noreferrer">ok</a>',
        ),
        (
            '<a href="mailto:me@example.com">m</a>',
            '<a href="mailto:me@example.com" rel="noopener noreferrer">m</a>',
        ),
        ('<h2 id="x" class="y">T</h2>', "<h2>T</h2>"),
        ('<p lang="fr" title="t" dir="rtl">x</p>', '<p lang="fr" title="t">x</p>'),
        ("<!-- note --><p>x</p>", "<p>x</p>"),
        ("<p>a\x00b\x0c</p>", "<p>ab</p>"),
        (
            '<table><tr><th scope="col">h</th><td colspan="2">c</td></tr></table>',
            '<table><tbody><tr><th scope="col">h</th><td colspan="2">c</td></tr></tbody></table>',
        ),
        (
            '<figure><img src="https://a.example/i.png" alt="i" width="10" loading="lazy">'
            "<figcaption>c</figcaption></figure>",
            '<figure><img src="https://a.example/i.png" alt="i" width="10">'
            "<figcaption>c</figcaption></figure>",
        ),
        (
            "<pre><code>x &lt; y</code></pre><ul><li><em>a</em></li></ul><hr><br>",
            "<pre><code>x &lt; y</code></pre><ul><li><em>a</em></li></ul><hr><br>",
        ),
    ],
)
def test_sanitise_html_removes_active_content(html: str, expected: str) -> None:
    assert sanitise_html(html, BASE) == expected


@pytest.mark.parametrize(
    ("url", "absolute"),
    [
        ("img.png", "https://example.org/blog/post/img.png"),
        ("../x", "https://example.org/blog/x"),
        ("/root", "https://example.org/root"),
        ("//cdn.example/a.png", "https://cdn.example/a.png"),
        ("#fn1", "https://example.org/blog/post/#fn1"),
        ("?page=2", "https://example.org/blog/post/?page=2"),
        ("a b.png", "https://example.org/blog/post/a%20b.png"),
        ("https://other.example/x", "https://other.example/x"),
    ],
)
@pytest.mark.parametrize(("tag", "attr"), [("a", "href"), ("img", "src")])
def test_sanitise_html_makes_urls_absolute(tag: str, attr: str, url: str, absolute: str) -> None:
    out = sanitise_html(f'<{tag} {attr}="{url}">', BASE)
    rel = ' rel="noopener noreferrer"' if tag == "a" else ""
    assert out == f'<{tag} {attr}="{absolute}"{rel}>' + (f"</{tag}>" if tag == "a" else "")


@pytest.mark.parametrize("base", [None, ""])
def test_sanitise_html_without_base_leaves_relative_urls(base: str | None) -> None:
    html = '<a href="x/y">x</a><img src="/i.png"><a href="https://a.example/">a</a>'
    expected = (
        '<a href="x/y" rel="noopener noreferrer">x</a><img src="/i.png">'
        '<a href="https://a.example/" rel="noopener noreferrer">a</a>'
    )
    assert sanitise_html(html, base) == expected


@pytest.mark.parametrize(
    "base", ["urn:uuid:1", "not a url", "https://exa%3Emple.org/", "https://[::1/", "ftp://x.example/"]
)
def test_sanitise_html_with_unusable_base_drops_relative_urls(base: str) -> None:
    html = '<a href="x/y">x</a><img src="/i.png"><a href="https://a.example/">a</a>'
    expected = (
        '<a rel="noopener noreferrer">x</a><img>'
        '<a href="https://a.example/" rel="noopener noreferrer">a</a>'
    )
    assert sanitise_html(html, base) == expected


_FRAGMENTS = st.sampled_from([
    "<script>", "</script>", "<p>", "</p>", "<a href=", '"javascript:alert(1)"', "'", '"',
    ">", "<", "&", "&#x6a;", "<img src=x onerror=", "alert(1)", " style=", "<iframe>",
    "<svg>", "<math>", "<style>", "</a>", "<!--", "-->", "<![CDATA[", "]]>", "data:",
    "\x00", "\x0c", "\ud800", "<table><tr><td>", "<noscript>", "<a href=//x/ onclick=y>",
    "<form><input>", "<base href=http://evil/>", "<meta http-equiv=refresh>", "</",
])  # fmt: skip
_URL_ATTRS = {"href", "src"}


@given(st.lists(_FRAGMENTS | st.text(max_size=5), max_size=30).map("".join))
def test_sanitise_html_output_is_within_the_allow_list(html: str) -> None:
    out = sanitise_html(html, BASE)
    assert all(is_xml_char(c) for c in out)
    if not out.strip():
        return
    root = lxml.html.fragment_fromstring(out, create_parent="div")
    for el in root.iter():
        if el is root or not isinstance(el.tag, str):
            continue
        assert el.tag in ALLOWED_TAGS
        allowed = ALLOWED_ATTRIBUTES.get(el.tag, frozenset()) | ALLOWED_ATTRIBUTES["*"]
        for name, value in el.attrib.items():
            assert name in allowed or (el.tag == "a" and name == "rel")
            if name in _URL_ATTRS:
                assert value.lower().startswith(("https://", "http://", "mailto:"))


# --- plain_text and text_to_html ----------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("A &amp; B", "A & B"),
        ("<b>Bold</b>  title\n", "Bold title"),
        ("&lt;not a tag&gt;", "<not a tag>"),
        ("1 < 2", "1 < 2"),
        ("<script>x()</script>Hi", "Hi"),
        ("Caf&eacute;", "Café"),
        ("<p>One</p><p>Two</p>", "One Two"),
        ("a<br/>b", "a b"),
        ("a\x00b\x07", "ab"),
        ("\t \n", ""),
    ],
)
def test_plain_text(html: str, text: str) -> None:
    assert plain_text(html) == text


@given(st.lists(_FRAGMENTS | st.text(max_size=5), max_size=30).map("".join))
def test_plain_text_is_one_clean_line(html: str) -> None:
    out = plain_text(html)
    assert all(is_xml_char(c) for c in out)
    assert out == out.strip()
    assert "  " not in out and "\n" not in out


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("a\nb\n\nc & <d>", "<p>a<br>b</p><p>c &amp; &lt;d&gt;</p>"),
        ("one\r\n\r\n\r\ntwo", "<p>one</p><p>two</p>"),
        ("", ""),
        ("\n \n", ""),
    ],
)
def test_text_to_html(text: str, html: str) -> None:
    assert text_to_html(text) == html
