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
    on every run. The copy is a folder of plain NumPy arrays (no pickle),
    about 70 MB, named after the packed model's size and time.
    """
    global _cache_dir
    if _cache_dir != folder:
        _cache_dir = folder
        _model.cache_clear()
        _identifier.cache_clear()


@lru_cache(maxsize=1)
def _model() -> Any:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    cached = None
    if _cache_dir is not None:
        packed = (Path(MODEL_DIR) / MODEL_FILE).stat()
        cached = _cache_dir / f"langid-{packed.st_size}-{packed.st_mtime_ns}"
        with contextlib.suppress(Exception):  # a damaged or foreign copy: load the original
            return _load_unpacked(cached, LanguageIdentifier)
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
    if cached is not None:
        try:
            _save_unpacked(ident, cached)
        except Exception as exc:  # only speed is lost
            log.debug("cannot keep the language model in %s: %s", cached, exc)
    return ident


# The arrays of an unpacked model, one .npy file each.
_ARRAYS = ("ptc", "pc", "classes", "nextmove", "row", "output")


def _save_unpacked(ident: Any, folder: Path) -> None:
    """The model's arrays as .npy files in `folder`, which appears whole or not at all."""
    import shutil

    import numpy as np

    folder.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        # Column-major, so that restricting the model to a few languages
        # (a few columns) reads a few pages of the mapping, not all 28 MB.
        "ptc": np.asfortranarray(ident.nb_ptc), "pc": ident.nb_pc, "classes": np.array(ident.nb_classes),
        "nextmove": np.frombuffer(ident.tk_nextmove, dtype=f"u{ident.tk_nextmove.itemsize}"),
        "row": np.frombuffer(ident.tk_row, dtype=f"u{ident.tk_row.itemsize}"),
        "output": np.array(ident.tk_output, dtype=np.int32),
    }
    tmp = Path(tempfile.mkdtemp(prefix=".langid-", dir=folder.parent))
    try:
        for name, values in arrays.items():
            np.save(tmp / f"{name}.npy", values, allow_pickle=False)
        shutil.rmtree(folder, ignore_errors=True)  # a damaged copy
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load_unpacked(folder: Path, identifier: Any) -> Any:
    """The model from its .npy files, mapped rather than read.

    The tokenizer's tables are handed over as memoryviews of the mapping:
    indexing one is as fast as indexing the array.array py3langid builds,
    without copying 40 MB first, and forked workers share the pages.
    """
    import numpy as np

    data = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            for name in _ARRAYS}
    if not data["ptc"].flags.f_contiguous:
        raise ValueError(f"{folder}: a copy in an older layout")  # made again

    def table(values: Any) -> memoryview[int]:
        raw = memoryview(values).cast("B")
        if values.dtype.kind == "i":
            return raw.cast("i")
        size = values.dtype.itemsize
        return raw.cast("H") if size == 2 else raw.cast("I") if size == 4 else raw.cast("L")

    return identifier(
        data["ptc"], np.asarray(data["pc"]), data["classes"].tolist(),
        table(data["nextmove"]), table(data["output"]), norm_probs=False,
        tk_row=table(data["row"]),
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


def preload_language_model(languages: Sequence[str]) -> None:
    """Load the model (about a second), restricted to `languages`, now.

    E.g. before forking workers, so that they share it.
    """
    _identifier(tuple(languages))


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
