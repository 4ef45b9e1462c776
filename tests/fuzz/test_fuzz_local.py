"""Fuzzing the article reader and the normaliser with hypothesis.

Whatever the input, reading ends either in an entry or in a reported
`ArticleError` (never another exception), and every feed rendered from what
was read is valid Atom.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path
from typing import Any

import yaml
from feedcheck import assert_valid_feed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.config import load_config
from feeds.errors import ArticleError, ParseError
from feeds.local.article import parse_article
from feeds.model import Entry, SourceConfig
from feeds.publish.outputs import render_all
from feeds.remote.normalise import normalise_feed
from feeds.remote.parse import parse_feed

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
                        "title_zh", "description_zh", "image", "enclosures"]) | st.text(max_size=10)
tags = st.lists(st.text(max_size=12) | st.sampled_from(["../x", "/etc", ".", "..", "科技", "a/b"]),
                max_size=6)
bodies = st.lists(
    st.text(max_size=200) | st.sampled_from(["---", "***", "[原文链接](https://e.org/a)",
                                             "<script>x</script>", "```\n---\n```", "\x00"]),
    max_size=8,
).map("\n\n".join)


def _render_ok(entries: list[Entry]) -> None:
    for feed in render_all(entries, CONFIG):
        assert_valid_feed(feed.data, feed.fmt)


# Most generated articles carry a usable title and date, so that the
# assertion that matters (what is published is valid Atom) runs; the rest of
# the front matter is random.
usable = st.fixed_dictionaries({
    "title": st.text(min_size=1, max_size=40).filter(str.strip),
    "date": st.datetimes(min_value=datetime(1, 1, 2), timezones=st.none() | st.just(UTC))
            | st.dates(min_value=date(1, 1, 2)),
})
plausible = st.fixed_dictionaries({}, optional={
    "description": st.text(max_size=40),
    "tags": tags,
    "author": st.text(min_size=1, max_size=12),
    "lang": st.sampled_from(["zh", "en", "zh-Hant", "de", "x", "0", "en_US"]),
    "updated": st.datetimes(timezones=st.just(UTC)),
    "link": st.sampled_from(["https://e.org/a", "ftp://e.org/a", "e.org"]),
    "draft": st.booleans(),
    "title_en": st.text(max_size=20),
    "image": st.sampled_from(["https://e.org/a.jpg", "/img/é a.png", "javascript:x", "e.org/a"])
             | st.text(max_size=20),
    "enclosures": st.lists(st.fixed_dictionaries(
        {"url": st.sampled_from(["https://e.org/a.mp3", "/m/b c.ogg", "data:x", "https://e.org/科技"])
                | st.text(max_size=20)},
        optional={"type": st.sampled_from(["audio/mpeg", "video/mp4", "mp3"]) | st.text(max_size=12),
                  "length": st.integers(-2, 10**18) | st.text(max_size=5),
                  "duration": st.integers(-2, 10**9) | st.floats() | st.text(max_size=9),
                  "title": st.text(max_size=30)}), max_size=4),
})
front_matter = st.one_of(
    st.dictionaries(keys, values, max_size=8),  # anything at all
    st.builds(lambda base, extra: {**extra, **base}, usable, plausible),
    st.builds(lambda base, extra: {**extra, **base}, usable, st.dictionaries(keys, values, max_size=3)),
)


def test_random_front_matter_is_read_or_reported() -> None:
    seen: Counter[str] = Counter()

    @FUZZ
    @given(meta=front_matter, body=bodies)
    def read(meta: dict[str, Any], body: str) -> None:
        try:
            front = yaml.safe_dump(meta, allow_unicode=True)
        except yaml.YAMLError:
            seen["unwritable"] += 1
            return
        data = f"---\n{front}---\n{body}\n".encode("utf-8", "surrogatepass")
        try:
            entry = parse_article(data, "fuzz.md", "fuzz", CONFIG)
        except ArticleError as exc:
            assert str(exc).startswith("fuzz.md:"), exc
            seen["reported"] += 1
            return
        if entry is None:
            seen["draft"] += 1
            return
        _render_ok([entry])
        seen["published"] += 1

    read()
    # The publish-and-validate branch must have run for a good share of examples.
    assert seen["published"] >= sum(seen.values()) // 10, seen
    assert seen["reported"] > 0, seen


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


GOOD_ARTICLE = (
    "---\ntitle: 港口夜间货运\ndate: 2025-10-09T21:14:07Z\ntags: [technology]\n---\n\n"
    "[原文链接](https://news.example.net/a)\n\n港务局批准夜间试点。\n\n---\n\n"
    "**Summary**\n\nThe port approved a night pilot.\n"
)


@st.composite
def damaged_articles(draw: st.DrawFn) -> bytes:
    """A good article with random characters written over, inserted into or cut from it."""
    text = GOOD_ARTICLE
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        junk = draw(st.text(min_size=1, max_size=8))
        how = draw(st.sampled_from(["overwrite", "insert", "cut"]))
        if how == "overwrite":
            text = text[:at] + junk + text[at + len(junk):]
        elif how == "insert":
            text = text[:at] + junk + text[at:]
        else:
            text = text[:at] + text[at + len(junk):]
    return text.encode("utf-8", "surrogatepass")


def test_random_bytes_are_read_or_reported() -> None:
    seen: Counter[str] = Counter()

    @FUZZ
    @given(data=st.binary(max_size=300) | damaged_articles() | damaged_articles())
    def read(data: bytes) -> None:
        try:
            entry = parse_article(data, "bytes.md", "bytes", CONFIG)
        except ArticleError as exc:
            assert str(exc).startswith("bytes.md:"), exc
            seen["reported"] += 1
            return
        assert entry is not None
        _render_ok([entry])
        seen["published"] += 1

    read()
    assert seen["published"] >= sum(seen.values()) // 10, seen
    assert seen["reported"] > 0, seen


printable = st.text(st.characters(codec="utf-8"), max_size=80)


def test_normalised_remote_entries_render_valid_atom() -> None:
    seen: Counter[str] = Counter()

    @FUZZ
    @given(items=st.lists(st.tuples(printable, printable, printable, printable), max_size=6),
           feed_title=printable)
    def read(items: list[tuple[str, str, str, str]], feed_title: str) -> None:
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
            seen["refused"] += 1
            return
        now = datetime(2025, 1, 1, tzinfo=UTC)
        incoming = normalise_feed(parsed, SourceConfig("http://e.org/feed"), "http://e.org/feed",
                                  "http://e.org/feed", CONFIG, now)
        assert len({i.entry.id for i in incoming}) == len(incoming)
        _render_ok([i.entry for i in incoming])
        seen["published"] += len(incoming)
        seen["feeds"] += 1

    read()
    assert seen["feeds"] >= (seen["feeds"] + seen["refused"]) // 2, seen
    assert seen["published"] >= seen["feeds"], seen


def test_random_media_values_render_valid_feeds() -> None:
    """Whatever a feed says of its files, what is kept renders valid Atom, RSS and JSON Feed."""
    seen: Counter[str] = Counter()
    media_urls = printable | st.sampled_from(
        ["http://e.org/a.mp3", "/b c.ogg", "javascript:x", "data:,x", "http://e.org/科技.mp4",
         "http://[::1]{]/x", "http://e.org:99999/x", "//e.org/x"])
    attributes = st.tuples(media_urls, printable, printable, printable, media_urls)

    @FUZZ
    @given(files=st.lists(attributes, max_size=5), itunes=st.tuples(printable, printable, printable),
           attachments=st.lists(st.dictionaries(
               st.sampled_from(["url", "mime_type", "size_in_bytes", "duration_in_seconds", "title"]),
               values, max_size=5), max_size=4), image=values)
    def read(files: list[tuple[str, str, str, str, str]], itunes: tuple[str, str, str],
             attachments: list[dict[str, Any]], image: object) -> None:
        def x(text: str) -> str:
            return escape(text.encode("utf-8", "replace").decode("utf-8"), quote=True)

        media = "".join(
            f'<enclosure url="{x(u)}" length="{x(n)}" type="{x(t)}"/>'
            f'<media:content url="{x(u)}" fileSize="{x(n)}" duration="{x(d)}" type="{x(t)}"/>'
            f'<media:thumbnail url="{x(i)}"/><itunes:image href="{x(i)}"/>'
            for u, n, t, d, i in files)
        duration, explicit, episode = (x(v) for v in itunes)
        rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
               'xmlns:media="http://search.yahoo.com/mrss/" '
               'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>'
               "<title>T</title><link>http://e.org/</link><item><guid>g</guid><title>I</title>"
               f"{media}<itunes:duration>{duration}</itunes:duration>"
               f"<itunes:explicit>{explicit}</itunes:explicit><itunes:episode>{episode}"
               f"</itunes:episode><itunes:season>{episode}</itunes:season></item></channel></rss>")
        json_feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J",
                                "items": [{"id": "1", "content_text": "x", "image": image,
                                           "attachments": attachments}]}, default=str)
        now = datetime(2025, 1, 1, tzinfo=UTC)
        entries = []
        for document in (rss, json_feed):
            try:
                parsed = parse_feed(document.encode("utf-8", "replace"), "http://e.org/feed")
            except ParseError:
                seen["refused"] += 1
                continue
            entries += [i.entry for i in normalise_feed(
                parsed, SourceConfig("http://e.org/feed"), "http://e.org/feed",
                "http://e.org/feed", CONFIG, now)]
        seen["files"] += sum(len(e.enclosures) for e in entries)
        if entries:
            _render_ok(entries)
            seen["published"] += 1

    read()
    assert seen["published"] > 0 and seen["files"] > 0, seen


def test_hostile_ids_never_escape_or_collide() -> None:
    """An `id` that is not a URI becomes a path-free `tag:` id; a URI stays as it is."""
    expected = {
        "../../etc/passwd": "tag:127.0.0.1,2024:etc/passwd",
        "/abs": "tag:127.0.0.1,2024:abs",
        "a/../../b": "tag:127.0.0.1,2024:a/b",
        ".": None,  # nothing left once cleaned: an id of its own, from a digest
        "..": None,
        "x y": "tag:127.0.0.1,2024:x-y",
        "tag:evil,2024:../x": "tag:evil,2024:../x",
    }
    entries = []
    for n, (raw, want) in enumerate(expected.items()):
        data = f"---\ntitle: T{n}\ndate: 2025-01-01\nid: {raw!r}\n---\nbody\n".encode()
        entry = parse_article(data, f"{n}.md", f"{n}", CONFIG)
        assert entry is not None
        if want is None:
            assert entry.id.startswith("tag:127.0.0.1,2024:article-"), entry.id
            assert ".." not in entry.id and "/" not in entry.id.split(":", 2)[-1]
        else:
            assert entry.id == want
        entries.append(entry)
    assert len({e.id for e in entries}) == len(entries)
    _render_ok(entries)


@FUZZ
@given(tag=st.text(max_size=30))
def test_slugs_are_letters_digits_and_dashes(tag: str) -> None:
    from feeds.text.slug import slugify

    slug = slugify(tag)
    assert slug, repr(tag)
    assert all(ch.isalnum() or ch in "-_" for ch in slug), slug
    assert slug not in {".", ".."} and not slug.startswith("-")
