"""The list of remote sources: `sources/links.toml` and `sources/*.opml`.

links.toml holds one `[[source]]` table per feed; OPML files exported by
other feed readers are read as subscriptions too, so a person can move in
with the list they already have. Errors name the file, the source and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from .config import Config, parse_duration
from .errors import ConfigError
from .model import SourceConfig
from .write import atomic_write

LINKS_NAME = "links.toml"

_SOURCE_KEYS = {
    "url": "an absolute http(s) URL",
    "title": "a string",
    "tags": "a list of strings",
    "lang": "a language code such as \"en\"",
    "every": "a duration such as \"30m\", \"2h\" or \"1d\"",
    "include": "a list of regular expressions",
    "exclude": "a list of regular expressions",
    "enabled": "true or false",
}


def links_path(config: Config) -> Path:
    return config.sources_dir / LINKS_NAME


def load_sources(config: Config) -> list[SourceConfig]:
    """Every configured source, links.toml first, then OPML files; one per URL.

    Raises ConfigError for an invalid links.toml or OPML file.
    """
    sources: list[SourceConfig] = []
    seen: set[str] = set()
    path = links_path(config)
    if path.is_file():
        for source in _read_links(path, _shown(path, config.root)):
            if source.url not in seen:
                seen.add(source.url)
                sources.append(source)
    if config.sources_dir.is_dir():
        for opml in sorted(config.sources_dir.glob("*.opml")):
            for source in read_opml(opml.read_bytes(), _shown(opml, config.root)):
                if source.url not in seen:
                    seen.add(source.url)
                    sources.append(source)
    return sources


def check_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _read_links(path: Path, shown: str) -> list[SourceConfig]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: {exc}") from exc
    unknown = set(data) - {"source"}
    if unknown:
        raise ConfigError(f"{shown}: unknown key {sorted(unknown)[0]!r} (expected [[source]] tables)")
    tables = data.get("source", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{shown}: 'source' must be an array of tables ([[source]])")
    return [source_from_table(t, f"{shown}: [[source]] #{i}", shown) for i, t in enumerate(tables, 1)]


def source_from_table(table: Any, where: str, origin: str) -> SourceConfig:
    """A SourceConfig from one [[source]] table; ConfigError names `where` and the key."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    url = table.get("url")
    if isinstance(url, str):
        where = f"{where} ({url})"
    for key, value in table.items():
        if key not in _SOURCE_KEYS:
            raise ConfigError(
                f"{where}: unknown key {key!r} (known keys: {', '.join(sorted(_SOURCE_KEYS))})")
        if not _valid(key, value):
            raise ConfigError(f"{where}: {key!r} must be {_SOURCE_KEYS[key]}, not {value!r}")
    if url is None:
        raise ConfigError(f"{where}: missing required key 'url'")
    every = None
    if "every" in table:
        try:
            every = parse_duration(table["every"])
        except ValueError as exc:
            raise ConfigError(f"{where}: 'every': {exc}") from exc
    for key in ("include", "exclude"):
        for pattern in table.get(key, []):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"{where}: {key!r} pattern {pattern!r} is invalid: {exc}") from exc
    return SourceConfig(
        url=url,
        title=table.get("title"),
        tags=tuple(table.get("tags", ())),
        lang=table["lang"].strip().lower() if "lang" in table else None,
        every_seconds=every,
        include=tuple(table.get("include", ())),
        exclude=tuple(table.get("exclude", ())),
        enabled=table.get("enabled", True),
        origin=origin,
    )


def _valid(key: str, value: Any) -> bool:
    if key == "url":
        return isinstance(value, str) and check_url(value)
    if key in ("tags", "include", "exclude"):
        return isinstance(value, list) and all(isinstance(x, str) and x.strip() for x in value)
    if key == "enabled":
        return isinstance(value, bool)
    return isinstance(value, str) and bool(value.strip())


def _parser() -> etree.XMLParser:
    # OPML comes from other programs and other people: no entities, no DTDs,
    # no network, bounded trees.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, recover=False)


def read_opml(data: bytes, shown: str) -> list[SourceConfig]:
    """The feeds an OPML subscription list names (outlines with `xmlUrl`, at any depth).

    An outline's folder (its parent outlines' titles) and its `category`
    attribute become tags, as feed readers use both for grouping.
    """
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"{shown}:{exc.lineno}: not a valid OPML file: {exc.msg}") from exc
    if root.tag != "opml":
        raise ConfigError(f"{shown}:1: not an OPML file (root element is <{root.tag}>)")
    sources: list[SourceConfig] = []
    body = root.find("body")
    if body is None:
        return sources

    def walk(element: Any, folders: tuple[str, ...]) -> None:
        for outline in element.iterchildren("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            title = (outline.get("title") or outline.get("text") or "").strip() or None
            if url:
                if not check_url(url):
                    raise ConfigError(
                        f"{shown}:{outline.sourceline}: outline {title or url!r} has an "
                        f"invalid xmlUrl {url!r} (expected an absolute http(s) URL)")
                categories = [
                    c.strip().strip("/").split("/")[-1]
                    for c in (outline.get("category") or "").split(",") if c.strip().strip("/")
                ]
                sources.append(SourceConfig(
                    url=url, title=title, tags=tuple(dict.fromkeys([*folders, *categories])),
                    origin=shown,
                ))
            else:
                walk(outline, (*folders, title) if title else folders)

    walk(body, ())
    return sources


def render_sources_opml(sources: Sequence[SourceConfig], title: str) -> bytes:
    """An OPML 2.0 list of `sources`, importable into other feed readers."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(opml, "body")
    for source in sources:
        attrs = {"type": "rss", "text": source.title or source.url, "xmlUrl": source.url}
        if source.title:
            attrs["title"] = source.title
        if source.tags:
            attrs["category"] = ",".join(source.tags)
        etree.SubElement(body, "outline", attrs)
    data: bytes = etree.tostring(opml, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return data


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(ch if ch >= " " or ch == "\t" else f"\\u{ord(ch):04x}" for ch in escaped)
    return f'"{escaped}"'


def append_sources(config: Config, sources: Iterable[SourceConfig]) -> list[SourceConfig]:
    """Append `sources` not configured yet to links.toml, keeping what is there.

    Returns the ones added. The file is appended to as text so the user's
    comments and layout survive.
    """
    existing = {s.url for s in load_sources(config)}
    added = [s for s in sources if s.url not in existing]
    if not added:
        return []
    path = links_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = []
    for source in added:
        lines = ["[[source]]", f"url = {_toml_string(source.url)}"]
        if source.title:
            lines.append(f"title = {_toml_string(source.title)}")
        if source.tags:
            lines.append("tags = [" + ", ".join(_toml_string(t) for t in source.tags) + "]")
        blocks.append("\n".join(lines) + "\n")
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    sep = "" if not old or old.endswith("\n\n") else ("\n" if old.endswith("\n") else "\n\n")
    atomic_write(path, (old + sep + "\n".join(blocks)).encode("utf-8"))
    return added


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
