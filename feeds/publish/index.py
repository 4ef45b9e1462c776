"""The two companion files of the feeds: an HTML index and an OPML list.

`index.html` lets a person see every feed and lets feed readers find them by
autodiscovery (`<link rel="alternate" type="application/atom+xml">`);
`feeds.opml` lists them all for a reader's import dialog (to pick from:
an entry is in several feeds, so subscribing to all shows it repeatedly).
Both are pure functions of the planned feeds, so they are byte-stable.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from ..config import Config
from ..model import FeedSpec, RenderedFeed
from ..text.links import site_uri, url_path
from .paths import FORMAT_NAMES, MEDIA_TYPES, feed_url

_KIND_HEADINGS = (
    ("all", "Everything"),
    ("lang", "By language"),
    ("tag", "By tag"),
    ("custom", "Selections"),
)


def render_index(feeds: Sequence[RenderedFeed], config: Config) -> bytes:
    """An HTML page listing every feed in each format, with autodiscovery links in its head."""
    esc = html.escape
    head_links = "\n".join(
        f'  <link rel="alternate" type="{MEDIA_TYPES[f.fmt]}" title="{esc(f.spec.title)}" '
        f'href="{esc(feed_url(f.path, config))}">'
        for f in feeds
    )
    by_spec: dict[FeedSpec, list[RenderedFeed]] = {}
    for f in feeds:
        by_spec.setdefault(f.spec, []).append(f)
    sections = []
    for kind, heading in _KIND_HEADINGS:
        rows = [formats for spec, formats in by_spec.items() if spec.kind == kind]
        if not rows:
            continue
        items = "\n".join(_index_row(formats) for formats in rows)
        sections.append(f"  <h2>{heading}</h2>\n  <ul>\n{items}\n  </ul>")
    body = "\n".join(sections) or "  <p>No feeds yet: there are no articles.</p>"
    page = f"""<!DOCTYPE html>
<html lang="{esc(config.languages[0])}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{esc(config.title)}</title>
{head_links}
</head>
<body>
  <h1>{esc(config.title)}</h1>
  <p>Subscribe a feed reader to the feed you want: Everything for every
  entry, a language to read only that language, tags to follow topics. An
  entry appears in several feeds, so following them all shows it repeatedly;
  <a href="feeds.opml">feeds.opml</a> lists every feed to pick from.</p>
{body}
</body>
</html>
"""
    return page.encode("utf-8")


def _index_row(formats: Sequence[RenderedFeed]) -> str:
    """One feed: its title, a link per format, and how many entries it holds."""
    esc = html.escape
    first = formats[0]
    links = " · ".join(f'<a href="{esc(url_path(f.path))}">{FORMAT_NAMES[f.fmt]}</a>'
                       for f in formats)
    count = f"{first.entry_count} {'entry' if first.entry_count == 1 else 'entries'}"
    return f"    <li>{esc(first.spec.title)}: {links} <small>({count})</small></li>"


def render_opml(feeds: Sequence[RenderedFeed], config: Config) -> bytes:
    """An OPML 2.0 subscription list of every feed, a folder per format.

    A reader imports each folder as one; a person keeps the format their
    reader likes best and deletes the others.
    """
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = config.title
    body = ET.SubElement(opml, "body")
    for fmt in config.formats:
        folder = ET.SubElement(body, "outline", text=f"{FORMAT_NAMES[fmt]} feeds")
        for f in feeds:
            if f.fmt != fmt:
                continue
            ET.SubElement(
                folder,
                "outline",
                type="rss",
                text=f.spec.title,
                title=f.spec.title,
                xmlUrl=feed_url(f.path, config),
                htmlUrl=site_uri(config.base_url),
            )
    ET.indent(opml)
    data: bytes = ET.tostring(opml, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
