"""Media values read from untrusted feeds and front matter, made safe to keep and publish (pure).

An enclosure's URL is followed by podcast apps without a person looking at
it, so only an absolute http(s) URL is kept (never `javascript:`, `data:`
or `file:`). Every other field is advisory: a length, type or duration that
cannot be read is unknown, never a reason to lose the file. Feeds are
untrusted, so an entry keeps at most `MAX_ENCLOSURES` files and every string
is cut to a bound.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from itertools import islice
from urllib.parse import urlsplit

from ..model import Enclosure
from .links import absolute_url
from .sanitise import collapse_text

# Files kept per entry: a podcast episode has one, a gallery a few dozen at
# most; each is written again into every feed the entry is in.
MAX_ENCLOSURES = 20
MAX_CANDIDATES = 5 * MAX_ENCLOSURES
# No real media URL comes near this; a longer one only makes every feed heavier.
MAX_URL_CHARS = 2048
MAX_TITLE_CHARS = 200
# A length or a duration beyond these is no file's (JSON numbers past 2**53
# lose their digits in JavaScript readers).
MAX_LENGTH = 2**53 - 1
MAX_DURATION = 10**8  # seconds: over three years

# RFC 6838 §4.2 type and subtype names (restricted-name); parameters are dropped.
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_DURATION = re.compile(r"(?:(\d{1,9}):)?(?:(\d{1,9}):)?(\d{1,9})(?:[.,]\d*)?")

# The type of a file without a declared one, from its URL's suffix: a table
# of its own rather than `mimetypes`, which reads the host's files and would
# make the same feed say different things on different machines.
_SUFFIX_TYPES = {
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "m4b": "audio/mp4", "aac": "audio/aac",
    "oga": "audio/ogg", "ogg": "audio/ogg", "opus": "audio/opus", "wav": "audio/wav",
    "flac": "audio/flac", "mp4": "video/mp4", "m4v": "video/mp4", "webm": "video/webm",
    "mov": "video/quicktime", "ogv": "video/ogg", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "png": "image/png", "gif": "image/gif", "webp": "image/webp", "avif": "image/avif",
    "svg": "image/svg+xml", "pdf": "application/pdf", "epub": "application/epub+zip",
}
UNKNOWN_TYPE = "application/octet-stream"


def media_url(value: object, base: str | None) -> str | None:
    """`value` as an absolute http(s) URL resolved against `base`; None otherwise or when too long."""
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        return None
    url = absolute_url(value, base)
    return url if url is not None and len(url) <= MAX_URL_CHARS else None


def media_type(value: object) -> str | None:
    """A MIME type as `type/subtype`, lower-cased and without parameters; None when it is none."""
    if not isinstance(value, str):
        return None
    essence = value.split(";", 1)[0].strip().lower()
    return essence if _MIME.fullmatch(essence) else None


def type_of(url: str) -> str | None:
    """The MIME type a URL's suffix names (`.mp3` is `audio/mpeg`), or None."""
    path = urlsplit(url).path
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _SUFFIX_TYPES.get(suffix)


def byte_length(value: object) -> int | None:
    """A length in bytes: a non-negative integer (as text or a number), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        digits = value.strip().lstrip("0") or "0"
        if len(digits) > 16:
            return None
        number = int(digits)
    else:
        return None
    return number if 0 <= number <= MAX_LENGTH else None


def duration_seconds(value: object) -> int | None:
    """A duration in whole seconds from `3723`, `62:03` or `1:02:03` (iTunes, Media RSS, JSON).

    Fractions of a second are dropped; anything else (a negative number, a
    word) is unknown.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value <= MAX_DURATION:
            return None
        return int(value)
    if not isinstance(value, str):
        return None
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        return None
    first, second, last = match.groups()
    hours, minutes = (first, second) if second is not None else (None, first)
    seconds = int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(last)
    return seconds if seconds <= MAX_DURATION else None


def media_title(value: object) -> str | None:
    """A file's title as plain text on one line, cut to `MAX_TITLE_CHARS`; None when empty."""
    if not isinstance(value, str):
        return None
    return collapse_text(value)[:MAX_TITLE_CHARS].strip() or None


def enclosure(url: object, base: str | None, *, type: object = None, length: object = None,
              duration: object = None, title: object = None) -> Enclosure | None:
    """The Enclosure the given values describe, or None when its URL cannot be followed.

    A missing or unreadable type is taken from the URL's suffix when that
    names one.
    """
    href = media_url(url, base)
    if href is None:
        return None
    return Enclosure(
        url=href,
        type=media_type(type) or type_of(href),
        length=byte_length(length),
        duration=duration_seconds(duration),
        title=media_title(title),
    )


def keep_enclosures(found: Iterable[Enclosure | None]) -> tuple[Enclosure, ...]:
    """The enclosures found, in order, each URL once, at most `MAX_ENCLOSURES`.

    Only the first `MAX_CANDIDATES` are looked at (None for one that was
    refused), so a hostile item listing a million files costs no more than
    a few dozen.

    A file listed twice (RSS `<enclosure>` and `media:content` for the same
    URL) keeps what either listing said: the first one's values, with the
    gaps filled from the second.
    """
    kept: dict[str, Enclosure] = {}
    for item in islice(found, MAX_CANDIDATES):
        if item is None:
            continue
        first = kept.get(item.url)
        if first is None:
            if len(kept) < MAX_ENCLOSURES:
                kept[item.url] = item
        else:
            kept[item.url] = Enclosure(
                first.url, first.type or item.type,
                first.length if first.length is not None else item.length,
                first.duration if first.duration is not None else item.duration,
                first.title or item.title)
    return tuple(kept.values())


def media_kind(item: Enclosure) -> str | None:
    """`audio`, `video` or `image` by the file's type (a page plays the first two); else None."""
    kind = (item.type or "").split("/", 1)[0]
    return kind if kind in ("audio", "video", "image") else None
