"""Configuration: defaults, validation messages, custom feeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.config import load_config, parse_duration
from feeds.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.base_url == "http://127.0.0.1:8080/"
    assert config.entries_per_feed == 50
    assert config.languages == ("zh", "en")
    assert config.articles_dir == tmp_path.resolve() / "sources" / "articles"
    assert config.output_dir == tmp_path.resolve() / "output"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('titel = "x"', "feeds.toml: unknown key 'titel'"),
        ("entries_per_feed = \"ten\"", "feeds.toml: 'entries_per_feed' must be a positive integer"),
        ("entries_per_feed = 0", "'entries_per_feed' must be a positive integer"),
        ('base_url = "example.org"', "'base_url' must be an absolute http(s) URL"),
        ('families = ["all", "authors"]', "'families' must be drawn from"),
        ('languages = ["zh", "xx"]', "feeds.toml: 'languages' holds 'xx', not a known language code"),
        ('timezone = "Mars/Base"', "'timezone' must be an IANA time zone name"),
        ("[[custom]]\ntitle = \"x\"\nlang = \"zh\"", "[[custom]] #1: missing required key 'name'"),
        ("[[custom]]\nname = \"a\"\ntitle = \"x\"", "give at least one of"),
        ("[[custom]]\nname = \"a\"\ntitle = \"x\"\ncolour = \"red\"", "unknown key 'colour'"),
        ('proxy = "ftp://proxy:21"', "feeds.toml: 'proxy' must be a proxy URL such as"),
        ('proxy = "http://proxy:port"', "feeds.toml: 'proxy' is not a URL"),
        ('retry_after_scope = "domain"', "'retry_after_scope' must be \"site\" or \"source\""),
        ("title = ", "feeds.toml:1: not valid TOML: Invalid value"),
        ("title = \"x\"\nauthor = \"y", "feeds.toml:2: not valid TOML: Illegal character"),
    ],
)
def test_invalid_configuration_names_file_and_key(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "feeds.toml").write_text(toml + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert message in str(info.value)


def test_proxy_and_retry_after_scope(tmp_path: Path) -> None:
    assert (load_config(tmp_path).proxy, load_config(tmp_path).retry_after_scope) == (None, "site")
    (tmp_path / "feeds.toml").write_text(
        'proxy = " socks5://127.0.0.1:1080 "\nretry_after_scope = "source"\n', encoding="utf-8")
    config = load_config(tmp_path)
    assert (config.proxy, config.retry_after_scope) == ("socks5://127.0.0.1:1080", "source")


def test_custom_feed_and_paths(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text(
        'base_url = "https://example.org/x"\narticles = "posts"\n'
        '[[custom]]\nname = "AI news"\ntitle = "AI"\ntags = ["AI"]\nauthors = ["ft"]\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    assert config.base_url == "https://example.org/x/"
    assert config.articles_dir == tmp_path.resolve() / "posts"
    [custom] = config.custom
    assert custom.name == "ai-news"
    assert custom.filter.tags == frozenset({"ai"})
    assert custom.filter.authors == frozenset({"ft"})


def test_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path, tmp_path / "missing.toml")


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200),
                                               ("1d", 86400), ("1w", 604800)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "10", "0m", "-5m", "1y"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("base_url", "authority"),
    [("https://example.org/feeds/", "example.org"), ("http://127.0.0.1:8080/", "127.0.0.1"),
     ("https://例子.org/", "xn--fsqu00a.org")],
)
def test_the_tag_authority_is_an_ascii_dns_name(tmp_path: Path, base_url: str, authority: str) -> None:
    """RFC 4151 tag: ids name an ASCII host; ASCII hosts are kept as they are."""
    (tmp_path / "feeds.toml").write_text(f'base_url = "{base_url}"\n', encoding="utf-8")
    assert load_config(tmp_path).authority == authority


def test_the_store_is_a_file_or_a_database_and_feeds_store_overrides_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FEEDS_STORE (a URL or a path) keeps a database's password out of feeds.toml."""
    url = "postgresql://feeds@db.example:5433/feeds"
    (tmp_path / "feeds.toml").write_text(f'store = "{url}"\n', encoding="utf-8")
    config = load_config(tmp_path)
    assert (config.store_url, config.store_path) == (url, tmp_path.resolve() / ".feeds/state.sqlite3")
    monkeypatch.setenv("FEEDS_STORE", "elsewhere/s.sqlite3")
    config = load_config(tmp_path)
    assert (config.store_url, config.store_path) == (None, tmp_path.resolve() / "elsewhere/s.sqlite3")
    monkeypatch.setenv("FEEDS_STORE", "postgres://u:secret@127.0.0.1/other")
    assert load_config(tmp_path).store_url == "postgres://u:secret@127.0.0.1/other"
    (tmp_path / "feeds.toml").unlink()
    assert load_config(tmp_path).store_url == "postgres://u:secret@127.0.0.1/other"
    monkeypatch.delenv("FEEDS_STORE")
    assert load_config(tmp_path).store_url is None


@pytest.mark.parametrize(("location", "message"), [
    ("postgresql://", "feeds.toml: 'store': the database URL names neither a host nor a database"),
    ("postgresql://h:port/db", "feeds.toml: 'store': Port could not be cast"),
])
def test_a_store_url_that_cannot_be_a_database_is_refused(
        tmp_path: Path, location: str, message: str) -> None:
    (tmp_path / "feeds.toml").write_text(f'store = "{location}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{message}"):
        load_config(tmp_path)


def test_a_bad_feeds_store_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDS_STORE", "postgresql://")
    with pytest.raises(ConfigError, match=r"^FEEDS_STORE: the database URL names neither"):
        load_config(tmp_path)
