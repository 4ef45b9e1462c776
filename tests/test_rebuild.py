"""Rebuilds that look only at what changed since the last sync: each gives what a fresh build gives.

A rebuild compares one scan of the article tree with the manifest the last
sync kept, and reads only the files whose size or modification time moved
(see `feeds.local.changes`). Each test here changes one thing the shortcut
could miss, rebuilds, and compares every output byte with a fresh build of
the same inputs (or, for what only the store holds, with what must show).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from atomcheck import assert_valid_atom
from conftest import child_env, write_links
from feedserver import FeedServer, Response
from remote_feeds import atom

import feeds.pipeline
from feeds import build, codec, fetch
from feeds.codec import manifest_parts
from feeds.config import FetchSettings, load_config
from feeds.local import changes
from feeds.local.read import _Walk
from feeds.model import CachedArticle
from feeds.pipeline import open_store, sync_articles
from feeds.publish.select import ShownChooser
from feeds.store import Store

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=4)
# Saved an hour ago: past the two seconds within which a stat is not trusted.
AN_HOUR_AGO = time.time_ns() - 3_600 * 10**9


def _article(n: int, *, day: int | None = None, tags: str = "grid", body: str = "en",
             extra: str = "") -> str:
    text = {"en": f"Brief {n}: the storage plant fed the grid at peak hours and ran smoothly.",
            "zh": f"第{n}号简报：这座储能电站在用电高峰时段向电网输送电力，运行平稳，电网负荷明显下降。"}
    return (f"---\ntitle: Brief {n}\ndate: '2025-01-{1 + (n if day is None else day):02} "
            f"08:00:00Z'\ntags: [{tags}]\n---\n\n{text[body]}{extra}\n")


_saves = itertools.count()


def _write(project: Path, name: str, text: str, mtime: int | None = None) -> None:
    """Write an article, saved an hour ago (each save a microsecond after the last) or at `mtime`."""
    path = project / "sources" / "articles" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stamp = AN_HOUR_AGO + next(_saves) * 1_000 if mtime is None else mtime
    os.utime(path, ns=(stamp, stamp))


def _settings(pages: bool, per_feed: int = 2) -> str:
    return (f'title = "feeds"\nlanguages = ["en", "zh"]\nentries_per_feed = {per_feed}\n'
            f'pages = {"true" if pages else "false"}\nformats = ["atom", "json"]\n')


@pytest.fixture(params=[False, True], ids=["feeds", "pages"])
def built(request: pytest.FixtureRequest, project: Path) -> Path:
    """A project of twelve articles, some in a folder, Chinese and English, built once.

    Each feed shows two entries, so most articles are read but not stored:
    the shortcut must keep that apart.
    """
    (project / "feeds.toml").write_text(_settings(request.param), encoding="utf-8")
    for n in range(12):
        folder = "notes/" if n % 4 == 0 else ""
        _write(project, f"{folder}a{n:02}.md", _article(n, tags="grid" if n % 3 else "ml",
                                                        body="zh" if n % 2 else "en"))
    build(load_config(project), fetch=False)
    return project


def _outputs(project: Path) -> dict[str, bytes]:
    output = project / "output"
    return {p.relative_to(output).as_posix(): p.read_bytes()
            for p in sorted(output.rglob("*")) if p.is_file()}


def _rebuilt_as_fresh(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Rebuild `project`, then build a copy of its inputs afresh: the same bytes, every file,
    and the same counts and problems reported."""
    mine_told = build(load_config(project), fetch=False)
    fresh = tmp_path_factory.mktemp("fresh")
    shutil.copytree(project / "sources", fresh / "sources")
    shutil.copy(project / "feeds.toml", fresh / "feeds.toml")
    if (project / "templates").is_dir():
        shutil.copytree(project / "templates", fresh / "templates")
    theirs_told = build(load_config(fresh), fetch=False)
    assert ((mine_told.files, mine_told.drafts, mine_told.entries, mine_told.problems)
            == (theirs_told.files, theirs_told.drafts, theirs_told.entries, theirs_told.problems))
    mine, theirs = _outputs(project), _outputs(fresh)
    assert sorted(mine) == sorted(theirs)
    for name, data in mine.items():
        assert data == theirs[name], f"{name} differs from a fresh build's"


def _titles(project: Path, feed: str = "all.atom") -> list[str]:
    return [e.title for e in assert_valid_atom(project / "output" / feed).entries]


class _WholeCacheRefused(Store):
    """A store that fails when the whole article cache is read: the long way round."""

    def article_cache(self) -> dict[str, CachedArticle]:
        raise AssertionError("the whole article cache was read")


def _sync_by_the_short_way(project: Path) -> None:
    config = load_config(project)
    with _WholeCacheRefused(config.store_path) as store:
        sync_articles(config, store)


def test_a_rebuild_that_changes_nothing_reads_no_article(built: Path) -> None:
    before = _outputs(built)
    _sync_by_the_short_way(built)
    result = build(load_config(built), fetch=False)
    assert result.problems == () and result.files == 12 and result.report is not None
    assert result.report.written == () and _outputs(built) == before


# What a build imports only to render or write: a rebuild that changes
# nothing does none of it, and pays for none of it.
_RENDERING = ("feeds.publish.render", "feeds.publish.rss", "feeds.publish.jsonfeed",
              "feeds.local.article", "socket")


# A build in a fresh interpreter, through the library and through the command line;
# `status` is what it returned, printed before the modules (nothing for the library's).
_BUILD_BY_API = ("from feeds import build, load_config\n"
                 "build(load_config(sys.argv[1]), fetch=False)\n"
                 "status = ''\n")
_BUILD_BY_CLI = ("from feeds.cli import main\n"
                 "status = main(['--root', sys.argv[1], 'build', '-q'])\n")


# What mutation testing's instrumented copy of the package imports, whatever it runs.
_INSTRUMENTATION = "mutmut.mutation.trampoline"


def _imported_by(build: str, root: Path, modules: Sequence[str]) -> list[str]:
    """What `build` of `root` printed: its status, if any, then which of `modules` it imported.

    Under mutation testing every module of the package imports mutmut's
    trampoline, and what that loads (socket, tempfile...) is not the build's:
    the modules a bare import of it loads are set aside then, and only then.
    """
    code = ("import sys\n" + build
            + "print(status)\n"
            + "print(' '.join(sorted(set(sys.argv[2:]) & set(sys.modules))))\n"
            + f"print({_INSTRUMENTATION!r} in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code, str(root), *modules],
                          env=child_env(), capture_output=True, text=True, check=True)
    status, imported, instrumented = done.stdout.split("\n")[:3]
    loaded = imported.split()
    if instrumented == "True":
        bare = subprocess.run(
            [sys.executable, "-c", f"import sys, {_INSTRUMENTATION}\nprint(' '.join(sys.modules))"],
            env=child_env(), capture_output=True, text=True, check=True).stdout.split()
        loaded = [name for name in loaded if name not in bare]
    return status.split() + loaded


def test_a_rebuild_that_changes_nothing_imports_no_renderer(built: Path) -> None:
    # The pages' planning is imported only for the pages, and with it its
    # templates' loader, which uses tempfile.
    unused = (*_RENDERING, "feeds.publish.pages", "tempfile")
    if load_config(built).pages:
        unused = _RENDERING
    assert _imported_by(_BUILD_BY_API, built, unused) == []


def test_a_site_whose_feeds_show_every_article_takes_the_short_way_too(project: Path) -> None:
    """Every article stored, none left to choose: what the feeds could show is still kept.

    A broken file keeps the state from being kept; once it is gone, a
    build that finds every article stored as it is (as the first build
    after an upgrade does) keeps it again.
    """
    (project / "feeds.toml").write_text(_settings(False, per_feed=50), encoding="utf-8")
    for n in range(5):
        _write(project, f"a{n:02}.md", _article(n))
    _break(project)
    build(load_config(project), fetch=False)
    (project / "sources" / "articles" / "a11.md").unlink()
    build(load_config(project), fetch=False)
    _sync_by_the_short_way(project)
    _write(project, "a00.md", _article(0, extra=" One more."))
    _sync_by_the_short_way(project)


Change = Callable[[Path], None]


def _edit_body_of_a_shown_article(project: Path) -> None:
    _write(project, "a11.md", _article(11, body="zh", extra=" 又一句。"))


def _edit_body_of_an_article_not_shown(project: Path) -> None:
    _write(project, "a01.md", _article(1, body="zh", extra=" 又一句。"))


def _touch(project: Path) -> None:
    path = project / "sources" / "articles" / "a11.md"
    os.utime(path, ns=(AN_HOUR_AGO + 7, AN_HOUR_AGO + 7))


def _move_the_date(project: Path) -> None:
    _write(project, "a11.md", _article(11, day=0, body="zh"))


def _change_the_tags(project: Path) -> None:
    _write(project, "a10.md", _article(10, tags="ml", body="en"))


def _change_the_language(project: Path) -> None:
    _write(project, "a11.md", _article(11, body="en"))


def _delete(project: Path) -> None:
    (project / "sources" / "articles" / "a11.md").unlink()


def _rename(project: Path) -> None:
    folder = project / "sources" / "articles"
    (folder / "a10.md").rename(folder / "notes" / "b10.md")


def _add(project: Path) -> None:
    _write(project, "notes/z20.md", _article(20, body="en"))


def _delete_an_article_not_shown(project: Path) -> None:
    (project / "sources" / "articles" / "a01.md").unlink()


def _add_an_old_article(project: Path) -> None:
    _write(project, "notes/z00.md", _article(0, body="zh"))


def _add_a_draft(project: Path) -> None:
    _write(project, "z21.md", _article(21).replace("tags:", "draft: true\ntags:"))


def _add_one_with_a_taken_id(project: Path) -> None:
    _write(project, "z03.md", _article(22).replace("title:", "slug: a03\ntitle:"))


def _add_and_delete_old_ones(project: Path) -> None:
    _delete_an_article_not_shown(project)
    _add_an_old_article(project)
    _edit_body_of_an_article_not_shown_either(project)


def _edit_body_of_an_article_not_shown_either(project: Path) -> None:
    _write(project, "a02.md", _article(2, body="en", extra=" One more."))


def _draft(project: Path) -> None:
    _write(project, "a11.md", _article(11, body="zh").replace("tags:", "draft: true\ntags:"))


def _claim_an_id(project: Path) -> None:
    _write(project, "a00a.md", _article(3).replace("title:", "slug: a03\ntitle:"))
    _write(project, "a03.md", _article(3).replace("title:", "slug: a03\ntitle:"))


def _break(project: Path) -> None:
    _write(project, "a11.md", "---\ntitle: no date\n---\nText.\n")


def _configure(project: Path) -> None:
    text = (project / "feeds.toml").read_text(encoding="utf-8")
    (project / "feeds.toml").write_text(text.replace("entries_per_feed = 2", "entries_per_feed = 3"),
                                        encoding="utf-8")


def _edit_within_the_tick(project: Path) -> None:
    """Saved again in the tick it was read in: the same size and time, other bytes."""
    now = time.time_ns()
    _write(project, "a11.md", _article(11, body="zh", extra=" 甲。"), now)
    build(load_config(project), fetch=False)
    _write(project, "a11.md", _article(11, body="zh", extra=" 乙。"), now)


@pytest.mark.parametrize("change", [
    _edit_body_of_a_shown_article, _edit_body_of_an_article_not_shown, _touch, _move_the_date,
    _change_the_tags, _change_the_language, _delete, _rename, _add, _draft, _claim_an_id, _break,
    _configure, _edit_within_the_tick, _delete_an_article_not_shown, _add_an_old_article,
    _add_a_draft, _add_one_with_a_taken_id, _add_and_delete_old_ones,
], ids=lambda change: change.__name__.strip("_"))
def test_a_rebuild_after_a_change_gives_what_a_fresh_build_gives(
    built: Path, change: Change, tmp_path_factory: pytest.TempPathFactory
) -> None:
    change(built)
    _rebuilt_as_fresh(built, tmp_path_factory)
    _rebuilt_as_fresh(built, tmp_path_factory)  # and again, from what the first one kept


# What only fetching and the hubs use: a build with no source and no hub, edit or not,
# makes none of their types and imports none of the own hub's rules.
_FETCHING_AND_HUBS = ("feeds.model.fetching", "feeds.model.hubs", "feeds.publish.subscriptions")


@pytest.mark.parametrize("change", [None, _edit_body_of_a_shown_article])
def test_a_build_without_sources_or_hubs_makes_none_of_their_types(
        built: Path, change: Change | None) -> None:
    if change is not None:
        change(built)
    assert _imported_by(_BUILD_BY_CLI, built, _FETCHING_AND_HUBS) == ["0"]


def test_an_edit_no_feed_shows_reads_its_front_matter_without_the_bodys_parsers(
        built: Path) -> None:
    """Only its head is read again: PyYAML, not cmark-gfm or lxml."""
    if load_config(built).pages:
        pytest.skip("with pages every article is shown")
    _edit_body_of_an_article_not_shown(built)
    parsers = ("feeds.local.front", "feeds.local.article", "cmarkgfm", "lxml.etree")
    assert _imported_by(_BUILD_BY_API, built, parsers) == ["feeds.local.front"]


def test_an_edit_of_a_shown_article_shows(built: Path,
                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    _write(built, "a11.md", _article(11, body="zh").replace("Brief 11", "Brief eleven"))
    _rebuilt_as_fresh(built, tmp_path_factory)
    assert "Brief eleven" in _titles(built)
    _sync_by_the_short_way(built)  # what it kept lets the next rebuild take the short way


def test_an_edit_keeps_the_manifest_in_the_order_the_next_walk_gives(built: Path) -> None:
    """So that a rebuild with nothing changed compares one text with another, not two sets."""
    _edit_body_of_a_shown_article(built)
    _add(built)
    config = load_config(built)
    _sync_by_the_short_way(built)
    with open_store(config) as store:
        state = store.local_state()
    tree = changes._stat_tree(str(config.articles_dir), "sources/articles/")
    assert state is not None and tree is not None and len(tree) == 13
    assert state.manifest == manifest_parts(tree)


def _manifest_and_tree(project: Path) -> tuple[tuple[str, ...], list[str]]:
    config = load_config(project)
    with open_store(config) as store:
        state = store.local_state()
    tree = changes._stat_tree(str(config.articles_dir), "sources/articles/")
    assert state is not None and tree is not None
    return state.manifest, tree


@pytest.mark.parametrize("change", [
    _edit_body_of_a_shown_article, _edit_body_of_an_article_not_shown, _touch, _add,
    _delete_an_article_not_shown, _add_and_delete_old_ones, _move_the_date,
], ids=lambda change: change.__name__.strip("_"))
def test_a_manifest_in_parts_is_kept_part_by_part(
    built: Path, change: Change, monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """In parts of five lines (a thousand in use), twelve files' manifest is three parts: a
    change makes again the parts it touches, and what is kept is what the next walk gives."""
    monkeypatch.setattr(codec, "MANIFEST_PART", 5)
    monkeypatch.setattr(changes, "MANIFEST_PART", 5)
    _edit_body_of_an_article_not_shown_either(built)  # a manifest in one part cut in three
    build(load_config(built), fetch=False)
    before, tree = _manifest_and_tree(built)
    assert before == manifest_parts(tree) and [len(p.split("\n")) for p in before] == [5, 5, 2]
    change(built)
    _rebuilt_as_fresh(built, tmp_path_factory)
    after, tree = _manifest_and_tree(built)
    # A date moved back is a whole read, which keeps the lines in the store's order.
    assert sorted("\n".join(after).split("\n")) == sorted(tree)
    assert all(len(part.split("\n")) == 5 for part in after[:-1])
    _sync_by_the_short_way(built)  # and the next rebuild in the walk's
    assert _manifest_and_tree(built)[0] == manifest_parts(tree)


def test_an_edit_writes_only_the_part_of_the_manifest_its_line_is_in(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codec, "MANIFEST_PART", 5)
    monkeypatch.setattr(changes, "MANIFEST_PART", 5)
    _edit_body_of_an_article_not_shown_either(built)
    build(load_config(built), fetch=False)
    before, tree = _manifest_and_tree(built)
    with sqlite3.connect(load_config(built).store_path) as db:
        db.executescript("""
            CREATE TABLE written (part INTEGER);
            CREATE TRIGGER part_added AFTER INSERT ON local_manifest
                BEGIN INSERT INTO written VALUES (new.part); END;
            CREATE TRIGGER part_changed AFTER UPDATE ON local_manifest
                BEGIN INSERT INTO written VALUES (new.part); END;
            CREATE TRIGGER part_dropped AFTER DELETE ON local_manifest
                BEGIN INSERT INTO written VALUES (old.part); END;
        """)
    db.close()
    _edit_body_of_a_shown_article(built)
    build(load_config(built), fetch=False)
    after, tree = _manifest_and_tree(built)
    [edited] = [n for n, line in enumerate(tree) if line.endswith("/a11.md")]
    with sqlite3.connect(load_config(built).store_path) as db:
        written = [part for part, in db.execute("SELECT part FROM written")]
    db.close()
    assert written == [edited // 5] and after == manifest_parts(tree)
    assert [a is b or a == b for a, b in zip(after, before, strict=True)] == [
        n != edited // 5 for n in range(3)]


def test_a_manifest_in_another_order_is_kept_in_the_walks_by_the_next_rebuild(built: Path) -> None:
    """A sync of every file keeps its manifest in the store's order; a rebuild that finds
    nothing changed keeps it in the walk's, so the one after compares one text."""
    config = load_config(built)
    tree = changes._stat_tree(str(config.articles_dir), "sources/articles/")
    assert tree is not None and len(tree) == 12
    shuffled = "\n".join(reversed(tree))
    with open_store(config) as store:
        before = store.local_state()
    with sqlite3.connect(config.store_path) as db:
        db.execute("UPDATE local_manifest SET lines = ?", (shuffled,))
    db.close()
    _sync_by_the_short_way(built)
    with open_store(config) as store:
        state = store.local_state()
    assert before is not None and state is not None
    assert state.manifest == manifest_parts(tree)
    assert state == replace(before, manifest=state.manifest)


def test_a_tree_is_compared_with_its_manifest_in_any_order() -> None:
    a, b, c = "3\t10\tx/a.md", "4\t20\tx/b.md", "5\t30\tx/c.md"
    edited_b = "9\t21\tx/b.md"
    assert changes._differences([a, b, c], ("\n".join([a, b, c]),)) == ([], set(), [])
    assert changes._differences([a, edited_b, c], ("\n".join([a, b, c]),)) == (
        [edited_b], {b}, [1])
    assert changes._differences([b, a, c], ("\n".join([a, b, c]),))[:2] == ([], set())
    assert changes._differences([a, c], ("\n".join([a, b]),))[:2] == ([c], {b})  # one gone, one new
    assert changes._differences([edited_b, a], ("\n".join([a, b]),))[:2] == ([edited_b], {b})
    assert changes._differences([], ()) == ([], set(), [])


def test_an_edit_that_keeps_size_and_mtime_past_the_tick_is_not_seen(
    built: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The contract make and git keep: a file whose size and mtime are as they were is unchanged.

    Set back to its old time, an edit of the same size is not read; saved
    (or touched) again, it shows.
    """
    path = built / "sources" / "articles" / "a11.md"
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Brief 11", "Brief XI"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    build(load_config(built), fetch=False)
    assert "Brief 11" in _titles(built)
    os.utime(path)
    _rebuilt_as_fresh(built, tmp_path_factory)
    assert "Brief XI" in _titles(built)


def test_an_output_deleted_by_hand_is_written_again(built: Path) -> None:
    before = _outputs(built)
    for name in ("all.atom", "lang/zh.json", "index.html"):
        (built / "output" / name).unlink()
    _sync_by_the_short_way(built)
    build(load_config(built), fetch=False)
    assert _outputs(built) == before


def test_a_template_changed_renders_the_pages_again(built: Path,
                                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    if not load_config(built).pages:
        pytest.skip("a site without pages has no templates")
    templates = built / "templates"
    templates.mkdir()
    shipped = Path(__file__).parents[1] / "feeds" / "templates" / "base.html"
    (templates / "base.html").write_text(
        shipped.read_text(encoding="utf-8").replace("<body", "<!-- mine --><body"),
        encoding="utf-8")
    _rebuilt_as_fresh(built, tmp_path_factory)
    assert b"<!-- mine -->" in (built / "output" / "index.html").read_bytes()


def test_entries_fetched_between_two_builds_are_published(built: Path,
                                                          feed_server: FeedServer) -> None:
    """The store changed and the tree did not: the feeds must show what was fetched."""
    url = feed_server.route("/feed.xml", Response(body=atom([
        ("r1", "Fetched between builds", "Remote text.")])))
    write_links(built, url)
    [outcome] = fetch(load_config(built), settings=FAST)
    assert outcome.status == "ok"
    build(load_config(built), fetch=False)
    assert "Fetched between builds" in _titles(built)


def test_a_sync_that_meets_a_problem_keeps_no_state(built: Path) -> None:
    _break(built)
    build(load_config(built), fetch=False)
    with open_store(load_config(built)) as store:
        assert store.local_state() is None
    (built / "sources" / "articles" / "a11.md").unlink()
    build(load_config(built), fetch=False)
    with open_store(load_config(built)) as store:
        state = store.local_state()
    assert state is not None and state.files == 11 and "\n".join(state.manifest).count("\n") == 10


@pytest.mark.parametrize("earlier", [False, True], ids=["cold", "rebuild"])
def test_an_article_changed_while_read_keeps_the_record_it_had(
        project: Path, monkeypatch: pytest.MonkeyPatch, earlier: bool) -> None:
    """A shown article edited between its front matter's read and its whole parse is read
    again next time: its record is what the store held before (none in a cold build), though
    the records of the files read are written as they come, each at once here."""
    (project / "feeds.toml").write_text(_settings(False), encoding="utf-8")
    for n in range(6):
        _write(project, f"a{n:02}.md", _article(n))
    shown = "sources/articles/a05.md"
    config = load_config(project)
    held: dict[str, CachedArticle] = {}
    if earlier:
        build(config, fetch=False)
        _write(project, "a05.md", _article(5, day=9))  # newer: every file is sorted again
        with open_store(config) as store:
            held = store.article_records([shown])
        assert held
    monkeypatch.setattr(_Walk, "RECORDS_BATCH", 1)
    edits = []

    class EditFirst(ShownChooser):
        def __call__(self, *args: Any, **kwargs: Any) -> set[str]:
            if not edits:
                edits.append(1)
                _write(project, "a05.md", _article(5, day=9, extra=" Edited while read."))
            return super().__call__(*args, **kwargs)

    monkeypatch.setattr(feeds.pipeline, "ShownChooser", EditFirst)
    told = build(config, fetch=False)
    assert [p.reason for p in told.problems if p.where == f"{shown}:1"] == [
        "changed while it was being read; it is read again by the next build"]
    with open_store(config) as store:
        kept = store.article_records([shown])
    assert ({p: (r.digest, r.size, r.mtime_ns, r.entry_id, r.head_text) for p, r in kept.items()}
            == {p: (r.digest, r.size, r.mtime_ns, r.entry_id, r.head_text) for p, r in held.items()})
    monkeypatch.undo()
    assert not build(config, fetch=False).problems
    assert "Brief 5" in _titles(project)
    with open_store(config) as store:
        [record] = store.article_records([shown]).values()
    assert record.size == len(_article(5, day=9, extra=" Edited while read.").encode())


# Stats are shared only by a process that runs no other thread (a lock one
# holds would stay held in the child), and the test process runs some (servers
# other tests started): what shares them runs in a child of its own.
_SHARING = """
import json, os, sys
from feeds.local import changes, walk
forks = []
os.register_at_fork(after_in_parent=lambda: forks.append(1))
changes.SHARED_FROM = 1
"""


def _sharing(code: str, *args: str) -> dict[str, Any]:
    """Run `code` (after `_SHARING`) in a fresh interpreter; the JSON it prints."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: the stats are not shared")
    done = subprocess.run([sys.executable, "-c", _SHARING + code, *args], env=child_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_tree_stat_shared_with_a_child_gives_what_one_process_gives(project: Path) -> None:
    """Every kind of name, in folders of every size, stat-ed half by a forked child."""
    root = project / "sources" / "articles"
    names = ["a.md", "B.MARKDOWN", "c.txt", "back\\slash.md", "new\nline.md", "é.md",
             "notes/d.md", "notes/deeper/e.md", "x.md/f.md", "big/" + "g.md"]
    names += [f"many/{n:03}.md" for n in range(150)]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"{name}\n" * (len(name) % 5), encoding="utf-8")
    (root / ".hidden.md").write_text("no", encoding="utf-8")
    (root / ".drafts").mkdir()
    (root / ".drafts" / "h.md").write_text("no", encoding="utf-8")
    (root / "image.png").write_bytes(b"no")
    os.symlink(root / "a.md", root / "linked.md")
    os.symlink(root / "gone.md", root / "dangling.md")
    os.mkdir(os.fsencode(root) + b"/latin\xe9")
    with open(os.fsencode(root) + b"/latin\xe9/\xe9t\xe9.md", "wb") as fh:
        fh.write(b"bytes")
    got = _sharing("""
alone = changes._stat_tree(sys.argv[1], "sources/articles/", shared_from=10**9)
before = len(forks)
shared = changes._stat_tree(sys.argv[1], "sources/articles/", shared_from=1)
print(json.dumps({"alone": alone, "shared": shared, "forks": [before, len(forks)]}))
""", str(root))
    alone, shared = got["alone"], got["shared"]
    assert got["forks"] == [0, 1], "the second walk forks once, the first not at all"
    assert alone is not None and shared is not None
    assert sorted(shared) == sorted(alone)
    assert len(alone) == len(names) + 2  # the link and the folder of another encoding
    stat = os.stat(root / "a.md")
    assert f"{stat.st_size}\t{stat.st_mtime_ns}\tsources/articles/a.md" in alone
    assert any(line.endswith("\tsources/articles/new\\nline.md") for line in alone)


def test_a_walk_started_ahead_gives_what_one_process_gives(project: Path) -> None:
    """A walk whose child was forked before the build came to it (`walk.walk_ahead`): every
    kind of name, a folder named like an article, a link to nothing (the tree then walked
    again carefully), the same lines as one process; a walk ahead let go leaves no process
    behind."""
    root = project / "sources" / "articles"
    names = ["a.md", "back\\slash.md", "new\nline.md", "notes/d.md", "notes/deeper/e.md",
             "x.md/f.md", "é/g.md"]
    names += [f"many/{n:03}.md" for n in range(150)] + [f"more/{n:03}.md" for n in range(40)]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"{name}\n" * (len(name) % 5), encoding="utf-8")
    (root / ".drafts").mkdir()
    (root / ".drafts" / "h.md").write_text("no", encoding="utf-8")
    os.symlink(root / "gone.md", root / "many" / "dangling.md")
    got = _sharing("""
from feeds.config import load_config
walk.SHARED_FROM = 1
config = load_config(sys.argv[1])
top, prefix = str(config.articles_dir), walk.tree_prefix(config)
alone = changes._stat_tree(top, prefix, shared_from=10**9)
before = len(forks)
ahead = walk.walk_ahead(config)
walked = changes._walk(top, prefix, None, ahead=ahead)
forked = len(forks) - before
let_go = walk.walk_ahead(config)
let_go.close()
try:
    left = os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    left = None
print(json.dumps({"alone": alone, "ahead": walked[0], "forked": forked, "left": left,
                  "started": ahead is not None}))
""", str(project))
    assert got["started"]
    # The link to nothing fails the listing by name: the tree is walked again carefully.
    assert got["forked"] == 2
    assert got["left"] is None, "no child left once the walks are finished or let go"
    alone = got["alone"]
    assert len(alone) == len(names)
    assert sorted(got["ahead"]) == sorted(alone)
    assert len(set(got["ahead"])) == len(got["ahead"])


def test_a_build_finishes_the_walk_its_command_started(project: Path) -> None:
    """`feeds build` forks the walk's child before the rest of the program is imported, and
    the build's sync finishes that walk: an edit is published, a rebuild changes nothing."""
    (project / "feeds.toml").write_text(_settings(False), encoding="utf-8")
    for n in range(6):
        _write(project, f"{('notes/', 'more/', '')[n % 3]}a{n:02}.md", _article(n))
    got = _sharing("""
from feeds import cli
from feeds.local import walk
walk.SHARED_FROM = 1
finished = []
finish = walk.Ahead.finish
walk.Ahead.finish = lambda self: finished.append(1) or finish(self)
imported = []
statuses = []
for edit in (None, "a05.md", None):
    if edit:
        path = os.path.join(sys.argv[1], "sources", "articles", edit)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("An edited line.\\n")
        os.utime(path, ns=(10**18, 10**18))
    imported.append("feeds.pipeline" in sys.modules)
    statuses.append(cli.main(["--root", sys.argv[1], "build", "-q"]))
print(json.dumps({"finished": len(finished), "statuses": statuses, "imported": imported}))
""", str(project))
    assert got["statuses"] == [0, 0, 0]
    assert got["imported"][0] is False
    assert got["finished"] == 2, "the two rebuilds finish the walks their commands started"
    assert "An edited line." in (project / "output" / "all.atom").read_text(encoding="utf-8")


def test_a_folder_of_article_names_that_are_not_all_files_is_walked_as_any_other(
    project: Path,
) -> None:
    """A folder holding only names like articles' is listed by name; a folder, a link to
    nothing, a link to a folder or a pipe among them is still told apart, alone and shared."""
    trees = project / "trees"
    odd: dict[str, Callable[[Path], object]] = {
        "folder": lambda f: (f / "b.md").mkdir() or (f / "b.md" / "c.md").write_text("cc", encoding="utf-8"),
        "dangling": lambda f: os.symlink(f / "gone.md", f / "dangling.md"),
        "folder-link": lambda f: os.symlink(trees, f / "folder-link.md"),
        "pipe": lambda f: os.mkfifo(f / "pipe.md"),
        "file-link": lambda f: os.symlink(f / "a.md", f / "link.md"),
    }
    for kind, make in odd.items():
        (trees / kind / "f").mkdir(parents=True)
        (trees / kind / "f" / "a.md").write_text(kind, encoding="utf-8")
        make(trees / kind / "f")
    got = _sharing("""
print(json.dumps({kind: [changes._stat_tree(os.path.join(sys.argv[1], kind), "", shared_from=n)
                         for n in (10**9, 1)] for kind in sys.argv[2:]}))
""", str(trees), *odd)
    for kind in odd:
        names = {"folder": ["f/a.md", "f/b.md/c.md"],
                 "file-link": ["f/a.md", "f/link.md"]}.get(kind, ["f/a.md"])
        expected = sorted(f"{stat.st_size}\t{stat.st_mtime_ns}\t{name}"
                          for name in names for stat in [(trees / kind / name).stat()])
        assert [sorted(lines) for lines in got[kind]] == [expected] * 2, kind


@pytest.mark.parametrize("folders", [("", "notes"), ("", "notes", "more", "other")],
                         ids=["files-cut", "folders-cut"])
def test_a_tree_compared_with_its_manifest_by_two_processes_tells_every_line_apart(
    project: Path, folders: tuple[str, ...],
) -> None:
    """The child that stats half the tree says only that its lines end the manifest when they
    do: whatever line differs, on either side of the cut or at it, the tree is not taken as
    the manifest, and its lines are the ones one process gives. The tree is cut among its
    files once listed, or among its folders at the top, each process listing its own."""
    root = project / "sources" / "articles"
    for n in range(9):
        folder = root / folders[n % len(folders)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"a{n}.md").write_text("x" * n, encoding="utf-8")
    got = _sharing("""
tree = changes._stat_tree(sys.argv[1], "p/", shared_from=1)
manifest = "\\n".join(tree)
others = [manifest[:-1], manifest + "x", "x" + manifest, "", manifest.replace("\\n", "", 1),
          "\\n".join(tree[:4] + tree[5:]), "\\n".join(tree[:4] + ["1\\t2\\tp/z.md"] + tree[4:])]
for i in range(len(tree)):  # each line in turn with another size
    others.append("\\n".join(tree[:i] + ["1" + tree[i]] + tree[i + 1:]))
for i in range(1, len(tree)):  # two lines made one, at each place
    others.append("\\n".join(tree[:i - 1] + [tree[i - 1] + " " + tree[i]] + tree[i + 1:]))
print(json.dumps({"tree": tree, "same": changes._walk(sys.argv[1], "p/", manifest, 1),
                  "alone": changes._stat_tree(sys.argv[1], "p/", 10**9),
                  "others": [changes._walk(sys.argv[1], "p/", m, 1) for m in others],
                  "forks": len(forks),
                  "folders_cut": walk.split_at_the_top(sys.argv[1], 1) is not None}))
""", str(root))
    tree = got["tree"]
    assert got["folders_cut"] == (len(folders) > 2)
    assert len(tree) == 9 and got["forks"] == 2 + 7 + 9 + 8
    assert got["same"] == [[], True] and sorted(got["alone"]) == sorted(tree)
    assert got["others"] == [[tree, False]] * (7 + 9 + 8)


@pytest.mark.parametrize("change", [_edit_body_of_a_shown_article, _add, _delete_an_article_not_shown],
                         ids=lambda change: change.__name__.strip("_"))
def test_a_rebuild_whose_stats_are_shared_gives_what_a_fresh_build_gives(
    built: Path, change: Change, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    change(built)
    got = _sharing("""
from feeds.cli import main
status = main(["--root", sys.argv[1], "build", "--offline", "--quiet"])
print(json.dumps({"status": status, "forks": len(forks)}))
""", str(built))
    assert got == {"status": 0, "forks": 1}, "the rebuild's stats were not shared"
    # The rebuild just made, checked against a fresh build (a second rebuild finds nothing).
    _rebuilt_as_fresh(built, tmp_path_factory)
    _sync_by_the_short_way(built)


@pytest.mark.slow
def test_any_history_of_trusted_edits_builds_what_a_fresh_build_builds(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """test_incremental's histories, every file saved long before it is read.

    There each save is too recent for its stat to be trusted, so every
    saved file is read again; here each is trusted by its stat, and the
    rebuild takes the manifest's short way wherever it can.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_incremental import _apply, _assert_same, _inputs_copy, _started, site, steps, writes

    def aged(project: Path) -> None:
        for path in sorted((project / "sources" / "articles").rglob("*.md")):
            if path.stat().st_mtime_ns > AN_HOUR_AGO + 10**12:  # saved just now
                stamp = AN_HOUR_AGO + next(_saves) * 1_000
                os.utime(path, ns=(stamp, stamp))

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(first=site, start=st.lists(writes, min_size=1, max_size=3),
           history=st.lists(steps, min_size=1, max_size=10))
    def run(first: object, start: list[tuple[object, ...]],
            history: list[tuple[object, ...]]) -> None:
        base = tmp_path_factory.mktemp("history")
        project = _started(base, first, start)
        aged(project)
        build(load_config(project), fetch=False)
        for number, step in enumerate(history):
            _apply(project, step)
            aged(project)
            build(load_config(project), fetch=False)
            fresh = base / f"fresh-{number}"
            _inputs_copy(project, fresh)
            build(load_config(fresh), fetch=False)
            _assert_same(_outputs(project), _outputs(fresh))
            shutil.rmtree(fresh)
        shutil.rmtree(base)

    run()
