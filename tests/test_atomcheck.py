"""The feed checker itself must be able to fail, or every test using it proves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from atomcheck import assert_valid_atom

VALID = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:example:feed</id>
  <title>Example</title>
  <link rel="self" href="http://127.0.0.1:8080/all.atom"/>
  <link rel="alternate" type="text/html" href="http://127.0.0.1:8080/"/>
  <updated>2025-01-01T00:00:00Z</updated>
  <author><name>A</name></author>
  <entry>
    <id>urn:example:1</id>
    <title>One</title>
    <updated>2025-01-01T00:00:00Z</updated>
    <content type="html">&lt;p&gt;x&lt;/p&gt;</content>
    <link rel="alternate" href="https://example.org/a"/>
    <source>
      <id>https://example.org/feed.xml</id>
      <title>Elsewhere</title>
      <updated>2024-12-31T23:00:00+01:00</updated>
    </source>
  </entry>
</feed>
"""


def test_a_minimal_valid_feed_passes() -> None:
    parsed = assert_valid_atom(VALID.encode(), url="http://127.0.0.1:8080/all.atom")
    assert [e.id for e in parsed.entries] == ["urn:example:1"]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (VALID.replace("<id>urn:example:feed</id>", ""), "not valid Atom"),
        (VALID.replace("<updated>2025-01-01T00:00:00Z</updated>\n    <content", "<content"),
         "not valid Atom"),
        (VALID.replace("2025-01-01T00:00:00Z</updated>\n  <author>", "yesterday</updated>\n"
                       "  <author>"), "not valid Atom"),
        (VALID.replace("</feed>", ""), "not well-formed"),
        (VALID.replace('type="html"', 'type="html" onclick="x"'), "not valid Atom"),
    ],
    ids=["feed-without-id", "entry-without-updated", "bad-date", "unclosed", "unknown-attribute"],
)
def test_broken_feeds_fail(broken: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        assert_valid_atom(broken.encode())


def _entry_id(value: str) -> str:
    return VALID.replace("<id>urn:example:1</id>", f"<id>{value}</id>")


# What the W3C feed validator rejects although the RELAX NG schema allows it.
@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (_entry_id("tag:127.0.0.1,2024:feed/tags/科技"), "not a valid tag: URI"),
        (_entry_id("tag:127.0.0.1,2024:a b"), "not a valid tag: URI"),
        (_entry_id("tag:127.0.0.1:a"), "not a valid tag: URI"),
        (_entry_id("tag:-host,2024:a"), "not a valid tag: URI"),
        (_entry_id("urn:uuid:1234"), "not a valid urn:uuid: URI"),
        (_entry_id("article-1"), "not an absolute IRI"),
        (_entry_id("https://example.org/a b"), "not an absolute IRI"),
        (VALID.replace("<id>https://example.org/feed.xml</id>", "<id>urn:uuid:x</id>"),
         "not a valid urn:uuid: URI"),
        (VALID.replace("<updated>2024-12-31T23:00:00+01:00</updated>", ""), "has no <updated>"),
        (VALID.replace("2024-12-31T23:00:00+01:00", "2024-12-31T23:00:00"),
         "not an RFC 3339 date-time"),
        (VALID.replace('href="https://example.org/a"', 'href="/a"'), "not an absolute IRI"),
        (VALID.replace("http://127.0.0.1:8080/all.atom", "http://127.0.0.1:8080/other.atom"),
         "not the URL the feed is served at"),
        (VALID.replace('<link rel="self" href="http://127.0.0.1:8080/all.atom"/>', ""),
         'rel="self" links, not one'),
        (VALID.replace("<title>One</title>", "<title>One\u0085</title>"), "control character"),
        (VALID.replace('href="https://example.org/a"', 'href="https://example.org/a&#x9c;"'),
         "control character"),
        (VALID.replace('<link rel="alternate" href="https://example.org/a"/>',
                       '<link rel="alternate" href="https://example.org/a"/>'
                       '<link href="https://example.org/b"/>'), "a second alternate link"),
    ],
    ids=["tag-non-ascii", "tag-space", "tag-no-date", "tag-bad-host", "uuid-short",
         "relative-id", "id-with-space", "source-bad-uuid", "source-without-updated",
         "date-without-offset", "relative-link", "self-elsewhere",
         "no-self", "c1-in-text", "c1-in-attribute", "two-alternates-alike"],
)
def test_what_the_w3c_validator_rejects_fails(broken: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        assert_valid_atom(broken.encode(), url="http://127.0.0.1:8080/all.atom")


def test_self_link_of_a_file_is_its_percent_encoded_path(tmp_path: Path) -> None:
    """A written file's self link must be the site's base URL and its path, percent-encoded."""
    feed = tmp_path / "site" / "tags" / "科技.atom"  # not output/: it is left invalid on purpose
    feed.parent.mkdir(parents=True)
    encoded = VALID.replace("all.atom", "tags/%E7%A7%91%E6%8A%80.atom")
    feed.write_text(encoded, encoding="utf-8")
    assert_valid_atom(feed)
    feed.write_text(VALID.replace("all.atom", "tags/科技.atom"), encoding="utf-8")
    with pytest.raises(AssertionError, match="not the URL the feed is served at"):
        assert_valid_atom(feed)
    feed.write_text(encoded.replace("tags/", "other/"), encoding="utf-8")
    with pytest.raises(AssertionError, match="not the URL the feed is served at"):
        assert_valid_atom(feed)


@pytest.mark.parametrize(
    "value",
    ["tag:example.org,2024:feed/tags/%E7%A7%91%E6%8A%80", "tag:jo@example.org,2024-06-01:a/b?c#d",
     "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "https://example.org/文章", "urn:example:1"],
)
def test_valid_ids_pass(value: str) -> None:
    assert_valid_atom(_entry_id(value).encode(), url="http://127.0.0.1:8080/all.atom")


def test_rss_is_not_atom() -> None:
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    with pytest.raises(AssertionError):
        assert_valid_atom(rss)
