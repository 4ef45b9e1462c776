"""The feed checker itself must be able to fail, or every test using it proves nothing."""

from __future__ import annotations

import pytest
from atomcheck import assert_valid_atom

VALID = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:example:feed</id>
  <title>Example</title>
  <updated>2025-01-01T00:00:00Z</updated>
  <author><name>A</name></author>
  <entry>
    <id>urn:example:1</id>
    <title>One</title>
    <updated>2025-01-01T00:00:00Z</updated>
    <content type="html">&lt;p&gt;x&lt;/p&gt;</content>
  </entry>
</feed>
"""


def test_a_minimal_valid_feed_passes() -> None:
    parsed = assert_valid_atom(VALID.encode())
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


def test_rss_is_not_atom() -> None:
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    with pytest.raises(AssertionError):
        assert_valid_atom(rss)
