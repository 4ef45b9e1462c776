"""Making text and HTML from anywhere safe to publish.

Everything that reaches a rendered feed passes through here: remote content
is untrusted (scripts, event handlers, `javascript:` links), and any text may
carry characters XML 1.0 forbids, which would make lxml/feedgen refuse to
write the whole feed. Sanitising happens once, when content enters the
program, so later stages can treat every string as clean.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import nh3

from .langtag import LANGUAGE_TAG

# XML 1.0 §2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
# Python strings hold surrogates only when something decoded bytes leniently
# (surrogateescape, JSON "\ud800"); they cannot be encoded, so they go too.
# DEL and the C1 controls (U+007F-U+009F) are allowed but "discouraged"
# (§2.2): no text means them, and in the wild they are the trace of bytes
# read in the wrong encoding (0x80-0x9F of Windows-1252 or Shift_JIS read as
# Latin-1), which readers show as boxes or act on as controls.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# The ones ASCII can hold, as bytes.
_FORBIDDEN_ASCII = bytes(c for c in range(0x20) if c not in b"\t\n\r") + b"\x7f"
# The C1 controls in UTF-8 (U+FFFE and U+FFFF are EF BF BE and EF BF BF).
_C1_UTF8 = re.compile(b"\xc2[\x80-\x9f]")

# No `bdo`: it is invalid without `dir`, and a bidirectional override in
# someone else's text can make a name or a link read backwards; `bdi`
# isolates a run of text without overriding it. No `time`: its text must be
# a date when its `datetime` is missing or refused ("yesterday" is not), and
# it shows nothing its text does not.
ALLOWED_TAGS: frozenset[str] = frozenset({
    "a", "abbr", "b", "bdi", "blockquote", "br", "caption", "cite", "code",
    "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s",
    "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "wbr",
})  # fmt: skip

# Attributes that carry meaning for a reader. No `style` (CSS can hide text,
# overlay the reader's UI or fetch URLs), no `class`/`id` (they belong to the
# source site's stylesheet and would collide with the reader's page), and
# nothing starting with `on` since only listed attributes survive. No `cite`
# either: browsers never show it, and nh3 checks schemes only in href/src.
ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "*": frozenset({"lang", "title"}),
    "a": frozenset({"href", "hreflang"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "del": frozenset({"datetime"}),
    "ins": frozenset({"datetime"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "li": frozenset({"value"}),
    # Not `headers`: it names the ids of header cells, and ids are dropped.
    "th": frozenset({"colspan", "rowspan", "scope", "abbr"}),
    "td": frozenset({"colspan", "rowspan"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "details": frozenset({"open"}),
}

# Removed together with their content: their text is code, styling or
# fallback markup for something we drop, never part of the article.
_DROPPED_WITH_CONTENT = frozenset({
    "applet", "embed", "form", "frame", "frameset", "iframe", "noembed",
    "noframes", "object", "script", "select", "style", "svg", "template",
    "textarea", "title",
})  # fmt: skip

URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

# Elements nested deeper than this lose their tags (never their text): libxml2,
# behind many feed readers, gives up at 256 levels (2,048 with its "huge"
# option) and drops everything below, and no article needs a hundred.
MAX_DEPTH = 100
_VOID_TAGS = frozenset({"br", "col", "hr", "img", "wbr"})
# A tag as nh3 writes it: allowed names, every attribute value double-quoted
# (a `"` inside written as `&quot;`), and `<` in text written as `&lt;`.
_ATTRIBUTE = r'\s+[^\s"=/>]+(?:="[^"]*")?'
_TAG = re.compile(rf'<(/?)([a-z][a-z0-9]*)(?:{_ATTRIBUTE})*\s*/?>')


def _cleaner(base: str | None) -> nh3.Cleaner:
    """An nh3 sanitiser with our allow-lists.

    Relative URLs are kept when `base` is None, resolved against an http(s)
    `base`, and removed when `base` is anything else, including a URL nh3's
    WHATWG parser rejects (such as a host with `%3E` in it).
    """
    relative: nh3.UrlRelative | None = None
    if base is not None:
        relative = "deny"
        if _scheme(base) in ("http", "https"):
            relative = ("rewrite_with_base", base)
    try:
        return _build_cleaner(relative)
    except ValueError:
        return _build_cleaner("deny")


def _build_cleaner(relative: nh3.UrlRelative | None) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        url_relative=relative,
    )


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""


# Building a sanitiser costs as much as running it, so the common ones are reused.
_CLEANER = _cleaner(None)
_TEXT_CLEANER = nh3.Cleaner(tags=frozenset())

# Tags that separate words when rendered: without a space before them,
# `<p>One</p><p>Two</p>` would become "OneTwo" as text.
_BLOCK_BOUNDARY = re.compile(
    r"<(?:br|hr|/?(?:p|div|li|dt|dd|h[1-6]|tr|td|th|blockquote|pre|figcaption|ul|ol|table"
    r"|section|article|header|footer|aside|nav|caption))\b",
    re.IGNORECASE,
)

# What a URL starts with when it has a scheme.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# The longest name of an attribute `_values_to_mend` looks for ("datetime", "hreflang").
_LONGEST_NAME = 8
# A numeric character reference, as the HTML parser reads one (the `;` may be missing).
_REFERENCE = re.compile(r"&#(?:([xX])([0-9A-Fa-f]+)|([0-9]+))")


def clean_text(s: str) -> str:
    """`s` without the characters XML 1.0 forbids, and without DEL and the C1 controls.

    A single NUL or form feed in a remote title would otherwise make lxml
    refuse to serialise the whole feed; removing them is the only safe repair,
    since no escape for them exists in XML 1.0.
    """
    if s.isprintable():
        # No control, surrogate or noncharacter (U+FFFE, U+FFFF) is
        # printable: a title or a name on one line is kept as it is.
        return s
    if s.isascii():
        # Most text is ASCII, where the only forbidden characters are C0
        # controls and DEL: deleting them from the bytes is three times faster than
        # the search, and when nothing was deleted the text is kept.
        data = s.encode("ascii")
        if len(data.translate(None, _FORBIDDEN_ASCII)) == len(data):
            return s
    else:
        # Other text is looked for them in its UTF-8 form, a third faster
        # than the search over the text (a surrogate cannot be encoded: the
        # search removes it).
        try:
            if utf8_is_clean(s.encode("utf-8"), s):
                return s
        except UnicodeEncodeError:
            pass
    return _FORBIDDEN.sub("", s)


def utf8_is_clean(data: bytes, text: str) -> bool:
    """Whether `clean_text` leaves `text` as it is, `text` being what a strict UTF-8
    decoder made of `data` (or of a part of it).

    Searching the bytes is faster than searching the text: a strict decoder
    makes no surrogates, so the forbidden characters it can give are the C0
    controls and DEL (a byte each) and the C1 controls (C2 80 to C2 9F), besides
    U+FFFE and U+FFFF, which the text is searched for.
    """
    if len(data.translate(None, _FORBIDDEN_ASCII)) != len(data):
        return False
    if b"\xc2" in data and _C1_UTF8.search(data):
        return False
    return "\ufffe" not in text and "\uffff" not in text


def sanitise_html(html: str, base_url: str | None) -> str:
    """`html` reduced to an allow-list of article markup, with absolute URLs.

    Scripts, styles, frames, embedded objects and forms are removed with their
    content; event handlers, `style` and unknown attributes are dropped; only
    http, https and mailto URLs survive, so `javascript:`, `data:` and
    `vbscript:` cannot reach a reader. Links get `rel="noopener noreferrer"`.

    Elements nested more than MAX_DEPTH deep lose their tags, keeping their
    text. Relative URLs (href, src) are resolved against `base_url` here, once:
    feedparser's own resolution and sanitiser are turned off because together
    they cost three times the parse itself. With no `base_url` they are left
    as they are (a caller without a page address); with one that is not a
    valid http(s) URL they are removed, since published relative to our own
    site they would point at the wrong pages.
    """
    text = clean_text(html)
    cleaned = _CLEANER.clean(text)
    base = base_url.strip() if base_url else ""
    relative, graded = _values_to_mend(cleaned)
    if base and relative:
        # Most feeds use absolute URLs, so the reusable cleaner does the work
        # and only content with relative ones pays for a second pass, whose
        # options (the base) change per entry. nh3 resolves them in Rust with
        # the WHATWG rules browsers use; an `attribute_filter` calling back
        # into Python made sanitising nearly three times slower.
        cleaned = _cleaner(base).clean(cleaned)
        _, graded = _values_to_mend(cleaned)  # a link whose address it refused has none now
    flat = _flatten(_values_checked(cleaned) if graded else cleaned)
    # nh3 writes what it read, so a character XML forbids can come back only
    # from a numeric character reference (`&#1;`, `&#xFFFE;`; no named one
    # stands for such a character): without one there is nothing to remove.
    return clean_text(flat) if _forbidden_reference(text) else flat


# The attributes kept whose values HTML gives a grammar to, as the W3C HTML
# checker holds them: a page showing `<img width="100%">` or `<pre
# lang="python">` (GitHub's Markdown writes it) is refused, and the value
# tells a reader nothing the element does not, so the attribute goes and the
# element stays. A language tag is checked for its form (see langtag.py).
_DATE = r"[0-9]{4,}-[0-9]{2}-[0-9]{2}"
_TIME = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,3})?)?"
_ZONE = r"(?:Z|[+-][0-9]{2}:?[0-9]{2})"
_GRAMMARS: dict[str, re.Pattern[str]] = {
    name: re.compile(grammar, re.IGNORECASE) for name, grammar in {
        "lang": f"(?:{LANGUAGE_TAG})?",  # empty: the language is unknown
        "hreflang": LANGUAGE_TAG,
        # <del> and <ins>: a date, or a date and time with its zone.
        "datetime": f"{_DATE}(?:[T ]{_TIME}{_ZONE})?",
        "width": "[0-9]+", "height": "[0-9]+", "rowspan": "[0-9]+",
        "colspan": "[1-9][0-9]*", "span": "[1-9][0-9]*",
        "start": "-?[0-9]+", "value": "-?[0-9]+",
        "type": "[1aAiI]", "scope": "row|col|rowgroup|colgroup",
    }.items()}
# An opening tag with attributes (`_TAG`'s form): its name and its attributes.
_OPENING_TAG = re.compile(rf'<([a-z][a-z0-9]*)((?:{_ATTRIBUTE})+)\s*/?>')
# What a link without an address may not have (HTML: "must be omitted if the
# href attribute is not present"): nh3 gives every <a> its rel, and drops an
# href whose scheme is refused; an anchor (`<a name>`) never had one.
_LINK_ONLY = re.compile(r'\s(?:rel|hreflang)="[^"]*"')
# An image's text alternative.
_ALT = re.compile(r'\salt="([^"]*)"')
_VALUE = re.compile(r'\s([a-z]+)="([^"]*)"')


def _values_checked(html: str) -> str:
    """Sanitised `html` without the attributes whose values do not fit their grammar
    (`_GRAMMARS`), without what a link may hold only with an address, and
    without images that have no address (HTML requires one; one that was
    refused, a `data:` or `javascript:` URL, leaves its text alternative).

    Only tags are read: nh3 writes `<` in text as `&lt;`, and a `"` in an
    attribute's value as `&quot;`, so a tag's `name="` never comes from text.
    """
    return _OPENING_TAG.sub(_tag_checked, html.replace("<img>", ""))


def _tag_checked(tag: re.Match[str]) -> str:
    attributes = tag[2]
    checked = _VALUE.sub(_attribute_kept, attributes)
    if tag[1] == "a" and ' href="' not in checked:
        checked = _LINK_ONLY.sub("", checked)
    elif tag[1] == "img" and ' src="' not in checked:
        # As a browser shows an image it cannot load: its text alternative.
        alt = _ALT.search(checked)
        return _html.escape(_html.unescape(alt[1]), quote=False) if alt else ""
    return tag[0] if checked == attributes else tag[0].replace(attributes, checked, 1)


def _attribute_kept(attribute: re.Match[str]) -> str:
    grammar = _GRAMMARS.get(attribute[1])
    return attribute[0] if grammar is None or grammar.fullmatch(attribute[2]) else ""


def _forbidden_reference(html: str) -> bool:
    """Whether `html` holds a numeric character reference that may stand for a character
    `clean_text` removes: a C0 control, DEL, a C1 control, U+FFFE or U+FFFF.

    Most references in feeds stand for punctuation (`&#x27;`, `&#8217;`),
    which leave nothing to clean. A reference to any number the HTML parser
    reads otherwise (zero, a surrogate, beyond U+10FFFF, a C1 control it maps
    to a Windows-1252 character) counts too: a false match costs only time.
    """
    for found in _REFERENCE.finditer(html):  # the regular expression finds `&#` faster than `in`
        digits = found.group(2) or found.group(3)
        if len(digits) > 7:
            return True
        number = int(digits, 16) if found.group(1) else int(digits)
        if number < 0x20 or 0x7F <= number <= 0x9F or 0xD800 <= number <= 0xDFFF \
                or number in (0xFFFE, 0xFFFF) or number > 0x10FFFF:
            return True
    return False


def _values_to_mend(html: str) -> tuple[bool, bool]:
    """Whether sanitised `html` has an href or src without a scheme (one that needs a
    base), and whether `_values_checked` has work: an attribute whose value
    `_GRAMMARS` checks, a link or an image without an address.

    nh3 writes every attribute as ` name="value"`: the search goes from one
    `="` to the next, which is found quickly, rather than from every space
    (most content has a link or two and nothing else). A false match (such
    text outside a tag) costs only time.
    """
    relative = graded = False
    at = html.find('="')
    while at != -1:
        space = html.rfind(" ", max(0, at - _LONGEST_NAME - 1), at)
        name = html[space + 1 : at] if space != -1 else ""
        if name in _GRAMMARS:
            graded = True
        elif name == "href" or name == "src":
            if not _SCHEME.match(html, at + 2):
                relative = True
        elif ((name == "alt" and _tag_without(html, at, "img", ' src="'))
              or (name == "rel" and _tag_without(html, at, "a", ' href="'))):
            graded = True  # an image or a link without an address
        if relative and graded:
            break
        at = html.find('="', at + 2)
    return relative, graded or "<img>" in html


def _tag_without(html: str, at: int, element: str, attribute: str) -> bool:
    """Whether the tag holding the attribute value at `at` is an `element` without `attribute`."""
    start = html.rfind("<", 0, at)
    return (html.startswith(f"<{element} ", start)
            and html.find(attribute, start, html.find(">", at)) == -1)


def _flatten(html: str) -> str:
    """Sanitised `html` without the tags of elements nested deeper than MAX_DEPTH.

    nh3's output is a serialised tree, so its tags balance: counting them is
    enough to know each one's depth.
    """
    if html.count("<") <= MAX_DEPTH:
        return html  # too few tags to nest that deep
    kept: list[str] = []
    depth = last = 0
    for tag in _TAG.finditer(html):
        closing, name = tag.group(1), tag.group(2)
        if name in _VOID_TAGS:
            continue
        if not closing:
            depth += 1
        if depth > MAX_DEPTH:
            kept.append(html[last : tag.start()])
            last = tag.end()
        if closing:
            depth -= 1
    kept.append(html[last:])
    return "".join(kept)


# A heading holding only spaces and tags other than an image's.
_EMPTY_HEADING = re.compile(r"<h([1-6])\b[^>]*>(?:\s|<(?!img\b)[^>]*>)*</h\1>")


def page_content(html: str, top: int) -> str:
    """Sanitised `html` as a page shows it under a heading of its own, above level `top`.

    Its headings are renumbered to go down from `top` a level at a time: an
    article's `###` right below the page's `<h1>` skips a level, which
    screen readers announce as a gap and the W3C HTML checker refuses. Each
    heading keeps its place in the outline: one deeper than the heading
    before is one level below it, one as high as an earlier one takes that
    one's level; past h6 they stay h6. A heading with nothing to read (a
    Markdown `##` alone) goes: screen readers announce it, and the checker
    warns of it. An image without a text alternative gets an empty one (HTML
    requires one; with none given, the image is taken as decoration). Feeds
    keep the content as written. Only tags are read (see `_flatten`), and
    headings never nest, so a closing tag closes the last heading opened.
    """
    if "<h" not in html and "<img " not in html:
        return html
    if "></h" in html:
        html = _EMPTY_HEADING.sub("", html)
    outline: list[tuple[int, int]] = []  # (level written, level given) of the headings above
    given = top

    def for_page(tag: re.Match[str]) -> str:
        nonlocal given
        name = tag[2]
        if name == "img":
            return tag[0] if ' alt="' in tag[0] else f'{tag[0][:-1]} alt="">'
        if len(name) != 2 or name[0] != "h" or name[1] not in "123456":
            return tag[0]
        if not tag[1]:
            level = int(name[1])
            while outline and outline[-1][0] >= level:
                outline.pop()
            given = min(6, outline[-1][1] + 1 if outline else top)
            outline.append((level, given))
        return f"{tag[0][:len(tag[1]) + 2]}{given}{tag[0][len(tag[1]) + 3:]}"

    return _TAG.sub(for_page, html)


def plain_text(html_or_text: str) -> str:
    """A title or name as plain text: tags stripped, entities decoded, spaces collapsed.

    Feeds mark titles as HTML inconsistently (RSS titles often carry `&amp;`
    or `<b>`); a title is shown as text, so markup is removed rather than
    escaped, with a space where a block or line break separated words. Also
    gives the text of whole content, e.g. for language detection. The result
    may contain `<` or `&` as text; renderers escape it.
    """
    spaced = _BLOCK_BOUNDARY.sub(r" \g<0>", clean_text(html_or_text))
    stripped = _TEXT_CLEANER.clean(spaced)
    return collapse_text(_html.unescape(stripped))


# What makes text of no declared type markup: a closing tag, a tag with
# attributes or self-closed, or a character reference. A bare `<int>` is not.
_MARKUP = re.compile(r"</[A-Za-z][\w:-]*\s*>|<[A-Za-z][\w:-]*(?:\s+[^\s>]|\s*/>)|&#?\w+;")


def untyped_text(text: str) -> str:
    """Text whose format does not say if it is HTML (an RSS title, a tag), as plain text.

    It is taken as markup (`plain_text`) when it looks like markup, so
    `<script>alert(1)</script>News` gives "News" and `<b>Big</b> day` "Big
    day", and as text (`collapse_text`) otherwise, so `vector<int>` and
    `a < b` stay as they are.
    """
    return plain_text(text) if _MARKUP.search(text) else collapse_text(text)


def collapse_text(text: str) -> str:
    """`text` (already plain) with runs of whitespace made one space and ends trimmed.

    For values that are text by definition (an Atom `type="text"` title, a
    JSON Feed title, an author name), where `<b>` is literally what was meant.
    """
    return " ".join(clean_text(text).split())


def text_to_html(text: str) -> str:
    """Plain `text` as escaped HTML paragraphs: blank lines split paragraphs, newlines become <br>.

    Used where a feed gives only plain-text content (JSON Feed `content_text`,
    Atom `type="text"`), so that every entry's content is HTML downstream.
    """
    paragraphs = re.split(r"\n\s*\n", clean_text(text).replace("\r\n", "\n").replace("\r", "\n"))
    parts = []
    for para in paragraphs:
        lines = [line.strip() for line in para.strip().split("\n")]
        if any(lines):
            parts.append("<p>" + "<br>".join(_html.escape(line, quote=False) for line in lines)
                         + "</p>")
    return "".join(parts)
