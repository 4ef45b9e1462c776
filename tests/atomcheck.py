"""Reading a written feed back as a feed reader and a validator would.

Every feed a test writes goes through `assert_valid_atom` (or, a whole output
directory, `assert_valid_output`): it must be valid against the RELAX NG
schema of RFC 4287 (shipped as tests/data/atom.rng), feedparser must read it
without complaint (`bozo` false) as Atom 1.0, and it must pass what the W3C
feed validator checks beyond the schema (`_validator_problems`): ids that
are absolute IRIs, `tag:` ids in RFC 4151's ASCII grammar, `urn:uuid:` ids
that are UUIDs, an `updated` in every `atom:source`, absolute links, a
`rel="self"` link equal to the URL the feed is served at, RFC 3339 dates,
enclosure links with a `length` in bytes and a MIME `type`, a Media RSS
`media:thumbnail` with an absolute URL, and no control characters.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import rfc3987
from lxml import etree

SCHEMA = Path(__file__).resolve().parent / "data" / "atom.rng"
_ATOM = "{http://www.w3.org/2005/Atom}"

# RFC 4151 §2.1, ASCII only. pchar is RFC 3986's: unreserved, pct-encoded,
# sub-delims, ":" and "@".
_ALNUM = "[A-Za-z0-9]"
_DNSCOMP = f"{_ALNUM}(?:[A-Za-z0-9-]*{_ALNUM})?"
_DNSNAME = f"{_DNSCOMP}(?:\\.{_DNSCOMP})*"
_EMAIL = f"[A-Za-z0-9._-]+@{_DNSNAME}"
_DATE = r"\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?"
_PCHAR = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"
_TAG = re.compile(
    f"tag:(?:{_DNSNAME}|{_EMAIL}),{_DATE}:(?:{_PCHAR}|[/?])*(?:#(?:{_PCHAR}|[/?])*)?")
_UUID = re.compile(r"urn:uuid:[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")
# RFC 3339 §5.6 date-time.
_RFC3339 = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt](?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)"
    r"(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)")
# RFC 6838 §4.2: type "/" subtype, restricted names, parameters allowed after them.
MIME_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
                       r"(?:\s*;\s*[^;]+)*")
# A size in bytes: a non-negative integer.
_BYTES = re.compile(r"[0-9]+")
# C0 controls except tab, LF and CR (which XML 1.0 allows), DEL and the C1
# controls (which it allows but discourages, §2.2).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@cache
def _schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


def assert_valid_atom(source: bytes | str | os.PathLike[str],
                      url: str | None = None) -> feedparser.FeedParserDict:
    """The parsed feed; AssertionError naming the problem if it is not valid Atom.

    `url` is where the feed is served; for a file it defaults to the site's
    base URL (the feed's own `text/html` alternate link) joined with the
    file's path below it, percent-encoded.
    """
    where, data, document, file = read_xml(source)
    schema = _schema()
    if not schema.validate(document):
        errors = "\n".join(f"  line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(f"{where}: not valid Atom (RFC 4287 schema):\n{errors}")
    problems = _validator_problems(document, url, file)
    assert not problems, f"{where}: " + "\n  ".join(problems)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, f"{where}: feedparser: {parsed.get('bozo_exception')}"
    assert parsed.version == "atom10", f"{where}: feedparser read it as {parsed.version!r}"
    return parsed


def read_xml(source: bytes | str | os.PathLike[str]
             ) -> tuple[str, bytes, etree._Element, Path | None]:
    """How to name `source` in a message, its bytes, its root element and its file (if one).

    Entities are never resolved nor anything fetched: a feed is data.
    """
    where = "<bytes>" if isinstance(source, bytes) else str(source)
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise AssertionError(f"{where}: not well-formed XML: {exc}") from exc
    return where, data, root, None if isinstance(source, bytes) else Path(source)


def assert_valid_output(output: Path) -> dict[str, feedparser.FeedParserDict]:
    """Every feed written under `output`, by its path there, each through `assert_valid_atom`."""
    return {path.relative_to(output).as_posix(): assert_valid_atom(path)
            for path in sorted(output.rglob("*.atom"))}


def served_url(base_url: str, relative_path: str) -> str:
    """The URL a file at `relative_path` below the site root is served at (RFC 3986 §2.1)."""
    return base_url + quote(relative_path, safe="/!$&'()*+,;=:@")


def expected_url(file: Path, self_href: str) -> str | None:
    """Where a file below an `output/` folder is served, given the site its self link names.

    The site's base is what the self link holds before the file's path below
    `output/` (percent-encoded); a self link that does not end so names the
    wrong file. None when the file is not below an `output/` folder.
    """
    parts = file.resolve().parts
    if "output" not in parts:
        return None
    root = len(parts) - 1 - parts[::-1].index("output")
    relative = "/".join(parts[root + 1:])
    tail = served_url("", relative)
    if self_href.endswith(tail) and self_href[: len(self_href) - len(tail)].endswith("/"):
        return served_url(self_href[: len(self_href) - len(tail)], relative)
    return served_url("<the site>/", relative)


def id_problem(value: str) -> str | None:
    """Why `value` is not an id the W3C validator accepts, or None."""
    if value.startswith("tag:"):
        return None if _TAG.fullmatch(value) else "not a valid tag: URI (RFC 4151)"
    if value.lower().startswith("urn:uuid:"):
        return None if _UUID.fullmatch(value) else "not a valid urn:uuid: URI (RFC 4122)"
    if not rfc3987.match(value, "IRI"):
        return "not an absolute IRI (RFC 3987)"
    return None


def _validator_problems(root: etree._Element, url: str | None, file: Path | None) -> list[str]:
    """What the W3C feed validator would reject in `root` that the schema lets through."""
    problems: list[str] = []

    def at(element: etree._Element) -> str:
        return f"line {element.sourceline}: <{etree.QName(element).localname}>"

    for element in root.iter(f"{_ATOM}id"):
        text = element.text or ""
        if (reason := id_problem(text)) is not None:
            problems.append(f"{at(element)} {text!r}: {reason}")
    for source in root.iter(f"{_ATOM}source"):
        if source.find(f"{_ATOM}updated") is None:
            problems.append(f"{at(source)} has no <updated> (RFC 4287 §4.2.11)")
    for name in ("updated", "published"):
        for element in root.iter(f"{_ATOM}{name}"):
            if not _RFC3339.fullmatch((element.text or "").strip()):
                problems.append(f"{at(element)} {element.text!r}: not an RFC 3339 date-time")
    for link in root.iter(f"{_ATOM}link"):
        href = link.get("href", "")
        if not rfc3987.match(href, "IRI"):
            problems.append(f"{at(link)} href {href!r}: not an absolute IRI")
        if link.get("rel") == "enclosure":
            problems += _enclosure_problems(link, at)
    for holder in [root, *root.iter(f"{_ATOM}entry")]:
        # RFC 4287 §4.1.1/§4.1.2: no two alternate links with the same type and hreflang.
        seen: set[tuple[str | None, str | None]] = set()
        for link in holder.findall(f"{_ATOM}link"):
            if link.get("rel", "alternate") != "alternate":
                continue
            key = (link.get("type"), link.get("hreflang"))
            if key in seen:
                problems.append(f"{at(link)}: a second alternate link of type {key[0]!r} and "
                                f"hreflang {key[1]!r}")
            seen.add(key)
    for thumbnail in root.iter("{http://search.yahoo.com/mrss/}thumbnail"):
        if not rfc3987.match(thumbnail.get("url", ""), "URI"):
            problems.append(f"{at(thumbnail)} url {thumbnail.get('url')!r}: not an absolute URI")
    for element in root.iter():
        texts = [element.text or "", element.tail or "", *element.attrib.values()]
        if any(_CONTROL.search(text) for text in texts):
            problems.append(f"{at(element)}: holds a control character")
    problems += _self_link_problems(root, url, file)
    return problems


def _enclosure_problems(link: etree._Element, at: Any) -> list[str]:
    """An enclosure link: a length in bytes (RFC 4287 §4.2.7.6) and a MIME type (§4.2.7.3)."""
    problems = []
    length = link.get("length")
    if length is not None and not _BYTES.fullmatch(length):
        problems.append(f"{at(link)} length {length!r}: not a size in bytes")
    kind = link.get("type")
    if kind is not None and not MIME_TYPE.fullmatch(kind):
        problems.append(f"{at(link)} type {kind!r}: not a MIME type")
    if not rfc3987.match(link.get("href", ""), "URI"):
        problems.append(f"{at(link)} href {link.get('href')!r}: a file to fetch needs a URI")
    return problems


def _self_link_problems(root: etree._Element, url: str | None, file: Path | None) -> list[str]:
    """The feed's `rel="self"` link must be the URL it is served at (RFC 4287 §4.2.7.2)."""
    selves = [link.get("href", "") for link in root.findall(f"{_ATOM}link")
              if link.get("rel") == "self"]
    if len(selves) != 1:
        return [f"{len(selves)} rel=\"self\" links, not one"]
    [self_href] = selves
    if url is None and file is not None:
        # The site's base is the feed's `text/html` alternate link when that
        # is the site itself, else (the feed links its own page) what the
        # self link holds before the file's path below `output/`.
        bases = [link.get("href", "") for link in root.findall(f"{_ATOM}link")
                 if link.get("rel", "alternate") == "alternate"
                 and link.get("type") == "text/html"]
        if len(bases) != 1:
            return ["no single text/html alternate link (the site or the feed's page)"]
        [base] = bases
        if base.endswith("/") and self_href.startswith(base):
            depth = self_href[len(base):].count("/") + 1
            url = served_url(base, "/".join(file.resolve().parts[-depth:]))
        else:
            url = expected_url(file, self_href)
    if url is not None and self_href != url:
        return [f"self link {self_href!r} is not the URL the feed is served at, {url!r}"]
    if not rfc3987.match(self_href, "URI"):
        return [f"self link {self_href!r} is not an absolute URI (non-ASCII not encoded)"]
    return []
