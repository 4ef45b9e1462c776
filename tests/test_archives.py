"""Complete history (RFC 5005): every feed's prev-archive chain gives all its entries once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from atomcheck import assert_valid_atom
from feedparser import FeedParserDict
from lxml import etree

from feeds import build, load_config
from feeds.model import Listing
from feeds.publish.archives import History, archive_links, plan_archives
from feeds.publish.select import plan_feeds

ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"
SITE = "http://127.0.0.1:8080/"


def _article(project: Path, n: int, day: str, tags: str = "[grid]", lang: str = "en") -> None:
    body = ("An English report on the grid, number {n}." if lang == "en"
            else "关于电网的中文报道，第{n}篇。").format(n=n)
    (project / "sources" / "articles" / f"a{n:02d}.md").write_text(
        f"---\ntitle: Report {n}\ndate: {day}\ntags: {tags}\n---\n{body}\n", encoding="utf-8")


def _links(path: Path) -> dict[str, str]:
    root = etree.parse(str(path)).getroot()
    return {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}


def _file(output: Path, url: str) -> Path:
    assert url.startswith(SITE), url
    return output / unquote(urlsplit(url).path.removeprefix("/"))


def _walk(output: Path, feed: str) -> tuple[FeedParserDict, list[list[str]]]:
    """The feed and the ids of each archive document reached through prev-archive, newest first."""
    current = output / feed
    parsed = assert_valid_atom(current)
    chain: list[list[str]] = []
    seen: set[Path] = set()
    link = _links(current).get("prev-archive")
    while link is not None:
        archive = _file(output, link)
        assert archive not in seen, f"{archive} is reached twice"
        seen.add(archive)
        document = assert_valid_atom(archive)
        root = etree.parse(str(archive)).getroot()
        assert root.find(f"{FH}archive") is not None, f"{archive} is not marked fh:archive"
        links = _links(archive)
        assert links["current"] == SITE + feed
        chain.append([e.id for e in document.entries])
        older = links.get("prev-archive")
        if older is not None:
            assert _links(_file(output, older))["next-archive"] == link  # linked both ways
        link = older
    return parsed, chain


def test_walking_prev_archive_from_any_feed_gives_every_entry_once(project: Path) -> None:
    (project / "feeds.toml").write_text("archives = true\nentries_per_feed = 3\n",
                                        encoding="utf-8")
    for n in range(12):
        # Over three years, some months empty, some with several articles.
        day = f"{2022 + n // 5}-{1 + (n * 5) % 12:02d}-{1 + n:02d}"
        _article(project, n, day, "[grid, solar]" if n % 3 == 0 else "[grid]",
                 "zh" if n % 4 == 0 else "en")
    build(load_config(project), fetch=False)
    out = project / "output"
    everything = {f"tag:127.0.0.1,2024:a{n:02d}" for n in range(12)}
    expected = {
        "all.atom": everything,
        "tags/grid.atom": everything,
        "tags/solar.atom": {f"tag:127.0.0.1,2024:a{n:02d}" for n in range(0, 12, 3)},
        "lang/zh.atom": {f"tag:127.0.0.1,2024:a{n:02d}" for n in range(0, 12, 4)},
        "lang/en.atom": {f"tag:127.0.0.1,2024:a{n:02d}" for n in range(12) if n % 4},
    }
    for feed, ids in expected.items():
        parsed, chain = _walk(out, feed)
        assert len(parsed.entries) == min(3, len(ids))
        archived = [entry_id for document in chain for entry_id in document]
        assert sorted(archived) == sorted(ids), feed  # none missing, none twice
        assert len(chain) > 1, feed


def test_a_new_entry_rewrites_only_the_current_documents(project: Path) -> None:
    (project / "feeds.toml").write_text("archives = true\nentries_per_feed = 2\n",
                                        encoding="utf-8")
    for n in range(6):
        _article(project, n, f"2024-0{n + 1}-10", "[grid]" if n % 2 else "[solar]")
    config = load_config(project)
    build(config, fetch=False)
    out = project / "output"
    again = build(config, fetch=False)
    assert not [p for p in again.report.written if p.startswith("archive/")]
    before = {p: p.stat().st_mtime_ns for p in (out / "archive").rglob("*.atom")}
    _article(project, 6, "2024-06-20", "[grid]")  # the newest month, June
    written = set(build(config, fetch=False).report.written)
    archives = {p for p in written if p.startswith("archive/")}
    assert archives == {"archive/all/2024/06.atom", "archive/lang/en/2024/06.atom",
                        "archive/tags/grid/2024/06.atom"}
    after = {p: p.stat().st_mtime_ns for p in (out / "archive").rglob("*.atom")}
    changed = {p.relative_to(out).as_posix() for p in after if after[p] != before.get(p)}
    assert changed == archives
    # A new month opens a document and rewrites the one before it (its next-archive).
    _article(project, 7, "2024-07-01", "[solar]")
    written = {p for p in build(config, fetch=False).report.written if p.startswith("archive/")}
    assert written == {"archive/all/2024/06.atom", "archive/all/2024/07.atom",
                       "archive/lang/en/2024/06.atom", "archive/lang/en/2024/07.atom",
                       "archive/tags/solar/2024/05.atom", "archive/tags/solar/2024/07.atom"}
    assert _links(out / "all.atom")["prev-archive"] == SITE + "archive/all/2024/07.atom"


def test_archives_off_removes_them_and_the_links(project: Path) -> None:
    (project / "feeds.toml").write_text("archives = true\n", encoding="utf-8")
    _article(project, 1, "2024-01-10")
    build(load_config(project), fetch=False)
    assert (project / "output" / "archive" / "all" / "2024" / "01.atom").is_file()
    (project / "feeds.toml").write_text("archives = false\n", encoding="utf-8")
    result = build(load_config(project), fetch=False)
    assert not (project / "output" / "archive").exists()
    assert "archive/all/2024/01.atom" in result.report.removed
    assert "prev-archive" not in _links(project / "output" / "all.atom")


def test_plan_links_months_that_have_entries_in_order() -> None:
    def listing(n: int, when: datetime) -> Listing:
        return Listing(f"e{n}", when, ("en",), ("t",))

    entries = [listing(1, datetime(999, 12, 31, tzinfo=UTC)), listing(2, datetime(2024, 1, 5, tzinfo=UTC)),
               listing(3, datetime(2024, 1, 20, tzinfo=UTC)), listing(4, datetime(2024, 3, 1, tzinfo=UTC))]
    config = load_config(Path(__file__).parent)
    [everything, *_] = plan_feeds(entries, config)
    archives, history = plan_archives([everything], entries)
    by_month = {a.month: (a.history, [e.id for e, _ in picks]) for a, picks in archives.items()}
    assert list(by_month) == ["0999-12", "2024-01", "2024-03"]
    assert by_month["2024-01"] == (History("archive/all/0999/12.atom", "archive/all/2024/03.atom",
                                           "all.atom"), ["e3", "e2"])
    assert by_month["0999-12"][0].prev is None and by_month["2024-03"][0].next is None
    assert history[everything] == History(prev="archive/all/2024/03.atom")
    assert list(archive_links(by_month["2024-01"][0])) == ["current", "prev-archive", "next-archive"]


@pytest.mark.parametrize("value", ['"yes"', "1"])
def test_archives_is_true_or_false(tmp_path: Path, value: str) -> None:
    from feeds import ConfigError

    (tmp_path / "feeds.toml").write_text(f"archives = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'archives' must be true or false"):
        load_config(tmp_path)
