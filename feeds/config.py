"""Loading and validating `feeds.toml`, the project's optional configuration.

Every key is checked on load: an unknown key or a wrong type is a
`ConfigError` that names the file, the key and what was expected, because a
typo that silently falls back to a default is worse than a refusal.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .about import PROJECT_URL, __version__
from .errors import ConfigError
from .text.slug import slugify

if TYPE_CHECKING:
    from .model import EntryFilter

CONFIG_NAME = "feeds.toml"
# Names the store instead of feeds.toml's `store`: a database URL with its
# password need not be written in a file.
STORE_VARIABLE = "FEEDS_STORE"
_DATABASE_SCHEMES = ("postgresql://", "postgres://")
FAMILIES = ("all", "lang", "tags")
# Every feed is written in each configured format, beside the others:
# `lang/zh.atom`, `lang/zh.rss`, `lang/zh.json`.
FORMATS = ("atom", "rss", "json")


@dataclass(frozen=True)
class CustomFeed:
    """A feed defined by a filter, e.g. "AI news in Chinese"."""

    name: str
    title: str
    filter: EntryFilter


@dataclass(frozen=True)
class Config:
    """The whole configuration with defaults applied and paths made absolute."""

    root: Path
    title: str = "feeds"
    subtitle: str | None = None
    base_url: str = "http://127.0.0.1:8080/"
    author: str = "feeds"
    languages: tuple[str, ...] = ("zh", "en")
    families: tuple[str, ...] = FAMILIES
    entries_per_feed: int = 50
    timezone: str = "UTC"
    id_date: str = "2024"
    articles_dir: Path = Path("sources/articles")
    output_dir: Path = Path("output")
    sources_dir: Path = Path("sources")
    store_path: Path = Path(".feeds/state.sqlite3")
    # A PostgreSQL store's URL, used instead of the file at store_path (which
    # still names the folder of the project's lock).
    store_url: str | None = None
    min_tag_entries: int = 1
    tag_aliases: Mapping[str, str] = field(default_factory=dict)
    retention_entries: int = 200
    retention_days: int = 90
    default_every_seconds: int = 1800
    custom: tuple[CustomFeed, ...] = ()
    formats: tuple[str, ...] = FORMATS
    pages: bool = True
    hubs: tuple[str, ...] = ()
    archives: bool = False
    hub_retry_seconds: int = 60
    # feeds as its own WebSub hub (`hub = "self"`), served by `feeds run --serve`.
    hub_self: bool = False
    hub_allow_private: bool = False
    hub_lease_min_seconds: int = 60
    hub_max_per_host: int = 20
    # How remote sources are fetched: a proxy URL or "direct" (None: the environment's),
    # and whether a 429/503 pauses the whole site or only the feed that got it.
    proxy: str | None = None
    retry_after_scope: str = "site"
    # Fetch workers sharing a PostgreSQL store (`feeds run --role fetch`): how
    # long a claimed source stays a worker's without a heartbeat renewing it,
    # and how often each process renews its leases and says it is alive.
    lease_seconds: int = 300
    heartbeat_seconds: int = 10
    path: Path | None = None  # the file it came from, if any

    @property
    def self_hub(self) -> str | None:
        """The URL of feeds' own hub endpoint, when `hub = "self"`; None otherwise."""
        return self.base_url + "hub" if self.hub_self else None

    @property
    def named_hubs(self) -> tuple[str, ...]:
        """Every hub a feed names (`rel="hub"`): the configured ones, then feeds' own."""
        own = self.self_hub
        return self.hubs if own is None or own in self.hubs else (*self.hubs, own)

    @property
    def templates_dir(self) -> Path:
        """Where the project's own page templates, overriding the shipped ones, would be."""
        return self.root / "templates"

    @functools.cached_property
    def authority(self) -> str:
        """The host part of the base URL, the authority of entry `tag:` URIs.

        RFC 4151 §2.1 wants an ASCII DNS name there: an internationalised
        host is written in its IDNA form (`例子.org` as `xn--fsqu00a.org`).
        """
        host = urlsplit(self.base_url).hostname or "localhost"
        if not host.isascii():
            with contextlib.suppress(UnicodeError):
                host = host.encode("idna").decode("ascii")
        return host

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# What a 429/503's Retry-After pauses: every feed of the site, or only the one that got it.
RETRY_AFTER_SCOPES = ("site", "source")

# key -> (description of what is expected, check)
_Check = Callable[[Any], bool]


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_nonempty_str(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _is_pos_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _is_nonneg_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_nonempty_str(x) for x in v)


def _is_str_table(v: Any) -> bool:
    return isinstance(v, dict) and all(_is_nonempty_str(x) for x in v.values())


_TOP_KEYS: dict[str, tuple[str, _Check]] = {
    "title": ("a non-empty string", _is_nonempty_str),
    "subtitle": ("a string", _is_str),
    "base_url": ("an absolute http(s) URL", _is_nonempty_str),
    "author": ("a non-empty string", _is_nonempty_str),
    "languages": ("a list of language codes such as [\"zh\", \"en\"]", _is_str_list),
    "families": (f"a list drawn from {list(FAMILIES)}", _is_str_list),
    "entries_per_feed": ("a positive integer", _is_pos_int),
    "timezone": ("an IANA time zone name such as \"Asia/Shanghai\"", _is_nonempty_str),
    "id_date": ("a date such as \"2024\" or \"2024-06-01\"", _is_nonempty_str),
    "articles": ("a directory path (string)", _is_nonempty_str),
    "output": ("a directory path (string)", _is_nonempty_str),
    "sources": ("a directory path (string)", _is_nonempty_str),
    "store": ("a file path or a postgresql:// URL (string)", _is_nonempty_str),
    "min_tag_entries": ("a positive integer", _is_pos_int),
    "tag_aliases": ("a table of tag = \"canonical tag\"", _is_str_table),
    "retention_entries": ("a non-negative integer", _is_nonneg_int),
    "retention_days": ("a non-negative integer", _is_nonneg_int),
    "every": ("a duration such as \"30m\", \"2h\" or \"1d\"", _is_nonempty_str),
    "custom": ("an array of tables ([[custom]])", lambda v: isinstance(v, list)),
    "formats": (f"a list drawn from {list(FORMATS)}", _is_str_list),
    "pages": ("true or false", lambda v: isinstance(v, bool)),
    "hubs": ("a list of WebSub hub URLs (http or https)", _is_str_list),
    "archives": ("true or false", lambda v: isinstance(v, bool)),
    "hub_retry": ("a duration such as \"1m\" or \"30s\"", _is_nonempty_str),
    "hub": ("\"self\" (feeds serves its own WebSub hub)", _is_nonempty_str),
    "hub_allow_private": ("true or false", lambda v: isinstance(v, bool)),
    "hub_lease_min": ("a duration such as \"1m\" or \"30s\"", _is_nonempty_str),
    "hub_max_per_host": ("a positive integer", _is_pos_int),
    "proxy": ("a proxy URL such as \"http://proxy.example:3128\", or \"direct\"",
              _is_nonempty_str),
    "retry_after_scope": ("\"site\" or \"source\"", lambda v: v in RETRY_AFTER_SCOPES),
    "lease": ("a duration such as \"5m\" or \"30s\"", _is_nonempty_str),
    "heartbeat": ("a duration such as \"10s\"", _is_nonempty_str),
}

_CUSTOM_KEYS: dict[str, tuple[str, _Check]] = {
    "name": ("a non-empty string (it names the file custom/<name>.atom)", _is_nonempty_str),
    "title": ("a non-empty string", _is_nonempty_str),
    "lang": ("a language code such as \"zh\"", _is_nonempty_str),
    "tags": ("a list of tags", _is_str_list),
    "authors": ("a list of author names", _is_str_list),
}

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """Seconds in a duration like "90s", "30m", "2h", "1d" or "1w"; ValueError if not one."""
    t = text.strip().lower()
    if len(t) >= 2 and t[-1] in _DURATION_UNITS and t[:-1].isdigit():
        seconds = int(t[:-1]) * _DURATION_UNITS[t[-1]]
        if seconds > 0:
            return seconds
    raise ValueError(f"{text!r} is not a duration such as \"30m\", \"2h\" or \"1d\"")


def _check_table(
    table: Mapping[str, Any], keys: Mapping[str, tuple[str, _Check]], where: str
) -> None:
    for key, value in table.items():
        if key not in keys:
            known = ", ".join(sorted(keys))
            raise ConfigError(f"{where}: unknown key {key!r} (known keys: {known})")
        expected, check = keys[key]
        if not check(value):
            raise ConfigError(f"{where}: {key!r} must be {expected}, not {value!r}")


def load_config(root: Path | str = ".", path: Path | str | None = None) -> Config:
    """The configuration of the project at `root`.

    Reads `path` if given (it must exist), else `root/feeds.toml` if it
    exists, else returns the defaults. Raises ConfigError on any invalid key.
    """
    root = Path(root).resolve()
    file: Path | None
    if path is not None:
        file = Path(path).absolute()
        if not file.is_file():
            raise ConfigError(f"{path}: configuration file not found")
    else:
        candidate = root / CONFIG_NAME
        file = candidate if candidate.is_file() else None
    if file is None:
        return _store_from_environment(_finish(Config(root=root)))
    shown = shown_path(file, root)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        line, reason = toml_error(exc)
        raise ConfigError(f"{shown}:{line}: {reason}") from exc
    return _store_from_environment(config_from_mapping(data, root, shown, file))


def _locations(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Where `data` puts the project's folders and its store."""
    chosen: dict[str, Any] = {}
    for key, attr in (("articles", "articles_dir"), ("output", "output_dir"),
                      ("sources", "sources_dir")):
        if key in data:
            chosen[attr] = Path(data[key])
    if "store" in data:
        chosen |= store_location(data["store"], f"{where}: 'store'")
    return chosen


def is_database_url(location: str) -> bool:
    """Whether a store's location names a PostgreSQL database rather than a SQLite file."""
    return location.lower().startswith(_DATABASE_SCHEMES)


def store_location(location: str, where: str) -> dict[str, Any]:
    """The Config fields a store's location sets: a database URL, or a file's path."""
    if not is_database_url(location):
        return {"store_path": Path(location), "store_url": None}
    try:
        parts = urlsplit(location)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc} in the database URL") from exc
    if not parts.path.strip("/") and not parts.hostname:
        raise ConfigError(f"{where}: the database URL names neither a host nor a database")
    return {"store_url": location}


def _store_from_environment(config: Config) -> Config:
    """`config` with the store FEEDS_STORE names, if it names one (a URL or a path)."""
    location = os.environ.get(STORE_VARIABLE, "").strip()
    if not location:
        return config
    chosen = store_location(location, STORE_VARIABLE)
    if "store_path" in chosen and not chosen["store_path"].is_absolute():
        chosen["store_path"] = config.root / chosen["store_path"]
    return replace(config, **chosen)


# Where tomllib says a syntax error is, at the end of its message.
_TOML_AT = re.compile(r"\s*\(at line (\d+), column \d+\)")


def toml_error(exc: tomllib.TOMLDecodeError) -> tuple[int, str]:
    """A TOML syntax error as the line to fix and the reason, for `path:line: reason`."""
    found = _TOML_AT.search(str(exc))
    return (int(found.group(1)) if found else 1,
            f"not valid TOML: {_TOML_AT.sub('', str(exc)).strip()}")


def config_from_mapping(
    data: Mapping[str, Any], root: Path, where: str = CONFIG_NAME, file: Path | None = None
) -> Config:
    """A validated Config from parsed TOML; `where` names the file in messages."""
    _check_table(data, _TOP_KEYS, where)
    kwargs: dict[str, Any] = {"root": root, "path": file}
    for key in ("title", "subtitle", "author", "entries_per_feed", "min_tag_entries",
                "retention_entries", "retention_days"):
        if key in data:
            kwargs[key] = data[key]
    if "base_url" in data:
        url = data["base_url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{where}: 'base_url' must be an absolute http(s) URL, not {url!r}")
        kwargs["base_url"] = url if url.endswith("/") else url + "/"
    if "languages" in data:
        langs = tuple(x.strip().lower() for x in data["languages"])
        if not langs:
            raise ConfigError(f"{where}: 'languages' must name at least one language")
        from .text.lang import known_language  # CLD2, loaded only by a configuration naming languages

        unknown = [lang for lang in langs if not known_language(lang)]
        if unknown:
            raise ConfigError(f"{where}: 'languages' holds {unknown[0]!r}, not a known language "
                              "code (ISO 639, e.g. \"zh\", \"en\", \"zh-hant\")")
        kwargs["languages"] = tuple(dict.fromkeys(langs))
    kwargs |= _what_to_write(data, where)
    if "timezone" in data:
        try:
            ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"{where}: 'timezone' must be an IANA time zone name, not {data['timezone']!r}"
            ) from exc
        kwargs["timezone"] = data["timezone"]
    if "id_date" in data:
        if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", data["id_date"]):
            raise ConfigError(f"{where}: 'id_date' must be a date such as \"2024\" or \"2024-06-01\"")
        kwargs["id_date"] = data["id_date"]
    kwargs |= _locations(data, where)
    if "every" in data:
        try:
            kwargs["default_every_seconds"] = parse_duration(data["every"])
        except ValueError as exc:
            raise ConfigError(f"{where}: 'every': {exc}") from exc
    if "hub_retry" in data:
        try:
            kwargs["hub_retry_seconds"] = parse_duration(data["hub_retry"])
        except ValueError as exc:
            raise ConfigError(f"{where}: 'hub_retry': {exc}") from exc
    kwargs |= _own_hub(data, where) | _how_to_fetch(data, where) | _workers(data, where)
    if "tag_aliases" in data:
        kwargs["tag_aliases"] = {
            k.strip().casefold(): v.strip().casefold() for k, v in data["tag_aliases"].items()
        }
    if "custom" in data:
        kwargs["custom"] = _custom_feeds(data["custom"], where)
    return _finish(Config(**kwargs))


def _what_to_write(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """What `data` chooses to write: feed families, formats, pages, archives, hubs to name."""
    chosen: dict[str, Any] = {}
    if "families" in data:
        bad = [f for f in data["families"] if f not in FAMILIES]
        if bad:
            raise ConfigError(
                f"{where}: 'families' must be drawn from {list(FAMILIES)}, not {bad[0]!r}"
            )
        chosen["families"] = tuple(dict.fromkeys(data["families"]))
    if "formats" in data:
        formats = tuple(dict.fromkeys(f.strip().lower() for f in data["formats"]))
        bad = [f for f in formats if f not in FORMATS]
        if bad or not formats:
            raise ConfigError(f"{where}: 'formats' must name at least one of {list(FORMATS)}"
                              + (f", not {bad[0]!r}" if bad else ""))
        chosen["formats"] = formats
    for key in ("pages", "archives"):
        if key in data:
            chosen[key] = data[key]
    if "hubs" in data:
        for hub in data["hubs"]:
            parts = urlsplit(hub)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(f"{where}: 'hubs' must hold absolute http(s) URLs, not {hub!r}")
        chosen["hubs"] = tuple(dict.fromkeys(data["hubs"]))
    return chosen


def _how_to_fetch(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """How remote sources are fetched: the proxy, and what a Retry-After pauses."""
    chosen: dict[str, Any] = {}
    if "proxy" in data:
        from .remote.proxies import check_proxy  # ipaddress: only for a project that names one

        if (why := check_proxy(data["proxy"].strip())) is not None:
            raise ConfigError(f"{where}: 'proxy' {why}")
        chosen["proxy"] = data["proxy"].strip()
    if "retry_after_scope" in data:
        chosen["retry_after_scope"] = data["retry_after_scope"]
    return chosen


def _workers(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The fetch workers' lease and heartbeat: a lease outlives two missed heartbeats."""
    chosen: dict[str, Any] = {}
    for key in ("lease", "heartbeat"):
        if key in data:
            try:
                chosen[f"{key}_seconds"] = parse_duration(data[key])
            except ValueError as exc:
                raise ConfigError(f"{where}: '{key}': {exc}") from exc
    lease = chosen.get("lease_seconds", Config.lease_seconds)
    beat = chosen.get("heartbeat_seconds", Config.heartbeat_seconds)
    if lease < 2 * beat:
        raise ConfigError(f"{where}: 'lease' ({lease} s) must be at least twice 'heartbeat' "
                          f"({beat} s): each heartbeat renews the leases a worker holds")
    return chosen


# The longest lease the own hub grants; its minimum can be lowered but not below this.
HUB_LEASE_MAX_SECONDS = 30 * 86400
_HUB_LEASE_FLOOR_SECONDS = 1


def _own_hub(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The settings of feeds' own WebSub hub (`hub = "self"` and its limits)."""
    chosen: dict[str, Any] = {}
    if "hub" in data:
        if data["hub"] != "self":
            raise ConfigError(f"{where}: 'hub' can only be \"self\" (feeds serves its own WebSub "
                              f"hub under base_url), not {data['hub']!r}; name external hubs in "
                              "'hubs'")
        chosen["hub_self"] = True
    if "hub_allow_private" in data:
        chosen["hub_allow_private"] = data["hub_allow_private"]
    if "hub_max_per_host" in data:
        chosen["hub_max_per_host"] = data["hub_max_per_host"]
    if "hub_lease_min" in data:
        try:
            least = parse_duration(data["hub_lease_min"])
        except ValueError as exc:
            raise ConfigError(f"{where}: 'hub_lease_min': {exc}") from exc
        if not _HUB_LEASE_FLOOR_SECONDS <= least <= HUB_LEASE_MAX_SECONDS:
            raise ConfigError(f"{where}: 'hub_lease_min' must be between 1 s and 30 days")
        chosen["hub_lease_min_seconds"] = least
    return chosen


def _custom_feeds(tables: list[Any], where: str) -> tuple[CustomFeed, ...]:
    # The model's types are made when first named, after a command has
    # started what it can (see `cli`): most configurations have no custom feed.
    from .model import EntryFilter

    feeds: list[CustomFeed] = []
    seen: set[str] = set()
    for i, table in enumerate(tables, 1):
        here = f"{where}: [[custom]] #{i}"
        if not isinstance(table, dict):
            raise ConfigError(f"{here}: must be a table")
        _check_table(table, _CUSTOM_KEYS, here)
        for required in ("name", "title"):
            if required not in table:
                raise ConfigError(f"{here}: missing required key {required!r}")
        name = slugify(table["name"])
        if name in seen:
            raise ConfigError(f"{here}: name {table['name']!r} is used by another custom feed")
        seen.add(name)
        if not any(k in table for k in ("lang", "tags", "authors")):
            raise ConfigError(f"{here}: give at least one of 'lang', 'tags', 'authors'")
        feeds.append(
            CustomFeed(
                name=name,
                title=table["title"],
                filter=EntryFilter(
                    lang=table["lang"].strip().lower() if "lang" in table else None,
                    tags=frozenset(t.strip().casefold() for t in table.get("tags", [])),
                    authors=frozenset(a.strip() for a in table.get("authors", [])),
                ),
            )
        )
    return tuple(feeds)


def _finish(config: Config) -> Config:
    """Make the configured paths absolute against the project root."""
    def absolute(p: Path) -> Path:
        return p if p.is_absolute() else config.root / p

    return replace(
        config,
        articles_dir=absolute(config.articles_dir),
        output_dir=absolute(config.output_dir),
        sources_dir=absolute(config.sources_dir),
        store_path=absolute(config.store_path),
    )


def shown_path(path: Path, root: Path) -> str:
    """How messages name a file of the project: relative to its root when inside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


_MIB = 1024 * 1024


def _default_user_agent() -> str:
    """Name the project, its version and where to complain, as feed hosts ask."""
    return f"feeds/{__version__} (+{PROJECT_URL})"


@dataclass(frozen=True)
class FetchSettings:
    """How hard and how long to try; the defaults suit a periodic aggregator run.

    `per_domain` and `domain_spacing` apply per registrable domain (see
    `registrable_domain`), because one operator often serves many feeds from
    sibling hosts. `max_bytes` caps the decoded body. `max_retry_after`
    bounds how long a server's Retry-After can silence its domain.

    One request at a time per site is what keeps a site from being hammered;
    the spacing between starts (at most ten a second, each after the last
    one finished) only stops a fast site from being drained back to back, and
    keeps twenty feeds of one site within a couple of seconds.
    """

    concurrency: int = 64
    per_domain: int = 1
    domain_spacing: float = 0.1
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_bytes: int = 15 * _MIB
    max_redirects: int = 5
    max_retry_after: float = 6 * 3600
    user_agent: str = field(default_factory=_default_user_agent)

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.per_domain < 1:
            raise ValueError("concurrency and per_domain must be at least 1")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if self.domain_spacing < 0 or self.max_bytes < 0 or self.max_redirects < 0:
            raise ValueError("domain_spacing, max_bytes and max_redirects cannot be negative")
        if self.max_retry_after < 0:
            raise ValueError("max_retry_after cannot be negative")
