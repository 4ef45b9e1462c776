"""Language detection restricted to the configured languages.

CLD2 (the compact language detector of Chromium, C++) ranks the three
likeliest of its ~80 languages for a text in tens of microseconds, with its
model compiled in: nothing to load, unpack or share between processes. The
site publishes a few languages (by default zh and en), so the answer is the
best-ranked of those; choosing only among them makes short texts such as
titles reliable, where an open choice often names a neighbouring language
("Kubernetes 1.30 发布" ranks Indonesian before Chinese).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pycld2

# Text shorter than this (in letters) is too little to judge on its own.
MIN_LETTERS = 12

_LETTER = re.compile(r"[^\W\d_]")
# The opening of a text says which language it is in; more only costs time.
_SAMPLE_CHARS = 300
# Characters CLD2 refuses as invalid input (controls and noncharacters);
# they say nothing about the language, so they become spaces.
_REFUSED = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef"
                      + "".join(chr(plane + 0xFFFE) + chr(plane + 0xFFFF)
                                for plane in range(0, 0x110000, 0x10000))
                      + "]")
# CLD2's names for languages whose codes have changed since it was written.
_RENAMED = {"iw": "he", "jw": "jv", "in": "id", "mo": "ro"}


def letter_count(text: str, enough: int = MIN_LETTERS) -> int:
    """How many letters `text` has, counting no further than `enough`."""
    count = 0
    for _ in _LETTER.finditer(text):
        count += 1
        if count >= enough:
            break
    return count


def detect_language(text: str, languages: Sequence[str]) -> str:
    """The most likely of `languages` for `text`; the first one when unsure.

    With a single configured language there is nothing to choose. A text in
    none of them (CLD2 ranks only other languages, or none) gets the first.
    A configured `zh` takes CLD2's `zh-Hant` too, and `zh-hant` takes `zh`:
    codes match exactly first, then by their primary language.
    """
    langs = tuple(languages)
    if len(langs) == 1 or letter_count(text) == 0:
        return langs[0]
    for ranked in _ranked(text[:_SAMPLE_CHARS]):
        for lang in langs:
            if lang == ranked:
                return lang
        primary = ranked.split("-", 1)[0]
        for lang in langs:
            if lang.split("-", 1)[0] == primary:
                return lang
    return langs[0]


def _ranked(text: str) -> list[str]:
    """CLD2's languages for `text`, likeliest first, as lower-case codes."""
    sample = _REFUSED.sub(" ", text).encode("utf-8", "ignore")
    try:
        _reliable, _bytes, details = pycld2.detect(sample, isPlainText=True, bestEffort=True)
    except pycld2.error:  # input it still refuses: judged unsure
        return []
    ranked = []
    for _name, code, percent, _score in details:
        if code != "un" and percent > 0:
            code = code.lower()
            ranked.append(_RENAMED.get(code, code))
    return ranked
