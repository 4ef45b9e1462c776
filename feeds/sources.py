"""The list of remote sources: `sources/links.toml` and `sources/*.opml`.

links.toml holds one `[[source]]` table per feed; OPML files exported by
other feed readers are read as subscriptions too, so a person can move in
with the list they already have. Problems name the file, its line, the
source and the key; a bad source is skipped, never the whole list.
"""

from __future__ import annotations

import re
import threading
import tomllib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .config import RETRY_AFTER_SCOPES, Config, parse_duration, shown_path, toml_error
from .errors import SourceError
from .model import Problem, RewriteRule, SourceAuth, SourceConfig, SourceHTTP
from .publish.write import atomic_write
from .text.rewrite import rule_problem

if TYPE_CHECKING:  # lxml and logging are imported when an OPML list is read or written, or a
    # problem logged: a build whose sources are a TOML list, or none, needs neither
    from lxml import etree

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
    # How the source is fetched (see `_source_http`).
    "proxy": "a proxy URL such as \"http://proxy.example:3128\", or \"direct\"",
    "user_agent": "a string",
    "headers": "a table of header names to strings",
    "cookies": "a table of cookie names to strings",
    "auth": "{ user_env = \"NAME\", password_env = \"NAME\" } or { token_env = \"NAME\" }",
    "retry_after_scope": "\"site\" or \"source\"",
    # What is published of it (see remote.fulltext and text.rewrite).
    "full_text": "true or false",
    "rewrite": "a list of [[source.rewrite]] tables",
}
_HTTP_KEYS = ("proxy", "user_agent", "headers", "cookies", "auth", "retry_after_scope")

_RULE_KEYS = {
    "remove": "a CSS selector such as \"div.ad\"",
    "replace": "a regular expression",
    "with": "a string (the replacement; \\1 names a group)",
    "in": "\"title\" or \"content\"",
}

# A `[[source]]` header line. tomllib reports no positions, so the line of
# each table is found in the text (see `_table_lines`).
_HEADER = re.compile(r"""^[ \t]*\[\[[ \t]*(?:source|"source"|'source')[ \t]*\]\][ \t]*(?:#.*)?$""")
# A `[[source.rewrite]]` header line: the rules of the [[source]] above it.
_RULE_HEADER = re.compile(r"""^[ \t]*\[\[[ \t]*["']?source["']?[ \t]*\.[ \t]*["']?rewrite["']?[ \t]*\]\]""")


@dataclass(frozen=True)
class SourceList:
    """The usable sources, and a problem for each source or file that is not usable."""

    sources: tuple[SourceConfig, ...]
    problems: tuple[Problem, ...] = ()


def links_path(config: Config) -> Path:
    return config.sources_dir / LINKS_NAME


def read_sources(config: Config) -> SourceList:
    """Every configured source, links.toml first, then OPML files; one per URL.

    Like articles, the source list is input, not configuration: a bad
    `[[source]]` table, outline or file is a problem (`path:line: reason`)
    and everything else is still read, so one typo never stops the other
    sources or the local articles from being published.
    """
    sources: list[SourceConfig] = []
    problems: list[Problem] = []
    seen: set[str] = set()

    def keep(found: SourceList) -> None:
        problems.extend(found.problems)
        for source in found.sources:
            if source.url not in seen:
                seen.add(source.url)
                sources.append(source)

    path = links_path(config)
    if path.is_file():
        keep(_read_links(path, shown_path(path, config.root)))
    if config.sources_dir.is_dir():
        for opml in sorted(config.sources_dir.glob("*.opml")):
            try:
                keep(read_opml(opml.read_bytes(), shown_path(opml, config.root)))
            except OSError as exc:
                problems.append(Problem(f"{shown_path(opml, config.root)}:1",
                                        f"cannot read: {exc.strerror or exc}"))
            except SourceError as exc:
                problems.append(Problem(exc.where, exc.reason))
    return SourceList(tuple(sources), tuple(problems))


# The problems `load_sources` last logged, per sources directory.
_logged: dict[Path, tuple[Problem, ...]] = {}
_logged_lock = threading.Lock()


def load_sources(config: Config) -> list[SourceConfig]:
    """The usable sources, each problem of the list logged as a warning once.

    For a caller that reads the list again and again (the daemon reads it
    every second, so an edit takes effect at once): a problem is logged when
    it appears, not on every read, and again only after it was fixed and
    came back. Commands that report problems themselves use `read_sources`.
    """
    import logging

    log = logging.getLogger("feeds")
    listed = read_sources(config)
    with _logged_lock:
        before = _logged.get(config.sources_dir, ())
        for problem in listed.problems:
            if problem not in before:
                log.warning("%s", problem)
        _logged[config.sources_dir] = listed.problems
    return list(listed.sources)


def check_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def normalise_url(url: str) -> str:
    """A source URL as fetched: `feed://host/x` is `http://host/x`, `feeds://` is `https://`.

    Browsers and sites hand feeds to readers with the (never standardised)
    `feed:` scheme, either as `feed://host/path` or wrapping the real URL as
    `feed:https://host/path`; both name an http(s) feed. Anything else is
    returned stripped and is judged by `check_url`.
    """
    text = url.strip()
    lower = text.lower()
    if lower.startswith(("feed:http://", "feed:https://")):
        return text[len("feed:"):]
    if lower.startswith("feed://"):
        return "http://" + text[len("feed://"):]
    if lower.startswith("feeds://"):
        return "https://" + text[len("feeds://"):]
    return text


def _read_links(path: Path, shown: str) -> SourceList:
    """The sources of links.toml; each bad table (or the file, if it is not TOML) a problem."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return SourceList((), (Problem(f"{shown}:1", f"cannot read: {exc.strerror or exc}"),))
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        return SourceList((), (Problem(f"{shown}:{line}", f"not UTF-8 text ({exc.reason})"),))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, reason = toml_error(exc)
        return SourceList((), (Problem(f"{shown}:{line}", reason),))
    problems = [
        Problem(f"{shown}:{_key_line(text, key)}",
                f"unknown key {key!r} (expected [[source]] tables)")
        for key in data if key != "source"
    ]
    tables = data.get("source", [])
    if not isinstance(tables, list):
        problems.append(Problem(f"{shown}:{_key_line(text, 'source')}",
                                "'source' must be an array of tables ([[source]])"))
        return SourceList((), tuple(problems))
    sources = []
    lines = _table_lines(text, len(tables))
    ends = [*lines[1:], 0] if lines else []  # each table ends where the next begins
    rule_headers = _rule_headers(text)
    for (i, table), line, end in zip(enumerate(tables, 1), lines, ends, strict=True):
        label = f"[[source]] #{i}"
        if isinstance(table, dict) and isinstance(table.get("url"), str):
            label += f" ({table['url']})"
        rules = table.get("rewrite") if isinstance(table, dict) else None
        rules_at = [f"{shown}:{n}" for n in _rule_lines(
            rule_headers, line, end, len(rules) if isinstance(rules, list) else 0)]
        try:
            sources.append(source_from_table(table, f"{shown}:{line}", shown, rules_at))
        except SourceError as exc:
            problems.append(Problem(exc.where, f"{label}: {exc.reason}"))
    return SourceList(tuple(sources), tuple(problems))


def _table_lines(text: str, count: int) -> list[int]:
    """The line of each of the `count` [[source]] headers of `text`, in order.

    A header-like line may sit inside a multi-line string; when there are
    more candidates than tables, a candidate is kept only if the text before
    it parses on its own, which fails exactly when it is inside a string (an
    array or inline table cannot hold a header line). Tables written without
    headers (`source = [{...}]`) are placed on the `source` key's line.
    """
    candidates: list[tuple[int, int]] = []
    offset = 0
    for number, line in enumerate(text.split("\n"), 1):
        if _HEADER.match(line.rstrip("\r")):
            candidates.append((number, offset))
        offset += len(line) + 1
    if len(candidates) > count:
        candidates = [(n, at) for n, at in candidates if _parses(text[:at])]
    if len(candidates) != count:
        return [_key_line(text, "source")] * count
    return [n for n, _ in candidates]


def _rule_headers(text: str) -> list[int]:
    """The lines of `text` that look like [[source.rewrite]] headers, in order."""
    return [number for number, line in enumerate(text.split("\n"), 1) if _RULE_HEADER.match(line)]


def _rule_lines(headers: list[int], first: int, end: int, count: int) -> list[int]:
    """The line of each of the `count` [[source.rewrite]] headers between line `first` and `end`.

    `headers` are the text's rule-header lines (`_rule_headers`), found
    once for the file: a list of 100,000 sources is read in one pass, not
    one pass a source. `end` is the next [[source]]'s line, 0 for the end
    of the text. Rules written inline (`rewrite = [{...}]`) are placed on
    their table's line.
    """
    if not count:
        return []
    found = headers[bisect_right(headers, first):bisect_left(headers, end) if end else None]
    return found if len(found) == count else [first] * count


def _parses(text: str) -> bool:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return True


def _key_line(text: str, key: str) -> int:
    """The first line defining top-level `key` (as `key =` or a table header), else 1."""
    name = re.escape(key)
    pattern = re.compile(rf"""^[ \t]*(?:\[+[ \t]*)?(?:{name}|"{name}"|'{name}')[ \t]*[=.\]]""")
    for number, line in enumerate(text.split("\n"), 1):
        if pattern.match(line):
            return number
    return 1


def source_from_table(table: Any, where: str, origin: str,
                      rules_at: Sequence[str] = ()) -> SourceConfig:
    """A SourceConfig from one [[source]] table; SourceError at `where` names the key.

    `rules_at` is the `path:line` of each of its [[source.rewrite]] rules.
    """
    if not isinstance(table, dict):
        raise SourceError(where, "must be a table")
    given = dict(table)
    table = dict(table)
    if isinstance(table.get("url"), str):
        table["url"] = normalise_url(table["url"])
    for key, value in table.items():
        if key not in _SOURCE_KEYS:
            raise SourceError(
                where, f"unknown key {key!r} (known keys: {', '.join(sorted(_SOURCE_KEYS))})")
        if not _valid(key, value):
            # Whatever was put where credentials go is not repeated: it may be one.
            shown = "" if key in ("headers", "cookies", "auth") else f", not {given[key]!r}"
            raise SourceError(where, f"{key!r} must be {_SOURCE_KEYS[key]}{shown}")
    if "url" not in table:
        raise SourceError(where, "missing required key 'url'")
    every = None
    if "every" in table:
        try:
            every = parse_duration(table["every"])
        except ValueError as exc:
            raise SourceError(where, f"'every': {exc}") from exc
    for key in ("include", "exclude"):
        for pattern in table.get(key, []):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise SourceError(where, f"{key!r} pattern {pattern!r} is invalid: {exc}") from exc
    rules = tuple(_rewrite_rule(rule, n, rules_at[n - 1] if n <= len(rules_at) else where)
                  for n, rule in enumerate(table.get("rewrite", ()), 1))
    return SourceConfig(
        url=table["url"],
        title=table.get("title"),
        tags=tuple(table.get("tags", ())),
        lang=table["lang"].strip().lower() if "lang" in table else None,
        every_seconds=every,
        include=tuple(table.get("include", ())),
        exclude=tuple(table.get("exclude", ())),
        enabled=table.get("enabled", True),
        origin=origin,
        full_text=table.get("full_text", False),
        rewrite=rules,
        http=_source_http(table, where),
    )


# Headers the fetcher sets itself, or that other keys give.
_OWN_HEADERS = {
    "host": "is set by the fetcher", "accept-encoding": "is set by the fetcher",
    "if-none-match": "is set by the fetcher", "if-modified-since": "is set by the fetcher",
    "connection": "is set by the fetcher", "keep-alive": "is set by the fetcher",
    "content-length": "is set by the fetcher", "transfer-encoding": "is set by the fetcher",
    "te": "is set by the fetcher", "upgrade": "is set by the fetcher",
    "proxy-authorization": "comes from the proxy URL",
    "authorization": "comes from 'auth'", "cookie": "comes from 'cookies'",
    "user-agent": "comes from 'user_agent'",
}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _source_http(table: dict[str, Any], where: str) -> SourceHTTP | None:
    """How the source is fetched, when its table says anything about it; SourceError if wrong."""
    if not any(key in table for key in _HTTP_KEYS):
        return None
    from .remote.proxies import check_proxy  # ipaddress: only for a source that says how

    proxy = table["proxy"].strip() if "proxy" in table else None
    if proxy is not None and (why := check_proxy(proxy)) is not None:
        raise SourceError(where, f"'proxy' {why}")
    if table.get("retry_after_scope", "site") not in RETRY_AFTER_SCOPES:
        raise SourceError(where, f"'retry_after_scope' must be {_SOURCE_KEYS['retry_after_scope']}")
    user_agent = table.get("user_agent")
    if user_agent is not None and not (user_agent.isascii() and user_agent.isprintable()):
        raise SourceError(where, "'user_agent' must be one line of ASCII characters")
    headers = _pairs(table, "headers", where)
    for name, _ in headers:
        if name.lower() in _OWN_HEADERS:
            raise SourceError(where, f"'headers': {name!r} {_OWN_HEADERS[name.lower()]}")
    cookies = _pairs(table, "cookies", where)
    if any(c in value for _, value in cookies for c in ";,\" "):
        raise SourceError(where, "'cookies': a value cannot hold ';', ',', '\"' or spaces")
    return SourceHTTP(proxy=proxy, user_agent=user_agent, headers=headers, cookies=cookies,
                      auth=_auth(table, where), retry_after_scope=table.get("retry_after_scope"))


def _pairs(table: dict[str, Any], key: str, where: str) -> tuple[tuple[str, str], ...]:
    """A table of names (HTTP tokens) to one-line strings, in the order given."""
    pairs = tuple(table.get(key, {}).items())
    for name, value in pairs:
        if not _TOKEN.fullmatch(name):
            raise SourceError(where, f"{key!r}: {name!r} is not a valid name")
        if not isinstance(value, str) or not (value.isascii() and value.isprintable()):
            # The value is not quoted: it may be a secret someone put there anyway.
            raise SourceError(where, f"{key!r}: the value of {name!r} must be a one-line "
                                     "string of ASCII characters")
    return pairs


def _auth(table: dict[str, Any], where: str) -> SourceAuth | None:
    """The environment variables holding the source's credentials, checked for shape only."""
    if "auth" not in table:
        return None
    given = table["auth"]
    keys = set(given)
    if keys not in ({"user_env", "password_env"}, {"token_env"}):
        raise SourceError(where, f"'auth' must be {_SOURCE_KEYS['auth']}: the names of "
                                 "environment variables holding the secrets, never the secrets")
    for key in sorted(keys):
        if not isinstance(given[key], str) or not _ENV_NAME.fullmatch(given[key]):
            raise SourceError(where, f"'auth': {key!r} must name an environment variable "
                                     "(letters, digits and '_')")
    return SourceAuth(**given)


def _rewrite_rule(table: dict[str, Any], n: int, where: str) -> RewriteRule:
    """Rule `n` of a source's [[source.rewrite]] tables; SourceError at `where` says what is wrong."""
    def fail(reason: str) -> SourceError:
        return SourceError(where, f"rewrite rule #{n}: {reason}")

    for key, value in table.items():
        if key not in _RULE_KEYS:
            raise fail(f"unknown key {key!r} (known keys: {', '.join(sorted(_RULE_KEYS))})")
        if not isinstance(value, str) or (key != "with" and not value.strip()) or (
                key == "in" and value not in ("title", "content")):
            raise fail(f"{key!r} must be {_RULE_KEYS[key]}, not {value!r}")
    if ("remove" in table) == ("replace" in table):
        raise fail("needs exactly one of 'remove' (a CSS selector) or 'replace' (a pattern)")
    if "remove" in table and ("with" in table or "in" in table):
        raise fail("'with' and 'in' go with 'replace', not with 'remove'")
    rule = RewriteRule(remove=table.get("remove"), replace=table.get("replace"),
                       with_=table.get("with", ""), field=table.get("in", "content"),
                       where=where)
    if (problem := rule_problem(rule)) is not None:
        raise fail(problem)
    return rule


def _valid(key: str, value: Any) -> bool:
    if key == "url":
        return isinstance(value, str) and check_url(value)
    if key in ("tags", "include", "exclude"):
        return isinstance(value, list) and all(isinstance(x, str) and x.strip() for x in value)
    if key in ("enabled", "full_text"):
        return isinstance(value, bool)
    if key == "rewrite":
        return isinstance(value, list) and all(isinstance(x, dict) for x in value)
    if key in ("headers", "cookies", "auth"):
        return isinstance(value, dict)
    return isinstance(value, str) and bool(value.strip())


def _parser() -> etree.XMLParser:
    # OPML comes from other programs and other people: no entities, no DTDs,
    # no network, bounded trees (libxml2 refuses nesting over 256 deep
    # without huge_tree, and caps entity amplification).
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, recover=False)


def read_opml(data: bytes, shown: str) -> SourceList:
    """The feeds an OPML subscription list names (outlines with `xmlUrl`, at any depth).

    An outline's `category` attribute and its folders (its parent outlines'
    titles) become tags, as feed readers use both for grouping; a feed listed
    in several folders is one source with the tags of all. An outline whose
    `xmlUrl` is not an http(s) URL is a problem and the others are still
    read. Raises SourceError (`shown:line`) when the file as a whole cannot
    be read: not XML, not OPML, or declaring entities.
    """
    from lxml import etree

    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{shown}:{exc.lineno or 1}",
                          f"not a valid OPML file: {exc.msg}") from exc
    if root.tag != "opml":
        raise SourceError(f"{shown}:{root.sourceline or 1}",
                          f"not an OPML file (root element is <{root.tag}>)")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        # libxml2 expands entities in attributes whatever the parser is told;
        # no OPML needs them, so a file declaring any is refused whole.
        line = data[:max(data.find(b"<!ENTITY"), 0)].count(b"\n") + 1
        raise SourceError(f"{shown}:{line}", "declares entities in its DTD (refused)")
    found: dict[str, SourceConfig] = {}
    problems: list[Problem] = []
    body = root.find("body")

    def walk(element: Any, folders: tuple[str, ...]) -> None:
        for outline in element.iterchildren("outline"):
            given = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            title = (outline.get("title") or outline.get("text") or "").strip() or None
            if not given:
                walk(outline, (*folders, title) if title else folders)
                continue
            if title == given:
                title = None  # `text` is required, so an untitled feed's is its URL
            url = normalise_url(given)
            if not check_url(url):
                problems.append(Problem(
                    f"{shown}:{outline.sourceline}",
                    f"outline {title or given!r}: 'xmlUrl' must be an absolute http(s) URL, "
                    f"not {given!r}"))
                continue
            categories = [
                c.strip().strip("/").split("/")[-1]
                for c in (outline.get("category") or "").split(",") if c.strip().strip("/")
            ]
            tags = (*categories, *folders)
            if url in found:
                tags = (*found[url].tags, *tags)
            found[url] = SourceConfig(url=url, title=found[url].title if url in found else title,
                                      tags=tuple(dict.fromkeys(tags)), origin=shown)

    if body is not None:
        walk(body, ())
    return SourceList(tuple(found.values()), tuple(problems))


def render_sources_opml(sources: Sequence[SourceConfig], title: str,
                        site_links: Mapping[str, str] | None = None) -> bytes:
    """An OPML 2.0 list of `sources`, importable into other feed readers.

    A tagged source appears in a folder (an outline without `xmlUrl`) per
    tag, as feed readers group feeds; untagged ones sit at the top level.
    `read_opml` turns the folders back into the same tags. `site_links`
    gives a source's site (`htmlUrl`) by its URL, when it is known.
    """
    from lxml import etree

    links = site_links or {}
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(opml, "body")
    folders: dict[str, Any] = {}
    for source in sources:
        attrs = {"type": "rss", "text": source.title or source.url, "xmlUrl": source.url}
        if source.title:
            attrs["title"] = source.title
        if links.get(source.url):
            attrs["htmlUrl"] = links[source.url]
        if source.tags:
            attrs["category"] = ",".join(source.tags)
        for tag in source.tags:
            if tag not in folders:
                folders[tag] = etree.SubElement(body, "outline", {"text": tag, "title": tag})
            etree.SubElement(folders[tag], "outline", attrs)
        if not source.tags:
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
    existing = {s.url for s in read_sources(config).sources}
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
