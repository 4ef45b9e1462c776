"""Language detection and the unpacked copy of its model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds import lang

SAMPLES = {
    "这座新建的储能电站今年春天在西北地区正式并网，可以在用电高峰时段提供电力。": "zh",
    "The new storage plant joined the grid this spring and supplies power at peak hours.": "en",
    "苹果发布新款 iPhone": "zh",
}


@pytest.fixture
def model_cache(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "state"
    lang.use_model_cache(folder)
    yield folder
    lang._cache_dir = None
    lang._model.cache_clear()
    lang._identifier.cache_clear()


def _detect_all() -> dict[str, str]:
    return {text: lang.detect_language(text, ("zh", "en")) for text in SAMPLES}


def test_unpacked_model_detects_as_the_packed_one(model_cache: Path) -> None:
    assert _detect_all() == SAMPLES  # loaded from the package, then unpacked
    [copy] = model_cache.glob("langid-*")
    lang.use_model_cache(model_cache.parent)  # forget the loaded model...
    lang.use_model_cache(model_cache)  # ...and load the copy
    assert _detect_all() == SAMPLES
    assert not list(model_cache.glob(".langid-*"))  # no temporary folder left
    assert sum(f.stat().st_size for f in copy.iterdir()) > 1_000_000


def test_damaged_copy_is_ignored_and_replaced(model_cache: Path) -> None:
    assert _detect_all() == SAMPLES  # makes the copy
    [copy] = model_cache.glob("langid-*")
    (copy / "nextmove.npy").write_bytes(b"not a model")
    lang.use_model_cache(model_cache.parent)
    lang.use_model_cache(model_cache)
    assert _detect_all() == SAMPLES
    assert (copy / "nextmove.npy").stat().st_size > 1_000_000


def test_copy_in_the_row_major_layout_is_made_again(model_cache: Path) -> None:
    import numpy as np

    assert _detect_all() == SAMPLES
    [copy] = model_cache.glob("langid-*")
    ptc = np.load(copy / "ptc.npy")
    assert ptc.flags.f_contiguous  # a language's column is one run of pages
    np.save(copy / "ptc.npy", np.ascontiguousarray(ptc), allow_pickle=False)
    lang.use_model_cache(model_cache.parent)
    lang.use_model_cache(model_cache)
    assert _detect_all() == SAMPLES
    assert np.load(copy / "ptc.npy", mmap_mode="r").flags.f_contiguous
