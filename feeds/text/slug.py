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
# Symbols that carry meaning in a tag are spelled out: `c++`, `c#` and `c`
# name three languages, `r&d` is not `r d`, `@home` not `home`, `.net` not
# `net`. A dot counts only where it starts a word (elsewhere, as in
# `node.js`, it separates words as it always did); every other symbol
# separates words, so a tag without these keeps the slug, and the feed URL,
# it always had.
_SPELLED = {"+": "plus", "#": "sharp", "&": "and", "@": "at", ".": "dot"}
_SYMBOL = re.compile(r"[+#&@]|(?<!\S)\.(?=\w)")
_MAX_BYTES = 120  # well under the 255-byte file-name limit, leaving room for ".atom"


# Plain ASCII without the spelled-out symbols: most file names and tags.
_PLAIN = re.compile(r"[A-Za-z0-9 _/,:;!?'()\[\]-]*\Z")
_NOT_PLAIN_WORD = re.compile(r"[^a-z0-9_]+")


def words(text: str) -> str:
    """`text`'s letters and digits, lower case, joined by `-`; symbols spelled out."""
    norm = unicodedata.normalize("NFKC", text).casefold()
    norm = _SYMBOL.sub(lambda m: f"-{_SPELLED[m.group(0)]}-", norm)
    return _NOT_WORD.sub("-", norm).strip("-_")


def plain_words(text: str) -> str:
    """`words` of plain ASCII text without the spelled symbols (`_PLAIN`), four times faster:
    Unicode normalisation and the symbols leave such text as it is."""
    return _NOT_PLAIN_WORD.sub("-", text.lower()).strip("-_")


def _slug(text: str) -> str:
    """A lower-case slug of `text`: Unicode letters and digits joined by `-`.

    `+`, `#`, `&`, `@` and a word's leading dot are spelled out (`c++` is
    `c-plus-plus`, `c#` `c-sharp`, `.net` `dot-net`), so that distinct tags
    do not share a feed by accident. Other separators, dots and slashes
    become `-`, so `../x` becomes `x` and can never escape. Text with no
    letters or digits at all (`..`, `/`) gets a short stable hash, so it
    still has a feed of its own.
    """
    slug = plain_words(text) if _PLAIN.match(text) else words(text)
    if not slug:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        return f"tag-{digest}"
    encoded = slug.encode("utf-8")
    if len(encoded) > _MAX_BYTES:
        digest = hashlib.sha1(encoded).hexdigest()[:8]
        head = encoded[:_MAX_BYTES].decode("utf-8", "ignore").rstrip("-_")
        slug = f"{head}-{digest}"
    return slug


# Tags repeat across thousands of entries. Wrapped rather than decorated so
# that the function itself stays in reach of mutation testing.
slugify = lru_cache(maxsize=8192)(_slug)
