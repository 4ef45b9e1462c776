"""An article's front matter: read, checked, and reported on the line to fix (pure).

Everything a feed needs to place an article (id, dates, tags, authors, a
declared language) comes from its front matter, so `read_front` alone
tells whether a feed could show it, without rendering the body.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import frontmatter.default_handlers
import yaml

from ..config import Config
from ..errors import ArticleError
from ..model import ArticleHead, Enclosure
from ..text.langtag import is_language_tag
from ..text.links import absolute_url, iri_to_uri, tag_specific
from ..text.media import (
    MAX_ENCLOSURES,
    byte_length,
    duration_seconds,
    media_title,
    media_type,
    media_url,
    type_of,
)
from ..text.sanitise import clean_text, utf8_is_clean
from ..text.tags import normalise_tags
from .frontyaml import load_yaml

_LANG_KEY = re.compile(r"^(title|description)_([a-z]{2,3}(?:-[a-z0-9]+)?)$", re.IGNORECASE)
# The line that opens and closes a front matter, as python-frontmatter's YAML handler
# splits a file (its pattern, used directly: a handler costs as much to make as to use).
_BOUNDARY = frontmatter.default_handlers.YAMLHandler.FM_BOUNDARY
# An id that is already a URI: a scheme (a letter first), a colon, then no space.
_URI_ID = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.IGNORECASE)
_NOT_IN_SLUG = re.compile(r"[^\w/.-]+")


class Front(NamedTuple):
    """What a front matter says, checked, and the body after it.

    A tuple: one is made for every article a build reads, and a frozen
    dataclass costs several times as much to make.
    """

    head: ArticleHead
    title: str
    description: str | None
    updated: datetime
    per_lang: Mapping[tuple[str, str], str]
    link: str | None
    body: str
    image: str | None = None
    enclosures: tuple[Enclosure, ...] = ()


def parse_head(data: bytes, path: str, rel: str, config: Config) -> ArticleHead | None:
    """What the front matter of one article file says of its place in the feeds; None for a draft.

    Every problem `article.parse_article` would report is found here already (the
    body cannot be wrong, only the front matter), so a file whose body is
    never rendered is still checked. Raises ArticleError.
    """
    front = read_front(data, path, rel, config, body=False)
    return None if front is None else front.head


def read_front(data: bytes, path: str, rel: str, config: Config, *,
               body: bool = True) -> Front | None:
    """The checked front matter of a file's bytes and the body after it; None for a draft.

    Without `body`, the front's body is "" and only the text up to the
    front matter's end need be clean (see `_split`).
    """
    fm_text, body_text, cleaned = _split(data, path, body)
    try:
        meta = load_yaml(fm_text)
    except yaml.YAMLError as exc:
        # The context mark is where the broken construct starts (the line a
        # person must fix); the problem mark is where the parser gave up.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        # The front-matter text starts on the opening '---' line itself (with
        # the rest of that line), so the mark's 0-based line is the file's 1-based one.
        if mark is not None:
            line = mark.line + 1
        elif isinstance(exc, yaml.reader.ReaderError):
            # A character YAML refuses (DEL, say) has no mark, only its place in the text.
            line = fm_text.count("\n", 0, exc.position) + 1
        else:
            line = 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ArticleError(path, line, f"front matter is not valid YAML: {problem}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleError(path, 2, "front matter must be a mapping of keys to values")
    meta = {str(k): v for k, v in meta.items()}

    def fail(key: str, reason: str) -> ArticleError:
        return ArticleError(path, key_line(cleaned(), (key,)), reason)

    if meta.get("draft") is True:
        return None
    title = _text_field(meta, "title", fail)
    if not title:
        raise ArticleError(path, 1 if "title" not in meta else key_line(cleaned(), ("title",)),
                           "missing required 'title'")
    if "date" not in meta or meta["date"] is None:
        raise ArticleError(path, 1, "missing required 'date'")
    published = _to_datetime(meta["date"], config.tz, lambda r: fail("date", r))
    updated = published
    if meta.get("updated") is not None:
        updated = _to_datetime(meta["updated"], config.tz, lambda r: fail("updated", r))
    description = _text_field(meta, "description", fail)
    tags = _tags(meta, config, fail)
    authors = _authors(meta, fail) or (config.author,)
    lang = _text_field(meta, "lang", fail)
    if lang is not None:
        lang = lang.lower().replace("_", "-")
        # A tag of private use alone (`x-…`) names no language a reader knows.
        if not is_language_tag(lang) or lang.startswith("x-"):
            raise fail("lang", f"'lang' must be a language code such as 'en' or 'zh-hant', "
                               f"not {lang!r}")
    link = _text_field(meta, "link", fail)
    if link is not None:
        given, link = link, absolute_url(link, None)
        if link is None:
            raise fail("link", f"'link' must be an absolute http(s) URL, not {given!r}")
    slug = _text_field(meta, "id", fail) or _text_field(meta, "slug", fail) or rel
    per_lang = {
        (m.group(1).lower(), m.group(2).lower()): clean_text(str(v)).strip()
        for k, v in meta.items()
        if "_" in k and (m := _LANG_KEY.match(k)) and v is not None
    }
    head = ArticleHead(_entry_id(slug, config), published, tags, authors, lang)
    image = _image(meta, config, fail)
    enclosures = _enclosures(meta.get("enclosures"), config, lambda index, reason: ArticleError(
        path, _item_line(cleaned(), "enclosures", index), reason))
    return Front(head, title, description, updated, per_lang, link, body_text, image, enclosures)


def _split(data: bytes, path: str, body: bool) -> tuple[str, str, Callable[[], str]]:
    """The front matter's text and the body after it (or "" without `body`), both cleaned
    (see `clean_text`) and cut as python-frontmatter cuts them, and the whole text cleaned.

    Cleaning keeps the lines (no line break is removed), and whether a line
    opens or closes a front matter depends on that line alone: when the
    lines up to the closing one are clean already, they are what cleaning
    the whole would give, and without a body the rest need not be searched
    for characters to remove. Only a problem's line needs the whole then.
    """
    raw = _decode(data, path)
    opening = _BOUNDARY.match(raw)
    if not body and opening is not None and (closing := _closing(raw, opening.end())) is not None:
        end = raw.find("\n", closing.start())
        head = raw[: len(raw) if end == -1 else end]
        if clean_text(head) == head:
            return raw[opening.end() : closing.start()], "", lambda: clean_text(raw)
    text = raw if utf8_is_clean(data, raw) else clean_text(raw)
    opening = _BOUNDARY.match(text)
    if opening is None:
        raise ArticleError(path, 1, "no front matter: the file must start with a '---' line")
    closing = _closing(text, opening.end())
    if closing is None:
        raise ArticleError(path, 1, "front matter is not closed by a '---' line")
    return (text[opening.end() : closing.start()], text[closing.end() :] if body else "",
            lambda: text)


def _closing(text: str, start: int) -> re.Match[str] | None:
    """The first boundary line after `start`, where python-frontmatter's split finds it.

    The pattern is tried only on the lines that start with a dash, rather
    than at every character of the front matter.
    """
    at = text.find("\n-", start)
    while at != -1:
        found = _BOUNDARY.match(text, at + 1)
        if found is not None:
            return found
        at = text.find("\n-", at + 1)
    return None


def _decode(data: bytes, path: str) -> str:
    """The text of a file's bytes (strict UTF-8, without a byte order mark), not yet cleaned."""
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ArticleError(path, line, "binary content (NUL byte): not a text article")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArticleError(path, line, f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x})") from exc
    return text.removeprefix("\ufeff")


def key_line(text: str, keys: Iterable[str]) -> int:
    """The line of the first front-matter line that sets one of `keys`, else 1."""
    wanted = tuple(keys)
    for number, line in enumerate(text.splitlines()[1:], 2):
        if line.strip() in ("---", "..."):
            break
        name = line.split(":", 1)[0].strip()
        if ":" in line and name in wanted:
            return number
    return 1


def _text_field(meta: Mapping[str, Any], key: str, fail: Any) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        raise fail(key, f"'{key}' must be text, not a {type(value).__name__}")
    if isinstance(value, bool):
        raise fail(key, f"'{key}' must be text, not {value!r}")
    return clean_text(str(value)).strip() or None


def _image(meta: Mapping[str, Any], config: Config, fail: Any) -> str | None:
    """The article's picture: an http(s) URL, or a path on the site (`base_url`)."""
    given = _text_field(meta, "image", fail)
    if given is None:
        return None
    url = media_url(given, config.base_url)
    if url is None:
        raise fail("image", f"'image' must be an http(s) URL or a path on the site, not {given!r}")
    return url


_ENCLOSURE_KEYS = ("url", "type", "length", "duration", "title")


def _enclosures(value: Any, config: Config, fail: Any) -> tuple[Enclosure, ...]:
    """The media files an article carries: a list of `{url, type, length, duration, title}`.

    A bare URL stands for `{url: ...}`. `fail(index, reason)` makes the
    error for the item at `index` (None: the key itself).
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail(None, f"'enclosures' must be a list of files ({{url, type, length, duration}}), "
                         f"not a {type(value).__name__}")
    if len(value) > MAX_ENCLOSURES:
        raise fail(None, f"'enclosures' lists {len(value)} files; at most {MAX_ENCLOSURES} are kept")
    found: list[Enclosure] = []
    for index, item in enumerate(value):
        file = _enclosure(item, config, lambda reason, i=index: fail(
            i, f"'enclosures' item {i + 1}: {reason}"))
        if file.url in (f.url for f in found):
            raise fail(index, f"'enclosures' item {index + 1}: {file.url!r} is listed twice")
        found.append(file)
    return tuple(found)


def _enclosure(item: Any, config: Config, fail: Any) -> Enclosure:
    if isinstance(item, str):
        item = {"url": item}
    if not isinstance(item, dict):
        raise fail(f"must be a mapping such as {{url: ..., type: audio/mpeg}}, not {item!r}")
    unknown = sorted(str(k) for k in item if k not in _ENCLOSURE_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (known: {', '.join(_ENCLOSURE_KEYS)})")
    given = item.get("url")
    url = media_url(given, config.base_url) if isinstance(given, str) else None
    if url is None:
        raise fail(f"'url' must be an http(s) URL or a path on the site, not {given!r}")
    kind = item.get("type")
    if kind is not None and media_type(kind) is None:
        raise fail(f"'type' must be a MIME type such as 'audio/mpeg', not {kind!r}")
    length = item.get("length")
    if length is not None and byte_length(length) is None:
        raise fail(f"'length' must be a size in bytes (a whole number, 0 or more), not {length!r}")
    duration = item.get("duration")
    if duration is not None and duration_seconds(duration) is None:
        raise fail(f"'duration' must be seconds or H:MM:SS, not {duration!r}")
    title = item.get("title")
    if title is not None and (isinstance(title, bool) or not isinstance(title, str | int | float)):
        raise fail(f"'title' must be text, not {title!r}")
    return Enclosure(url, media_type(kind) or type_of(url), byte_length(length),
                     duration_seconds(duration), None if title is None else media_title(str(title)))


def _item_line(text: str, key: str, index: int | None) -> int:
    """The line of item `index` of the block list under front-matter `key`, else the key's line.

    A flow list (`[a, b]`) is on the key's line; a block list has each item
    on a line of its own starting with `-` at the list's indentation.
    """
    start = key_line(text, (key,))
    if index is None or start == 1:
        return start
    lines = text.splitlines()
    items: list[int] = []
    indent: int | None = None
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        stripped = line.lstrip()
        depth = len(line) - len(stripped)
        if line.strip() in ("---", "...") or (depth == 0 and stripped and not stripped.startswith("-")):
            break
        if stripped.startswith("-") and (indent is None or depth == indent):
            indent = depth
            items.append(number)
    return items[index] if index < len(items) else start


def _tags(meta: Mapping[str, Any], config: Config, fail: Any) -> tuple[str, ...]:
    raw: Any = None
    key = "tags"
    for key in ("tags", "categories", "category"):
        if meta.get(key) is not None:
            raw = meta[key]
            break
    if raw is None:
        return ()
    if isinstance(raw, str):
        items: list[Any] = raw.split(",")
    elif isinstance(raw, list):
        items = raw
    else:
        raise fail(key, f"'{key}' must be a list of tags, not a {type(raw).__name__}")
    return normalise_tags(items, config.tag_aliases, lambda item: fail(
        key, f"'{key}' must hold text tags, not {item!r}"))


def _authors(meta: Mapping[str, Any], fail: Any) -> tuple[str, ...]:
    key = "authors" if meta.get("authors") is not None else "author"
    value = meta.get(key)
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in values:
        if isinstance(item, (list, dict, bool)) or item is None:
            raise fail(key, f"'{key}' must be a name or a list of names, not {item!r}")
        name = clean_text(str(item)).strip()
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _to_datetime(value: Any, tz: ZoneInfo, fail: Any) -> datetime:
    """An aware UTC datetime from a YAML value; naive times are in the site's zone."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value.strip())
        except ValueError:
            raise fail(f"date {value!r} is not a date (expected e.g. 2025-03-14T08:30:00Z)") from None
    else:
        raise fail(f"date {value!r} is not a date (expected e.g. 2025-03-14T08:30:00Z)")
    if result.tzinfo is None:
        result = result.replace(tzinfo=tz)
    try:
        return result.astimezone(UTC)
    except (OverflowError, ValueError):
        raise fail(f"date {value!r} is out of range") from None


def _entry_id(slug: str, config: Config) -> str:
    """A stable URI for an article: its own id if that is a URI, else a tag: URI (RFC 4151).

    Both are made valid URIs by percent-encoding (UTF-8) only what a URI or a
    tag: URI's specific part may not hold, non-ASCII above all; an id that
    was valid is kept byte-identical, since a changed id is a new entry to
    every reader.
    """
    if _URI_ID.match(slug):
        return iri_to_uri(slug)
    parts = _NOT_IN_SLUG.sub("-", slug.strip()).split("/")
    if "" in parts or "." in parts or ".." in parts:
        parts = [part for part in parts if part not in ("", ".", "..")]
    specific = "/".join(parts) or "article-" + hashlib.sha256(
        slug.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"tag:{config.authority},{config.id_date}:{tag_specific(specific)}"
