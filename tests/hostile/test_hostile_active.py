"""Active content in remote feeds: scripts, event handlers, code URLs, frames, styles, SVG.

An RSS, an Atom and a JSON feed carry the same payload in every place they
can (titles, summaries, content, entry and feed links, ids), alongside a
well-behaved source (see harness.py). What is written is then read as a
browser-based reader would: every feed with lxml, each entry's content
parsed as HTML, and the index page too. No element, attribute or URL that
can run code may be left, and titles and summaries must be plain text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html import escape
from urllib.parse import urlsplit

import pytest
from feedserver import FeedServer, Response
from harness import Case, Round, attack, new_project
from lxml import etree
from lxml import html as lxml_html

from feeds.remote.parse import parse_feed

ATOM_NS = "{http://www.w3.org/2005/Atom}"

PAYLOAD = """<p>Visible text</p>
<script>alert('script')</script><SCRIPT SRC=//evil.example/x.js></SCRIPT>
<img src="x.png" onerror="alert('onerror')"><img src="javascript:alert('img')">
<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">
<a href="javascript:alert('a')">js link</a> <a href=" JaVaScRiPt:alert('mixed')">mixed</a>
<a href="java&#x09;script:alert('tab')">tab</a> <a href="&#106;avascript:alert('ref')">ref</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>
<a href="vbscript:msgbox('vb')">vb</a>
<a href="https://ok.example/page" onclick="alert('click')" style="color:red">fine link</a>
<iframe src="https://evil.example/frame">frame text</iframe>
<iframe srcdoc="&lt;script&gt;alert('srcdoc')&lt;/script&gt;"></iframe>
<div style="background:url(javascript:alert('css'))">styled</div>
<p style="width: expression(alert('expression'))">expression</p>
<style>body { background: url("javascript:alert('style')") }</style>
<svg onload="alert('svg')"><script>alert('svg script')</script>
<a xlink:href="javascript:alert('svg a')">svg text</a></svg>
<math><mtext><a href="javascript:alert('math')">math</a></mtext></math>
<object data="javascript:alert('object')"></object><embed src="javascript:alert('embed')">
<form action="javascript:alert('form')"><button formaction="javascript:alert('b')">b</button></form>
<meta http-equiv="refresh" content="0;url=javascript:alert('meta')">
<base href="javascript:alert('base')//"><link rel="stylesheet" href="javascript:alert('link')">
<details open ontoggle="alert('toggle')"><summary>more</summary>details</details>
<video><source onerror="alert('video')"></video><input autofocus onfocus="alert('input')">
<a href="https://ok.example/" target="_blank">target</a>
<img src="https://ok.example/i.png" alt="ok image">"""
HTML_TITLE = ("<script>alert('title')</script><b onmouseover=\"alert('b')\">Bold</b> "
              "<img src=x onerror=alert('img')>headline")
CODE_URLS = ("javascript:alert('link')", " data:text/html,<script>alert('data')</script>",
             "vbscript:msgbox('vb')")


def _rss() -> str:
    items = "".join(
        f"<item><guid>rss-{n}</guid><title>{escape(HTML_TITLE)}</title>"
        f"<link>{escape(url)}</link><description><![CDATA[{PAYLOAD}]]></description>"
        f"<category>{escape('<script>alert(5)</script>')}</category></item>"
        for n, url in enumerate(CODE_URLS))
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{escape('<i>RSS</i> <script>alert(1)</script>active')}</title>"
            f"<link>javascript:alert('channel')</link>{items}</channel></rss>")


def _atom() -> str:
    xhtml = '<div xmlns="http://www.w3.org/1999/xhtml">'
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="javascript:alert(\'base\')//">'
            "<id>javascript:alert(document.cookie)</id>"
            f'<title type="html">{escape("<svg onload=alert(1)>Atom <i>active</i>")}</title>'
            '<link rel="alternate" href="javascript:alert(\'feed\')"/>'
            "<updated>2025-09-01T00:00:00Z</updated>"
            "<entry><id>urn:active:1</id>"
            f'<title type="xhtml">{xhtml}<script>alert(1)</script>'
            '<span onclick="alert(2)">Xhtml</span> title</div></title>'
            '<link rel="alternate" href="data:text/html;base64,PHNjcmlwdD4="/>'
            "<updated>2025-09-02T00:00:00Z</updated>"
            f'<summary type="html">{escape("<script>alert(1)</script><p style=x>Summary</p>")}'
            f'</summary><content type="html">{escape(PAYLOAD)}</content></entry>'
            "<entry><id>urn:active:2</id><title>Relative</title><link href=\"relative/page\"/>"
            "<updated>2025-09-03T00:00:00Z</updated>"
            f'<content type="xhtml">{xhtml}<a href="relative">relative</a>'
            '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
            '<img src="x" onerror="alert(1)"/></div></content></entry></feed>')


def _json() -> str:
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "JSON active",
        "home_page_url": "javascript:alert('home')", "feed_url": "data:text/plain,feed",
        "items": [{"id": "json-1", "url": "javascript:alert('url')",
                   "external_url": "data:text/html,<script>alert(1)</script>",
                   "title": "JSON title", "content_html": PAYLOAD,
                   "image": "javascript:alert('image')"}],
    })


CASES = [
    Case("active-rss", Response(body=_rss(), content_type="application/rss+xml"), None),
    Case("active-atom", Response(body=_atom()), None),
    Case("active-json", Response(body=_json(), content_type="application/feed+json"), None),
]

# Elements and attributes that run code, load things or restyle the page.
ACTIVE_ELEMENTS = {"script", "iframe", "frame", "svg", "math", "style", "object", "embed", "form",
                   "button", "input", "meta", "base", "link", "video", "source", "body"}
ACTIVE_ATTRIBUTES = {"style", "srcdoc", "action", "formaction", "background", "target"}
SAFE_SCHEMES = {"http", "https", "mailto"}


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Round]:
    project = new_project(tmp_path_factory, "active")
    with FeedServer() as server:
        yield attack(project, server, CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_active_feeds_are_read_and_lose_nothing(round_: Round, case: Case) -> None:
    round_.check(case)
    published = [e for e in round_.feeds["all.atom"].entries
                 if e.source.id != round_.bystander and "before" not in e.title]
    assert published, "the attacked entries are published, defused"


def _assert_inert_html(fragment: str, where: str) -> None:
    tree = lxml_html.fragment_fromstring(fragment, create_parent="div")
    for element in tree.iter():
        assert element.tag not in ACTIVE_ELEMENTS, f"{where}: <{element.tag}>"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"{where}: {name}={value!r}"
            assert name.lower() not in ACTIVE_ATTRIBUTES and ":" not in name, f"{where}: {name}"
            if name in ("href", "src"):
                assert urlsplit(value).scheme in SAFE_SCHEMES, f"{where}: {name}={value!r}"
    lowered = fragment.lower()
    for word in ("alert(", "msgbox(", "javascript:", "vbscript:", "data:", "expression("):
        assert word not in lowered, f"{where}: {word} in {fragment!r}"


def test_no_active_content_survives_in_any_feed(round_: Round) -> None:
    output = round_.project / "output"
    checked = 0
    for path in sorted(output.rglob("*.atom")):
        root = etree.parse(str(path)).getroot()
        for element in root.iter(f"{ATOM_NS}title", f"{ATOM_NS}summary", f"{ATOM_NS}subtitle"):
            # Plain text: no type but text, no markup inside, nothing that ran markup.
            assert element.get("type", "text") == "text" and len(element) == 0, path
            assert "alert(" not in (element.text or "") and "<" not in (element.text or ""), (
                f"{path}: {element.text!r}")
        for content in root.iter(f"{ATOM_NS}content"):
            assert content.get("type") == "html", path
            _assert_inert_html(content.text or "", f"{path}: content")
            checked += 1
        for link in root.iter(f"{ATOM_NS}link"):
            assert urlsplit(link.get("href", "")).scheme in {"http", "https"}, (
                f"{path}: link {link.get('href')!r}")
        for identifier in root.iter(f"{ATOM_NS}id"):
            assert urlsplit(identifier.text or "").scheme not in {"javascript", "data", "vbscript"}, (
                f"{path}: id {identifier.text!r}")
    assert checked >= 5


def test_entry_links_to_code_are_dropped_and_relative_ones_resolved(round_: Round) -> None:
    entries = {e.id: e for e in round_.feeds["all.atom"].entries}
    links = sorted(link.href for e in entries.values() for link in e.get("links", []))
    assert all(urlsplit(href).scheme in {"http", "https"} for href in links), links
    [relative] = [e for e in entries.values() if e.title == "Relative"]
    # Resolved against the feed's address, never against its `javascript:` xml:base;
    # the content's links against the entry's.
    site = round_.urls["active-atom"].rsplit("/", 1)[0]
    assert relative.link == f"{site}/relative/page"
    assert f'href="{site}/relative/relative"' in relative.content[0].value


def test_titles_keep_their_words_not_their_markup(round_: Round) -> None:
    titles = set(round_.titles())
    assert "Bold headline" in titles and "Xhtml title" in titles and "JSON title" in titles
    sources = {e.source.title for e in round_.feeds["all.atom"].entries}
    assert {"RSS active", "Atom active", "JSON active"} <= sources


def test_index_and_opml_carry_no_active_content(round_: Round) -> None:
    output = round_.project / "output"
    page = lxml_html.document_fromstring((output / "index.html").read_bytes())
    for element in page.iter():
        assert element.tag != "script"
        assert not any(name.lower().startswith("on") for name in element.attrib), element.tag
    opml = etree.parse(str(output / "feeds.opml")).getroot()
    assert {element.tag for element in opml.iter()} <= {"opml", "head", "title", "body", "outline"}


@pytest.mark.parametrize(("title", "published"), [
    ("<script>alert(1)</script>News", "News"),
    ("<img src=x onerror=alert(1)>Photo", "Photo"),
    ("<b>Bold</b> move", "Bold move"),
    ("vector<int> is not a tag", "vector<int> is not a tag"),  # text stays text
    ("a < b and c > d", "a < b and c > d"),
])
def test_an_rss_title_that_looks_like_markup_is_read_as_markup(title: str, published: str) -> None:
    document = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T'
                f"</title><item><guid>1</guid><title>{escape(title)}</title></item></channel></rss>")
    [entry] = parse_feed(document.encode(), "http://example.com/feed").entries
    assert entry.title == published
