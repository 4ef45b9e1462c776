"""Reading well-formed RSS 2.0, RSS 1.0 and Atom 1.0 with lxml, field for field as feedparser does (pure).

feedparser reads XML with expat and a pure-Python handler per element:
about 70 % of a refresh's CPU goes there, while libxml2 (lxml) reads the
same bytes into a tree in about a millisecond. This module walks that tree
with feedparser's own rules, ported handler by handler (`_start_title`
here does what feedparser's `_start_title` does), and returns what
feedparser would: the feed's and each entry's dictionary, with the same
keys and values. `parse.py` turns either reader's answer into a ParsedFeed
with the same code, so the two paths can only differ where this port does.

The general port walks every element through feedparser's state machine
(start, handler, push, pop, end: some 8 µs an element in Python). The
elements an item nearly always holds, text only in the plain state of an
entry (title, link, guid, dates, description, content, category, author,
enclosure), are read by handlers specialised for them that do directly
what that machine ends up doing; anything else they meet (an attribute
such as xml:base, XHTML, a child element, another state) is left to the
general port, element by element. Tests hold the two to the same answer.

Only what the port can read exactly as feedparser would is taken;
`read_xml` answers None for anything else, and the caller then gives the
document to feedparser, which copes with everything: XML that is not
well-formed (feedparser's loose parser), a document with a DOCTYPE (the
guard drops it and notes why), an encoding feedparser's detection had to
guess, RSS 0.9x, Atom 0.3, CDF and other roots, elements whose feedparser
handlers are not ported (GeoRSS, GML), SVG and MathML, and namespace
declarations whose meaning to feedparser depends on their order. Falling
back is always safe; it only costs time.

The bytes parsed are the ones feedparser parses: the document converted to
UTF-8 by feedparser's own `convert_to_utf8`, then guarded (`guard`: no DTD,
at most `max_items` items and MAX_TAGS tags), and lxml's parser resolves no
entity, loads no DTD, reaches no network and keeps its size limits.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import html.entities
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.namespaces.psc import _parse_psc_chapter_start
from feedparser.sanitizer import _HTMLSanitizer
from feedparser.urls import _urifixer, _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree

from .fields import explicit
from .guard import guard_document, has_doctype

Dict = dict[str, Any]

_XML_NS = "http://www.w3.org/XML/1998/namespace"
_RSS10_NS = "http://purl.org/rss/1.0/"
_RSS090_NS = "http://my.netscape.com/rdf/simple/0.9/"
_ATOM_NS = "http://www.w3.org/2005/atom"  # feedparser compares namespaces lower-cased
_RDF_ROOT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"
# Declaring these changes the attributes feedparser gives an element (it adds
# `xmlns` or `xmlns:xlink` to them), which the port does not follow.
_REFUSED_NAMESPACES = frozenset({
    "http://www.w3.org/1999/xlink", "http://www.w3.org/2000/svg", "http://www.w3.org/1998/math/mathml",
})

# feedparser's table of namespaces (lower-cased URI → its prefix, "" for the
# feed formats' own) and the prefixes it knows.
_NAMESPACES: dict[str, str] = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_STANDARD_PREFIXES = frozenset(p.lower() for p in _NAMESPACES.values() if p)
# Elements feedparser has a handler for: one the port lacks sends the document to feedparser.
_FEEDPARSER_STARTS = frozenset(n[len("_start_"):] for n in dir(_FeedParserMixin) if n.startswith("_start_"))
_FEEDPARSER_ENDS = frozenset(n[len("_end_"):] for n in dir(_FeedParserMixin) if n.startswith("_end_"))
_CAN_BE_RELATIVE_URI = frozenset(_FeedParserMixin.can_be_relative_uri)
_HTML_TYPES = frozenset(_FeedParserMixin.html_types)
_KEYMAP: dict[str, str] = {
    key: target[0] if isinstance(target, list) else target
    for key, target in FeedParserDict.keymap.items()
}
_ACCEPTABLE_HTML = frozenset(_HTMLSanitizer.acceptable_elements)
_C1 = re.compile("[\x80-\x9f]")
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_AUTHOR_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"""
    r"""([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?""")
_CLOSE_TAG = re.compile(r"</(\w+)>")
_ENTITY_OR_REF = re.compile(r"&#?\w+;")
_TAG_NAME = re.compile(r"</?(\w+)")
_ENTITY_NAME = re.compile(r"&(\w+);")
_XHTML = "application/xhtml+xml"
_XMLNS = re.compile(b"xmlns")

_PARSER_OPTIONS = {
    "resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
    "remove_comments": True, "remove_pis": True,
}


class Unsupported(Exception):
    """The document holds something the port does not read exactly as feedparser would."""


@dataclass(frozen=True)
class XmlRead:
    """What feedparser's `parse` returns that `parse.py` uses, from either reader.

    `feed` and `entries` are feedparser's dictionaries; `version` its name
    of the format ("rss20", "atom10", ...); `problem` its bozo exception,
    None when the document was read without one.
    """

    feed: Dict
    entries: list[Dict]
    version: str
    problem: Exception | None


def read_xml(data: bytes, content_type: str | None, *, specialised: bool = True) -> XmlRead | None:
    """The feed in `data` as feedparser would read it, or None when feedparser must read it.

    `specialised=False` reads every element with the general port, without
    the specialised handlers of an item's common elements (the two must agree).

    Raises `guard.Refused` exactly when feedparser's guarded parse would
    (too many tags, a DOCTYPE that never ends): both guard the same bytes.
    """
    result: Dict = {}
    try:
        converted = convert_to_utf8({"content-type": content_type} if content_type else {}, data, result)
    except (UnicodeError, ValueError, LookupError):
        return None  # a damaged XML declaration: feedparser raises, and parse_feed says so
    if not result.get("encoding") or has_doctype(converted):
        return None
    _version, guarded, _entities = guard_document(converted)
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(guarded, parser)
    except etree.XMLSyntaxError:
        return None  # expat refuses it too: feedparser's loose parser takes over
    if len(parser.error_log):  # a namespace error or warning libxml2 lets pass
        return None
    try:
        reader = _Reader(root, guarded, specialised)
        reader.read(root)
    except (Unsupported, LookupError, AttributeError, TypeError, ValueError):
        # LookupError and the rest: where feedparser's handlers would raise
        # (a tag closing in a context it did not open in), its own message is due.
        return None
    problem = result.get("bozo_exception") if result.get("bozo") else None
    return XmlRead(
        feed=FeedParserDict(reader.feeddata),
        entries=[FeedParserDict(entry) for entry in reader.entries],
        version=reader.version,
        problem=problem,
    )


def _version(root: etree._Element, root_key: str, declared: dict[str | None, str], attrs: Dict) -> str:
    """feedparser's name for the document's format, when it is one the port reads; else Unsupported.

    feedparser takes the version from the first namespace declaration that
    names a format, then lets an `<rss>` root overrule it: so a root that
    declares a format's namespace beside its own is left to feedparser.
    """
    uris = {uri.lower() for uri in declared.values()}
    if root.tag == "{http://www.w3.org/2005/Atom}feed" and not uris & {_RSS10_NS, _RSS090_NS}:
        return "atom10"
    if root_key == "rss" and not uris & {_RSS10_NS, _RSS090_NS} \
            and attrs.get("version", "").startswith("2."):
        return "rss20"
    if root.tag == _RDF_ROOT and declared.get(None) == _RSS10_NS and _ATOM_NS not in uris \
            and _RSS090_NS not in uris:
        return "rss10"
    raise Unsupported("not RSS 2.0, RSS 1.0 or Atom 1.0")


class _Namespaces:
    """How feedparser names each element and attribute of one document.

    feedparser gives a known namespace its own prefix (`dc`, `media`, ""
    for Atom and RSS), an unknown one the prefix the document declared
    first for it, and tracks declarations in document order. Where that
    order could matter (a prefix bound to two namespaces, an unknown
    namespace under two prefixes or under a known one's prefix) the
    document is left to feedparser, and the names here depend on nothing
    but the declarations.
    """

    def __init__(self, declarations: set[tuple[str | None, str]]) -> None:
        by_prefix: dict[str, set[str]] = {}
        self.prefixes: dict[str, set[str]] = {}  # namespace → prefixes declared for it
        self.namespacemap: dict[str, str] = {}  # document prefix → feedparser's, as feedparser keeps it
        default_unknown: set[str] = set()
        for prefix, uri in declarations:
            if not uri:
                continue  # xmlns="" takes the default namespace away
            if uri.lower() in _REFUSED_NAMESPACES:
                raise Unsupported(f"namespace {uri}")
            known = _known(uri)
            if prefix is None:
                if known is None:
                    default_unknown.add(uri)
                continue
            if not prefix.isascii():
                raise Unsupported(f"prefix {prefix!r}")  # as for element names
            by_prefix.setdefault(prefix.lower(), set()).add(uri)
            self.prefixes.setdefault(uri, set()).add(prefix)
            if known is None:
                if prefix.lower() in _STANDARD_PREFIXES:
                    raise Unsupported(f"prefix {prefix} of an unknown namespace")
            else:
                if prefix.lower() in _STANDARD_PREFIXES and prefix.lower() != known.lower():
                    raise Unsupported(f"prefix {prefix} of another known namespace")
                self.namespacemap[prefix] = known
        if any(len(uris) > 1 for uris in by_prefix.values()):
            raise Unsupported("a prefix bound to two namespaces")
        for uri in default_unknown:
            if uri in self.prefixes:
                raise Unsupported("an unknown namespace both default and prefixed")
        # The names of the tags met so far: the walk looks here first.
        self.known: dict[str, tuple[str, str, bool]] = {}

    def element(self, tag: str) -> tuple[str, str, bool]:
        """(feedparser's tag name `dc:creator`, its handler key `dc_creator`, whether it has a prefix)."""
        name = self.known.get(tag)
        if name is None:
            name = self.known[tag] = self._element(tag)
        return name

    def _element(self, tag: str) -> tuple[str, str, bool]:
        uri, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
        if not local.isascii():
            # libxml2 takes the name characters of XML 1.0's fifth edition;
            # expat refuses some, and feedparser then reads with its loose parser.
            raise Unsupported(f"element name {local!r}")
        local = local.lower()
        if not uri:
            return local, local, False
        known = _known(uri)
        if known is None:
            declared = self.prefixes.get(uri)
            if not declared:
                return local, local, False  # feedparser finds no prefix for it: a plain name
            (prefix,) = declared
            prefix = prefix.lower()
        elif known:
            prefix = known.lower()
        else:
            return local, local, False
        mapped = self.namespacemap.get(prefix, prefix)
        return f"{prefix}:{local}", f"{mapped}_{local}", True

    def attributes(self, items: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """An element's attributes as feedparser's `unknown_starttag` receives them.

        Every namespaced attribute appears twice: under feedparser's prefix
        (none for an unknown namespace) and under the document's own.
        """
        found: dict[str, str] = {}
        namespaced = False
        for key, value in items:
            if not key.isascii() and not key.rpartition("}")[2].isascii():
                raise Unsupported(f"attribute name {key!r}")  # as for element names
            if key[0] == "{":
                namespaced = True
                uri, _, local = key[1:].partition("}")
                prefix = _NAMESPACES.get(uri.lower(), "")
                found[(f"{prefix}:{local}" if prefix else local).lower()] = value
            else:
                found[key.lower()] = value
        # Without a namespaced attribute, the second pass would set each key again to the same value.
        for key, value in items if namespaced else ():
            if key[0] == "{":
                uri, _, local = key[1:].partition("}")
                found[f"{self._attribute_prefix(uri)}:{local}".lower()] = value
            else:
                found[key.lower()] = value
        return [(k, v.lower() if k in ("rel", "type") else v) for k, v in found.items()]

    def _attribute_prefix(self, uri: str) -> str:
        if uri == _XML_NS:
            return "xml"
        declared = self.prefixes.get(uri, set())
        if len(declared) != 1:
            raise Unsupported(f"attribute namespace {uri} under {len(declared)} prefixes")
        return next(iter(declared))


def _known(uri: str) -> str | None:
    """feedparser's prefix for a namespace ("" for the feed formats'), None for one it does not know."""
    lower = uri.lower()
    if "backend.userland.com/rss" in lower:
        return ""
    return _NAMESPACES.get(lower)


def _declarations(root: etree._Element, data: bytes) -> set[tuple[str | None, str]]:
    """Every (prefix, namespace) the document declares."""
    own = set(root.nsmap.items())
    # The regular expression counts the (never overlapping) `xmlns` twice as fast as bytes.count.
    if len(_XMLNS.findall(data)) == len(own):
        return own  # all of them on the root, the usual case
    found = set(own)
    for element in root.iter():
        found.update(element.nsmap.items())
    return found


# The two shapes nearly every feed dates with: RFC 3339 (Atom), which
# feedparser's first date handler (W3C-DTF) reads, and RFC 822 (RSS), which
# W3C-DTF refuses and its second handler reads. Anything else goes through
# all of feedparser's handlers.
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)t(\d\d):(\d\d):(\d\d)(?:\.\d+)?(z|[+-]\d\d:\d\d)\Z")
_RFC822 = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun), )?(\d\d?) (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r" (\d{4}) (\d\d):(\d\d):(\d\d) ([+-]\d{4}|gmt|ut|z)\Z")
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}


def _date(value: str | None) -> time.struct_time | None:
    """feedparser's `_parse_date(value)`, computed directly for RFC 3339 and RFC 822 dates."""
    if not value:
        return None
    lower = value.lower()
    if match := _RFC3339.match(lower):
        year, month, day, hour, minute, second, zone = match.groups()
        offset = 0 if zone == "z" else int(zone[1:3]) * 60 + int(zone[4:])
        month_number = int(month)
    elif match := _RFC822.match(lower):
        day, month, year, hour, minute, second, zone = match.groups()
        offset = int(zone[1:3]) * 60 + int(zone[3:]) if zone[0] in "+-" else 0
        month_number = _MONTHS[month]
    else:
        return _parse_date(value)  # type: ignore[no-any-return]
    try:
        day_number = date(int(year), month_number, int(day)).toordinal() - _EPOCH_DAY
    except ValueError:
        return _parse_date(value)  # type: ignore[no-any-return]
    hours, minutes, seconds = int(hour), int(minute), int(second)
    if not (hours < 24 and minutes < 60 and seconds < 60):
        return _parse_date(value)  # type: ignore[no-any-return]
    seconds += day_number * 86400 + hours * 3600 + minutes * 60
    seconds -= -offset * 60 if zone[0] == "-" else offset * 60
    # `time.gmtime` gives what `datetime.utctimetuple` would, at a third of the cost;
    # a time moved out of years 1 to 9999 is one datetime refuses (OverflowError).
    parsed = time.gmtime(seconds)
    if not 1 <= parsed.tm_year <= 9999:
        return _parse_date(value)  # type: ignore[no-any-return]
    return parsed


def _repaired(output: str) -> str:
    """feedparser's repair of UTF-8 read as ISO-8859-1, then its mapping of C1
    controls to the Windows-1252 characters meant (for text not all ASCII)."""
    try:  # noqa: SIM105 (contextlib.suppress costs as much as the failing encode)
        output = output.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    if _C1.search(output):
        output = output.translate(_cp1252)
    return output


def _looks_like_html(s: str) -> bool:
    """feedparser's guess whether text of no declared type is HTML (`looks_like_html`)."""
    if not (_CLOSE_TAG.search(s) or _ENTITY_OR_REF.search(s)):
        return False
    if any(t.lower() not in _ACCEPTABLE_HTML for t in _TAG_NAME.findall(s)):
        return False
    return not any(e not in html.entities.entitydefs for e in _ENTITY_NAME.findall(s))


def _map_content_type(content_type: Any) -> str:
    lowered = str.lower(content_type)  # None raises, as in feedparser
    if lowered in ("text", "plain"):
        return "text/plain"
    if lowered == "html":
        return "text/html"
    if lowered == "xhtml":
        return _XHTML
    return lowered


def _put(context: Dict, key: str, value: Any) -> None:
    """`context[key] = value` as a FeedParserDict stores it (`description` as `summary`, ...)."""
    context[_KEYMAP.get(key, key)] = value


def _enforce_href(attrs: Dict) -> Dict:
    href = attrs.get("url", attrs.get("uri", attrs.get("href", None)))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


Handler = Callable[..., Any]


class _Reader:
    """feedparser's `_FeedParserMixin` and its namespace handlers, on lxml's tree.

    The state, the element stack and every handler keep feedparser's names
    and order of effects, so the two can be read side by side; the SAX
    events come from walking the tree.
    """

    def __init__(self, root: etree._Element, data: bytes, specialised: bool = True) -> None:
        self.names = _Namespaces(_declarations(root, data))
        self.specialised = specialised  # False: every element through the general port
        self.known = self.names.known
        # Each tag met in an item: its specialised handler, or None (see `_item_children`).
        self.specs: dict[str, _Specialised | None] = {}
        self.feeddata: Dict = {}
        self.entries: list[Dict] = []
        self.depths: list[dict[str, int]] = []  # feedparser's property_depth_map, one per entry
        self.version = ""
        self.atom = False
        self.infeed = self.inentry = self.incontent = self.intextinput = self.inimage = 0
        self.inauthor = self.incontributor = self.inpublisher = self.insource = 0
        self.sourcedata: Dict = {}
        self.contentparams: Dict = {}
        self.xhtml = False  # whether contentparams["type"] is XHTML: text is then escaped
        self.summary_key: str | None = None
        self.elementstack: list[list[Any]] = []
        self.basestack: list[str] = []
        self.langstack: list[str | None] = []
        self.baseuri = ""
        self.lang: str | None = None
        self.title_depth = -1
        self.depth = 0
        self.has_content = 0
        self.guidislink: Any = 0
        self.psc_chapters_flag = False
        self.rebased: dict[tuple[str, str], str] = {}
        self.last_date: tuple[str, time.struct_time | None] = ("", None)  # `_date("")` is None

    # -- the walk: SAX events in document order ---------------------------------------------

    def read(self, root: etree._Element) -> None:
        attrs = self.names.attributes(root.items())
        declared = {p: u for p, u in root.nsmap.items() if u}
        self.version = _version(root, self.names.element(root.tag)[1], declared, dict(attrs))
        self.atom = self.version.startswith("atom")
        self._element(root, attrs)

    def _element(self, element: etree._Element, attrs: list[tuple[str, str]] | None = None) -> None:
        tag, key, prefixed = self.known.get(element.tag) or self.names.element(element.tag)
        if attrs is None:
            items = element.items()
            attrs = self.names.attributes(items) if items else []
        inline = self.start(tag, key, prefixed, attrs)
        # feedparser's handle_data, for the text before, between and after the children.
        stack = self.elementstack
        text = element.text
        if text and stack:
            stack[-1][2].append(escape(text) if self.xhtml else text)
        if self.specialised and key in _ITEM_KEYS and not inline:
            self._item_children(element)
        else:
            for child in element:
                self._element(child)
                tail = child.tail
                if tail and stack:
                    stack[-1][2].append(escape(tail) if self.xhtml else tail)
        self.end(tag, key, inline)

    def start(self, tag: str, key: str, prefixed: bool, attrs: list[tuple[str, str]]) -> bool:
        """feedparser's `unknown_starttag`; True when the element is copied into XHTML content."""
        self.depth += 1
        attrs_d = dict(attrs) if attrs else {}
        if attrs:
            base = attrs_d.get("xml:base", attrs_d.get("base")) or self.baseuri
            if base != self.baseuri or self.baseuri:
                self.baseuri = self._rebase(base)
            lang = attrs_d.get("xml:lang", attrs_d.get("lang"))
            if lang == "":
                lang = None
            elif lang is None:
                lang = self.lang
        else:
            if self.baseuri:
                self.baseuri = self._rebase(self.baseuri)
            lang = self.lang
        if lang and tag in ("feed", "rss"):
            self.feeddata["language"] = lang.replace("_", "-")
        self.lang = lang
        self.basestack.append(self.baseuri)
        self.langstack.append(lang)

        if self.incontent:
            if self.contentparams.get("type") != _XHTML:
                # feedparser turns HTML or text content holding elements
                # into XHTML (except for a `<div>`, whose end it then never
                # balances), and runs handlers inside other XML content.
                raise Unsupported("elements inside content that is not XHTML")
            local = tag.split(":", 1)[1] if ":" in tag else tag
            if local in ("svg", "math"):
                raise Unsupported(local)
            self.handle_data(f"<{local}{_strattrs(attrs)}>", escape_text=False)
            return True

        if not prefixed:
            if tag not in ("title", "link", "description", "name"):
                self.intextinput = 0
            if tag not in ("title", "link", "description", "url", "href", "width", "height"):
                self.inimage = 0

        handler = _STARTS.get(key)
        if handler is not None:
            handler(self, attrs_d)
        elif key in _FEEDPARSER_STARTS:
            raise Unsupported(f"<{tag}>")
        elif not attrs_d:
            self.elementstack.append([key, 1, []])
        else:
            _put(self._get_context(), key, attrs_d)
        return False

    def end(self, tag: str, key: str, inline: bool) -> None:
        """feedparser's `unknown_endtag`; `inline` for an element copied into XHTML content."""
        handler = _ENDS.get(key)
        if handler is None:
            if key in _FEEDPARSER_ENDS:
                raise Unsupported(f"</{tag}>")
            self.pop(key)
        elif inline:
            # Inside XHTML content feedparser still runs end handlers: an
            # XHTML `<title>` or `<source>` would close the entry's own.
            raise Unsupported(f"</{tag}> inside XHTML content")
        else:
            handler(self)
        if self.incontent and self.xhtml:
            self.handle_data(f"</{tag.split(':')[-1]}>", escape_text=False)
        basestack = self.basestack
        basestack.pop()
        if basestack and basestack[-1]:
            self.baseuri = basestack[-1]
        langstack = self.langstack
        langstack.pop()
        if langstack:
            self.lang = langstack[-1]
        self.depth -= 1

    # -- specialised handlers: an item's common elements, read directly -------------------------
    #
    # Nearly every element of a feed is a child of an item holding only text
    # (title, link, guid, dates, description, content, category, author),
    # read in one state: in an entry, in no content, author, source, image
    # or text input. For those, `_item_children` does at once what `start`,
    # the start handler, the text, the end handler, `pop` and `end` do one
    # after the other, with the same effects in the same order: the same
    # entry keys and values, the same depths and title depth, the same
    # element stack (`<content>`'s second push stays, as in the port). Any
    # other element, attribute (xml:base, xml:lang, namespaced ones), XHTML
    # type, child element or state goes through the general port.

    def _item_children(self, item: etree._Element) -> None:
        """The walk over an item's children: each by its specialised handler when it takes it."""
        stack = self.elementstack
        specs = self.specs
        names = self.names
        # What `end` restores after each child: the item's own base (when it has one) and language.
        item_base = self.basestack[-1]
        item_lang = self.langstack[-1]
        depth = self.depth + 1
        plain = self._plain()
        for child in item:
            spec = attrs_d = None
            if plain:
                tag = child.tag
                spec = specs.get(tag, _UNSEEN)
                if spec is _UNSEEN:
                    spec = specs[tag] = _SPECIALISED.get(names.element(tag)[1])
                if spec is not None:
                    attrs_d = self._taken(child, spec)
            if spec is None or attrs_d is None:
                self._element(child)
                plain = self._plain()
            else:
                # `start`'s effects for an element without xml:base or xml:lang, the handlers', then `end`'s.
                self.depth = depth
                if self.baseuri:
                    self.baseuri = self._rebase(self.baseuri)
                spec.read(self, child, attrs_d)
                if item_base:
                    self.baseuri = item_base
                self.lang = item_lang
                self.depth = depth - 1
            tail = child.tail
            if tail and stack:
                stack[-1][2].append(escape(tail) if self.xhtml else tail)

    def _plain(self) -> bool:
        """Whether the walk is in an entry and in nothing else, where the specialised handlers hold.

        They leave this state as they find it, so it is looked at again only
        after an element read by the general port.
        """
        return bool(self.inentry) and not (
            self.insource or self.incontent or self.inauthor or self.incontributor or self.inpublisher
            or self.inimage or self.intextinput or self.contentparams or self.summary_key is not None)

    def _taken(self, child: etree._Element, spec: _Specialised) -> Dict | None:
        """`child`'s attributes when its specialised handler takes it, else None."""
        if len(child) and not (spec.inner and self._holds_only(child, spec.inner)):
            return None
        attrs_d: Dict = {}
        items = child.items()
        if items:
            # As `_Namespaces.attributes` names plain attributes; any other name is not taken.
            attributes = spec.attributes
            for name, value in items:
                name = name.lower()
                if name not in attributes:
                    return None
                attrs_d[name] = value.lower() if name in ("rel", "type") else value
            if spec.typed and "type" in attrs_d and _map_content_type(attrs_d["type"]) == _XHTML:
                return None  # XHTML text is escaped and its `<div>` unwrapped: the general port does it
        return attrs_d

    def _holds_only(self, element: etree._Element, keys: frozenset[str]) -> bool:
        """Whether every child of `element` is one of `keys`, holding text only, without attributes."""
        for child in element:
            if len(child) or child.items() or self.names.element(child.tag)[1] not in keys:
                return False
        return True

    # What `push_content`, the text, `pop_content` and `_settle` come to for
    # an element of an entry holding text only, without the content state.

    def _typed(self, text: str | None, attrs_d: Dict, default_type: str) -> tuple[str, Dict]:
        """The value of a text construct (title, summary, content...) and its detail's parameters."""
        lang = self.lang
        if lang:
            lang = self.lang = lang.replace("_", "-")
        content_type = _map_content_type(attrs_d["type"]) if "type" in attrs_d else default_type
        params = {"type": content_type, "language": lang, "base": self.baseuri}
        output = text.strip() if text else ""
        if attrs_d.get("mode") == "base64" \
                or not (content_type.startswith("text/") or content_type.endswith(("+xml", "/xml"))):
            with contextlib.suppress(binascii.Error, binascii.Incomplete, UnicodeDecodeError):
                output = base64.decodebytes(output.encode("utf8")).decode("utf8")
        if not self.atom and content_type == "text/plain" and _looks_like_html(output):
            params["type"] = "text/html"
        if not output.isascii():
            output = _repaired(output)
        return output, params

    def _value(self, element: str, text: str | None) -> str:
        """The value of an element that is not a text construct (link, id, date, author...)."""
        output = text.strip() if text else ""
        if element in _CAN_BE_RELATIVE_URI and output and (element != "id" or self.guidislink):
            output = self._resolve_uri(output)
        if not output.isascii():
            output = _repaired(output)
        return output

    def _place(self, element: str, output: str, params: Dict | None = None) -> None:
        """`_settle`'s keeping of a value in the entry, unless one less deep is kept already."""
        depths = self.depths[-1]
        old_depth = depths.get(element)
        entry = self.entries[-1]
        if old_depth is None or self.depth <= old_depth:
            depths[element] = self.depth
            entry[element] = output  # `_put`: none of these names is a FeedParserDict alias
        if params is not None:  # made for this element alone (`_typed`): kept as the detail
            params["value"] = output
            entry[element + "_detail"] = params

    def _read_title(self, child: etree._Element, attrs_d: Dict) -> None:
        output, params = self._typed(child.text, attrs_d, "text/plain")
        if not -1 < self.title_depth <= self.depth:
            self._place("title", output, params)
        if output:
            self.title_depth = self.depth

    def _read_description(self, child: etree._Element, attrs_d: Dict) -> None:
        if "summary" in self.entries[-1] and not self.has_content:
            self._read_content(child, attrs_d)  # a second description is content
        else:
            self._place("summary", *self._typed(child.text, attrs_d, "text/html"))

    def _read_summary(self, child: etree._Element, attrs_d: Dict) -> None:
        if "summary" in self.entries[-1] and not self.has_content:
            self._read_content(child, attrs_d)
        else:
            self._place("summary", *self._typed(child.text, attrs_d, "text/plain"))

    def _read_content(self, child: etree._Element, attrs_d: Dict) -> None:
        self.has_content = 1
        output, params = self._typed(child.text, attrs_d, "text/plain")
        src = attrs_d.get("src")
        if src:
            params["src"] = src
        self._keep_content(output, params)
        # `_start_content` pushes twice and `_end_content` pops once: the first push stays.
        self.elementstack.append(["content", 1, []])

    def _read_content_encoded(self, child: etree._Element, attrs_d: Dict) -> None:
        self.has_content = 1
        self._keep_content(*self._typed(child.text, attrs_d, "text/html"))

    def _keep_content(self, output: str, params: Dict) -> None:
        entry = self.entries[-1]
        params["value"] = output  # made for this element alone (`_typed`)
        entry.setdefault("content", []).append(params)
        # `_end_content` looks at the type before HTML may be guessed in plain text: both are copied.
        if params["type"] in _SUMMARY_TYPES:
            entry.setdefault("summary", output)

    def _read_link(self, child: etree._Element, attrs_d: Dict) -> None:
        stack = self.elementstack
        height = len(stack)
        self._start_link(attrs_d)
        text = child.text
        if len(stack) > height:  # no href: the link is the text
            stack.pop()
            output = self._value("link", text)
            if "&" in output:  # else neither changes it
                output = _QUERY_ENTITY.sub(r"&\g<1>", output.replace("&amp;", "&"))
            entry = self.entries[-1]
            entry["link"] = output
            if output:
                entry["links"][-1]["href"] = output
        else:
            if text and stack:
                stack[-1][2].append(text)
            self._end_link()

    def _read_guid(self, child: etree._Element, attrs_d: Dict) -> None:
        self.guidislink = attrs_d.get("ispermalink", "true") == "true"
        value = self._value("id", child.text)
        self._place("id", value)
        context = self.entries[-1]
        context.setdefault("guidislink", self.guidislink and "link" not in context)
        if self.guidislink:
            context.setdefault("link", value)

    def _read_published(self, child: etree._Element, attrs_d: Dict) -> None:
        value = self._value("published", child.text)
        self._place("published", value)
        self.entries[-1]["published_parsed"] = self._date_of(value)

    def _read_updated(self, child: etree._Element, attrs_d: Dict) -> None:
        value = self._value("updated", child.text)
        self._place("updated", value)
        self.entries[-1]["updated_parsed"] = self._date_of(value)

    def _date_of(self, value: str) -> time.struct_time | None:
        """`_date(value)`; an entry's second date is often its first (Atom's published and updated)."""
        last, parsed = self.last_date
        if value != last:
            parsed = _date(value)
            self.last_date = (value, parsed)
        return parsed

    def _read_category(self, child: etree._Element, attrs_d: Dict) -> None:
        self._add_tag(attrs_d.get("term"), attrs_d.get("scheme", attrs_d.get("domain")), attrs_d.get("label"))
        value = self._value("category", child.text)
        if not value:
            return
        tags = self.entries[-1]["tags"]
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            self._add_tag(value, None, None)

    def _read_author(self, child: etree._Element, attrs_d: Dict) -> None:
        """An RSS author's text, or an Atom author's name, email and uri."""
        self.inauthor = 1
        context = self.entries[-1]
        context.setdefault("authors", []).append({})
        text = child.text
        pieces = [text] if text else []
        outer = self.baseuri
        depth = self.depth
        names = self.names
        for part in child:
            self.depth = depth + 1
            if outer:
                self.baseuri = self._rebase(outer)
            key = names.element(part.tag)[1]
            if key == "uri":
                value = self._value("href", part.text)
                self._place("href", value)
                self._save_author("href", value)
            else:
                self._save_author(key, part.text.strip() if part.text else "")
            if outer:
                self.baseuri = outer
            self.depth = depth
            if part.tail:
                pieces.append(part.tail)
        self._place("author", self._value("author", "".join(pieces)))
        self.inauthor = 0
        self._sync_author_detail()

    def _read_enclosure(self, child: etree._Element, attrs_d: Dict) -> None:
        self._start_enclosure(attrs_d)
        stack = self.elementstack
        text = child.text
        if text and stack:
            stack[-1][2].append(text)
        self.pop("enclosure")  # what `end` does for an element without an end handler

    def _rebase(self, base: str) -> str:
        """The base URI after an element with `base` (its xml:base, or the current base)."""
        key = (self.baseuri, base)
        found = self.rebased.get(key)
        if found is None:
            if self.baseuri:
                found = make_safe_absolute_uri(self.baseuri, base) or self.baseuri
            else:
                found = _urljoin(self.baseuri, base)
            self.rebased[key] = found
        return found

    def handle_data(self, text: str, escape_text: bool = True) -> None:
        if not self.elementstack:
            return
        if escape_text and self.xhtml:
            text = escape(text)
        self.elementstack[-1][2].append(text)

    # -- feedparser's element stack ----------------------------------------------------------

    def push(self, element: str, expecting_text: Any) -> None:
        self.elementstack.append([element, expecting_text, []])

    def pop(self, element: str, strip_whitespace: bool = True) -> Any:
        if not self.elementstack or self.elementstack[-1][0] != element:
            return None
        element, expecting_text, pieces = self.elementstack.pop()
        if self.xhtml and self.version == "atom10":
            pieces = _unwrap_div(pieces)
        output = "".join(pieces)
        if strip_whitespace:
            output = output.strip()
        if not expecting_text:
            return output
        return self._settle(element, output)

    def _settle(self, element: str, output: str) -> Any:
        """The rest of feedparser's `pop` once the text is joined: the value kept, and where."""
        params = self.contentparams
        if params:
            if params.get("base64", 0):
                with contextlib.suppress(binascii.Error, binascii.Incomplete, UnicodeDecodeError):
                    output = base64.decodebytes(output.encode("utf8")).decode("utf8")
            params.pop("mode", None)
            params.pop("base64", None)
        if element in _CAN_BE_RELATIVE_URI and output and (element != "id" or self.guidislink):
            output = self._resolve_uri(output)
        if params and not self.atom and params.get("type") == "text/plain" and _looks_like_html(output):
            params["type"] = "text/html"
        if not output.isascii():
            output = _repaired(output)

        if element in ("category", "tags", "itunes_keywords"):
            return output
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output

        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault(element, [])
                entry[element].append(self.contentparams | {"value": output})
            elif element == "link":
                if not self.inimage:
                    output = output.replace("&amp;", "&")
                    output = _QUERY_ENTITY.sub(r"&\g<1>", output)
                    entry[element] = output
                    if output:
                        entry["links"][-1]["href"] = output
            else:
                if element == "description":
                    element = "summary"
                depths = self.depths[-1]
                old_depth = depths.get(element)
                if old_depth is None or self.depth <= old_depth:
                    depths[element] = self.depth
                    _put(entry, element, output)
                if self.incontent:
                    entry[element + "_detail"] = self.contentparams | {"value": output}
        elif self.infeed or self.insource:
            context = self._get_context()
            if element == "description":
                element = "subtitle"
            _put(context, element, output)
            if element == "link":
                output = _QUERY_ENTITY.sub(r"&\g<1>", output)
                context[element] = output
                context["links"][-1]["href"] = output
            elif self.incontent:
                context[element + "_detail"] = self.contentparams | {"value": output}
        return output

    def _resolve_uri(self, uri: str) -> str:
        if self.baseuri:
            return str(_urljoin(self.baseuri, uri))
        # `_urljoin` without a base: its fix of `http:///x`, then the URI as it is.
        match = _urifixer.match(uri)
        return match.group(1) + uri[match.end():] if match and match.group(2) else uri

    def push_content(self, tag: str, attrs_d: Dict, default_content_type: str, expecting_text: Any) -> None:
        self.incontent += 1
        if self.lang:
            self.lang = self.lang.replace("_", "-")
        self.contentparams = {
            "type": _map_content_type(attrs_d.get("type", default_content_type)),
            "language": self.lang,
            "base": self.baseuri,
        }
        self.contentparams["base64"] = self._is_base64(attrs_d)
        self.xhtml = self.contentparams["type"] == _XHTML
        self.push(tag, expecting_text)

    def pop_content(self, tag: str) -> Any:
        value = self.pop(tag)
        self.incontent -= 1
        self.contentparams = {}
        self.xhtml = False
        return value

    def _is_base64(self, attrs_d: Dict) -> int:
        if attrs_d.get("mode", "") == "base64":
            return 1
        content_type: str = self.contentparams["type"]
        if content_type.startswith("text/") or content_type.endswith(("+xml", "/xml")):
            return 0
        return 1

    def _get_context(self) -> Dict:
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feeddata:
            return self.feeddata["image"]  # type: ignore[no-any-return]
        if self.intextinput:
            return self.feeddata["textinput"]  # type: ignore[no-any-return]
        if self.inentry:
            return self.entries[-1]
        return self.feeddata

    def _save(self, key: str, value: Any, overwrite: bool = False) -> None:
        context = self._get_context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    def _save_author(self, key: str, value: Any, prefix: str = "author") -> None:
        context = self._get_context()
        context.setdefault(prefix + "_detail", {})
        context[prefix + "_detail"][key] = value
        self._sync_author_detail()
        context.setdefault("authors", [{}])
        context["authors"][-1][key] = value

    def _save_contributor(self, key: str, value: Any) -> None:
        context = self._get_context()
        context.setdefault("contributors", [{}])
        context["contributors"][-1][key] = value

    def _sync_author_detail(self, key: str = "author") -> None:
        context = self._get_context()
        people = context.get("authors" if key == "author" else f"{key}s")
        detail = {} if people is None else people[-1]
        if detail:
            name = detail.get("name")
            email = detail.get("email")
            if name and email:
                context[key] = f"{name} ({email})"
            elif name:
                context[key] = name
            elif email:
                context[key] = email
            return
        author, email = context.get(key), None
        if not author:
            return
        match = _AUTHOR_EMAIL.search(author)
        if match:
            email = match.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "")
            author = author.replace("&lt;&gt;", "").strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author or email:
            context.setdefault(f"{key}_detail", detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email

    def _add_tag(self, term: Any, scheme: Any, label: Any) -> None:
        tags = self._get_context().setdefault("tags", [])
        if not term and not scheme and not label:
            return
        value = {"term": term, "scheme": scheme, "label": label}
        if value not in tags:
            tags.append(value)

    def _get_attribute(self, attrs_d: Dict, name: str) -> Any:
        prefix, _, suffix = name.partition(":")
        return attrs_d.get(f"{self.names.namespacemap.get(prefix, prefix)}:{suffix}")

    # -- the feed formats (feedparser's namespaces/_base.py) ----------------------------------

    def _start_rss(self, attrs_d: Dict) -> None:
        # The root's version is known before the walk (`_version`); an
        # `<rss>` inside another format would change it.
        if not self.version.startswith("rss"):
            raise Unsupported("<rss> inside another format")

    def _start_channel(self, attrs_d: Dict) -> None:
        self.infeed = 1
        self._cdf_common(attrs_d)

    def _cdf_common(self, attrs_d: Dict) -> None:
        if "lastmod" in attrs_d or "href" in attrs_d:
            raise Unsupported("CDF attributes")

    def _start_feed(self, attrs_d: Dict) -> None:
        self.infeed = 1

    def _end_channel(self) -> None:
        self.infeed = 0

    _end_feed = _end_channel

    def _start_image(self, attrs_d: Dict) -> None:
        context = self._get_context()
        if not self.inentry:
            context.setdefault("image", {})
        self.inimage = 1
        self.title_depth = -1
        self.push("image", 0)

    def _end_image(self) -> None:
        self.pop("image")
        self.inimage = 0

    def _start_textinput(self, attrs_d: Dict) -> None:
        context = self._get_context()
        context.setdefault("textinput", {})
        self.intextinput = 1
        self.title_depth = -1
        self.push("textinput", 0)

    def _end_textinput(self) -> None:
        self.pop("textinput")
        self.intextinput = 0

    def _start_author(self, attrs_d: Dict) -> None:
        self.inauthor = 1
        self.push("author", 1)
        context = self._get_context()
        context.setdefault("authors", [])
        context["authors"].append({})

    _start_managingeditor = _start_author

    def _end_author(self) -> None:
        self.pop("author")
        self.inauthor = 0
        self._sync_author_detail()

    _end_managingeditor = _end_author

    def _start_contributor(self, attrs_d: Dict) -> None:
        self.incontributor = 1
        context = self._get_context()
        context.setdefault("contributors", [])
        context["contributors"].append({})
        self.push("contributor", 0)

    def _end_contributor(self) -> None:
        self.pop("contributor")
        self.incontributor = 0

    def _start_name(self, attrs_d: Dict) -> None:
        self.push("name", 0)

    def _end_name(self) -> None:
        value = self.pop("name")
        if self.inpublisher:
            self._save_author("name", value, "publisher")
        elif self.inauthor:
            self._save_author("name", value)
        elif self.incontributor:
            self._save_contributor("name", value)
        elif self.intextinput:
            self._get_context()["name"] = value

    def _start_width(self, attrs_d: Dict) -> None:
        self.push("width", 0)

    def _end_width(self) -> None:
        self._dimension("width")

    def _start_height(self, attrs_d: Dict) -> None:
        self.push("height", 0)

    def _end_height(self) -> None:
        self._dimension("height")

    def _dimension(self, name: str) -> None:
        value = self.pop(name)
        try:
            number = int(value)
        except ValueError:
            number = 0
        if self.inimage:
            self._get_context()[name] = number

    def _start_url(self, attrs_d: Dict) -> None:
        self.push("href", 1)

    _start_homepage = _start_url
    _start_uri = _start_url

    def _end_url(self) -> None:
        value = self.pop("href")
        if self.inauthor:
            self._save_author("href", value)
        elif self.incontributor:
            self._save_contributor("href", value)

    _end_homepage = _end_url
    _end_uri = _end_url

    def _start_email(self, attrs_d: Dict) -> None:
        self.push("email", 0)

    def _end_email(self) -> None:
        value = self.pop("email")
        if self.inpublisher:
            self._save_author("email", value, "publisher")
        elif self.inauthor:
            self._save_author("email", value)
        elif self.incontributor:
            self._save_contributor("email", value)

    def _start_subtitle(self, attrs_d: Dict) -> None:
        self.push_content("subtitle", attrs_d, "text/plain", 1)

    _start_tagline = _start_subtitle

    def _end_subtitle(self) -> None:
        self.pop_content("subtitle")

    _end_tagline = _end_subtitle

    def _start_rights(self, attrs_d: Dict) -> None:
        self.push_content("rights", attrs_d, "text/plain", 1)

    _start_copyright = _start_rights

    def _end_rights(self) -> None:
        self.pop_content("rights")

    _end_copyright = _end_rights

    def _start_item(self, attrs_d: Dict) -> None:
        self.entries.append({})
        self.depths.append({})
        self.push("item", 0)
        self.inentry = 1
        self.guidislink = 0
        self.title_depth = -1
        identifier = self._get_attribute(attrs_d, "rdf:about")
        if identifier:
            self._get_context()["id"] = identifier
        self._cdf_common(attrs_d)

    _start_entry = _start_item

    def _end_item(self) -> None:
        self.pop("item")
        self.inentry = 0
        self.has_content = 0

    _end_entry = _end_item

    def _start_language(self, attrs_d: Dict) -> None:
        self.push("language", 1)

    def _end_language(self) -> None:
        self.lang = self.pop("language")

    def _start_webmaster(self, attrs_d: Dict) -> None:
        self.push("publisher", 1)

    def _end_webmaster(self) -> None:
        self.pop("publisher")
        self._sync_author_detail("publisher")

    def _start_published(self, attrs_d: Dict) -> None:
        self.push("published", 1)

    _start_issued = _start_published
    _start_pubdate = _start_published

    def _end_published(self) -> None:
        value = self.pop("published")
        self._save("published_parsed", _date(value), overwrite=True)

    _end_issued = _end_published
    _end_pubdate = _end_published

    def _start_updated(self, attrs_d: Dict) -> None:
        self.push("updated", 1)

    _start_modified = _start_updated
    _start_lastbuilddate = _start_updated

    def _end_updated(self) -> None:
        value = self.pop("updated")
        self._save("updated_parsed", _date(value), overwrite=True)

    _end_modified = _end_updated
    _end_lastbuilddate = _end_updated

    def _start_created(self, attrs_d: Dict) -> None:
        self.push("created", 1)

    def _end_created(self) -> None:
        value = self.pop("created")
        self._save("created_parsed", _parse_date(value), overwrite=True)

    def _start_expirationdate(self, attrs_d: Dict) -> None:
        self.push("expired", 1)

    def _end_expirationdate(self) -> None:
        self._save("expired_parsed", _parse_date(self.pop("expired")), overwrite=True)

    def _start_category(self, attrs_d: Dict) -> None:
        term = attrs_d.get("term")
        scheme = attrs_d.get("scheme", attrs_d.get("domain"))
        label = attrs_d.get("label")
        self._add_tag(term, scheme, label)
        self.push("category", 1)

    _start_keywords = _start_category

    def _end_category(self) -> None:
        value = self.pop("category")
        if not value:
            return
        tags = self._get_context()["tags"]
        if value and len(tags) and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            self._add_tag(value, None, None)

    _end_keywords = _end_category

    def _start_cloud(self, attrs_d: Dict) -> None:
        self._get_context()["cloud"] = dict(attrs_d)

    def _start_link(self, attrs_d: Dict) -> None:
        attrs_d.setdefault("rel", "alternate")
        if attrs_d["rel"] == "self":
            attrs_d.setdefault("type", "application/atom+xml")
        else:
            attrs_d.setdefault("type", "text/html")
        context = self._get_context()
        attrs_d = _enforce_href(attrs_d)
        if "href" in attrs_d:
            attrs_d["href"] = self._resolve_uri(attrs_d["href"])
        expecting_text = self.infeed or self.inentry or self.insource
        context.setdefault("links", [])
        if not (self.inentry and self.inimage):
            context["links"].append(dict(attrs_d))
        if "href" in attrs_d:
            if attrs_d.get("rel") == "alternate" \
                    and _map_content_type(attrs_d.get("type", "")) in _HTML_TYPES:
                context["link"] = attrs_d["href"]
        else:
            self.push("link", expecting_text)

    def _end_link(self) -> None:
        self.pop("link")

    def _start_guid(self, attrs_d: Dict) -> None:
        self.guidislink = attrs_d.get("ispermalink", "true") == "true"
        self.push("id", 1)

    _start_id = _start_guid

    def _end_guid(self) -> None:
        value = self.pop("id")
        self._save("guidislink", self.guidislink and "link" not in self._get_context())
        if self.guidislink:
            self._save("link", value)

    _end_id = _end_guid

    def _start_title(self, attrs_d: Dict) -> None:
        self.push_content("title", attrs_d, "text/plain", self.infeed or self.inentry or self.insource)

    def _end_title(self) -> None:
        value = self.pop_content("title")
        if not value:
            return
        self.title_depth = self.depth

    def _start_description(self, attrs_d: Dict) -> None:
        context = self._get_context()
        if "summary" in context and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs_d)
        else:
            expecting_text = self.infeed or self.inentry or self.insource
            self.push_content("description", attrs_d, "text/html", expecting_text)

    def _start_abstract(self, attrs_d: Dict) -> None:
        self.push_content("description", attrs_d, "text/plain", self.infeed or self.inentry or self.insource)

    def _end_description(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self.pop_content("description")
        self.summary_key = None

    _end_abstract = _end_description

    def _start_info(self, attrs_d: Dict) -> None:
        self.push_content("info", attrs_d, "text/plain", 1)

    _start_feedburner_browserfriendly = _start_info

    def _end_info(self) -> None:
        self.pop_content("info")

    _end_feedburner_browserfriendly = _end_info

    def _start_generator(self, attrs_d: Dict) -> None:
        if attrs_d:
            attrs_d = _enforce_href(attrs_d)
            if "href" in attrs_d:
                attrs_d["href"] = self._resolve_uri(attrs_d["href"])
        self._get_context()["generator_detail"] = dict(attrs_d)
        self.push("generator", 1)

    def _end_generator(self) -> None:
        value = self.pop("generator")
        context = self._get_context()
        if "generator_detail" in context:
            context["generator_detail"]["name"] = value

    def _start_summary(self, attrs_d: Dict) -> None:
        context = self._get_context()
        if "summary" in context and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs_d)
        else:
            self.summary_key = "summary"
            self.push_content(self.summary_key, attrs_d, "text/plain", 1)

    def _end_summary(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self.pop_content(self.summary_key or "summary")
        self.summary_key = None

    def _start_enclosure(self, attrs_d: Dict) -> None:
        attrs_d = _enforce_href(attrs_d)
        attrs_d["rel"] = "enclosure"
        self._get_context().setdefault("links", []).append(dict(attrs_d))

    def _start_source(self, attrs_d: Dict) -> None:
        if "url" in attrs_d:
            self.sourcedata["href"] = attrs_d["url"]
        self.push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def _end_source(self) -> None:
        self.insource = 0
        value = self.pop("source")
        if value:
            self.sourcedata["title"] = value
        self._get_context()["source"] = _deep_copy(self.sourcedata)
        self.sourcedata = {}

    def _start_content(self, attrs_d: Dict) -> None:
        self.has_content = 1
        self.push_content("content", attrs_d, "text/plain", 1)
        src = attrs_d.get("src")
        if src:
            self.contentparams["src"] = src
        # feedparser pushes `content` twice and pops it once: the element
        # stack keeps the first, which later text goes to.
        self.push("content", 1)

    def _start_body(self, attrs_d: Dict) -> None:
        self.push_content("content", attrs_d, _XHTML, 1)

    _start_xhtml_body = _start_body

    def _start_content_encoded(self, attrs_d: Dict) -> None:
        self.has_content = 1
        self.push_content("content", attrs_d, "text/html", 1)

    _start_fullitem = _start_content_encoded

    def _end_content(self) -> None:
        copy_to_summary = _map_content_type(self.contentparams.get("type")) in {"text/plain"} | _HTML_TYPES
        value = self.pop_content("content")
        if copy_to_summary:
            self._save("summary", value)

    _end_body = _end_content
    _end_xhtml_body = _end_content
    _end_content_encoded = _end_content
    _end_fullitem = _end_content

    def _start_newlocation(self, attrs_d: Dict) -> None:
        self.push("newlocation", 1)

    def _end_newlocation(self) -> None:
        url = self.pop("newlocation")
        context = self._get_context()
        if context is not self.feeddata:
            return
        context["newlocation"] = make_safe_absolute_uri(self.baseuri, url.strip())

    def _start_tags(self, attrs_d: Dict) -> None:
        self.push("tags", 1)

    def _end_tags(self) -> None:
        for term in self.pop("tags").split(","):
            self._add_tag(term.strip(), None, None)

    # -- Dublin Core (namespaces/dc.py) ------------------------------------------------------

    _start_dc_author = _start_author
    _start_dc_creator = _start_author
    _start_dc_date = _start_updated
    _start_dc_description = _start_description
    _start_dc_language = _start_language
    _start_dc_publisher = _start_webmaster
    _start_dc_rights = _start_rights
    _start_dc_subject = _start_category
    _start_dc_title = _start_title
    _start_dcterms_created = _start_created
    _start_dcterms_issued = _start_published
    _start_dcterms_modified = _start_updated

    def _end_dc_author(self) -> None:
        self._end_author()

    _end_dc_creator = _end_dc_author

    def _end_dc_date(self) -> None:
        self._end_updated()

    def _end_dc_description(self) -> None:
        self._end_description()

    def _end_dc_language(self) -> None:
        self._end_language()

    def _end_dc_publisher(self) -> None:
        self._end_webmaster()

    def _end_dc_rights(self) -> None:
        self._end_rights()

    def _end_dc_subject(self) -> None:
        self._end_category()

    def _end_dc_title(self) -> None:
        self._end_title()

    def _end_dcterms_created(self) -> None:
        self._end_created()

    def _end_dcterms_issued(self) -> None:
        self._end_published()

    def _end_dcterms_modified(self) -> None:
        self._end_updated()

    def _start_dcterms_valid(self, attrs_d: Dict) -> None:
        self.push("validity", 1)

    def _end_dcterms_valid(self) -> None:
        for validity_detail in self.pop("validity").split(";"):
            if "=" in validity_detail:
                key, value = validity_detail.split("=", 1)
                if key == "start":
                    self._save("validity_start", value, overwrite=True)
                    self._save("validity_start_parsed", _parse_date(value), overwrite=True)
                elif key == "end":
                    self._save("validity_end", value, overwrite=True)
                    self._save("validity_end_parsed", _parse_date(value), overwrite=True)

    def _start_dc_contributor(self, attrs_d: Dict) -> None:
        self.incontributor = 1
        context = self._get_context()
        context.setdefault("contributors", [])
        context["contributors"].append({})
        self.push("name", 0)

    def _end_dc_contributor(self) -> None:
        self._end_name()
        self.incontributor = 0

    # -- Creative Commons (cc.py) -----------------------------------------------------------------

    def _start_cc_license(self, attrs_d: Dict) -> None:
        context = self._get_context()
        value = self._get_attribute(attrs_d, "rdf:resource")
        link: Dict = {"rel": "license"}
        if value:
            link["href"] = value
        context.setdefault("links", []).append(link)

    def _start_creativecommons_license(self, attrs_d: Dict) -> None:
        self.push("license", 1)

    _start_creativeCommons_license = _start_creativecommons_license

    def _end_creativecommons_license(self) -> None:
        value = self.pop("license")
        context = self._get_context()
        link: Dict = {"rel": "license"}
        if value:
            link["href"] = value
        context.setdefault("links", []).append(link)
        del context["license"]

    _end_creativeCommons_license = _end_creativecommons_license

    # -- iTunes (itunes.py) ------------------------------------------------------------------

    _start_itunes_author = _start_author
    _start_itunes_name = _start_name
    _start_itunes_email = _start_email
    _start_itunes_subtitle = _start_subtitle
    _start_itunes_summary = _start_summary

    def _end_itunes_author(self) -> None:
        self._end_author()

    def _end_itunes_category(self) -> None:
        self._end_category()

    def _end_itunes_name(self) -> None:
        self._end_name()

    def _end_itunes_email(self) -> None:
        self._end_email()

    def _end_itunes_subtitle(self) -> None:
        self._end_subtitle()

    def _end_itunes_summary(self) -> None:
        self._end_summary()

    def _start_itunes_owner(self, attrs_d: Dict) -> None:
        self.inpublisher = 1
        self.push("publisher", 0)

    def _end_itunes_owner(self) -> None:
        self.pop("publisher")
        self.inpublisher = 0
        self._sync_author_detail("publisher")

    def _end_itunes_keywords(self) -> None:
        for term in self.pop("itunes_keywords").split(","):
            if term.strip():
                self._add_tag(term.strip(), "http://www.itunes.com/", None)

    def _start_itunes_category(self, attrs_d: Dict) -> None:
        self._add_tag(attrs_d.get("text"), "http://www.itunes.com/", None)
        self.push("category", 1)

    def _start_itunes_image(self, attrs_d: Dict) -> None:
        self.push("itunes_image", 0)
        if attrs_d.get("href"):
            self._get_context()["image"] = {"href": attrs_d.get("href")}
        elif attrs_d.get("url"):
            self._get_context()["image"] = {"href": attrs_d.get("url")}

    _start_itunes_link = _start_itunes_image

    def _end_itunes_block(self) -> None:
        value = self.pop("itunes_block", False)
        self._get_context()["itunes_block"] = 1 if value in ("yes", "Yes") else 0

    def _end_itunes_explicit(self) -> None:
        # As `parse` has feedparser read it: Apple's current words too.
        self._get_context()["itunes_explicit"] = explicit(self.pop("itunes_explicit", False))

    # -- Media RSS (mediarss.py) -------------------------------------------------------------

    def _start_media_category(self, attrs_d: Dict) -> None:
        attrs_d.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
        self._start_category(attrs_d)

    def _end_media_category(self) -> None:
        self._end_category()

    def _end_media_keywords(self) -> None:
        for term in self.pop("media_keywords").split(","):
            if term.strip():
                self._add_tag(term.strip(), None, None)

    def _start_media_title(self, attrs_d: Dict) -> None:
        self._start_title(attrs_d)

    def _end_media_title(self) -> None:
        title_depth = self.title_depth
        self._end_title()
        self.title_depth = title_depth

    def _start_media_group(self, attrs_d: Dict) -> None:
        pass

    def _start_media_rating(self, attrs_d: Dict) -> None:
        self._get_context().setdefault("media_rating", attrs_d)
        self.push("rating", 1)

    def _end_media_rating(self) -> None:
        rating = self.pop("rating")
        if rating is not None and rating.strip():
            self._get_context()["media_rating"]["content"] = rating

    def _start_media_credit(self, attrs_d: Dict) -> None:
        context = self._get_context()
        context.setdefault("media_credit", [])
        context["media_credit"].append(attrs_d)
        self.push("credit", 1)

    def _end_media_credit(self) -> None:
        credit = self.pop("credit")
        if credit is not None and credit.strip():
            self._get_context()["media_credit"][-1]["content"] = credit

    def _start_media_description(self, attrs_d: Dict) -> None:
        self._start_description(attrs_d)

    def _end_media_description(self) -> None:
        self._end_description()

    def _start_media_restriction(self, attrs_d: Dict) -> None:
        self._get_context().setdefault("media_restriction", attrs_d)
        self.push("restriction", 1)

    def _end_media_restriction(self) -> None:
        restriction = self.pop("restriction")
        if restriction is not None and restriction.strip():
            self._get_context()["media_restriction"]["content"] = [
                cc.strip().lower() for cc in restriction.split(" ")]

    def _start_media_license(self, attrs_d: Dict) -> None:
        self._get_context().setdefault("media_license", attrs_d)
        self.push("license", 1)

    def _end_media_license(self) -> None:
        license_ = self.pop("license")
        if license_ is not None and license_.strip():
            self._get_context()["media_license"]["content"] = license_

    def _start_media_content(self, attrs_d: Dict) -> None:
        context = self._get_context()
        context.setdefault("media_content", [])
        context["media_content"].append(attrs_d)

    def _start_media_thumbnail(self, attrs_d: Dict) -> None:
        context = self._get_context()
        context.setdefault("media_thumbnail", [])
        self.push("url", 1)
        context["media_thumbnail"].append(attrs_d)

    def _end_media_thumbnail(self) -> None:
        url = self.pop("url")
        context = self._get_context()
        if url is not None and url.strip() and "url" not in context["media_thumbnail"][-1]:
            context["media_thumbnail"][-1]["url"] = url

    def _start_media_player(self, attrs_d: Dict) -> None:
        self.push("media_player", 0)
        self._get_context()["media_player"] = dict(attrs_d)

    def _end_media_player(self) -> None:
        value = self.pop("media_player")
        self._get_context()["media_player"]["content"] = value

    # -- Podlove Simple Chapters (psc.py) ----------------------------------------------------

    def _start_psc_chapters(self, attrs_d: Dict) -> None:
        context = self._get_context()
        if "psc_chapters" not in context:
            self.psc_chapters_flag = True
            attrs_d["chapters"] = []
            context["psc_chapters"] = dict(attrs_d)

    def _end_psc_chapters(self) -> None:
        self.psc_chapters_flag = False

    def _start_psc_chapter(self, attrs_d: Dict) -> None:
        if self.psc_chapters_flag:
            start = self._get_attribute(attrs_d, "start")
            attrs_d["start_parsed"] = _parse_psc_chapter_start(start)
            self._get_context()["psc_chapters"]["chapters"].append(dict(attrs_d))


def _handlers(prefix: str) -> dict[str, Handler]:
    return {
        name[len(prefix):]: getattr(_Reader, name)
        for name in dir(_Reader) if name.startswith(prefix)
    }


_STARTS = _handlers("_start_")
_ENDS = _handlers("_end_")


class _Specialised(NamedTuple):
    """A specialised handler and the elements it reads exactly as the general port does."""

    read: Callable[[_Reader, etree._Element, Dict], None]
    attributes: frozenset[str]  # the attributes it takes (named as `_Namespaces.attributes` names them)
    typed: bool  # whether a `type` attribute makes its text content (XHTML is left to the general port)
    inner: frozenset[str] = frozenset()  # the elements it takes inside, each holding text only


_ITEM_KEYS = frozenset({"item", "entry"})
_UNSEEN: Any = object()  # a tag `_Reader.specs` does not know yet
# The content types whose content `_end_content` copies to the summary.
_SUMMARY_TYPES = frozenset({"text/plain"} | _HTML_TYPES)
_TYPED = frozenset({"type", "mode"})
_SPECIALISED: dict[str, _Specialised] = {
    "title": _Specialised(_Reader._read_title, _TYPED, True),
    "description": _Specialised(_Reader._read_description, _TYPED, True),
    "summary": _Specialised(_Reader._read_summary, _TYPED, True),
    "content": _Specialised(_Reader._read_content, _TYPED | {"src"}, True),
    "content_encoded": _Specialised(_Reader._read_content_encoded, _TYPED, True),
    "link": _Specialised(
        _Reader._read_link, frozenset({"href", "rel", "type", "title", "length", "hreflang"}), False),
    "guid": _Specialised(_Reader._read_guid, frozenset({"ispermalink"}), False),
    "id": _Specialised(_Reader._read_guid, frozenset(), False),
    "pubdate": _Specialised(_Reader._read_published, frozenset(), False),
    "published": _Specialised(_Reader._read_published, frozenset(), False),
    "updated": _Specialised(_Reader._read_updated, frozenset(), False),
    "dc_date": _Specialised(_Reader._read_updated, frozenset(), False),
    "category": _Specialised(_Reader._read_category, frozenset({"term", "scheme", "domain", "label"}), False),
    "author": _Specialised(_Reader._read_author, frozenset(), False, frozenset({"name", "email", "uri"})),
    "dc_creator": _Specialised(_Reader._read_author, frozenset(), False),
    "enclosure": _Specialised(_Reader._read_enclosure, frozenset({"url", "length", "type"}), False),
}


def _strattrs(attrs: list[tuple[str, str]]) -> str:
    return "".join(f' {k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in attrs)


def _unwrap_div(pieces: list[str]) -> list[str]:
    """XHTML content's pieces without the one `<div>` that encloses all of them (RFC 4287 §3.1.1.3)."""
    while pieces and len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while pieces and len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if pieces and (pieces[0] == "<div>" or pieces[0].startswith("<div ")) and pieces[-1] == "</div>":
        depth = 0
        for piece in pieces[:-1]:
            if piece.startswith("</"):
                depth -= 1
                if depth == 0:
                    break
            elif piece.startswith("<") and not piece.endswith("/>"):
                depth += 1
        else:
            pieces = pieces[1:-1]
    return pieces


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
