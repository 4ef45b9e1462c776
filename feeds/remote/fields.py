"""Reading the loose fields every feed format has, the same way for each (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from ..text.sanitise import collapse_text

# `itunes:explicit` in Apple's words: `true`/`false` today, `yes`/`no`,
# `explicit` and `clean` before. feedparser 6 knows only `yes` and `clean`,
# and makes the words Apple asks for today unknown.
EXPLICIT_WORDS = {"yes": True, "true": True, "explicit": True, "no": False, "false": False,
                  "clean": False}


def explicit(value: object) -> bool | None:
    """Whether an `itunes:explicit` value marks explicit content; None for no known word."""
    return EXPLICIT_WORDS.get(value.strip().lower()) if isinstance(value, str) else None


def declared_language(value: object) -> str | None:
    """A language a feed declares, as written (`en_US` as `en-US`); None when it is no text."""
    if not isinstance(value, str):
        return None
    return collapse_text(value).replace("_", "-") or None


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """The non-empty values, first occurrence kept, order kept."""
    found = dict.fromkeys(values)
    found.pop("", None)
    return tuple(found)
