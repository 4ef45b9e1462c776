"""What we publish is clean: no XML-forbidden characters, no active content, absolute URLs."""

from __future__ import annotations

from html.parser import HTMLParser

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from feeds.text.sanitise import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    MAX_DEPTH,
    clean_text,
    page_content,
    plain_text,
    sanitise_html,
    text_to_html,
    untyped_text,
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
        ("\x7fé😀\ufffd", "é😀\ufffd"),  # DEL: a control, which XML 1.0 discourages
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
    st.characters(exclude_categories=()) | st.sampled_from("\x00\x0b\x1f\x7f\ufffe\uffff\ud800\udfff")
).map("".join)


@given(_ANY_TEXT)
def test_clean_text_output_is_always_xml(text: str) -> None:
    out = clean_text(text)
    assert all(is_xml_char(c) for c in out)
    assert clean_text(out) == out
    etree.Element("t").text = out  # lxml raises ValueError on any forbidden character


@given(st.text().filter(lambda t: all(is_xml_char(c) and not "\x7f" <= c <= "\x9f" for c in t)))
def test_clean_text_keeps_valid_text(text: str) -> None:
    assert clean_text(text) == text


# --- sanitise_html ------------------------------------------------------------

_BARE_LINK = "<a>x</a>"  # the link text survives, the URL does not, nor what needs one


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
        # An image without an address is its text alternative, as a browser shows it.
        ('<img src="data:image/png;base64,AAAA" alt="d &amp; &lt;e&gt;">', "d &amp; &lt;e&gt;"),
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
        '<a>x</a>'
        '<a href="https://a.example/" rel="noopener noreferrer">a</a>'
    )
    assert sanitise_html(html, base) == expected


_FRAGMENTS = st.sampled_from([
    "<script>", "</script>", "<p>", "</p>", "<a href=", '"javascript:alert(1)"', "'", '"',
    ">", "<", "&", "&#x6a;", "<img src=x onerror=", "alert(1)", " style=", "<iframe>",
    "<svg>", "<math>", "<style>", "</a>", "<!--", "-->", "<![CDATA[", "]]>", "data:",
    "\x00", "\x0c", "\ud800", "<table><tr><td>", "<noscript>", "<a href=//x/ onclick=y>",
    "<form><input>", "<base href=http://evil/>", "<meta http-equiv=refresh>", "</",
    '<pre lang="python">', "<img src=https://a.example/i.png width=50% height=3>",
    "<time datetime=2025-13>", "<td colspan=0 headers=h>", "<ol type=x start=2>",
    "<a href=https://a.example/ hreflang=english>", " lang=", "<bdo dir=rtl>",
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
        if el.tag == "a" and "href" not in el.attrib:  # HTML: those need an address
            assert "rel" not in el.attrib and "hreflang" not in el.attrib, out
        if el.tag == "img":
            assert "src" in el.attrib, out
        for name, value in el.attrib.items():
            assert name in allowed or (el.tag == "a" and name == "rel")
            if name in _URL_ATTRS:
                assert value.lower().startswith(("https://", "http://", "mailto:"))


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # GitHub's Markdown names the code's language in `lang`, which names a human one.
        ('<pre lang="python"><code>x</code></pre>', "<pre><code>x</code></pre>"),
        ('<pre lang="html">x</pre>', "<pre>x</pre>"),  # a reserved subtag
        ('<p lang="english">a</p><p lang="zh-Hant-TW">b</p><p lang="">c</p>',
         '<p>a</p><p lang="zh-Hant-TW">b</p><p lang="">c</p>'),
        ('<a href="https://a.example/" hreflang="en_US">x</a>', '<a href="https://a.example/" '
         'rel="noopener noreferrer">x</a>'),
        ('<img src="https://a.example/i.png" width="100%" height="20" alt="a">',
         '<img src="https://a.example/i.png" height="20" alt="a">'),
        # Without a valid `datetime`, a <time>'s text must be a date: it goes, its text stays.
        ('<time datetime="2025-01-01T10:00:00.123456Z">a</time><time>yesterday</time>'
         '<del datetime="2025-01-01T10:00">d</del><ins datetime="2025-01-01T10:00:00+08:00">e</ins>'
         '<del datetime="2025-01-01">f</del>',
         'ayesterday<del>d</del><ins datetime="2025-01-01T10:00:00+08:00">e</ins>'
         '<del datetime="2025-01-01">f</del>'),
        ('<table><tr><th scope="sideways" colspan="0" headers="h">h</th>'
         '<td rowspan="2" colspan="3">c</td></tr></table>',
         '<table><tbody><tr><th>h</th><td rowspan="2" colspan="3">c</td></tr></tbody></table>'),
        ('<ol type="x" start="-2"><li value="one">a</li></ol>', '<ol start="-2"><li>a</li></ol>'),
        ('<bdo dir="rtl">abc</bdo>', "abc"),  # an override: isolating is `bdi`'s
        # An image without an address is its text alternative, wherever it stands.
        ('<p>a</p><img src="data:image/gif;base64,AA" alt="say &quot;hi&quot; &amp; go">',
         '<p>a</p>say "hi" &amp; go'),
        ('<p>a</p><img width="5" src="javascript:x">', "<p>a</p>"),  # none: nothing
        # A link without an address (an anchor, a refused URL) loses what needs one.
        ('<a name="top" title="t" hreflang="en">x</a><a href="javascript:x">y</a>',
         '<a title="t">x</a><a>y</a>'),
        # Text that looks like an attribute is text.
        ('<p title="width=&quot;1%&quot;">lang="python" width="100%"</p>',
         '<p title="width=&quot;1%&quot;">lang="python" width="100%"</p>'),
    ],
)
def test_sanitise_html_drops_attributes_whose_values_html_refuses(html: str, expected: str) -> None:
    """The W3C HTML checker refuses a page for any of these; the element and its text stay."""
    assert sanitise_html(html, BASE) == expected


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


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("<script>alert(1)</script>News", "News"),
        ("<b>Big</b>  day", "Big day"),
        ("vector<int>  and a < b", "vector<int> and a < b"),
        ("AT&T  news", "AT&T news"),
    ],
)
def test_untyped_text_is_markup_only_when_it_looks_like_markup(text: str, plain: str) -> None:
    """An RSS title may or may not be HTML: only text that looks like markup is read as it."""
    assert untyped_text(text) == plain


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
        # Windows and old Mac line ends are line ends, not paragraph breaks.
        ("a\r\nb", "<p>a<br>b</p>"),
        ("a\rb\r\rc", "<p>a<br>b</p><p>c</p>"),
        # Quotes need no escaping in element text; the output stays readable.
        ('say "hi" it\'s', '<p>say "hi" it\'s</p>'),
    ],
)
def test_text_to_html(text: str, html: str) -> None:
    assert text_to_html(text) == html


class _Depth(HTMLParser):
    """The deepest element nesting of a fragment, as the standard library's parser sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = self.deepest = 0

    VOID = frozenset({"area", "br", "col", "hr", "img", "wbr", "source", "track", "input"})

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.VOID:
            return
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1


def _depth(html: str) -> int:
    parser = _Depth()
    parser.feed(html)
    return parser.deepest


@pytest.mark.parametrize("levels", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 3 * MAX_DEPTH])
def test_nesting_is_kept_up_to_max_depth_and_flattened_below(levels: int) -> None:
    """Readers built on libxml2 drop what lies deeper than about 100 levels; we flatten it."""
    html = "<div>" * levels + "deep text" + "</div>" * levels
    cleaned = sanitise_html(html, None)
    assert _depth(cleaned) == min(levels, MAX_DEPTH)
    assert "deep text" in cleaned


def test_depth_is_counted_per_branch_and_void_tags_do_not_nest() -> None:
    """Siblings do not add up: two branches 80 deep are kept whole, line breaks and all."""
    branch = "<div>" * 80 + "a<br>b<img src='https://e.org/i.png'>" + "</div>" * 80
    html = branch + branch
    cleaned = sanitise_html(html, None)
    assert _depth(cleaned) == 80
    assert cleaned.count("<div>") == 160 and cleaned.count("<br>") == 2
    deep = "<div>" * (MAX_DEPTH + 20) + "x<br>y" + "</div>" * (MAX_DEPTH + 20)
    flattened = sanitise_html(deep + "<p>after</p>", None)
    assert plain_text(flattened) == "x y after"
    assert flattened.endswith("<p>after</p>") and "<br>" in flattened
    assert flattened.count("<div>") == flattened.count("</div>") == MAX_DEPTH


@pytest.mark.parametrize(
    ("html", "top", "expected"),
    [
        ("<h3>a</h3><p>x</p><h4>b</h4><h3>c</h3><h5>d</h5><h1>e</h1><h6>f</h6>", 2,
         "<h2>a</h2><p>x</p><h3>b</h3><h2>c</h2><h3>d</h3><h2>e</h2><h3>f</h3>"),
        ('<h2 lang="en">a</h2><h3>b</h3><h4>c</h4><h5>d</h5><h6>e</h6>', 3,
         '<h3 lang="en">a</h3><h4>b</h4><h5>c</h5><h6>d</h6><h6>e</h6>'),
        ("<p><strong>h3</strong> &lt;h3&gt;</p><hr><header>x</header>", 2,
         "<p><strong>h3</strong> &lt;h3&gt;</p><hr><header>x</header>"),
        # Nothing to read: a Markdown `##` alone, or only tags.
        ("<h2></h2><p>a</p><h3> </h3><h4><span> </span></h4><h4><img src=\"https://a.example/i.png\""
         " alt=\"i\"></h4><h5>b</h5>", 2,
         '<p>a</p><h2><img src="https://a.example/i.png" alt="i"></h2><h3>b</h3>'),
        # HTML requires a text alternative: none given, the image is decoration.
        ('<p><img src="https://a.example/i.png" width="5"><img src="https://a.example/j.png" '
         'alt="j"></p>', 2,
         '<p><img src="https://a.example/i.png" width="5" alt=""><img src="https://a.example/j.png" '
         'alt="j"></p>'),
    ],
)
def test_page_content_has_headings_down_from_the_top_and_text_for_every_image(
        html: str, top: int, expected: str) -> None:
    assert page_content(html, top) == expected
