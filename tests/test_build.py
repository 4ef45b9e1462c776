"""Publishing: `build` on real files, every feed read back and schema-checked."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urljoin

import pytest
from atomcheck import assert_valid_atom, served_url
from conftest import REPO, add_fixture, child_env
from feedcheck import assert_valid_feed
from filemodes import obey_file_modes, read_only_is_enforced

from feeds import build
from feeds.config import load_config
from feeds.errors import OutputError
from feeds.local.scan import MAX_ARTICLE_BYTES, read_bounded


def _atom_files(output: Path) -> list[Path]:
    return sorted(output.rglob("*.atom"))


def _feed_files(output: Path) -> list[Path]:
    """Every feed written, in each of its formats."""
    return sorted(p for suffix in ("atom", "rss", "json") for p in output.rglob(f"*.{suffix}"))


def _snapshot(output: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(output).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(output.rglob("*")) if p.is_file()
    }


def test_shipped_articles_build_valid_feeds(shipped_project: Path) -> None:
    config = load_config(shipped_project)
    result = build(config, fetch=False)
    assert not result.problems
    output = shipped_project / "output"
    paths = {p.relative_to(output).as_posix() for p in _atom_files(output)}
    assert {"all.atom", "lang/zh.atom", "lang/en.atom"} <= paths
    assert any(p.startswith("tags/") for p in paths)
    articles = len(list((shipped_project / "sources" / "articles").iterdir()))
    everything = assert_valid_atom(output / "all.atom")
    assert len(everything.entries) == articles == result.entries
    for path in _atom_files(output):
        assert_valid_atom(path)
    zh = assert_valid_atom(output / "lang" / "zh.atom")
    en = assert_valid_atom(output / "lang" / "en.atom")
    assert zh.feed.language == "zh" and en.feed.language == "en"
    # Every bilingual article appears in both language feeds, with different ids.
    assert len(zh.entries) + len(en.entries) > articles
    assert not {e.id for e in zh.entries} & {e.id for e in en.entries if e.id.endswith("/en")}


def test_bilingual_fixture_splits_into_language_feeds(project: Path) -> None:
    add_fixture(project, "bilingual.md", "only-required.md")
    build(load_config(project), fetch=False)
    out = project / "output"
    zh = assert_valid_atom(out / "lang" / "zh.atom")
    en = assert_valid_atom(out / "lang" / "en.atom")
    [zh_entry] = zh.entries
    assert zh_entry.id == "tag:127.0.0.1,2024:bilingual"
    en_ids = {e.id for e in en.entries}
    assert "tag:127.0.0.1,2024:bilingual/en" in en_ids
    en_entry = next(e for e in en.entries if e.id.endswith("bilingual/en"))
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en_entry.title)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh_entry.title)
    # The all feed carries the article once, as its first (Chinese) variant,
    # and links the English translation with hreflang.
    everything = assert_valid_atom(out / "all.atom")
    bilingual = [e for e in everything.entries if "bilingual" in e.id]
    assert [e.id for e in bilingual] == ["tag:127.0.0.1,2024:bilingual"]
    # Its link is its own page; the English page and the original are linked beside it.
    links = bilingual[0].links
    assert any(ln.get("hreflang") == "en" and ln.href.endswith("/entries/bilingual.en.html")
               for ln in links)
    assert bilingual[0].link == "http://127.0.0.1:8080/entries/bilingual.zh.html"
    assert any(ln.rel == "related" and ln.href == "https://news.example.org/grid/drone-inspection"
               for ln in links)
    tech = assert_valid_atom(out / "tags" / "technology.atom")
    assert [e.id for e in tech.entries] == ["tag:127.0.0.1,2024:bilingual"]
    assert [t.term for t in tech.entries[0].tags] == ["technology"]


def test_seed_shaped_digest_in_a_fresh_project(project: Path) -> None:
    """A digest in the seed article's shape gives a Chinese and an English variant."""
    add_fixture(project, "digest-shape.txt")
    result = build(load_config(project), fetch=False)
    assert not result.problems
    out = project / "output"
    [zh] = assert_valid_atom(out / "lang" / "zh.atom").entries
    [en] = assert_valid_atom(out / "lang" / "en.atom").entries
    assert zh.title == "港口城市试行夜间无人驾驶货运巴士"
    # The title is Chinese, so the English variant takes the description.
    assert en.title.startswith("A port city lets driverless freight buses")
    assert "Summary" in en.content[0].value and "港务局" not in en.content[0].value
    assert "港务局" in zh.content[0].value and "Summary" not in zh.content[0].value
    link = "https://news.example.net/transport/2025/10/night-freight-buses"
    # Each variant links its own page, and the original article beside it.
    assert zh.link.endswith(".zh.html") and en.link.endswith(".en.html")
    assert [ln.href for ln in zh.links if ln.rel == "related"] == [link]
    assert [ln.href for ln in en.links if ln.rel == "related"] == [link]
    assert zh.published == en.published == "2025-10-09T21:14:07.302000+00:00"
    assert len(assert_valid_atom(out / "tags" / "technology.atom").entries) == 1


def test_entry_fields(project: Path) -> None:
    add_fixture(project, "bilingual.md")
    build(load_config(project), fetch=False)
    feed = assert_valid_atom(project / "output" / "all.atom")
    assert feed.feed.id.startswith("tag:127.0.0.1,2024:feed/all")
    assert any(ln.rel == "self" and ln.href == "http://127.0.0.1:8080/all.atom"
               for ln in feed.feed.links)
    [entry] = feed.entries
    assert entry.published.endswith("+00:00") and entry.updated.endswith("+00:00")
    assert feed.feed.updated == entry.updated
    assert entry.author
    assert entry.summary
    assert entry.content[0].type == "text/html"


def test_no_change_rebuild_touches_nothing(shipped_project: Path) -> None:
    config = load_config(shipped_project)
    build(config, fetch=False)
    before = _snapshot(shipped_project / "output")
    result = build(config, fetch=False)
    assert result.report is not None and result.report.written == ()
    assert _snapshot(shipped_project / "output") == before


def test_build_is_the_same_in_a_fresh_checkout(shipped_project: Path, tmp_path: Path) -> None:
    build(load_config(shipped_project), fetch=False)
    other = tmp_path / "other"
    shutil.copytree(shipped_project / "sources", other / "sources")
    build(load_config(other), fetch=False)
    first = {k: v[0] for k, v in _snapshot(shipped_project / "output").items()}
    second = {k: v[0] for k, v in _snapshot(other / "output").items()}
    assert first == second


def test_feeds_without_entries_are_removed(project: Path) -> None:
    add_fixture(project, "bilingual.md", "only-required.md")
    config = load_config(project)
    build(config, fetch=False)
    assert (project / "output" / "tags" / "technology.atom").is_file()
    (project / "sources" / "articles" / "bilingual.md").unlink()
    result = build(config, fetch=False)
    assert result.report is not None
    assert "tags/technology.atom" in result.report.removed
    assert "lang/zh.atom" in result.report.removed
    assert not (project / "output" / "tags").exists()
    assert_valid_atom(project / "output" / "all.atom")


def test_bad_articles_do_not_stop_the_build(project: Path) -> None:
    add_fixture(project, "bad-yaml.md", "no-title.md", "bad-date.md", "binary.md",
                "dup-a.md", "dup-b.md", "only-required.md")
    result = build(load_config(project), fetch=False)
    assert len(result.problems) == 5
    assert result.entries == 2
    feed = assert_valid_atom(project / "output" / "all.atom")
    assert len(feed.entries) == 2
    assert not list((project / "output").rglob(".feeds-tmp-*"))


def test_a_file_too_large_for_an_article_is_left_out_without_being_read_whole(
        project: Path) -> None:
    """A data file or a log among the articles (.txt is an article suffix) is no article:
    reading it whole would cost a worker its size in memory, and Markdown its time."""
    add_fixture(project, "only-required.md")
    folder = project / "sources" / "articles"
    line = "A long line of a log that someone saved among the articles.\n"
    (folder / "server.log.txt").write_text(line * (9 * 2**20 // len(line)), encoding="utf-8")
    config = load_config(project)
    result = build(config, fetch=False)
    assert [(p.where, p.reason) for p in result.problems] == [(
        "sources/articles/server.log.txt:1",
        "larger than the 8 MB an article may hold (a data file or a log?): left out")]
    assert [e.title for e in assert_valid_atom(project / "output" / "all.atom").entries] == [
        "Only the required fields"]
    # An article that grows past the limit after it was read is left out as well.
    (folder / "server.log.txt").unlink()
    grown = folder / "notes.md"
    grown.write_text("---\ntitle: Notes\ndate: 2025-03-01T08:00:00Z\n---\nShort.\n",
                     encoding="utf-8")
    assert build(config, fetch=False).problems == ()
    with grown.open("a", encoding="utf-8") as fh:
        fh.write(line * (9 * 2**20 // len(line)))
    assert [p.where for p in build(config, fetch=False).problems] == ["sources/articles/notes.md:1"]


def test_a_bounded_read_gives_the_whole_file_up_to_one_byte_past_the_limit(
        tmp_path: Path) -> None:
    """The read asks for what the file's size says, and goes on while the file gives more:
    a file that grew since, or one whose size says nothing, is still read to the limit."""
    small = tmp_path / "a.md"
    small.write_bytes(b"---\ntitle: A\n---\nText.\n")
    assert read_bounded(str(small)) == small.read_bytes()
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    assert read_bounded(str(empty)) == b""
    exact = tmp_path / "exact.txt"
    exact.write_bytes(b"x" * MAX_ARTICLE_BYTES)
    assert len(read_bounded(str(exact))) == MAX_ARTICLE_BYTES
    over = tmp_path / "over.txt"
    over.write_bytes(b"y" * (MAX_ARTICLE_BYTES + 4096))
    assert read_bounded(str(over)) == b"y" * (MAX_ARTICLE_BYTES + 1)
    # The kernel's status file has a size of 0 and a page of text.
    status = read_bounded("/proc/self/status")
    assert status.startswith(b"Name:") and b"\nPid:" in status
    with pytest.raises(IsADirectoryError):
        read_bounded(str(tmp_path))


def test_hostile_tags_stay_inside_output_and_merge(project: Path) -> None:
    add_fixture(project, "escape-tags.md")
    build(load_config(project), fetch=False)
    out = project / "output"
    tag_files = sorted(p.name for p in (out / "tags").iterdir() if p.suffix == ".atom")
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())
    # One file per distinct tag: Tech and tech are one feed, tags without
    # letters get a hashed name, and nothing lands outside tags/.
    assert tag_files == ["a-b.atom", "etc.atom", "tag-3a52ce7809.atom", "tag-9d891e731f.atom",
                         "tech.atom", "x.atom", "科技.atom"]
    [entry] = assert_valid_atom(out / "tags" / "tech.atom").entries
    assert [t.term for t in entry.tags].count("tech") == 1
    assert not (project / "x.atom").exists() and not (project / "etc.atom").exists()
    # Each tag feed in every format and its page, and nothing else.
    assert sorted(p.name for p in (out / "tags").iterdir()) == sorted(
        name.removesuffix(".atom") + suffix for name in tag_files
        for suffix in (".atom", ".html", ".json", ".rss"))


def test_custom_feeds_and_config(project: Path) -> None:
    add_fixture(project, "bilingual.md", "only-required.md")
    (project / "feeds.toml").write_text(
        'title = "Digest"\nbase_url = "https://example.org/feeds"\nentries_per_feed = 1\n'
        '[[custom]]\nname = "tech-zh"\ntitle = "Technology in Chinese"\n'
        'lang = "zh"\ntags = ["technology"]\n',
        encoding="utf-8",
    )
    build(load_config(project), fetch=False)
    out = project / "output"
    custom = assert_valid_atom(out / "custom" / "tech-zh.atom")
    assert custom.feed.title == "Technology in Chinese"
    assert custom.feed.language == "zh"
    assert len(custom.entries) == 1
    everything = assert_valid_atom(out / "all.atom")
    assert len(everything.entries) == 1  # entries_per_feed
    assert everything.entries[0].id.startswith("tag:example.org,2024:")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'type="application/atom+xml"' in index and "custom/tech-zh.atom" in index
    opml = (out / "feeds.opml").read_text(encoding="utf-8")
    assert "https://example.org/feeds/custom/tech-zh.atom" in opml


def test_index_and_opml_list_every_feed(shipped_project: Path) -> None:
    """Every feed in every format is in the OPML, found by autodiscovery and linked from the index."""
    from lxml import etree

    build(load_config(shipped_project), fetch=False)
    out = shipped_project / "output"
    feeds = {p.relative_to(out).as_posix() for p in _feed_files(out)}
    opml = etree.parse(str(out / "feeds.opml"))
    urls = {o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")}
    # Links to files with non-ASCII names (tags/科技.atom) are percent-encoded URIs.
    assert {"tags/科技.atom", "tags/科技.rss", "tags/科技.json"} <= feeds
    assert urls == {served_url("http://127.0.0.1:8080/", f) for f in feeds}
    # A folder per format, each holding that format's feeds.
    for folder in opml.find("body"):
        suffix = {"Atom feeds": ".atom", "RSS feeds": ".rss", "JSON Feed feeds": ".json"}[
            folder.get("text")]
        assert len(folder) and all(o.get("xmlUrl").endswith(suffix) for o in folder)
    page = etree.parse(str(out / "index.html"), etree.HTMLParser())
    types = {".atom": "application/atom+xml", ".rss": "application/rss+xml",
             ".json": "application/feed+json"}
    discovered = {(a.get("type"), a.get("href")) for a in page.iter("link") if a.get("rel") == "alternate"}
    assert discovered == {(types[Path(url).suffix], url) for url in urls}
    listed = {urljoin("http://127.0.0.1:8080/", a.get("href")) for a in page.iter("a")}
    assert urls <= listed  # beside the pages of feeds and entries
    assert all(href.isascii() for href in urls | listed)


def test_unwritable_output_is_a_clear_error_and_keeps_old_feeds(project: Path) -> None:
    add_fixture(project, "only-required.md")
    config = load_config(project)
    build(config, fetch=False)
    before = _snapshot(project / "output")
    add_fixture(project, "bilingual.md")
    (project / "output").chmod(0o555)
    # The library call runs in a child that obeys file modes even as root.
    script = (
        "import sys\n"
        "from feeds import build\n"
        "from feeds.config import load_config\n"
        "from feeds.errors import OutputError\n"
        "try:\n"
        "    build(load_config(sys.argv[1]), fetch=False)\n"
        "except OutputError as error:\n"
        "    print(error)\n"
        "    sys.exit(3)\n"
    )
    try:
        assert read_only_is_enforced(project / "output")
        result = subprocess.run([sys.executable, "-c", script, str(project)], cwd=REPO,
                                preexec_fn=obey_file_modes, capture_output=True, text=True,
                                timeout=120, check=False)
    finally:
        (project / "output").chmod(0o755)
    assert result.returncode == 3, result.stderr
    assert "cannot write" in result.stdout and str(project / "output") in result.stdout
    assert _snapshot(project / "output") == before


def test_output_that_is_a_file_is_a_clear_error(project: Path) -> None:
    add_fixture(project, "only-required.md")
    (project / "output").write_text("not a directory", encoding="utf-8")
    with pytest.raises(OutputError, match="cannot write the output directory"):
        build(load_config(project), fetch=False)



def test_incremental_rebuilds_equal_a_fresh_build(shipped_project: Path, tmp_path: Path) -> None:
    """Edits, deletions and additions rebuilt from the store give the bytes a fresh build gives."""
    config = load_config(shipped_project)
    build(config, fetch=False)
    articles = sorted((shipped_project / "sources" / "articles").iterdir())
    edited, removed = articles[0], articles[1]
    # The edit declares its time; an edit keeping its dates keeps them (see
    # test_incremental.py), as a fresh build, seeing only the file, must.
    text = edited.read_text(encoding="utf-8").replace("\nupdated:", "\nold-updated:")
    edited.write_text(text.replace("title:", "updated: 2026-01-02T03:04:05Z\ntitle: Edited", 1)
                      + "\nOne more line.\n", encoding="utf-8")
    removed.unlink()
    add_fixture(shipped_project, "bilingual.md", "draft.md")
    result = build(config, fetch=False)
    assert result.report is not None and "all.atom" in result.report.written
    fresh = tmp_path / "fresh"
    shutil.copytree(shipped_project / "sources", fresh / "sources")
    build(load_config(fresh), fetch=False)
    mine = {k: v[0] for k, v in _snapshot(shipped_project / "output").items()}
    theirs = {k: v[0] for k, v in _snapshot(fresh / "output").items()}
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert mine[name] == theirs[name], name
    for path in _atom_files(shipped_project / "output"):
        assert_valid_atom(path)


def test_an_output_file_changed_by_hand_is_written_again(shipped_project: Path) -> None:
    config = load_config(shipped_project)
    build(config, fetch=False)
    feed = shipped_project / "output" / "all.atom"
    good = feed.read_bytes()
    feed.write_bytes(good.replace(b"<feed", b"<!-- edited --><feed", 1))
    result = build(config, fetch=False)
    assert result.report is not None and result.report.written == ("all.atom",)
    assert feed.read_bytes() == good


def _write_brief(folder: Path, number: int, day: int, *, zh: bool, en: bool,
                 tags: tuple[str, ...], extra: str = "") -> Path:
    """An article dated `day` of 2025, in Chinese, English or both (a break between)."""
    sections = []
    if zh:
        sections.append(f"第{number}号简报：这座储能电站在用电高峰时段向电网输送电力，运行平稳。")
    if en:
        sections.append(f"Brief {number}: the storage plant fed the grid at peak hours and ran smoothly.")
    path = folder / f"brief-{number:03}.md"
    path.write_text(
        f"---\ntitle: Brief {number}\ndate: 2025-{1 + day // 28:02}-{1 + day % 28:02}T08:00:00Z\n"
        f"tags: [{', '.join(tags)}]\n{extra}---\n" + "\n\n---\n\n".join(sections) + "\n",
        encoding="utf-8")
    return path


def _assert_feeds_of_every_article(project: Path) -> None:
    """The built feeds are byte for byte those rendered from every article parsed."""
    from feeds.local.read import read_articles
    from feeds.publish.outputs import render_all

    config = load_config(project)
    expected = {f.path: f.data for f in render_all(read_articles(config).entries, config)}
    output = project / "output"
    built = {p.relative_to(output).as_posix(): p.read_bytes() for p in _feed_files(output)}
    assert built.keys() == expected.keys()
    for name, data in built.items():
        assert data == expected[name], name
        assert_valid_feed(output / name)


def test_only_articles_a_feed_can_show_are_parsed_yet_the_feeds_are_those_of_all(
    backend: str, project: Path,
) -> None:
    from feeds.pipeline import open_store
    from feeds.store import LOCAL

    folder = project / "sources" / "articles"
    # Without pages: with them every article has a page, so every one is parsed.
    (project / "feeds.toml").write_text(
        'entries_per_feed = 3\nmin_tag_entries = 4\npages = false\n'
        '[[custom]]\nname = "grid-en"\ntitle = "Grid, in English"\nlang = "en"\ntags = ["grid"]\n',
        encoding="utf-8")
    # Brief n is dated day n. The newest ten are Chinese only, so the English
    # feeds must reach far back, past articles nothing else shows.
    for n in range(60):
        tags = ("grid",) if n % 2 else ("storage", "grid") if n % 7 == 0 else ("storage",)
        _write_brief(folder, n, n, zh=n % 3 != 1 or n >= 50, en=n % 3 != 0 and n < 50,
                     tags=("wind",) if n in (3, 6, 9, 12) else tags)
    # Rare: used by fewer articles than min_tag_entries, so it has no feed.
    _write_brief(folder, 70, 5, zh=True, en=False, tags=("rare",))
    # A broken article that no feed would show is reported all the same.
    (folder / "brief-071.md").write_text("---\ntitle: Old\ndate: 2024-01-01\ntags: 5\n---\nx\n",
                                         encoding="utf-8")
    config = load_config(project)
    first = build(config, fetch=False)
    assert [str(p) for p in first.problems] == [
        "sources/articles/brief-071.md:4: 'tags' must be a list of tags, not a int"]
    assert first.entries == 61  # every article is published...
    with open_store(config) as store:
        stored = store.count_entries(LOCAL)
        assert len(store.article_cache()) == 61
    assert stored < 30  # ...but few are parsed and stored
    _assert_feeds_of_every_article(project)
    out = project / "output"
    assert not (out / "tags" / "rare.atom").exists()
    assert len(assert_valid_atom(out / "tags" / "wind.atom").entries) == 3  # of 4: enough
    assert len(assert_valid_atom(out / "custom" / "grid-en.atom").entries) == 3

    # The newest articles go, an old one is moved to the front, another turns
    # English: articles never parsed before now enter the feeds.
    for n in range(52, 60):
        (folder / f"brief-{n:03}.md").unlink()
    _write_brief(folder, 3, 200, zh=True, en=True, tags=("storage",))
    _write_brief(folder, 51, 52, zh=False, en=True, tags=("storage",))
    again = build(config, fetch=False)
    assert again.entries == 53 and len(again.problems) == 1
    _assert_feeds_of_every_article(project)
    # Its Chinese variant, first, is titled from its own first sentence:
    # "Brief 3" is no title for the Chinese feed.
    assert assert_valid_atom(out / "all.atom").entries[0].title == (
        "第3号简报：这座储能电站在用电高峰时段向电网输送电力，运行平稳")
    assert assert_valid_atom(out / "lang" / "en.atom").entries[0].title == "Brief 3"

    # A declared language that is not configured gets no feed of its own;
    # the article is in the others, saying its language.
    _write_brief(folder, 80, 300, zh=True, en=False, tags=("storage",), extra="lang: fr\n")
    build(config, fetch=False)
    _assert_feeds_of_every_article(project)
    assert not (out / "lang" / "fr.atom").exists()
    [french] = [e for e in assert_valid_atom(out / "tags" / "storage.atom").entries
                if e.title == "Brief 80"]
    assert french.title_detail.language == "fr"


@pytest.mark.parametrize(("unreadable", "says"), [
    ("sources/articles/news", "sources/articles/news: cannot read this folder (Permission denied)"),
    ("sources/articles/news/a.md", "sources/articles/news/a.md:1: cannot read file: Permission denied"),
])
def test_an_unreadable_article_or_folder_keeps_what_was_published(
    project: Path, unreadable: str, says: str
) -> None:
    """Articles out of sight for a while (permissions, a mount) are not deleted from the feeds."""
    articles = project / "sources" / "articles"
    (articles / "news").mkdir()
    shutil.copy(REPO / "tests" / "data" / "articles" / "bilingual.md", articles / "news" / "a.md")
    add_fixture(project, "only-required.md")
    build(load_config(project), fetch=False)
    before = _snapshot(project / "output")
    assert len(assert_valid_atom(project / "output" / "all.atom").entries) == 2
    add_fixture(project, "draft.md")  # a change, so the build does run
    (project / unreadable).chmod(0)
    try:
        result = subprocess.run([sys.executable, "-m", "feeds", "build"], cwd=project,
                                env=child_env(), preexec_fn=obey_file_modes,
                                capture_output=True, text=True, timeout=120, check=False)
    finally:
        (project / unreadable).chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(project / "output") == before
    # Readable again, nothing was lost and nothing is reported.
    assert not build(load_config(project), fetch=False).problems
    assert len(assert_valid_atom(project / "output" / "all.atom").entries) == 2


def _article(project: Path, name: str, front: str) -> None:
    (project / "sources" / "articles" / name).write_text(
        f"---\n{front}date: 2025-03-01T08:00:00Z\n---\nThe grid stored more power this spring.\n",
        encoding="utf-8")


def test_ids_and_self_links_of_non_ascii_names_are_valid_uris(project: Path) -> None:
    """Non-ASCII tags and file names give percent-encoded ids and links; ASCII ones keep theirs."""
    import socket

    import httpx

    from feeds.serve import Server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    base = f"http://127.0.0.1:{port}/"
    (project / "feeds.toml").write_text(f'base_url = "{base}"\n', encoding="utf-8")
    _article(project, "储能 新闻.md", "title: Storage news\ntags: [科技, grid]\n")
    _article(project, "iri.md", "title: An IRI id\nid: https://example.org/文章/一\n")
    _article(project, "plain-news.md", "title: Plain\nid: urn:example:plain\n")
    _article(project, "ascii.md", "title: Ascii\ntags: [grid]\n")
    config = load_config(project)
    build(config, fetch=False)
    out = project / "output"
    ids = {e.title: e.id for e in assert_valid_atom(out / "all.atom").entries}
    assert ids == {
        "Storage news": f"tag:127.0.0.1,2024:{quote('储能-新闻')}",
        "An IRI id": "https://example.org/%E6%96%87%E7%AB%A0/%E4%B8%80",
        "Plain": "urn:example:plain",  # valid ids never change
        "Ascii": "tag:127.0.0.1,2024:ascii",
    }
    tag = assert_valid_atom(out / "tags" / "科技.atom")
    assert tag.feed.id == "tag:127.0.0.1,2024:feed/tags/%E7%A7%91%E6%8A%80"
    assert assert_valid_atom(out / "tags" / "grid.atom").feed.id == "tag:127.0.0.1,2024:feed/tags/grid"
    # Each feed's self link, fetched from `feeds serve`'s application, gives the feed itself.
    server = Server(config, lambda: {"status": "ok"}, "127.0.0.1", port)
    server.start()
    try:
        for path in sorted(out.rglob("*.atom")):
            [self_link] = [link.href for link in assert_valid_atom(path).feed.links
                           if link.rel == "self"]
            assert self_link.isascii()
            response = httpx.get(self_link, timeout=5)
            assert response.status_code == 200, self_link
            assert response.content == path.read_bytes()
            assert_valid_atom(response.content, url=self_link)
    finally:
        server.stop()


def test_an_internationalised_base_url_gives_ascii_self_links(project: Path) -> None:
    """A base_url written as an IRI still gives self links in the form a client fetches."""
    from lxml import etree

    (project / "feeds.toml").write_text('base_url = "https://例子.org/订阅/"\n', encoding="utf-8")
    _article(project, "a.md", "title: Storage news\ntags: [科技]\n")
    build(load_config(project), fetch=False)
    out = project / "output"
    site = "https://xn--fsqu00a.org/%E8%AE%A2%E9%98%85/"
    tag = assert_valid_atom(out / "tags" / "科技.atom")
    assert tag.feed.id == "tag:xn--fsqu00a.org,2024:feed/tags/%E7%A7%91%E6%8A%80"
    assert [link.href for link in tag.feed.links if link.rel == "self"] == [
        site + "tags/%E7%A7%91%E6%8A%80.atom"]
    opml = etree.parse(str(out / "feeds.opml"))
    assert {o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")} == {
        served_url(site, p.relative_to(out).as_posix()) for p in _feed_files(out)}


def test_feeds_written_under_older_rendering_rules_are_written_again(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build trusts a feed whose entries and settings are unchanged; new rendering rules
    (an entry's links in a new order) must still reach feeds written by the old ones."""
    import feeds.publish.outputs as outputs

    add_fixture(project, "bilingual.md", "only-required.md")
    config = load_config(project)
    build(config, fetch=False)
    feed = project / "output" / "all.atom"
    fresh = feed.read_bytes()
    # An older feeds: other rules, and a renderer that wrote other bytes.
    real = outputs.render_format
    monkeypatch.setattr(outputs, "_RENDERING", "older")
    monkeypatch.setattr(outputs, "render_format", lambda *args, **kw: real(*args, **kw).replace(
        b"</entry>", b"<!-- older rules --></entry>", 1))
    build(config, fetch=False)
    assert b"older rules" in feed.read_bytes()
    # Upgraded, with the rules' name left as it was: the feed is trusted as written.
    monkeypatch.setattr(outputs, "render_format", real)
    build(config, fetch=False)
    assert b"older rules" in feed.read_bytes(), "an unchanged feed is not rendered again"
    # With the new rules' name, it is written again.
    monkeypatch.undo()
    build(config, fetch=False)
    assert feed.read_bytes() == fresh
