"""Small feed documents built in code, so tests can change them between fetches."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape

Item = tuple[str, str, str]  # (guid, title, text)


def rss(items: Sequence[Item], *, title: str = "Loopback RSS", link: str = "http://example.com/",
        lang: str = "en") -> str:
    body = "".join(
        f"<item><guid isPermaLink=\"false\">{escape(g)}</guid><title>{escape(t)}</title>"
        f"<link>http://example.com/rss/{escape(g)}?utm_source=feed</link>"
        f"<description>{escape('<p>' + escape(x) + '</p>')}</description>"
        f"<pubDate>Mon, 0{1 + i % 8} Sep 2025 10:00:00 +0000</pubDate>"
        f"<category>Science</category></item>"
        for i, (g, t, x) in enumerate(items)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{escape(title)}</title><link>{link}</link><language>{lang}</language>"
            f"{body}</channel></rss>")


def atom(items: Sequence[Item], *, title: str = "Loopback Atom") -> str:
    body = "".join(
        f"<entry><id>urn:loop:{escape(g)}</id><title>{escape(t)}</title>"
        f'<link rel="alternate" href="http://example.org/atom/{escape(g)}"/>'
        f"<updated>2025-09-1{i % 9}T08:00:00Z</updated>"
        f'<content type="html">{escape("<p>" + escape(x) + "</p>")}</content>'
        f'<category term="Tech"/></entry>'
        for i, (g, t, x) in enumerate(items)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>urn:loop:feed</id><title>{escape(title)}</title>"
            f'<link rel="alternate" href="http://example.org/"/>'
            f"<updated>2025-09-20T00:00:00Z</updated>{body}</feed>")


def json_feed(items: Sequence[Item], *, title: str = "Loopback JSON") -> str:
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": "http://example.net/",
        "language": "zh",
        "items": [
            {"id": g, "title": t, "url": f"http://example.net/json/{g}",
             "content_html": f"<p>{escape(x)}</p>",
             "date_published": f"2025-08-0{1 + i % 8}T09:00:00Z", "tags": ["科技"]}
            for i, (g, t, x) in enumerate(items)
        ],
    }, ensure_ascii=False)
