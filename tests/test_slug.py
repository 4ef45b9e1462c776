"""Slugs stay inside their directory, stay readable, and collide on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.slug import slugify


@pytest.mark.parametrize(
    ("tag", "slug"),
    [
        ("科技", "科技"),
        ("Machine Learning", "machine-learning"),
        ("Tech", "tech"),
        ("../x", "x"),
        ("/etc", "etc"),
        ("a/b", "a-b"),
        ("C++", "c"),
        ("Ünïcödé", "ünïcödé"),
    ],
)
def test_examples(tag: str, slug: str) -> None:
    assert slugify(tag) == slug


@pytest.mark.parametrize("tag", [".", "..", "/", "", "   ", "???"])
def test_no_letters_gives_a_stable_hashed_slug(tag: str) -> None:
    slug = slugify(tag)
    assert slug.startswith("tag-") and len(slug) == 14
    assert slug == slugify(tag)


def test_different_symbol_only_tags_do_not_collide() -> None:
    assert slugify("..") != slugify("/")


@given(st.text())
def test_any_text_gives_one_safe_path_segment(text: str) -> None:
    slug = slugify(text)
    assert slug and slug not in (".", "..")
    assert "/" not in slug and "\\" not in slug and "\x00" not in slug
    assert len(slug.encode("utf-8")) <= 140
    base = Path("/out/tags")
    assert (base / f"{slug}.atom").resolve().parent == base
