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
from ..model import RenderedFeed
from ..text.links import site_uri, url_path
from .render import ATOM_TYPE, feed_url

_KIND_HEADINGS = (
    ("all", "Everything"),
    ("lang", "By language"),
    ("tag", "By tag"),
    ("custom", "Selections"),
)


def render_index(feeds: Sequence[RenderedFeed], config: Config) -> bytes:
    """An HTML page listing every feed, with autodiscovery links in its head."""
    esc = html.escape
    head_links = "\n".join(
        f'  <link rel="alternate" type="{ATOM_TYPE}" title="{esc(f.spec.title)}" '
        f'href="{esc(feed_url(f.path, config))}">'
        for f in feeds
    )
    sections = []
    for kind, heading in _KIND_HEADINGS:
        rows = [f for f in feeds if f.spec.kind == kind]
        if not rows:
            continue
        items = "\n".join(
            f'    <li><a href="{esc(url_path(f.path))}">{esc(f.spec.title)}</a> '
            f"<small>({f.entry_count} {'entry' if f.entry_count == 1 else 'entries'})"
            "</small></li>"
            for f in rows
        )
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


def render_opml(feeds: Sequence[RenderedFeed], config: Config) -> bytes:
    """An OPML 2.0 subscription list of every feed."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = config.title
    body = ET.SubElement(opml, "body")
    for f in feeds:
        ET.SubElement(
            body,
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
