"""Reading a written RSS 2.0 or JSON Feed document back as readers and validators would.

`assert_valid_rss` checks what the W3C Feed Validation Service checks of
RSS 2.0 (the RSS Advisory Board's profile): a `channel` with `title`, `link`
and `description`; RFC 822 dates with four-digit years and the right day of
the week; a `guid` that is a URL unless it says `isPermaLink="false"`, and
each one once; absolute URLs everywhere (links, `atom:link`, `source`,
`enclosure`); an `author` that is an e-mail address; a valid `language`;
at most one `enclosure` an item, with a `length` in bytes and a MIME
`type`, as RSS 2.0 requires; Media RSS `media:content` and
`media:thumbnail` and the iTunes item tags with the values their
specifications allow;
one `atom:link rel="self"` equal to the URL the feed is served at; no
control characters; and feedparser must read it as RSS 2.0 without
complaint.

`assert_valid_json_feed` validates against a JSON Schema written from the
JSON Feed 1.1 spec (tests/data/jsonfeed-1.1.schema.json), then checks what
a schema cannot say: RFC 3339 dates, absolute URLs (`image` too), MIME
types of attachments, unique ids that are valid ids, a `feed_url` equal to
where the feed is served, no control characters, and that the project's own
JSON Feed reader reads every item.

`assert_valid_feed` picks the check by the file's suffix.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import rfc3987
from atomcheck import (
    _BYTES,
    _CONTROL,
    _RFC3339,
    MIME_TYPE,
    assert_valid_atom,
    expected_url,
    id_problem,
    read_xml,
)
from lxml import etree

from feeds.remote.jsonfeed import parse_json_feed

JSON_SCHEMA = Path(__file__).resolve().parent / "data" / "jsonfeed-1.1.schema.json"
_ATOM = "{http://www.w3.org/2005/Atom}"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
# Apple's iTunes item tags; itunes:duration is seconds, MM:SS or HH:MM:SS.
_ITUNES_VALUES = {
    "explicit": re.compile(r"true|false|yes|no|clean"),
    "episode": re.compile(r"[1-9][0-9]*"),
    "season": re.compile(r"[1-9][0-9]*"),
    "episodeType": re.compile(r"full|trailer|bonus"),
    "duration": re.compile(r"[0-9]+(?::[0-5]?[0-9]){0,2}"),
}
# RFC 822 §5 as RSS 2.0 uses it, with the four-digit year the validator asks for.
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(?:0?[1-9]|[12]\d|3[01]) "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)? (?:[+-]\d{4}|GMT|UT|[ECMP][SD]T|Z)")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_EMAIL_AUTHOR = re.compile(r"[^@\s()]+@[^@\s()]+\.[^@\s()]+(?: \(.+\))?")


def assert_valid_feed(source: bytes | str | os.PathLike[str], fmt: str | None = None) -> Any:
    """Check a feed by its format (given, or a file's suffix); the parsed document."""
    fmt = fmt or Path(os.fspath(source) if not isinstance(source, bytes) else "").suffix[1:]
    checks: dict[str, Callable[[bytes | str | os.PathLike[str]], Any]] = {
        "atom": assert_valid_atom, "rss": assert_valid_rss, "json": assert_valid_json_feed}
    if fmt not in checks:
        raise AssertionError(f"{source!r}: not a feed format: {fmt!r}")
    return checks[fmt](source)


def assert_valid_rss(source: bytes | str | os.PathLike[str],
                     url: str | None = None) -> feedparser.FeedParserDict:
    """The parsed feed; AssertionError naming every problem if it is not valid RSS 2.0."""
    where, data, root, file = read_xml(source)
    problems = _rss_problems(root, url, file)
    assert not problems, f"{where}:\n  " + "\n  ".join(problems)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, f"{where}: feedparser: {parsed.get('bozo_exception')}"
    assert parsed.version == "rss20", f"{where}: feedparser read it as {parsed.version!r}"
    return parsed


def _rss_problems(root: etree._Element, url: str | None, file: Path | None) -> list[str]:
    def at(element: etree._Element) -> str:
        return f"line {element.sourceline}: <{etree.QName(element).localname}>"

    if root.tag != "rss" or root.get("version") != "2.0":
        return [f"root is <{root.tag} version={root.get('version')!r}>, not <rss version=\"2.0\">"]
    channels = root.findall("channel")
    if len(channels) != 1:
        return [f"{len(channels)} <channel> elements, not one"]
    [channel] = channels
    problems = [f"<channel> has no <{name}>" for name in ("title", "link", "description")
                if not (channel.findtext(name) or "").strip()]
    for element in root.iter("pubDate", "lastBuildDate"):
        problems += _date_problems(element, at)
    for element in root.iter("link", "docs", "comments"):
        if not _absolute(element.text or ""):
            problems.append(f"{at(element)} {element.text!r}: not an absolute URL")
    for element in root.iter(f"{_ATOM}link"):
        if not _absolute(element.get("href", "")):
            problems.append(f"{at(element)} href {element.get('href')!r}: not an absolute URL")
    for element in root.iter("source", "enclosure"):
        if not _absolute(element.get("url", "")):
            problems.append(f"{at(element)} url {element.get('url')!r}: not an absolute URL")
    for element in root.iter("language"):
        if not _LANGUAGE.fullmatch((element.text or "").strip()):
            problems.append(f"{at(element)} {element.text!r}: not a language code")
    for element in root.iter("author"):
        if not _EMAIL_AUTHOR.fullmatch((element.text or "").strip()):
            problems.append(f"{at(element)} {element.text!r}: not an e-mail address (use dc:creator)")
    problems += _item_problems(channel, at)
    problems += _media_problems(root, at)
    for element in root.iter():
        texts = [element.text or "", element.tail or "", *element.attrib.values()]
        if any(_CONTROL.search(text) for text in texts):
            problems.append(f"{at(element)}: holds a control character")
    problems += _rss_self_problems(channel, url, file)
    return problems


def _item_problems(channel: etree._Element, at: Any) -> list[str]:
    problems = []
    seen: set[str] = set()
    for item in channel.findall("item"):
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"{at(item)} has neither <title> nor <description>")
        guid = item.find("guid")
        if guid is None:
            continue
        text = (guid.text or "").strip()
        if guid.get("isPermaLink", "true") == "true" and not _absolute(text):
            problems.append(f"{at(guid)} {text!r}: a permalink guid must be a full URL")
        if text.startswith("tag:") and (reason := id_problem(text)):
            problems.append(f"{at(guid)} {text!r}: {reason}")
        if text in seen:
            problems.append(f"{at(guid)} {text!r}: the same guid twice")
        seen.add(text)
    return problems


def _media_problems(root: etree._Element, at: Any) -> list[str]:
    """Enclosures, Media RSS and iTunes item tags, as their specifications say them."""
    problems = []
    for item in root.iter("item"):
        if len(item.findall("enclosure")) > 1:
            problems.append(f"{at(item)} has {len(item.findall('enclosure'))} <enclosure>s; "
                            "RSS 2.0 allows one")
    for element in root.iter("enclosure"):
        if not _BYTES.fullmatch(element.get("length", "")):
            problems.append(f"{at(element)} length {element.get('length')!r}: "
                            "not a size in bytes (RSS 2.0 requires one)")
        if not MIME_TYPE.fullmatch(element.get("type", "")):
            problems.append(f"{at(element)} type {element.get('type')!r}: not a MIME type")
    for element in root.iter(f"{_MEDIA}content", f"{_MEDIA}thumbnail"):
        if not _absolute(element.get("url", "")):
            problems.append(f"{at(element)} url {element.get('url')!r}: not an absolute URL")
        for name, pattern in (("fileSize", _BYTES), ("duration", _BYTES), ("type", MIME_TYPE)):
            value = element.get(name)
            if value is not None and not pattern.fullmatch(value):
                problems.append(f"{at(element)} {name} {value!r}: not allowed by Media RSS")
    for element in root.iter(f"{_ITUNES}image"):
        if not _absolute(element.get("href", "")):
            problems.append(f"{at(element)} href {element.get('href')!r}: not an absolute URL")
    for name, pattern in _ITUNES_VALUES.items():
        for element in root.iter(f"{_ITUNES}{name}"):
            if not pattern.fullmatch((element.text or "").strip()):
                problems.append(f"{at(element)} {element.text!r}: not an itunes:{name} value")
    return problems


def _date_problems(element: etree._Element, at: Any) -> list[str]:
    text = (element.text or "").strip()
    if not _RFC822.fullmatch(text):
        return [f"{at(element)} {text!r}: not an RFC 822 date"]
    if "," in text:
        # Read the date by hand: email.utils takes a year below 100 for 19xx or 20xx.
        weekday, day, month, year = text.replace(",", "").split()[:4]
        try:
            when = datetime.strptime(f"{day} {month} 2000", "%d %b %Y").replace(year=int(year))
        except ValueError:
            return [f"{at(element)} {text!r}: no such day"]
        if weekday != when.strftime("%a"):
            return [f"{at(element)} {text!r}: wrong day of the week"]
    return []


def _rss_self_problems(channel: etree._Element, url: str | None, file: Path | None) -> list[str]:
    selves = [link for link in channel.findall(f"{_ATOM}link") if link.get("rel") == "self"]
    if len(selves) != 1:
        return [f"{len(selves)} atom:link rel=\"self\" in <channel>, not one"]
    href = selves[0].get("href", "")
    if selves[0].get("type") != "application/rss+xml":
        return [f"self link type {selves[0].get('type')!r}, not application/rss+xml"]
    if url is None and file is not None:
        url = expected_url(file, href)
    if url is not None and href != url:
        return [f"self link {href!r} is not the URL the feed is served at, {url!r}"]
    return []


@cache
def _json_schema() -> jsonschema.protocols.Validator:
    schema = json.loads(JSON_SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator: jsonschema.protocols.Validator = validator_class(
        schema, format_checker=validator_class.FORMAT_CHECKER)
    return validator


def assert_valid_json_feed(source: bytes | str | os.PathLike[str],
                           url: str | None = None) -> dict[str, Any]:
    """The parsed document; AssertionError naming every problem if it is not valid JSON Feed 1.1."""
    where = "<bytes>" if isinstance(source, bytes) else str(source)
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise AssertionError(f"{where}: not UTF-8 JSON: {exc}") from exc
    errors = sorted(_json_schema().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, f"{where}: not valid JSON Feed 1.1:\n  " + "\n  ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    problems = _json_problems(document, url, None if isinstance(source, bytes) else Path(source))
    assert not problems, f"{where}:\n  " + "\n  ".join(problems)
    read = parse_json_feed(data, document.get("feed_url", "http://localhost/"))
    assert len(read.entries) == len(document["items"]), (
        f"{where}: the JSON Feed reader read {len(read.entries)} of {len(document['items'])} items")
    return dict(document)


def _json_problems(document: dict[str, Any], url: str | None, file: Path | None) -> list[str]:
    problems = []
    for path, value in _strings(document):
        if _CONTROL.search(value):
            problems.append(f"{path}: holds a control character")
        key = path.rsplit("/", 1)[-1]
        if key.startswith("date_") and not _RFC3339.fullmatch(value):
            problems.append(f"{path} {value!r}: not an RFC 3339 date-time")
        if (key.endswith("url") or key.endswith("image")) and not rfc3987.match(value, "URI"):
            problems.append(f"{path} {value!r}: not an absolute URI (non-ASCII not encoded)")
        if key == "mime_type" and not MIME_TYPE.fullmatch(value):
            problems.append(f"{path} {value!r}: not a MIME type")
    ids = [item.get("id", "") for item in document.get("items", [])]
    for index, value in enumerate(ids):
        if (reason := id_problem(value)) is not None:
            problems.append(f"items/{index}/id {value!r}: {reason}")
        if value in ids[:index]:
            problems.append(f"items/{index}/id {value!r}: the same id twice")
    href = document.get("feed_url")
    if href is None:
        problems.append("no feed_url")
    else:
        if url is None and file is not None:
            url = expected_url(file, href)
        if url is not None and href != url:
            problems.append(f"feed_url {href!r} is not the URL the feed is served at, {url!r}")
    return problems


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON document with its path (`items/0/title`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}/{key}" if path else key)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{path}/{index}")


def _absolute(text: str) -> bool:
    return text.startswith(("http://", "https://")) and bool(rfc3987.match(text.strip(), "URI"))
