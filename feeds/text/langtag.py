"""The form of a language tag (RFC 5646), as `lang` and `hreflang` take it (pure).

Checked for its form only, with a primary language subtag of two or three
letters: four are reserved and none of five to eight is registered. Whether
each subtag is in IANA's registry is not checked (`xx` passes), so a tag of
the right form that names no language gets by.
"""

from __future__ import annotations

import re

# language (extlang) (script) (region) (variants) (extensions) (private use), or private use alone.
LANGUAGE_TAG = (
    r"[a-z]{2,3}(?:-[a-z]{3}){0,3}(?:-[a-z]{4})?(?:-(?:[a-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*(?:-[a-wyz0-9](?:-[a-z0-9]{2,8})+)*"
    r"(?:-x(?:-[a-z0-9]{1,8})+)?|x(?:-[a-z0-9]{1,8})+")
_FORM = re.compile(LANGUAGE_TAG, re.IGNORECASE)


def is_language_tag(value: str) -> bool:
    """Whether `value` has the form of a language tag (`en`, `zh-Hant-TW`, `sr-Latn`)."""
    return _FORM.fullmatch(value) is not None
