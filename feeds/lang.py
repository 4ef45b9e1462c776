"""Language detection restricted to the configured languages.

py3langid knows ~100 languages; asking it to choose only among the ones the
site publishes (by default zh and en) makes it reliable on short texts such
as titles, where an open choice often guesses a neighbouring language.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Text shorter than this (in letters) is too little to judge on its own.
MIN_LETTERS = 12

# Where an uncompressed copy of the model may be kept (see use_model_cache).
_cache_dir: Path | None = None


def user_cache_dir() -> Path:
    """Where feeds keeps caches shared by all projects: `$XDG_CACHE_HOME/feeds`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "feeds"


def use_model_cache(folder: Path) -> None:
    """Keep an uncompressed copy of the language model in `folder`.

    py3langid ships its model LZMA-compressed; unpacking it takes most of a
    second, which a rebuild after one edited article would otherwise spend
    on every run. The copy is a plain NumPy archive (no pickle), about 70 MB,
    named after the py3langid version it came from.
    """
    global _cache_dir
    if _cache_dir != folder:
        _cache_dir = folder
        _model.cache_clear()
        _identifier.cache_clear()


@lru_cache(maxsize=1)
def _model() -> Any:
    from importlib.metadata import version

    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    cached = None
    if _cache_dir is not None:
        cached = _cache_dir / f"langid-{version('py3langid')}.npz"
        with contextlib.suppress(Exception):  # a damaged or foreign copy: load the original
            return _load_unpacked(cached, LanguageIdentifier)
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
    if cached is not None:
        try:
            _save_unpacked(ident, cached)
        except Exception as exc:  # only speed is lost
            log.debug("cannot keep the language model in %s: %s", cached, exc)
    return ident


# The arrays of an unpacked model.
_ARRAYS = ("ptc", "pc", "classes", "nextmove", "row", "output")


def _save_unpacked(ident: Any, path: Path) -> None:
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".langid-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh, ptc=ident.nb_ptc, pc=ident.nb_pc, classes=np.array(ident.nb_classes),
                nextmove=np.frombuffer(ident.tk_nextmove, dtype=f"u{ident.tk_nextmove.itemsize}"),
                row=np.frombuffer(ident.tk_row, dtype=f"u{ident.tk_row.itemsize}"),
                output=np.array(ident.tk_output, dtype=np.int32),
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _load_unpacked(path: Path, identifier: Any) -> Any:
    from array import array

    import numpy as np

    codes = {2: "H", 4: "I", 8: "L"}
    with np.load(path, allow_pickle=False) as data:
        if set(data.files) != set(_ARRAYS):
            raise ValueError("not an unpacked language model")
        nextmove, row = data["nextmove"], data["row"]
        return identifier(
            data["ptc"], data["pc"], data["classes"].tolist(),
            array(codes[nextmove.dtype.itemsize], nextmove.tobytes()),
            data["output"].tolist(), norm_probs=False,
            tk_row=array(codes[row.dtype.itemsize], row.tobytes()),
        )


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
# The model reads UTF-8 bytes one by one in Python, so the sample is
# bounded in bytes: 200 bytes are 200 letters of English, 66 of Chinese.
_SAMPLE_CHARS = 200
_SAMPLE_BYTES = 200


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
    sample = text[:_SAMPLE_CHARS].encode("utf-8", "ignore")[:_SAMPLE_BYTES]
    lang, _score = ident.classify(sample.decode("utf-8", "ignore"))
    return str(lang) if lang in langs else langs[0]
