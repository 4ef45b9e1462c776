"""An article's front matter: the values it accepts, and the `path:line: reason` of those it refuses.

Every refused value is reported on the line a person has to fix, with a
reason naming the key, so that `feeds check` leads straight to the mistake.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.config import Config, load_config
from feeds.errors import ArticleError
from feeds.local.article import parse_article
from feeds.local.front import key_line, parse_head
from feeds.model import Enclosure, Entry
from feeds.text.tags import normalise_tags

CONFIG = load_config(Path(__file__).parent / "no-such-project")


def _read(front: str, body: str = "Some text.\n", *, rel: str = "a",
          config: Config = CONFIG) -> Entry:
    entry = parse_article(f"---\n{front}\n---\n{body}".encode(), "a.md", rel, config)
    assert entry is not None
    return entry


def _refusal(data: bytes, config: Config = CONFIG) -> str:
    """The message of the problem reported for `data`, checked to be the same for the head alone."""
    with pytest.raises(ArticleError) as full:
        parse_article(data, "a.md", "a", config)
    with pytest.raises(ArticleError) as head:
        parse_head(data, "a.md", "a", config)
    assert str(head.value) == str(full.value)
    return str(full.value)


def _line_of(data: bytes, start: bytes) -> int:
    """The 1-based number of the first line of `data` that starts with `start`."""
    return next(n for n, line in enumerate(data.split(b"\n"), 1) if line.startswith(start))


BAD_FRONT = [
    # (front matter, the start of the line to fix, reason)
    ("title: x\ndate: [2025\nlink: x", b"date:",
     "front matter is not valid YAML: did not find expected ',' or ']'"),
    ("title: x\n  date: 1", b"  date:",
     "front matter is not valid YAML: mapping values are not allowed in this context"),
    ("title: ''\ndate: 2025-01-01", b"title:", "missing required 'title'"),
    ("date: 2025-01-01\ntitle:", b"title:", "missing required 'title'"),
    ("title: x\ndate: 5", b"date:", "date 5 is not a date (expected e.g. 2025-03-14T08:30:00Z)"),
    ("title: x\ndate: soon", b"date:",
     "date 'soon' is not a date (expected e.g. 2025-03-14T08:30:00Z)"),
    ("title: x\ndate: 2025-01-01\nupdated: soon", b"updated:",
     "date 'soon' is not a date (expected e.g. 2025-03-14T08:30:00Z)"),
    ("title: x\ndate: 2025-01-01\ndescription: {a: 1}", b"description:",
     "'description' must be text, not a dict"),
    ("title: x\ndate: 2025-01-01\ndescription: [a]", b"description:",
     "'description' must be text, not a list"),
    ("title: x\ndate: 2025-01-01\ndescription: true", b"description:",
     "'description' must be text, not True"),
    ("title: no\ndate: 2025-01-01", b"title:", "'title' must be text, not False"),
    ("title: x\ndate: 2025-01-01\ncategory: 3", b"category:",
     "'category' must be a list of tags, not a int"),
    ("title: x\ndate: 2025-01-01\ncategories: [a, [b]]", b"categories:",
     "'categories' must hold text tags, not ['b']"),
    ("title: x\ndate: 2025-01-01\ntags: [a, null]", b"tags:",
     "'tags' must hold text tags, not None"),
    ("title: x\ndate: 2025-01-01\nauthor: true", b"author:",
     "'author' must be a name or a list of names, not True"),
    ("title: x\ndate: 2025-01-01\nauthors: [a, null]", b"authors:",
     "'authors' must be a name or a list of names, not None"),
    ("title: x\ndate: 2025-01-01\nauthors: [a, [b]]", b"authors:",
     "'authors' must be a name or a list of names, not ['b']"),
    ("title: x\ndate: 2025-01-01\nauthor: {name: a}", b"author:",
     "'author' must be a name or a list of names, not {'name': 'a'}"),
    ("title: x\ndate: 2025-01-01\nlang: english!", b"lang:",
     "'lang' must be a language code such as 'en' or 'zh-hant', not 'english!'"),
    ("title: x\ndate: 2025-01-01\nlang: e", b"lang:",
     "'lang' must be a language code such as 'en' or 'zh-hant', not 'e'"),
    ("title: x\ndate: 2025-01-01\nlang: en-", b"lang:",
     "'lang' must be a language code such as 'en' or 'zh-hant', not 'en-'"),
    # Of a language tag's form only in part: a singleton needs a subtag after it,
    # and a region is two letters or three digits (HTML checkers refuse both).
    ("title: x\ndate: 2025-01-01\nlang: en-x", b"lang:",
     "'lang' must be a language code such as 'en' or 'zh-hant', not 'en-x'"),
    ("title: x\ndate: 2025-01-01\nlang: en-us1", b"lang:",
     "'lang' must be a language code such as 'en' or 'zh-hant', not 'en-us1'"),
    ("title: x\ndate: 2025-01-01\nlang: x-klingon", b"lang:",
     "'lang' must be a language code such as 'en' or 'zh-hant', not 'x-klingon'"),
    ("title: x\ndate: 2025-01-01\nlink: /posts/a", b"link:",
     "'link' must be an absolute http(s) URL, not '/posts/a'"),
    ("title: x\ndate: 2025-01-01\nid: [a]", b"id:", "'id' must be text, not a list"),
    ("title: x\ndate: 2025-01-01\nslug: [a]", b"slug:", "'slug' must be text, not a list"),
    ("title: x\ndate: 2025-01-01\nnote: @a", b"note:",
     "front matter is not valid YAML: found character that cannot start any token"),
    ("title: x\ndate: 2025-01-01\nlang: [en]", b"lang:", "'lang' must be text, not a list"),
    ("title: x\ndate: 2025-01-01\nlink: [a]", b"link:", "'link' must be text, not a list"),
    ("title: x\ndate: 2025-01-01\nimage: javascript:alert(1)", b"image:",
     "'image' must be an http(s) URL or a path on the site, not 'javascript:alert(1)'"),
    ("title: x\ndate: 2025-01-01\nimage: [a.jpg]", b"image:", "'image' must be text, not a list"),
    ("title: x\ndate: 2025-01-01\nenclosures: https://a.example/x.mp3", b"enclosures:",
     "'enclosures' must be a list of files ({url, type, length, duration}), not a str"),
    ("title: x\ndate: 2025-01-01\nenclosures:\n  - url: https://a.example/x.mp3\n"
     "  - url: javascript:alert(1)\n    type: audio/mpeg", b"  - url: javascript",
     "'enclosures' item 2: 'url' must be an http(s) URL or a path on the site, "
     "not 'javascript:alert(1)'"),
    ("title: x\ndate: 2025-01-01\nenclosures:\n- url: https://a.example/x.mp3\n  length: -1",
     b"- url:", "'enclosures' item 1: 'length' must be a size in bytes (a whole number, 0 or more), "
     "not -1"),
    ("title: x\ndate: 2025-01-01\nenclosures:\n  - https://a.example/x.mp3\n"
     "  - {url: https://a.example/y.mp3, type: mp3}", b"  - {url",
     "'enclosures' item 2: 'type' must be a MIME type such as 'audio/mpeg', not 'mp3'"),
    ("title: x\ndate: 2025-01-01\nenclosures: [{url: https://a.example/x.mp3, duration: long}]",
     b"enclosures:", "'enclosures' item 1: 'duration' must be seconds or H:MM:SS, not 'long'"),
    ("title: x\ndate: 2025-01-01\nenclosures:\n  - url: https://a.example/x.mp3\n"
     "    lenght: 5", b"  - url:", "'enclosures' item 1: unknown key 'lenght' "
     "(known: url, type, length, duration, title)"),
    ("title: x\ndate: 2025-01-01\nenclosures:\n  - url: https://a.example/x.mp3\n"
     "    title: [a]", b"  - url:", "'enclosures' item 1: 'title' must be text, not ['a']"),
    ("title: x\ndate: 2025-01-01\nenclosures:\n  - 5", b"  - 5",
     "'enclosures' item 1: must be a mapping such as {url: ..., type: audio/mpeg}, not 5"),
    ("title: x\ndate: 2025-01-01\nenclosures:\n  - https://a.example/x.mp3\n"
     "  - url: https://a.example/x.mp3", b"  - url:",
     "'enclosures' item 2: 'https://a.example/x.mp3' is listed twice"),
]


@pytest.mark.parametrize(("front", "start", "reason"), BAD_FRONT)
def test_a_bad_value_is_reported_on_its_own_line(front: str, start: bytes, reason: str) -> None:
    data = f"---\n{front}\n---\nSome text.\n".encode()
    assert _refusal(data) == f"a.md:{_line_of(data, start)}: {reason}"


@pytest.mark.parametrize(("data", "message"), [
    (b"Just text.\n", "a.md:1: no front matter: the file must start with a '---' line"),
    (b"---\ntitle: x\ndate: 2025-01-01\nbody\n",
     "a.md:1: front matter is not closed by a '---' line"),
    (b"---\n---\nbody\n", "a.md:1: missing required 'title'"),
    (b"---\ndate: 2025-01-01\n---\nbody\n", "a.md:1: missing required 'title'"),
    (b"---\ntitle: x\n---\nbody\n", "a.md:1: missing required 'date'"),
    (b"---\ntitle: x\ndate:\n---\nbody\n", "a.md:1: missing required 'date'"),
    (b"---\n- a\n- b\n---\nbody\n", "a.md:2: front matter must be a mapping of keys to values"),
    (b"---\njust words\n---\nbody\n", "a.md:2: front matter must be a mapping of keys to values"),
])
def test_a_missing_part_is_reported_where_it_belongs(data: bytes, message: str) -> None:
    assert _refusal(data) == message


@pytest.mark.parametrize(("data", "message"), [
    (b"---\ntitle: x\ndate: 2025-01-01\n---\n\nbo\x00dy\n",
     "a.md:6: binary content (NUL byte): not a text article"),
    (b"\x00---\n", "a.md:1: binary content (NUL byte): not a text article"),
    (b"---\n\x00\n\x00\n", "a.md:2: binary content (NUL byte): not a text article"),
    (b"---\ntitle: x\ndate: 2025-01-01\n---\nbo\xffdy\n",
     "a.md:5: not UTF-8 text (invalid byte 0xff)"),
    (b"---\ntitle: caf\xe9\n", "a.md:2: not UTF-8 text (invalid byte 0xe9)"),
])
def test_bytes_that_are_not_text_are_reported_on_their_line(data: bytes, message: str) -> None:
    assert _refusal(data) == message


def test_a_byte_order_mark_does_not_hide_the_front_matter() -> None:
    data = "\ufeff---\ntitle: Café\ndate: 2025-01-01\n---\nSome text.\n".encode()
    entry = parse_article(data, "a.md", "a", CONFIG)
    assert entry is not None and entry.variants[0].title == "Café"


def test_too_many_enclosures_are_refused_on_their_key() -> None:
    files = "".join(f"\n  - https://a.example/{n}.mp3" for n in range(21))
    data = f"---\ntitle: x\ndate: 2025-01-01\nenclosures:{files}\n---\nSome text.\n".encode()
    assert _refusal(data) == "a.md:4: 'enclosures' lists 21 files; at most 20 are kept"


def test_a_picture_and_files_are_read_with_site_paths_made_absolute() -> None:
    entry = _read("title: x\ndate: 2025-01-01\nimage: /img/a.jpg\nenclosures:\n"
                  "  - url: /media/a.mp3\n    length: 12\n    duration: 1:02:03\n    title: A\n"
                  "  - {url: 'https://b.example/b', type: 'Audio/Ogg; codecs=opus', duration: 61.5}")
    assert entry.image == "http://127.0.0.1:8080/img/a.jpg"
    assert entry.enclosures == (
        Enclosure("http://127.0.0.1:8080/media/a.mp3", "audio/mpeg", 12, 3723, "A"),
        Enclosure("https://b.example/b", "audio/ogg", None, 61))


@pytest.mark.parametrize(("given", "url"), [
    ("img/a.jpg", "https://example.org/feeds/img/a.jpg"),
    ("/img/a.jpg", "https://example.org/img/a.jpg"),
    ("../a.jpg", "https://example.org/a.jpg"),
    ("//cdn.example.org/a.jpg", "https://cdn.example.org/a.jpg"),
])
def test_a_site_path_is_resolved_against_base_url_as_a_link_is(
        tmp_path: Path, given: str, url: str) -> None:
    """The README's example: a `base_url` with a path, which site paths resolve against as links do."""
    (tmp_path / "feeds.toml").write_text('base_url = "https://example.org/feeds/"\n',
                                         encoding="utf-8")
    config = load_config(tmp_path)
    entry = _read(f"title: x\ndate: 2025-01-01\nimage: {given}\nenclosures: [{given}.mp3]",
                  config=config)
    assert entry.image == url
    assert [e.url for e in entry.enclosures] == [url + ".mp3"]


def test_a_key_that_is_not_text_is_ignored_like_any_unknown_key() -> None:
    entry = _read("title: x\ndate: 2025-01-01\n1: one\n2025-01-01: day\ntrue: yes")
    assert entry.variants[0].title == "x"


@pytest.mark.parametrize(("draft", "is_draft"), [
    ("true", True), ("false", False), ("'true'", False), ("yes-please", False)])
def test_only_draft_true_keeps_an_article_back(draft: str, is_draft: bool) -> None:
    """A draft is never published; any other value of `draft` publishes (it is no switch to guess)."""
    data = f"---\ntitle: x\ndate: 2025-01-01\ndraft: {draft}\n---\nSome text.\n".encode()
    assert (parse_article(data, "a.md", "a", CONFIG) is None) is is_draft
    assert (parse_head(data, "a.md", "a", CONFIG) is None) is is_draft


def test_a_draft_is_not_checked() -> None:
    """Work in progress may be unfinished: a draft without a date is no problem."""
    data = b"---\ntitle: x\ndraft: true\n---\nSome text.\n"
    assert parse_article(data, "a.md", "a", CONFIG) is None


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-03-14", datetime(2025, 3, 14, tzinfo=UTC)),
    ("2025-03-14T08:30:00Z", datetime(2025, 3, 14, 8, 30, tzinfo=UTC)),
    ("2025-03-14 08:30:00+02:00", datetime(2025, 3, 14, 6, 30, tzinfo=UTC)),
    ("'2025-03-14T08:30:00+02:00'", datetime(2025, 3, 14, 6, 30, tzinfo=UTC)),
    ("' 2025-03-14 '", datetime(2025, 3, 14, tzinfo=UTC)),
])
def test_dates_are_published_in_utc(value: str, expected: datetime) -> None:
    entry = _read(f"title: x\ndate: {value}")
    assert entry.published == expected and entry.published.tzinfo is UTC
    assert entry.updated == expected


def test_a_date_without_a_zone_is_in_the_sites_zone(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text('timezone = "Asia/Shanghai"\n', encoding="utf-8")
    config = load_config(tmp_path)
    assert _read("title: x\ndate: 2025-03-14T08:30:00", config=config).published == datetime(
        2025, 3, 14, 0, 30, tzinfo=UTC)
    assert _read("title: x\ndate: 2025-03-14", config=config).published == datetime(
        2025, 3, 13, 16, 0, tzinfo=UTC)
    assert _read("title: x\ndate: 2025-03-01\nupdated: 2025-03-14T08:30:00",
                 config=config).updated == datetime(2025, 3, 14, 0, 30, tzinfo=UTC)
    # A zone of its own wins.
    assert _read("title: x\ndate: 2025-03-14T08:30:00Z", config=config).published == datetime(
        2025, 3, 14, 8, 30, tzinfo=UTC)


def test_a_date_beyond_what_utc_can_hold_is_reported() -> None:
    data = b"---\ntitle: x\ndate: '0001-01-01T00:00:00+01:00'\n---\nSome text.\n"
    assert _refusal(data) == ("a.md:3: date '0001-01-01T00:00:00+01:00' is out of range")


def test_updated_is_its_own_date_and_published_stays() -> None:
    entry = _read("title: x\ndate: 2025-01-01\nupdated: 2025-02-01T12:00:00Z")
    assert entry.published == datetime(2025, 1, 1, tzinfo=UTC)
    assert entry.updated == datetime(2025, 2, 1, 12, tzinfo=UTC)
    assert _read("title: x\ndate: 2025-01-01\nupdated:").updated == entry.published


@pytest.mark.parametrize(("front", "expected"), [
    ("tags: [Energy, ' Solar  Power ', energy]", ("energy", "solar power")),
    ("tags: 'Energy, solar ,, ENERGY'", ("energy", "solar")),
    ("tags: [3, 2.5]", ("3", "2.5")),
    ("categories: [b]\ncategory: c", ("b",)),
    ("category: c", ("c",)),
    ("tags:\ncategories: [b]", ("b",)),
    ("tags: []\ncategories: [b]", ()),
])
def test_tags_are_folded_and_taken_from_the_first_key_given(front: str, expected: tuple[str, ...]
                                                            ) -> None:
    assert _read(f"title: x\ndate: 2025-01-01\n{front}").tags == expected


def test_tag_aliases_merge_spellings(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text('[tag_aliases]\n"AI" = "machine learning"\n',
                                         encoding="utf-8")
    config = load_config(tmp_path)
    entry = _read("title: x\ndate: 2025-01-01\ntags: [ai, Machine Learning, go]", config=config)
    assert entry.tags == ("machine learning", "go")


def test_normalise_tags_without_a_complaint_skips_what_is_not_a_tag() -> None:
    """Remote feeds are not told off: a category that is no text is left out."""
    assert normalise_tags(["A", None, ["b"], {"c": 1}, " a ", "B\tC"], {}) == ("a", "b c")


@pytest.mark.parametrize(("front", "expected"), [
    ("author: Ann", ("Ann",)),
    ("author: ' Ann '", ("Ann",)),
    ("authors: [Ann, Bob, Ann]\nauthor: Cy", ("Ann", "Bob")),
    ("authors:\nauthor: Cy", ("Cy",)),
    ("authors: [42]", ("42",)),
    ("authors: ['', ' ']", ("feeds",)),
    ("author: ''", ("feeds",)),
])
def test_authors_come_from_authors_then_author_then_the_site(front: str,
                                                             expected: tuple[str, ...]) -> None:
    assert _read(f"title: x\ndate: 2025-01-01\n{front}").authors == expected


@pytest.mark.parametrize(("lang", "expected"), [
    ("EN", "en"), ("zh_Hant", "zh-hant"), ("en-GB", "en-gb"), ("yue", "yue"),
    ("sr-latn-rs", "sr-latn-rs"), ("de-1996", "de-1996"),
])
def test_a_declared_language_is_published_lowercase_with_hyphens(lang: str, expected: str) -> None:
    entry = _read(f"title: x\ndate: 2025-01-01\nlang: {lang}", "Zwei Sätze auf Deutsch. Oder nicht.")
    assert entry.languages == (expected,)


@pytest.mark.parametrize(("front", "rel", "expected"), [
    ("", "notes/a", "tag:127.0.0.1,2024:notes/a"),
    ("slug: my slug/../x/./y", "a", "tag:127.0.0.1,2024:my-slug/x/y"),
    ("id: first\nslug: second", "a", "tag:127.0.0.1,2024:first"),
    ("id: ''\nslug: second", "a", "tag:127.0.0.1,2024:second"),
    ("id: https://example.com/p/1", "a", "https://example.com/p/1"),
    ("id: urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6", "a",
     "urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6"),
    ("id: https://example.com/文章", "a", "https://example.com/%E6%96%87%E7%AB%A0"),
    ("id: 2025:abc", "a", "tag:127.0.0.1,2024:2025-abc"),
    ("id: 'a b:c'", "a", "tag:127.0.0.1,2024:a-b-c"),
    ("id: 'x:'", "a", "tag:127.0.0.1,2024:x-"),
    ("id: 42", "a", "tag:127.0.0.1,2024:42"),
    ("id: URN:ISBN:0451450523", "a", "URN:ISBN:0451450523"),  # a scheme in any case
    ("slug: /news//a/", "a", "tag:127.0.0.1,2024:news/a"),  # no empty path segment
])
def test_an_articles_id_is_its_own_uri_or_a_tag_uri_of_its_slug(front: str, rel: str,
                                                                 expected: str) -> None:
    assert _read(f"title: x\ndate: 2025-01-01\n{front}", rel=rel).id == expected


def test_a_slug_with_nothing_left_gets_a_stable_id_of_its_own() -> None:
    """`..` and `/` alone leave no path: the id is made from the slug's hash, so it never changes."""
    first = _read("title: x\ndate: 2025-01-01\nslug: ../..").id
    assert first.startswith("tag:127.0.0.1,2024:article-")
    assert len(first.rsplit("-", 1)[1]) == 12
    assert _read("title: y\ndate: 2025-02-01\nslug: ../..").id == first
    assert _read("title: x\ndate: 2025-01-01\nslug: /./").id != first


def test_the_id_follows_the_configured_authority_and_date(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text(
        'base_url = "https://news.example.org/"\nid_date = "2019-05"\n', encoding="utf-8")
    config = load_config(tmp_path)
    assert _read("title: x\ndate: 2025-01-01", rel="a/b", config=config).id == (
        "tag:news.example.org,2019-05:a/b")


@pytest.mark.parametrize(("lines", "keys", "expected"), [
    ("---\ntitle: x\nid: y\n---\n", ("id",), 3),
    ("---\ntitle: x\nid: y\n---\n", ("slug", "title"), 2),
    ("---\ntitle: x\n---\nid: y\n", ("id",), 1),
    ("---\ntitle: x\n...\nid: y\n", ("id",), 1),
    ("---\ntitle: x\n  ---  \nid: y\n", ("id",), 1),
    ("---\nidea\nid : y\n", ("id",), 3),
    ("---\n  id: y\n", ("id",), 2),
    ("---\nidentity: y\nid: z\n", ("id",), 3),
    ("---\n", ("id",), 1),
])
def test_key_line_finds_a_key_only_inside_the_front_matter(lines: str, keys: tuple[str, ...],
                                                            expected: int) -> None:
    assert key_line(lines, iter(keys)) == expected
