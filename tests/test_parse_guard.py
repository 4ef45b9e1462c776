"""What parse_feed does to a document before feedparser reads it: no DTD, a bounded number of items.

tests/hostile attacks real builds with entity bombs and floods of tags; the
rules here are the same ones stated on the documents themselves, in
process: the DOCTYPE goes whole whatever surrounds it, the document's line
numbers stay its own, and only the first items are read.
"""

from __future__ import annotations

import pytest

from feeds.errors import ParseError
from feeds.remote.guard import MAX_ITEMS, MAX_TAGS
from feeds.remote.parse import parse_feed

URL = "http://example.com/feed"
BOM = b"\xef\xbb\xbf"
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
BIG = '<!ENTITY big "' + "B" * 1000 + '">'
# The entity's reference sits on the last line of every document, at this column.
BODY = ('<rss version="2.0"><channel><title>Entities</title><link>http://example.com/</link>'
        "<item><guid>e1</guid><title>Title &big;</title><description>Text &big;</description>"
        "</item></channel></rss>")
IGNORED = "ignored the entity declarations of its DTD"


def _undefined_at(line: int) -> str:
    return f"{IGNORED}; undefined entity at line {line}, column 117"


@pytest.mark.parametrize(
    ("document", "line"),
    [
        (f"{DECLARATION}\n<!DOCTYPE rss [{BIG}]>\n{BODY}", 3),
        # The declaration spans lines: they stay, so expat's lines are the document's.
        (f"{DECLARATION}\n<!DOCTYPE rss [\n{BIG}\n]>\n{BODY}", 5),
        (f"<!DOCTYPE rss [\n{BIG}\n]>\n{BODY}", 4),
        (f" \n\t<!DOCTYPE rss [\n{BIG}\n]>\n{BODY}", 5),
        # Comments and processing instructions may come first, holding `>` or a line break.
        (f"{DECLARATION}\n<!-- a > b\n--><?pi x > y?>\n<!DOCTYPE rss [{BIG}]>\n{BODY}", 5),
        # Inside the subset, `]>` in a literal, a comment or a processing instruction ends nothing.
        (f"""{DECLARATION}\n<!DOCTYPE rss [<!ENTITY a "]>"><!ENTITY b ']>'>{BIG}]>\n{BODY}""", 3),
        (f"{DECLARATION}\n<!DOCTYPE rss [<!-- ]> \" ' -->{BIG}]>\n{BODY}", 3),
        (f"{DECLARATION}\n<!DOCTYPE rss [<?pi ]> ' ?>{BIG}]>\n{BODY}", 3),
        # Each ends where it ends: an empty literal, comments and processing instructions
        # side by side or empty, and one more after the DOCTYPE change nothing.
        (f"""{DECLARATION}\n<!DOCTYPE rss [<!ENTITY e ""><!ENTITY f "]>">{BIG}]>\n{BODY}""", 3),
        (f"{DECLARATION}<!-- c -->\n<!DOCTYPE rss [<!-- a --><!-- ]> -->{BIG}<!---->]>\n"
         f"<!-- after -->\n{BODY}", 4),
        (f"{DECLARATION}\n<!DOCTYPE rss [<?a?><?b ]> ?>{BIG}<??>]>\n<?xml-stylesheet href='s.xsl'?>\n{BODY}",
         4),
        # Comments side by side before the DOCTYPE, the second one empty, are skipped each whole.
        (f"{DECLARATION}<!-- a --><!---->\n<!DOCTYPE rss [{BIG}]>\n{BODY}", 3),
        # The document may go on on the DOCTYPE's own line.
        (f"{DECLARATION}\n<!DOCTYPE rss [{BIG}]>{BODY}", 2),
        # Brackets nested in a (malformed) subset close only with the outer one.
        (f"{DECLARATION}\n<!DOCTYPE rss [{BIG} [ ] <!ELEMENT x ANY> ]>\n{BODY}", 3),
        # Nor does the `>` closing a declaration within the subset.
        (f"{DECLARATION}\n<!DOCTYPE rss [<!ELEMENT rss ANY>{BIG}<!ATTLIST rss v CDATA #IMPLIED>]>\n{BODY}",
         3),
    ],
    ids=["one-line", "lines", "no-xml-declaration", "blank-first", "comment-and-pi-first",
         "literals", "comment", "processing-instruction", "empty-literal", "comments-side-by-side",
         "processing-instructions-side-by-side", "prolog-comments-side-by-side",
         "same-line", "nested-brackets", "markup-declarations"],
)
def test_the_dtd_is_dropped_whole_and_its_entities_stay_text(document: str, line: int) -> None:
    parsed = parse_feed(document.encode(), URL)
    assert parsed.title == "Entities"
    assert [e.title for e in parsed.entries] == ["Title &big;"]
    assert parsed.warning == _undefined_at(line)


def test_the_dtd_after_a_byte_order_mark_is_dropped_too() -> None:
    parsed = parse_feed(BOM + f"{DECLARATION}\n<!DOCTYPE rss [\n{BIG}\n]>\n{BODY}".encode(), URL)
    assert [e.title for e in parsed.entries] == ["Title &big;"]
    assert parsed.warning == _undefined_at(5)


@pytest.mark.parametrize("external", ['SYSTEM "http://127.0.0.1:9/rss.dtd"',
                                      'PUBLIC "-//Example//DTD RSS//EN" "http://127.0.0.1:9/rss.dtd"'])
def test_an_entity_an_external_dtd_would_define_is_reported_as_not_loaded(external: str) -> None:
    """The reader learns why `&big;` shows as text: the DTD naming it was not fetched."""
    parsed = parse_feed(f"{DECLARATION}\n<!DOCTYPE rss {external}>\n{BODY}".encode(), URL)
    assert [e.title for e in parsed.entries] == ["Title &big;"]
    assert parsed.warning == "did not load its external DTD; undefined entity at line 3, column 117"


def test_an_external_dtd_nothing_needs_is_no_warning() -> None:
    body = BODY.replace(" &big;", "")
    parsed = parse_feed(f'{DECLARATION}\n<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/rss.dtd">\n{body}'.encode(),
                        URL)
    assert ([e.title for e in parsed.entries], parsed.warning) == (["Title"], None)


def test_a_doctype_after_the_root_element_is_no_prolog() -> None:
    """Only a DOCTYPE in the prolog is one; later, it is the document's own error to report."""
    parsed = parse_feed(f"{DECLARATION}<rss/><!DOCTYPE rss [{BIG}]>\n{BODY}".encode(), URL)
    assert parsed.warning == "junk after document element at line 1, column 44"


def test_a_doctype_that_never_ends_is_refused() -> None:
    with pytest.raises(ParseError, match=r"^refused: its DOCTYPE declaration never ends$"):
        parse_feed(f'{DECLARATION}<!DOCTYPE rss [<!ENTITY a "never closed>]>{BODY}'.encode(), URL)


def _items(count: int, *, item: str = "item", prefix: str = "") -> bytes:
    items = "".join(f"<{prefix}{item}><{prefix}title>n{n}</{prefix}title></{prefix}{item}>"
                    for n in range(count))
    return f'<rss version="2.0"><channel><title>Many</title>{items}</channel></rss>'.encode()


def test_only_the_first_items_are_read() -> None:
    """Feeds list their newest first; the rest is cut so what follows still closes the document."""
    parsed = parse_feed(_items(5), URL, max_items=3)
    assert [e.title for e in parsed.entries] == ["n0", "n1", "n2"]
    assert parsed.warning == ("read the first 3 of its 5 items "
                              f"(at most 3 items and {MAX_TAGS:,} tags are read)")
    assert parse_feed(_items(3), URL, max_items=3).warning is None


def test_atom_entries_with_a_prefix_are_items_too() -> None:
    entries = "".join(f"<a:entry><a:id>urn:e:{n}</a:id><a:title>n{n}</a:title></a:entry>"
                      for n in range(4))
    data = (f'<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title>Many</a:title>{entries}'
            "</a:feed>").encode()
    parsed = parse_feed(data, URL, max_items=2)
    assert [e.title for e in parsed.entries] == ["n0", "n1"]
    assert parsed.warning is not None and parsed.warning.startswith("read the first 2 of its 4 items")


def test_rss_1_0s_list_of_items_is_no_item() -> None:
    """RSS 1.0's channel lists its items in `<items>`, which is not one of them."""
    items = "".join(f'<item rdf:about="http://example.com/{n}"><title>n{n}</title>'
                    f"<link>http://example.com/{n}</link></item>" for n in range(3))
    data = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://example.com/">'
            "<title>RDF</title><link>http://example.com/</link><description>d</description>"
            '<items><rdf:Seq><rdf:li resource="http://example.com/0"/></rdf:Seq></items></channel>'
            f"{items}</rdf:RDF>").encode()
    parsed = parse_feed(data, URL, max_items=2)
    assert [e.title for e in parsed.entries] == ["n0", "n1"]
    assert parsed.warning is not None and parsed.warning.startswith("read the first 2 of its 3 items")


def test_a_document_with_too_many_tags_is_refused_before_it_is_parsed() -> None:
    flood = b"<b></b>" * (MAX_TAGS // 2 + 1)
    data = (DECLARATION.encode() + b'<rss version="2.0"><channel><title>Flood</title>' + flood
            + b"</channel></rss>")
    with pytest.raises(ParseError) as info:
        parse_feed(data, URL)
    assert str(info.value) == (f"refused: {data.count(b'<'):,} tags, more than the "
                               f"{MAX_TAGS:,} read from one document")
    with pytest.raises(ParseError) as first:
        parse_feed(_items(1).replace(b"<title>n0", b"<title>n0" + flood), URL)
    assert str(first.value) == (f"refused: more than the {MAX_TAGS:,} tags read from one document "
                                "before its first item even ends")


def test_items_past_the_tag_limit_are_cut_like_items_past_the_item_limit() -> None:
    """An item that would take the document past MAX_TAGS is not read, nor any after it."""
    flood = b"<b></b>" * (MAX_TAGS // 2)
    data = _items(3).replace(b"<title>n1", b"<title>n1" + flood)
    parsed = parse_feed(data, URL)
    assert [e.title for e in parsed.entries] == ["n0"]
    assert parsed.warning == ("read the first 1 of its 3 items "
                              f"(at most {MAX_ITEMS:,} items and {MAX_TAGS:,} tags are read)")


def test_the_tag_limit_counts_every_tag_before_among_and_after_the_items() -> None:
    """One tag more than MAX_TAGS, counting the channel's and the closing ones, and the item goes."""
    # With its own XML declaration, which feedparser would otherwise put in front.
    head = DECLARATION.encode() + b'<rss version="2.0"><channel><title>T</title>'
    tail = b"</channel></rss>"
    first, third = b"<item><title>n0</title></item>", b"<item><title>n2</title></item>"
    second = b"<item><title>n1</title>%s</item>"
    fixed = (head + first + second % b"" + tail).count(b"<")
    data = head + first + second % (b"<b/>" * (MAX_TAGS + 1 - fixed)) + third + tail
    assert (head + first + second % (b"<b/>" * (MAX_TAGS + 1 - fixed)) + tail).count(b"<") == MAX_TAGS + 1
    assert [e.title for e in parse_feed(data, URL).entries] == ["n0"]


def test_items_past_the_limit_are_cut_even_when_the_last_never_ends() -> None:
    data = _items(3).replace(b"<title>n2</title></item></channel></rss>", b"<title>n2")
    parsed = parse_feed(data, URL, max_items=2)
    assert [e.title for e in parsed.entries] == ["n0", "n1"]
    assert parsed.warning is not None and parsed.warning.startswith("read the first 2 of its 3 items")


def test_a_feed_cut_off_inside_its_only_item_is_read_as_far_as_it_goes() -> None:
    """A download that stopped mid-item has no item end at all: what came is still read, with a warning."""
    parsed = parse_feed(b'<rss version="2.0"><channel><title>T</title><item><title>n0</title>', URL)
    assert [e.title for e in parsed.entries] == ["n0"]
    assert parsed.warning == "no element found at line 1, column 67"


def test_a_document_of_exactly_max_tags_tags_is_read_whole() -> None:
    """The limit is inclusive, and the tags of the items kept so far are counted once each.

    The mass of `<` sits in a comment, which costs feedparser nothing, so
    the document parses quickly whatever its count.
    """
    head = DECLARATION.encode() + b'<rss version="2.0"><channel><title>T</title>'
    tail = b"</channel></rss>"
    first, second = b"<item><title>n0</title><!--%s--></item>", b"<item><title>n1</title><!--%s--></item>"
    fixed = (head + first % b"" + second % b"" + tail).count(b"<")
    half = (MAX_TAGS - fixed) // 2
    data = head + first % (b"<" * half) + second % (b"<" * (MAX_TAGS - fixed - half)) + tail
    assert data.count(b"<") == MAX_TAGS
    parsed = parse_feed(data, URL)
    assert ([e.title for e in parsed.entries], parsed.warning) == (["n0", "n1"], None)
