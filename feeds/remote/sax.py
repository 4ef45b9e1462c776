"""The SAX parser feedparser reads XML feeds with: expat, handing over text in whole runs.

By default expat reports character data in pieces, breaking at every
entity and character reference and at every line end. A feed whose entries
carry escaped HTML (`&lt;p&gt;`, the usual RSS `<description>`) then makes
thousands of calls into feedparser's Python handlers per entry, which only
join the pieces again: about a quarter of its parse time. With
`buffer_text` set, expat joins them itself. feedparser asks
`xml.sax.make_parser` for a parser by module name (its
`PREFERRED_XML_PARSERS`), and this module is such a driver.
"""

from __future__ import annotations

from xml.sax.expatreader import ExpatParser


class BufferedExpatParser(ExpatParser):
    """xml.sax's expat driver with expat's text buffering switched on."""

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True  # type: ignore[attr-defined]


def create_parser() -> BufferedExpatParser:
    """What `xml.sax.make_parser` calls on a driver module."""
    return BufferedExpatParser()
