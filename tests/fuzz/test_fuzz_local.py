"""Fuzzing the article reader and the normaliser with hypothesis.

Whatever the input, reading ends either in an entry or in a reported
`ArticleError` (never another exception), and every feed rendered from what
was read is valid Atom.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import yaml
from atomcheck import assert_valid_atom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.article import parse_article
from feeds.build import render_all
from feeds.config import load_config
from feeds.errors import ArticleError, ParseError
from feeds.model import Entry, SourceConfig
from feeds.normalise import normalise_feed
from feeds.parse import parse_feed

CONFIG = load_config(Path(__file__).parent)
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40),
    st.dates(), st.datetimes(timezones=st.none() | st.just(UTC)),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
keys = st.sampled_from(["title", "date", "description", "tags", "author", "authors", "id",
                        "slug", "lang", "updated", "link", "draft", "categories", "title_en",
                        "title_zh", "description_zh"]) | st.text(max_size=10)
tags = st.lists(st.text(max_size=12) | st.sampled_from(["../x", "/etc", ".", "..", "科技", "a/b"]),
                max_size=6)
bodies = st.lists(
    st.text(max_size=200) | st.sampled_from(["---", "***", "[原文链接](https://e.org/a)",
                                             "<script>x</script>", "```\n---\n```", "\x00"]),
    max_size=8,
).map("\n\n".join)


def _render_ok(entries: list[Entry]) -> None:
    for feed in render_all(entries, CONFIG):
        assert_valid_atom(feed.data)


@FUZZ
@given(meta=st.dictionaries(keys, values, max_size=8), body=bodies)
def test_random_front_matter_is_read_or_reported(meta: dict[str, Any], body: str) -> None:
    try:
        front = yaml.safe_dump(meta, allow_unicode=True)
    except yaml.YAMLError:
        return
    data = f"---\n{front}---\n{body}\n".encode("utf-8", "surrogatepass")
    try:
        entry = parse_article(data, "fuzz.md", "fuzz", CONFIG)
    except ArticleError as exc:
        assert str(exc).startswith("fuzz.md:")
        return
    if entry is not None:
        _render_ok([entry])


@FUZZ
@given(title=st.text(min_size=1, max_size=60), tag_list=tags, body=bodies,
       when=st.datetimes(min_value=datetime(1, 1, 2), timezones=st.just(UTC)))
def test_valid_articles_with_random_text_render_valid_atom(
    title: str, tag_list: list[str], body: str, when: datetime
) -> None:
    front = yaml.safe_dump({"title": title, "date": when, "tags": tag_list}, allow_unicode=True)
    data = f"---\n{front}---\n{body}\n".encode("utf-8", "surrogatepass")
    try:
        entry = parse_article(data, "fuzz.md", "fuzz", CONFIG)
    except ArticleError as exc:
        # Only a title that is blank once cleaned, or a NUL in the body, may be refused.
        assert "title" in exc.reason or "binary" in exc.reason, exc
        return
    assert entry is not None
    _render_ok([entry])


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_are_read_or_reported(data: bytes) -> None:
    try:
        entry = parse_article(data, "bytes.md", "bytes", CONFIG)
    except ArticleError:
        return
    if entry is not None:
        _render_ok([entry])


printable = st.text(st.characters(codec="utf-8"), max_size=80)


@FUZZ
@given(items=st.lists(st.tuples(printable, printable, printable, printable), max_size=6),
       feed_title=printable)
def test_normalised_remote_entries_render_valid_atom(
    items: list[tuple[str, str, str, str]], feed_title: str
) -> None:
    def x(text: str) -> str:
        return escape(text.encode("utf-8", "replace").decode("utf-8"))

    body = "".join(
        f"<item><guid>{x(g)}</guid><title>{x(t)}</title><link>http://e.org/{x(ln)}</link>"
        f"<description>{x(d)}</description><category>{x(t)}</category></item>"
        for g, t, ln, d in items
    )
    rss = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
           f"<title>{x(feed_title)}</title><link>http://e.org/</link>{body}</channel></rss>")
    try:
        parsed = parse_feed(rss.encode("utf-8", "replace"), "http://e.org/feed")
    except ParseError:
        return
    now = datetime(2025, 1, 1, tzinfo=UTC)
    incoming = normalise_feed(parsed, SourceConfig("http://e.org/feed"), "http://e.org/feed",
                              "http://e.org/feed", CONFIG, now)
    assert len({i.entry.id for i in incoming}) == len(incoming)
    _render_ok([i.entry for i in incoming])


def test_hostile_ids_never_escape_or_collide(tmp_path: Path) -> None:
    ids = ["../../etc/passwd", "/abs", "a/../../b", ".", "..", "x y", "tag:evil,2024:../x"]
    entries = []
    for n, raw in enumerate(ids):
        data = f"---\ntitle: T{n}\ndate: 2025-01-01\nid: {raw!r}\n---\nbody\n".encode()
        entry = parse_article(data, f"{n}.md", f"{n}", CONFIG)
        assert entry is not None
        assert ".." not in entry.id.split(":", 2)[-1].split("/") or entry.id == raw
        entries.append(entry)
    assert len({e.id for e in entries}) == len(entries)
    _render_ok(entries)


def test_slug_characters_are_limited() -> None:
    from feeds.slug import slugify

    allowed = set(string.ascii_lowercase + string.digits + "-_")
    for tag in ["Hello World", "../../x", "a\x00b", "tab\tsep", "emoji 🎉"]:
        slug = slugify(tag)
        assert set(slug) <= allowed or any(ch.isalpha() for ch in slug)
        assert "/" not in slug and "\x00" not in slug
