"""Reading a written feed back as a feed reader and a validator would.

Every feed a test writes goes through `assert_valid_atom` (or, a whole output
directory, `assert_valid_output`): it must be valid against the RELAX NG
schema of RFC 4287 (shipped as tests/data/atom.rng) and feedparser must read
it without complaint (`bozo` false) as Atom 1.0.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import feedparser
from lxml import etree

SCHEMA = Path(__file__).resolve().parent / "data" / "atom.rng"


@cache
def _schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


def assert_valid_atom(source: bytes | str | os.PathLike[str]) -> feedparser.FeedParserDict:
    """The parsed feed; AssertionError naming the problem if it is not valid Atom."""
    where = "<bytes>" if isinstance(source, bytes) else str(source)
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        document = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise AssertionError(f"{where}: not well-formed XML: {exc}") from exc
    schema = _schema()
    if not schema.validate(document):
        errors = "\n".join(f"  line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(f"{where}: not valid Atom (RFC 4287 schema):\n{errors}")
    parsed = feedparser.parse(data)
    assert not parsed.bozo, f"{where}: feedparser: {parsed.get('bozo_exception')}"
    assert parsed.version == "atom10", f"{where}: feedparser read it as {parsed.version!r}"
    return parsed


def assert_valid_output(output: Path) -> dict[str, feedparser.FeedParserDict]:
    """Every feed written under `output`, by its path there, each through `assert_valid_atom`."""
    return {path.relative_to(output).as_posix(): assert_valid_atom(path)
            for path in sorted(output.rglob("*.atom"))}
