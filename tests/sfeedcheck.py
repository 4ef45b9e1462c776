"""Reading a feed with sfeed, a reader with an XML and date parser of its own, as feedparser does.

feedparser keeps the last alternate link of an entry; sfeed, like most
readers (SimplePie, Miniflux), keeps the first. It parses RFC 822 and RFC
3339 dates itself and leaves the timestamp empty when it cannot. A feed
both read alike has the same entries, in the same order, with the same id,
link, date, title, first author, first enclosure and categories.
"""

from __future__ import annotations

import calendar
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import feedparser

SFEED = shutil.which("sfeed")
FIELDS = ("timestamp", "title", "link", "content", "content_type", "id", "author", "enclosure",
          "category")


def sfeed_available() -> bool:
    """Whether sfeed can run here; in CI it must (.ci/run installs it)."""
    if SFEED is None and os.environ.get("CI"):
        raise AssertionError("sfeed is not installed; .ci/run installs it")
    return SFEED is not None


def sfeed(data: bytes, where: str) -> list[dict[str, str]]:
    """What sfeed reads from `data`: a row of named fields per entry."""
    assert SFEED is not None, "sfeed is not installed"
    done = subprocess.run([SFEED], input=data, capture_output=True, timeout=30, check=False)
    assert (done.returncode, done.stderr) == (0, b""), f"{where}: sfeed: {done.stderr!r}"
    return [dict(zip(FIELDS, line.split("\t"), strict=True))
            for line in done.stdout.decode("utf-8").splitlines()]


def _spaced(text: str) -> str:
    """Text as sfeed gives a title: each whitespace character a space, no control character."""
    return "".join(" " if c.isspace() else c for c in text if c.isspace() or ord(c) >= 0x20)


def expected_row(entry: Any, rss: bool) -> dict[str, str]:
    """What sfeed should read for a feedparser entry."""
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    links = entry.get("links", [])
    enclosures = [link.href for link in links if link.get("rel") == "enclosure"]
    alternates = [link for link in links if link.get("rel") == "alternate"]
    if any(link.get("type", "text/html") == "text/html" for link in alternates):
        link = entry.get("link", "")  # what a reader opens: both must agree
    elif rss:
        # No <link>: sfeed reads no atom:link, only a permalink guid.
        link = entry.get("link", "") if entry.get("guidislink") else ""
    else:
        # No page to read (no alternate link in HTML): feedparser lends the
        # entry its id, sfeed takes the first alternate of any type (a
        # translation's language feed) or none.
        link = alternates[0].href if alternates else ""
    return {
        "timestamp": str(calendar.timegm(when)) if when else "",
        "title": _spaced(entry.get("title", "")),
        "link": link,
        "id": entry.get("id", ""),
        "enclosure": enclosures[0] if enclosures else "",
        "category": "|".join(tag.term for tag in entry.get("tags", [])),
    }


def _author_forms(entry: Any, rss: bool) -> set[str]:
    """The ways sfeed may give an entry's author: any of them (an RSS item's <author> or
    its dc:creator, whichever it prefers), as RSS writes it ("email (name)") or by name."""
    forms = set()
    for person in entry.get("authors") or []:
        name, email = _spaced(person.get("name", "")), person.get("email")
        forms.add(name)
        if rss and email:  # feedparser splits RSS's "email (name)"; sfeed keeps it whole
            forms.add(f"{email} ({name})" if name else email)
    return forms or {""}


def assert_sfeed_agrees(path: Path) -> int:
    """sfeed reads the Atom or RSS feed at `path` as feedparser does; the entries compared."""
    data = path.read_bytes()
    parsed = feedparser.parse(data)
    rows = sfeed(data, str(path))
    assert len(rows) == len(parsed.entries), f"{path}: sfeed read {len(rows)} entries, " \
        f"feedparser {len(parsed.entries)}"
    for row, entry in zip(rows, parsed.entries, strict=True):
        where = f"{path}: entry {entry.get('id')!r}"
        rss = parsed.version.startswith("rss")
        expected = expected_row(entry, rss)
        got = {key: row[key] for key in expected}
        assert got == expected, f"{where}: sfeed read {got}, feedparser {expected}"
        authors = _author_forms(entry, rss)
        assert row["author"] in authors, f"{where}: sfeed's author {row['author']!r}, " \
            f"feedparser's {sorted(authors)}"
        assert row["timestamp"], f"{where}: sfeed could not read the entry's date"
    return len(rows)
