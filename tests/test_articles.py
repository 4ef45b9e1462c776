"""The article reader: front matter, variants, links and reported problems."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from conftest import DATA, add_fixture

from feeds.config import Config, load_config
from feeds.local.article import parse_article
from feeds.local.pool import PARSE_POOL
from feeds.local.read import ToShow, read_articles
from feeds.publish.select import articles_to_show


def _config(root: Path) -> Config:
    return load_config(root)


def _to_show(config: Config) -> ToShow:
    """The pipeline's rule: only articles some feed could show are parsed whole."""
    return partial(articles_to_show, config=config)


def _parse(text: str, root: Path, rel: str = "a") -> object:
    return parse_article(text.encode("utf-8"), f"{rel}.md", rel, _config(root))


def test_bilingual_article_has_a_chinese_and_an_english_variant(tmp_path: Path) -> None:
    data = (DATA / "articles" / "bilingual.md").read_bytes()
    entry = parse_article(data, "bilingual.md", "bilingual", _config(tmp_path))
    assert entry is not None
    assert entry.languages == ("zh", "en")
    zh, en = entry.variants
    # The Chinese title belongs to the zh variant; the English one gets the description.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.title)
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en.title)
    assert "<hr" not in zh.content_html.split("\n")[-1]
    assert entry.tags == ("technology",)
    assert entry.link is not None and entry.link.startswith("http")
    assert entry.id == "tag:127.0.0.1,2024:bilingual"
    assert entry.published is not None and entry.published.tzinfo is not None


def test_seed_shaped_article_variants_and_titles(tmp_path: Path) -> None:
    text = """---
title: 新的电池工厂在内陆省份开工建设
date: 2025-05-02T10:00:00Z
description: A new battery plant breaks ground in an inland province
tags:
- energy
author: desk
---

[原文链接](https://news.example.org/battery-plant)

新的电池工厂在内陆省份开工建设，预计明年投产，将为当地提供数千个就业岗位。

---

 **Summary**

- A new battery plant broke ground in an inland province and should start production next year.

[Source Link](https://news.example.org/battery-plant)
"""
    entry = _parse(text, tmp_path, "battery")
    assert entry.languages == ("zh", "en")  # type: ignore[attr-defined]
    zh, en = entry.variants  # type: ignore[attr-defined]
    assert zh.title == "新的电池工厂在内陆省份开工建设"
    assert en.title == "A new battery plant breaks ground in an inland province"
    assert en.summary == "A new battery plant breaks ground in an inland province"
    assert zh.summary is None  # the description is English, so it is not the zh summary
    assert "<strong>Summary</strong>" in en.content_html
    assert "新的电池工厂" in zh.content_html and "新的电池工厂" not in en.content_html
    assert entry.link == "https://news.example.org/battery-plant"  # type: ignore[attr-defined]
    assert entry.authors == ("desk",)  # type: ignore[attr-defined]


def test_front_matter_lang_and_per_language_title(tmp_path: Path) -> None:
    text = """---
title: Only English here
title_zh: 只有英文
date: 2025-01-01
lang: en
link: https://example.com/x
---
Some text.
"""
    entry = _parse(text, tmp_path)
    assert entry.languages == ("en",)  # type: ignore[attr-defined]
    assert entry.link == "https://example.com/x"  # type: ignore[attr-defined]
    assert entry.published == datetime(2025, 1, 1, tzinfo=UTC)  # type: ignore[attr-defined]


def test_relative_links_become_absolute(tmp_path: Path) -> None:
    text = "---\ntitle: Links\ndate: 2025-01-01\n---\nSee [the page](notes/a.html) and ![x](/img.png).\n"
    entry = _parse(text, tmp_path)
    html = entry.variants[0].content_html  # type: ignore[attr-defined]
    assert 'href="http://127.0.0.1:8080/notes/a.html"' in html
    assert 'src="http://127.0.0.1:8080/img.png"' in html


def test_script_in_an_article_does_not_survive(tmp_path: Path) -> None:
    text = "---\ntitle: X\ndate: 2025-01-01\n---\nHi <script>alert(1)</script> [a](javascript:alert(1))\n"
    html = _parse(text, tmp_path).variants[0].content_html  # type: ignore[attr-defined]
    assert "<script" not in html and "javascript:" not in html


@pytest.mark.parametrize(
    ("name", "line", "reason"),
    [
        ("bad-yaml.md", 3, "not valid YAML"),
        ("no-title.md", 1, "missing required 'title'"),
        ("bad-date.md", None, "'yesterday' is not a date"),
        ("binary.md", None, "binary content"),
    ],
)
def test_bad_articles_are_reported_with_path_and_line(
    project: Path, name: str, line: int | None, reason: str
) -> None:
    add_fixture(project, name, "only-required.md")
    result = read_articles(_config(project))
    assert [e.origin for e in result.entries] == ["sources/articles/only-required.md"]
    [problem] = result.problems
    path, _, number = problem.where.rpartition(":")
    assert path == f"sources/articles/{name}"
    if line is not None:
        assert int(number) == line
    assert reason in problem.reason


def test_bad_date_names_the_date_line(project: Path) -> None:
    add_fixture(project, "bad-date.md")
    [problem] = read_articles(_config(project)).problems
    text = (project / "sources/articles/bad-date.md").read_text(encoding="utf-8")
    expected = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("date:"))
    assert problem.where == f"sources/articles/bad-date.md:{expected}"


def test_duplicate_ids_keep_the_first_and_report_the_second(project: Path) -> None:
    add_fixture(project, "dup-a.md", "dup-b.md")
    result = read_articles(_config(project))
    assert [e.origin for e in result.entries] == ["sources/articles/dup-a.md"]
    [problem] = result.problems
    assert problem.where.startswith("sources/articles/dup-b.md:")
    assert "already used by sources/articles/dup-a.md" in problem.reason


def test_an_id_taken_by_an_earlier_file_moves_back_when_that_file_goes(project: Path) -> None:
    """Ownership follows path order in every build, whatever the store remembers."""
    from atomcheck import assert_valid_atom

    from feeds import build

    folder = project / "sources" / "articles"
    add_fixture(project, "dup-b.md")
    config = _config(project)
    build(config, fetch=False)  # dup-b.md alone: its id is its own, and it is stored
    add_fixture(project, "dup-a.md")  # earlier in path order: takes the id
    taken = build(config, fetch=False)
    assert [(p.where.split(":")[0], p.reason) for p in taken.problems] == [
        ("sources/articles/dup-b.md", "id 'tag:127.0.0.1,2024:same-id' is already used by "
                                      "sources/articles/dup-a.md")]
    [entry] = assert_valid_atom(project / "output" / "all.atom").entries
    assert entry.title == "The first claim to an id"
    (folder / "dup-a.md").unlink()
    back = build(config, fetch=False)
    assert back.problems == ()
    [entry] = assert_valid_atom(project / "output" / "all.atom").entries
    assert entry.title == "The second claim to an id"


def test_drafts_are_skipped(project: Path) -> None:
    add_fixture(project, "draft.md", "only-required.md")
    result = read_articles(_config(project))
    assert result.drafts == 1 and len(result.entries) == 1 and not result.problems


def test_article_with_only_required_fields_gets_the_site_author(project: Path) -> None:
    add_fixture(project, "only-required.md")
    [entry] = read_articles(_config(project)).entries
    assert entry.authors == ("feeds",)
    assert entry.tags == ()
    assert entry.languages == ("en",)


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("title: [a, b]\ndate: 2025-01-01", "'title' must be text"),
        ("title: x\ndate: 2025-01-01\ntags: 5", "'tags' must be a list"),
        ("title: x\ndate: 2025-01-01\nlink: ftp://x", r"'link' must be an absolute http\(s\) URL"),
        ("- just\n- a list", "front matter must be a mapping"),
        ("title: x", "missing required 'date'"),
    ],
)
def test_invalid_front_matter_values(tmp_path: Path, front: str, reason: str) -> None:
    from feeds.errors import ArticleError

    with pytest.raises(ArticleError, match=reason):
        _parse(f"---\n{front}\n---\nbody text\n", tmp_path)


@pytest.mark.parametrize("value", ["0000-0-0T0:00:00", "2025-13-01", "2025-02-30"])
def test_a_date_shaped_value_that_is_no_date_is_reported_on_its_line(
        tmp_path: Path, value: str) -> None:
    """YAML reads `dddd-d-d` as a date; one that is no date is the writer's to fix, not a crash."""
    from feeds.errors import ArticleError

    with pytest.raises(ArticleError) as info:
        _parse(f"---\ntitle: x\ndate: {value}\n---\nbody text\n", tmp_path)
    assert str(info.value).startswith("a.md:3: front matter is not valid YAML: ")
    assert f"{value!r} is not a date" in str(info.value)


@pytest.mark.parametrize("href", ["http://:!", "http://", "https:///path", "mailto:a@b.example"])
def test_a_source_link_that_leads_nowhere_is_not_published(tmp_path: Path, href: str) -> None:
    """Readers open an entry's link; one with no host would be an invalid `<link href>`."""
    entry = parse_article(f"---\ntitle: x\ndate: 2025-01-01\n---\nText. [原文链接]({href})\n"
                          .encode(), "a.md", "a", _config(tmp_path))
    assert entry is not None and entry.link is None


def test_a_source_link_is_published_as_a_valid_uri(tmp_path: Path) -> None:
    text = "---\ntitle: x\ndate: 2025-01-01\n---\nText. [Source](<https://news.example/a b?q=\"x\">)\n"
    entry = parse_article(text.encode(), "a.md", "a", _config(tmp_path))
    assert entry is not None and entry.link == "https://news.example/a%20b?q=%22x%22"


@pytest.mark.parametrize("link", ["http://:!", "https://", "/relative/path"])
def test_a_front_matter_link_that_leads_nowhere_is_reported(tmp_path: Path, link: str) -> None:
    from feeds.errors import ArticleError

    with pytest.raises(ArticleError) as info:
        _parse(f"---\ntitle: x\ndate: 2025-01-01\nlink: '{link}'\n---\nbody text\n", tmp_path)
    assert str(info.value) == (
        f"a.md:4: 'link' must be an absolute http(s) URL, not {link!r}")


def test_no_front_matter_is_reported(tmp_path: Path) -> None:
    from feeds.errors import ArticleError

    with pytest.raises(ArticleError, match="no front matter") as info:
        _parse("just text\n", tmp_path)
    assert str(info.value).startswith("a.md:1: ")


def test_unchanged_articles_are_not_parsed_again(project: Path) -> None:
    import os
    from dataclasses import replace

    add_fixture(project, "bilingual.md", "only-required.md", "draft.md")
    for path in (project / "sources" / "articles").iterdir():
        os.utime(path, ns=(10**18, 10**18))  # saved a while ago: its stat can be trusted
    config = _config(project)
    first = read_articles(config)
    names = {f"sources/articles/{n}" for n in ("bilingual.md", "only-required.md", "draft.md")}
    assert set(first.cache_updates) == names and set(first.present) == names
    cache = dict(first.cache_updates)
    # Saved just before it was read, a file may change again within the same
    # tick of the clock, keeping its stat: it is read (not parsed) next time.
    recent = read_articles(config, {**cache, "sources/articles/draft.md": replace(
        cache["sources/articles/draft.md"], mtime_ns=-1)}, to_show=_to_show(config))
    assert list(recent.cache_updates) == ["sources/articles/draft.md"] and recent.entries == ()
    second = read_articles(config, cache, to_show=_to_show(config))
    assert second.cache_updates == {} and second.entries == () and second.drafts == 1
    assert sorted(second.ids) == sorted(e.id for e in first.entries)
    edited = project / "sources" / "articles" / "only-required.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    third = read_articles(config, cache, to_show=_to_show(config))
    assert list(third.cache_updates) == ["sources/articles/only-required.md"]
    assert [e.origin for e in third.entries] == ["sources/articles/only-required.md"]
    # Touched without a change: read and hashed again, but not parsed.
    touched = project / "sources" / "articles" / "bilingual.md"
    os.utime(touched, ns=(1, 1))
    fourth = read_articles(config, cache, to_show=_to_show(config))
    assert [e.origin for e in fourth.entries] == ["sources/articles/only-required.md"]
    assert fourth.cache_updates["sources/articles/bilingual.md"].mtime_ns == 1
    (project / "feeds.toml").write_text('author = "someone else"\n', encoding="utf-8")
    changed = _config(project)
    fifth = read_articles(changed, cache, to_show=_to_show(changed))
    assert len(fifth.cache_updates) == 3
    assert {e.authors for e in fifth.entries} >= {("someone else",)}


def test_many_articles_parse_in_parallel_with_the_same_result(project: Path) -> None:
    folder = project / "sources" / "articles"
    for i in range(PARSE_POOL.pool_min + 10):
        body = "这是一篇关于城市交通的中文报道，内容足够长。\n\n---\n\nAn English summary of the report."
        (folder / f"a{i:03}.md").write_text(
            f"---\ntitle: 报道 {i}\ndate: 2025-01-01\n---\n{body}\n", encoding="utf-8")
    (folder / "zz-broken.md").write_text("---\ntitle: x\n---\nno date\n", encoding="utf-8")
    config = _config(project)
    result = read_articles(config)
    assert len(result.entries) == PARSE_POOL.pool_min + 10
    assert [p.where for p in result.problems] == ["sources/articles/zz-broken.md:1"]
    for entry in result.entries[:5] + result.entries[-5:]:
        path = project / entry.origin
        alone = parse_article(path.read_bytes(), entry.origin, path.stem, config)
        assert alone == entry
        assert entry.languages == ("zh", "en")


def _write_report(folder: Path, name: str, words: str) -> None:
    (folder / name).write_text(
        f"---\ntitle: Report {words}\ndate: 2025-01-01\n---\nA short English report, {words}.\n",
        encoding="utf-8")


def test_streamed_articles_cross_worker_batches_in_path_order(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With on_entry, every article is handed over once, in path order, across fresh pools."""
    # Small limits so that 90 files use the pool and three successive pools.
    monkeypatch.setattr(PARSE_POOL, "pool_min", 20)
    monkeypatch.setattr(PARSE_POOL, "files_per_worker", 15)
    folder = project / "sources" / "articles"
    for i in range(90):
        _write_report(folder, f"a{i:03}.md", f"number {i}")
    (folder / "a050-draft.md").write_text(
        "---\ntitle: Later\ndate: 2025-01-01\ndraft: true\n---\nNot yet.\n", encoding="utf-8")
    (folder / "a060-same-id.md").write_text(
        "---\ntitle: Copy\ndate: 2025-01-01\nid: a000\n---\nClaims another id.\n", encoding="utf-8")
    config = _config(project)
    kept = read_articles(config)
    handed: list[tuple[str, str, str]] = []
    streamed = read_articles(config, on_entry=lambda e, text, digest: handed.append(
        (e.id, text, digest)))
    assert streamed.entries == () and len(handed) == 90
    assert [h[0] for h in handed] == [e.id for e in kept.entries] == list(streamed.ids)
    assert [(h[1], h[2]) for h in handed] == [kept.encoded[e.id] for e in kept.entries]
    assert streamed.drafts == kept.drafts == 1
    assert [p.where for p in streamed.problems] == ["sources/articles/a060-same-id.md:4"]


def test_a_process_that_parsed_its_share_hands_further_articles_to_a_worker(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cmarkgfm leaks what it renders: a long-running process stops parsing in itself."""
    monkeypatch.setattr(PARSE_POOL, "files_per_worker", 3)
    monkeypatch.setattr(PARSE_POOL, "rendered_here", 0)
    folder = project / "sources" / "articles"
    for old in folder.iterdir():
        old.unlink()
    _write_report(folder, "a.md", "a")
    _write_report(folder, "b.md", "b")
    config = _config(project)
    first = read_articles(config)
    assert PARSE_POOL.rendered_here == 2
    _write_report(folder, "c.md", "c")
    _write_report(folder, "d.md", "d")
    second = read_articles(config, {**first.cache_updates}, to_show=_to_show(config))
    assert PARSE_POOL.rendered_here == 2  # c and d were parsed by a worker
    assert [e.origin for e in second.entries] == [
        "sources/articles/c.md", "sources/articles/d.md"]
    for entry in second.entries:
        path = project / entry.origin
        assert entry == parse_article(path.read_bytes(), entry.origin, path.stem, config)
    assert set(second.ids) == {e.id for e in first.entries} | {e.id for e in second.entries}


def test_one_read_starts_its_workers_once_for_the_heads_and_the_shown_articles(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers forked late would start as large as the reading process had grown."""
    import feeds.workers

    monkeypatch.setattr(PARSE_POOL, "pool_min", 20)
    monkeypatch.setattr(PARSE_POOL, "files_per_worker", 40)
    started: list[int] = []
    real = feeds.workers.worker_pool

    def counted(workers: int | None = None) -> object:
        started.append(workers or 0)
        return real(workers)

    monkeypatch.setattr(feeds.workers, "worker_pool", counted)
    folder = project / "sources" / "articles"
    for old in folder.iterdir():
        old.unlink()
    for i in range(30):
        _write_report(folder, f"a{i:03}.md", f"number {i}")
    config = _config(project)
    result = read_articles(config, to_show=_to_show(config))
    assert len(result.entries) == 30  # every head read, then every article parsed whole
    assert len(started) == 1
    # Beyond what the kept workers may render, fresh pools take the rest.
    for i in range(30, 120):
        _write_report(folder, f"a{i:03}.md", f"number {i}")
    started.clear()
    pools: list[object] = []
    running: list[int] = []  # pools not shut down when each new one started

    def watched(workers: int | None = None) -> object:
        running.append(sum(not getattr(p, "_shutdown_thread", True) for p in pools))
        pool = counted(workers)
        pools.append(pool)
        return pool

    monkeypatch.setattr(feeds.workers, "worker_pool", watched)
    more = read_articles(config, to_show=_to_show(config))
    assert len(more.entries) == 120 and len(started) > 1
    # The kept workers stopped before fresh ones started: never two sets at once.
    assert running == [0] * len(started)


def _children() -> list[int]:
    """The processes this one has started and not yet waited for, as Linux lists them."""
    found: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


def _sixty_and_a_broken(project: Path, broken: str) -> Path:
    """The project's articles folder holding sixty reports and one without a date, `broken`."""
    folder = project / "sources" / "articles"
    for old in folder.iterdir():
        old.unlink()
    for i in range(60):
        _write_report(folder, f"a{i:03}.md", f"number {i}")
    (folder / broken).write_text("---\ntitle: x\n---\nno date\n", encoding="utf-8")
    return folder


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="lists processes as Linux does")
def test_a_cold_read_forks_its_workers_before_listing_and_leaves_none_behind(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read without a cache starts its workers while this process is small, keeps them for
    the heads and the shown articles, and has stopped and waited for them when it returns."""
    import feeds.local.read
    import feeds.workers

    monkeypatch.setattr(PARSE_POOL, "pool_min", 20)
    # What earlier reads in this process rendered here must not send this one's few to workers.
    monkeypatch.setattr(PARSE_POOL, "rendered_here", 0)
    started: list[str] = []
    real_pool, real_list = feeds.workers.worker_pool, feeds.local.read.list_articles

    def pool(workers: int | None = None) -> object:
        started.append("workers")
        return real_pool(workers)

    def listing(*args: object) -> object:
        started.append("listing")
        return real_list(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(feeds.workers, "worker_pool", pool)
    monkeypatch.setattr(feeds.local.read, "list_articles", listing)
    folder = _sixty_and_a_broken(project, "a030-broken.md")
    before = _children()
    config = _config(project)
    cold = read_articles(config, to_show=_to_show(config))
    assert started == ["workers", "listing"], "the workers fork first, and serve the whole read"
    assert len(cold.entries) == 60
    assert [(p.where, p.reason) for p in cold.problems] == [
        ("sources/articles/a030-broken.md:1", "missing required 'date'")]
    assert _children() == before, "no worker is left running or unwaited for"
    # A read with a cache starts workers only when it has many files to read.
    started.clear()
    _write_report(folder, "a100.md", "new")
    warm = read_articles(config, {**cold.cache_updates}, to_show=_to_show(config))
    assert started == ["listing"] and [e.origin for e in warm.entries] == [
        "sources/articles/a100.md"]
    assert _children() == before


@pytest.mark.parametrize("stat_by", ["workers", "this process"])
def test_files_gone_before_their_stat_are_reported_whoever_stats_them(
    project: Path, monkeypatch: pytest.MonkeyPatch, stat_by: str
) -> None:
    """A cold read's idle workers stat the files listed; one gone by then is reported as when
    this process stats it, before the problems the reads meet, and nothing else changes."""
    import feeds.local.read

    monkeypatch.setattr(PARSE_POOL, "pool_min", 20 if stat_by == "workers" else 10**6)
    monkeypatch.setattr(PARSE_POOL, "rendered_here", 0)
    folder = _sixty_and_a_broken(project, "a005-broken.md")
    an_hour_ago = time.time_ns() - 3_600 * 10**9  # past the two seconds a stat is not trusted
    for i, path in enumerate(sorted(folder.iterdir())):
        os.utime(path, ns=(an_hour_ago + i, an_hour_ago + i))
    real_list, real_stat = feeds.local.read.list_articles, PARSE_POOL.stat
    stats: list[object] = []

    def listing(*args: object) -> object:
        listed = real_list(*args)  # type: ignore[arg-type]
        (folder / "a040.md").unlink()
        (folder / "a010.md").unlink()
        return listed

    def stat(paths: Sequence[str]) -> object:
        stats.append(real_stat(paths))
        return stats[-1]

    monkeypatch.setattr(feeds.local.read, "list_articles", listing)
    monkeypatch.setattr(PARSE_POOL, "stat", stat)
    config = _config(project)
    cold = read_articles(config, to_show=_to_show(config))
    assert (stats[0] is not None) == (stat_by == "workers")
    gone = "cannot read file: No such file or directory"
    assert [(p.where, p.reason) for p in cold.problems] == [
        ("sources/articles/a010.md:1", gone), ("sources/articles/a040.md:1", gone),
        ("sources/articles/a005-broken.md:1", "missing required 'date'")]
    assert (cold.files, len(cold.entries), len(cold.cache_updates)) == (61, 58, 58)
    for i in range(60):
        if i not in (10, 40):
            record = cold.cache_updates[f"sources/articles/a{i:03}.md"]
            st = (folder / f"a{i:03}.md").stat()
            assert (record.size, record.mtime_ns) == (st.st_size, st.st_mtime_ns)
