"""Language detection: the language a text is really in, with its script for Chinese.

CLD2 (the compact language detector of Chromium, C++) ranks the three
likeliest of its ~80 languages for a text in tens of microseconds, with its
model compiled in: nothing to load, unpack or share between processes.

Its answer is taken when it is reliable: CLD2 says so, the text has at least
`RELIABLE_LETTERS` letters and the first language holds most of it. German
is then German even on a site configured for zh and en; the site files it
under no language feed instead of under the wrong one. Short texts such as
titles are where CLD2 errs ("Kubernetes 1.30 发布" ranks Indonesian first),
so for them the script decides when it names a language (Han → zh, Kana →
ja, Hangul → ko, Cyrillic → ru, ...), and a Latin-script text takes the
likeliest of the configured languages, else the first configured language
written in Latin letters, else the first configured one.

Chinese is told apart by script rather than by CLD2's `zh`/`zh-Hant`, which
guesses for the characters both scripts share: a text with more characters
found only in Big5 (traditional) than only in GB2312 (simplified) is
`zh-Hant`, any other is `zh`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import pycld2

# Text shorter than this (in letters) is too little to judge on its own.
MIN_LETTERS = 12
# Letters from which CLD2's answer is taken even for a language not configured.
RELIABLE_LETTERS = 24
# ... and the share of the text its first language must hold.
_RELIABLE_PERCENT = 60

_LETTER = re.compile(r"[^\W\d_]")
# The opening of a text says which language it is in; more only costs time.
_SAMPLE_CHARS = 300
# Characters CLD2 refuses as invalid input (controls and noncharacters);
# they say nothing about the language, so they become spaces. Those beyond
# the Basic Multilingual Plane have a pattern of their own: in one character
# class with the others they made every search fifteen times slower, and a
# text rarely holds any character beyond it (`_BEYOND_BMP` tells).
_REFUSED = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")
_REFUSED_BEYOND_BMP = re.compile("[" + "".join(chr(plane + 0xFFFE) + chr(plane + 0xFFFF)
                                               for plane in range(0x10000, 0x110000, 0x10000))
                                 + "]")
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")
# CLD2's names for languages whose codes have changed since it was written.
_RENAMED = {"iw": "he", "jw": "jv", "in": "id", "mo": "ro"}

# Scripts that name a language when the text is too short to judge, checked
# in order: Kana is only Japanese and Hangul only Korean, though both are
# written beside Han characters; Han alone is Chinese. A CJK text often
# quotes Latin names ("Kubernetes 1.30 发布"), so any CJK character decides.
_CJK_SCRIPTS = (
    ("ja", re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")),
    ("ko", re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")),
    ("zh", re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")),
)
# Other scripts decide by majority of the letters. Cyrillic is also written
# for Ukrainian, Bulgarian or Serbian, but Russian is by far the most common.
_SCRIPTS = {
    "ru": re.compile("[\u0400-\u04ff]"),
    "el": re.compile("[\u0370-\u03ff]"),
    "ar": re.compile("[\u0600-\u06ff\u0750-\u077f]"),
    "he": re.compile("[\u0590-\u05ff]"),
    "th": re.compile("[\u0e00-\u0e7f]"),
    "hi": re.compile("[\u0900-\u097f]"),
    "hy": re.compile("[\u0530-\u058f]"),
    "ka": re.compile("[\u10a0-\u10ff]"),
}
_NON_LATIN = frozenset({code for code, _ in _CJK_SCRIPTS} | set(_SCRIPTS))


@dataclass(frozen=True)
class Detection:
    """A text's language and whether CLD2 judged it with enough text to be trusted."""

    lang: str
    reliable: bool


def letter_count(text: str, enough: int = MIN_LETTERS) -> int:
    """How many letters `text` has, counting no further than `enough`."""
    if enough > 0:
        # One match of `enough` letters (each after any non-letters) from the
        # start: the regular expression engine counts, not a Python loop.
        if _letters(enough).match(text):
            return enough
        return len(_LETTER.findall(text))  # fewer than `enough`
    count = 0
    for _ in _LETTER.finditer(text):
        count += 1
        if count >= enough:
            break
    return count


@cache
def _letters(count: int) -> re.Pattern[str]:
    """A pattern matching the start of a text up to its `count`th letter (see `_LETTER`)."""
    return re.compile(r"(?:[\W\d_]*+[^\W\d_]){" + str(count) + "}")


def detect_language(text: str, languages: Sequence[str]) -> str:
    """The language of `text` as a tag, written as configured when it is one of `languages`."""
    return detect(text, languages).lang


def detect(text: str, languages: Sequence[str]) -> Detection:
    """The language of `text` (see the module's docstring) and whether it is reliable.

    `languages` are the configured ones, in order of preference; they decide
    only for a short Latin-script text, and how a language is written: a
    configured `zh-cn` takes a simplified Chinese text, `zh-hant` a
    traditional one. A text with no letters is in the first of them.
    """
    langs = tuple(languages)
    sample = text[:_SAMPLE_CHARS]
    letters = letter_count(sample, RELIABLE_LETTERS)
    if letters == 0:
        return Detection(langs[0], False)
    ranked: list[str] | None = None
    if letters >= RELIABLE_LETTERS:
        ranked, percent, cld_reliable = _ranked(sample)
        # (CLD2 also names scripts, "xx-Qaai", and constructed codes: no language.)
        if cld_reliable and ranked and percent >= _RELIABLE_PERCENT and known_language(ranked[0]):
            return Detection(_as_configured(_chinese_script(ranked[0], sample), langs), True)
    script = script_language(sample)
    if script is not None:
        return Detection(_as_configured(_chinese_script(script, sample), langs), False)
    # CLD2 is asked about a shorter text only here, where its ranking is all there is:
    # a short title in a script that names its language never needs it.
    if ranked is None:
        ranked = _ranked(sample)[0]
    for code in ranked:  # a short Latin-script text: the likeliest configured language
        for lang in langs:
            if _primary(lang) == _primary(code):
                return Detection(lang, False)
    latin = [lang for lang in langs if _primary(lang) not in _NON_LATIN]
    return Detection((latin or langs)[0], False)


def _primary(tag: str) -> str:
    return tag.split("-", 1)[0].lower()


def same_language(a: str, b: str) -> bool:
    """Whether two tags name one language (`zh` and `zh-Hant` do: one language, two scripts)."""
    return _primary(a) == _primary(b)


def script_contradicts(text: str, lang: str) -> bool:
    """Whether `text` is visibly not in `lang`: its script names another language, or is Latin
    where `lang` is not written in Latin letters. A cheap test (no CLD2) for when to detect."""
    script = script_language(text)
    if script is None:
        return _primary(lang) in _NON_LATIN
    return not same_language(script, lang)


def _as_configured(tag: str, langs: Sequence[str]) -> str:
    """`tag` as the configured languages write it: exactly, else a configured variety of it.

    A configured `zh-cn` takes a detected `zh`, and `zh-tw` or `zh-hk` a
    detected `zh-Hant`; a detected `zh-Hant` stays so on a site configured
    with plain `zh`, so its `xml:lang` says which script it is written in.
    """
    lowered = tag.lower()
    for lang in langs:
        if lang.lower() == lowered:
            return lang
    traditional = lowered == "zh-hant"
    for lang in langs:
        if _primary(lang) != _primary(tag) or "-" not in lang:
            continue
        if _primary(tag) != "zh" or (lang.lower() in ("zh-hant", "zh-tw", "zh-hk", "zh-mo")) == traditional:
            return lang
    return tag


def _chinese_script(tag: str, text: str) -> str:
    """`zh` or `zh-Hant` for a Chinese `tag`, from the characters of `text`; other tags as they are.

    Characters outside GB2312 are traditional (or rare), those outside Big5
    simplified (or rare): whichever kind is more common decides. The codecs
    count in C, ten times faster than asking about each character.
    """
    if _primary(tag) != "zh":
        return tag
    # The whole text, not only its Han characters: what else a Chinese text
    # holds (ASCII, punctuation, emoji) is in both character sets or in
    # neither, and so counts the same on both sides.
    not_simplified = len(text) - len(text.encode("gb2312", "ignore").decode("gb2312"))
    not_traditional = len(text) - len(text.encode("big5", "ignore").decode("big5"))
    return "zh-Hant" if not_simplified > not_traditional else "zh"


def script_language(text: str) -> str | None:
    """The language a text's script names (see `_CJK_SCRIPTS`, `_SCRIPTS`), or None (Latin, mixed)."""
    if text.isascii():
        return None  # no script of theirs has an ASCII letter
    for lang, pattern in _CJK_SCRIPTS:
        if pattern.search(text):
            return lang
    letters = len(_LETTER.findall(text))
    for lang, pattern in _SCRIPTS.items():
        if 2 * len(pattern.findall(text)) > letters:
            return lang
    return None


def _ranked(text: str) -> tuple[list[str], int, bool]:
    """CLD2's languages for `text`, likeliest first, the first one's percent, and CLD2's reliability."""
    sample = _REFUSED.sub(" ", text)
    if _BEYOND_BMP.search(sample):
        sample = _REFUSED_BEYOND_BMP.sub(" ", sample)
    encoded = sample.encode("utf-8", "ignore")
    try:
        reliable, _bytes, details = pycld2.detect(encoded, isPlainText=True, bestEffort=True)
    except pycld2.error:  # input it still refuses: judged unsure
        return [], 0, False
    ranked: list[str] = []
    first_percent = 0
    for _name, code, percent, _score in details:
        if code != "un" and percent > 0:
            if not ranked:
                first_percent = percent
            code = code.lower()
            ranked.append(_RENAMED.get(code, code))
    return ranked, first_percent, bool(reliable)


@cache
def known_language(tag: str) -> bool:
    """Whether `tag`'s primary language is one CLD2 knows (and so can be detected or declared)."""
    if not re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*", tag.lower()):
        return False
    codes = {_RENAMED.get(code.lower(), code.lower()).split("-", 1)[0]
             for _name, code in pycld2.LANGUAGES}
    codes -= {"xx", "xxx", "zzb", "zze", "zzh", "zzp", "un", "tlh"}
    return _primary(tag) in codes
