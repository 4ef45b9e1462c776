"""Slugs: the file-name part of a tag or custom feed's path.

A slug must be safe as one path segment on every file system and in a URL,
must never step outside the output directory, and should stay readable in
the tag's own script (`科技` stays `科技`, not `ke-ji` or a hash).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

_NOT_WORD = re.compile(r"[^\w]+")
_MAX_BYTES = 120  # well under the 255-byte file-name limit, leaving room for ".atom"


@lru_cache(maxsize=8192)  # tags repeat across thousands of entries
def slugify(text: str) -> str:
    """A lower-case slug of `text`: Unicode letters and digits joined by `-`.

    Separators, dots and slashes become `-`, so `../x` becomes `x` and can
    never escape. Text with no letters or digits at all (`..`, `/`) gets a
    short stable hash, so it still has a feed of its own.
    """
    norm = unicodedata.normalize("NFKC", text).casefold()
    slug = _NOT_WORD.sub("-", norm).strip("-_")
    if not slug:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        return f"tag-{digest}"
    encoded = slug.encode("utf-8")
    if len(encoded) > _MAX_BYTES:
        digest = hashlib.sha1(encoded).hexdigest()[:8]
        head = encoded[:_MAX_BYTES].decode("utf-8", "ignore").rstrip("-_")
        slug = f"{head}-{digest}"
    return slug
