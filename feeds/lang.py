"""Language detection restricted to the configured languages.

py3langid knows ~100 languages; asking it to choose only among the ones the
site publishes (by default zh and en) makes it reliable on short texts such
as titles, where an open choice often guesses a neighbouring language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

# Text shorter than this (in letters) is too little to judge on its own.
MIN_LETTERS = 12


@lru_cache(maxsize=1)
def _model() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]) -> Any:
    import copy

    ident = copy.copy(_model())
    known = [lang for lang in languages if lang in ident.nb_classes]
    if len(known) >= 2:
        ident.set_languages(known)
    return ident


_LETTER = re.compile(r"[^\W\d_]")
# The opening of a text says which language it is in; more only costs time.
_SAMPLE_CHARS = 120


def preload_language_model() -> None:
    """Load the model now (about a second), e.g. before forking workers that share it."""
    _model()


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

    With a single configured language there is nothing to choose. A language
    the model does not know is never returned by detection, only as the default.
    """
    langs = tuple(languages)
    if len(langs) == 1 or letter_count(text) == 0:
        return langs[0]
    ident = _identifier(langs)
    known = [lang for lang in langs if lang in ident.nb_classes]
    if len(known) < 2:
        return known[0] if known else langs[0]
    lang, _score = ident.classify(text[:_SAMPLE_CHARS])
    return str(lang) if lang in langs else langs[0]
