"""Slugs stay inside their directory, stay readable, and collide only on purpose."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.text.slug import slugify


@pytest.mark.parametrize(
    ("tag", "slug"),
    [
        ("科技", "科技"),
        ("Machine Learning", "machine-learning"),
        ("Tech", "tech"),
        ("../x", "x"),
        ("/etc", "etc"),
        ("a/b", "a-b"),
        ("Ünïcödé", "ünïcödé"),
        # Symbols that make a tag mean something else are spelled out.
        ("C++", "c-plus-plus"),
        ("c#", "c-sharp"),
        ("F#", "f-sharp"),
        ("R&D", "r-and-d"),
        ("@home", "at-home"),
        (".NET", "dot-net"),
        ("Ｃ＋＋", "c-plus-plus"),  # full-width, as NFKC reads it
        # A dot inside a word separates, as it always did.
        ("node.js", "node-js"),
        ("asp.net", "asp-net"),
        ("web2.0", "web2-0"),
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


def _slug_before(text: str) -> str:
    """The slug rule before symbols were spelled out, kept to hold existing slugs to it."""
    norm = unicodedata.normalize("NFKC", text).casefold()
    slug = re.sub(r"[^\w]+", "-", norm).strip("-_")
    if not slug:
        return "tag-" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    encoded = slug.encode("utf-8")
    if len(encoded) > 120:
        head = encoded[:120].decode("utf-8", "ignore").rstrip("-_")
        slug = f"{head}-{hashlib.sha1(encoded).hexdigest()[:8]}"
    return slug


def _spelled_symbols(text: str) -> bool:
    return any(c in "+#&@." for c in unicodedata.normalize("NFKC", text))


@given(st.text().filter(lambda t: not _spelled_symbols(t)))
def test_tags_without_those_symbols_keep_their_slugs(text: str) -> None:
    """Their feed URLs are subscribed: they must not move."""
    assert slugify(text) == _slug_before(text)


# Words whose letters cannot spell `plus`, `sharp`, `and`, `at` or `dot`, so
# that only a symbol can give a slug one of those words.
_words = st.text(alphabet="cefgjkqvwxyzCEFGJ019", min_size=1, max_size=3)
_tokens = st.lists(st.one_of(_words, st.sampled_from(["+", "#", "&", "@", ".", "＋"])),
                   min_size=1, max_size=5)
_separators = st.sampled_from(["", " ", "-", "/"])


@st.composite
def _tags(draw: st.DrawFn) -> str:
    tokens = draw(_tokens)
    return "".join(token + draw(_separators) for token in tokens).strip()


def _meaning(tag: str) -> list[str]:
    """The words and meaningful symbols of a tag, in order: what its slug must keep apart."""
    norm = unicodedata.normalize("NFKC", tag).casefold()
    return re.findall(r"[+#&@]|(?<!\S)\.(?=\w)|[^\W_]+", norm)


@given(_tags(), _tags())
def test_tags_that_differ_in_symbols_get_distinct_slugs(one: str, other: str) -> None:
    if _meaning(one) != _meaning(other):
        assert slugify(one) != slugify(other), (one, other)
    elif _meaning(one):  # (text of separators alone is hashed: see above)
        # Case and separators alone do not make another tag.
        assert slugify(one) == slugify(other), (one, other)


def test_tags_that_differ_in_symbols_get_feeds_of_their_own(project: Path) -> None:
    from atomcheck import assert_valid_atom

    from feeds import build
    from feeds.config import load_config

    (project / "sources" / "articles" / "langs.md").write_text(
        "---\ntitle: Languages\ndate: 2025-03-01\n"
        "tags: [c, C++, c#, F#, f, .NET, net, R&D, r d]\n---\nCompilers compared.\n",
        encoding="utf-8")
    build(load_config(project), fetch=False)
    tags = project / "output" / "tags"
    assert sorted(p.name for p in tags.iterdir() if p.suffix == ".atom") == [
        "c-plus-plus.atom", "c-sharp.atom", "c.atom", "dot-net.atom", "f-sharp.atom", "f.atom",
        "net.atom", "r-and-d.atom", "r-d.atom"]
    for path in tags.glob("*.atom"):
        feed = assert_valid_atom(path)
        assert [e.title for e in feed.entries] == ["Languages"]
        assert len(feed.entries[0].tags) == 9


def test_long_tags_are_cut_to_the_limit_and_stay_apart() -> None:
    """A slug is a file name: at most 120 bytes of the tag, then a digest of the whole."""
    stem = "储能" * 30 + "-battery-" * 10  # 180 + 90 bytes of UTF-8
    first, second = slugify(stem + "a"), slugify(stem + "b")
    assert first != second
    for slug in (first, second):
        head, digest = slug.rsplit("-", 1)
        assert len(head.encode("utf-8")) <= 120 and head.startswith("储能" * 20)
        assert len(digest) == 8 and all(c in "0123456789abcdef" for c in digest)
    # At the limit nothing is cut.
    exact = "a" * 120
    assert slugify(exact) == exact
    assert slugify(exact + "a").startswith("a" * 120 + "-")


def test_a_cut_never_splits_a_character_or_leaves_a_dash_before_the_digest() -> None:
    cut = slugify("a" + "储能" * 50)  # 301 bytes: the 120th byte falls inside a character
    head, _digest = cut.rsplit("-", 1)
    assert head == "a" + "储能" * 19 + "储"
    dashed = slugify("a" * 119 + "-b" * 20)  # the cut falls just after a dash
    assert dashed.startswith("a" * 119 + "-") and "--" not in dashed


def test_text_that_is_not_even_valid_unicode_still_gets_a_slug() -> None:
    """A lone surrogate (from a broken file name) has no letters: it gets a hashed slug."""
    assert slugify("\udc80.") == "tag-54062fbaaa"
    assert slugify("\udc80.") != slugify("\udc81.")


@given(st.text(alphabet="AZaz09 _/,:;!?'()[]-", max_size=40))
def test_plain_ascii_takes_the_short_way_to_the_same_slug(text: str) -> None:
    """Most names are plain ASCII; their quicker slug is the one the full rules give."""
    from feeds.text.slug import _PLAIN, plain_words, words

    assert _PLAIN.match(text)
    assert plain_words(text) == words(text)
