"""The readable site as a build writes it: every page valid, linked, incremental and atomic."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import html5lib
import pytest
from conftest import add_fixture
from lxml import etree

from feeds import build, check, load_config

SITE = "http://127.0.0.1:8080/"
XHTML = "{http://www.w3.org/1999/xhtml}"


def _pages(output: Path) -> dict[str, Path]:
    return {p.relative_to(output).as_posix(): p for p in sorted(output.rglob("*.html"))}


def _parse(path: Path) -> etree._Element:
    """The page as a browser builds it; AssertionError listing every parse error."""
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("lxml"), strict=False)
    document = parser.parse(path.read_bytes())
    assert not parser.errors, f"{path}: {parser.errors}"
    return document.getroot()


def _hrefs(root: etree._Element) -> list[tuple[str, str]]:
    return [(el.tag.removeprefix(XHTML), el.get("href")) for el in root.iter()
            if isinstance(el.tag, str) and el.get("href") is not None]


def _mtimes(output: Path) -> dict[str, int]:
    return {p.relative_to(output).as_posix(): p.stat().st_mtime_ns
            for p in output.rglob("*") if p.is_file()}


def _entry_pages(output: Path) -> list[str]:
    return sorted(p for p in _pages(output) if p.startswith("entries/"))


def test_a_bilingual_article_gives_two_pages_linking_each_other(project: Path) -> None:
    add_fixture(project, "bilingual.md")
    build(load_config(project), fetch=False)
    out = project / "output"
    for stem in ("lang/zh", "lang/en"):
        for suffix in (".atom", ".rss", ".json", ".html"):
            assert (out / f"{stem}{suffix}").is_file(), stem + suffix
    zh_page, en_page = sorted(_entry_pages(out), key=lambda p: not p.endswith(".zh.html"))
    assert zh_page.endswith(".zh.html") and en_page.endswith(".en.html")
    zh, en = _parse(out / zh_page), _parse(out / en_page)
    assert (zh.get("lang"), en.get("lang")) == ("zh", "en")

    def alternates(root: etree._Element) -> dict[str, str]:
        return {link.get("hreflang"): link.get("href") for link in root.iter(f"{XHTML}link")
                if link.get("rel") == "alternate" and link.get("hreflang")}

    # Each names both, itself included, with the same absolute URLs.
    pair = {"zh": SITE + zh_page, "en": SITE + en_page}
    assert {k: v for k, v in alternates(zh).items() if k != "x-default"} == pair
    assert {k: v for k, v in alternates(en).items() if k != "x-default"} == pair
    [canonical] = [link.get("href") for link in zh.iter(f"{XHTML}link") if link.get("rel") == "canonical"]
    assert canonical == SITE + zh_page
    # The original article is one click away.
    assert "https://news.example.org/grid/drone-inspection" in [href for _, href in _hrefs(zh)]
    front = (out / "index.html").read_text(encoding="utf-8")
    assert "城市开始用无人机巡检输电线路" in front


def test_every_page_parses_and_every_relative_link_reaches_a_written_file(project: Path) -> None:
    add_fixture(project, "bilingual.md", "only-required.md")
    (project / "sources" / "articles" / "tagged.md").write_text(
        "---\ntitle: 储能电站并网\ndate: 2025-05-02\ntags: [科技, energy]\n---\n储能电站今天并网发电。\n",
        encoding="utf-8")
    build(load_config(project), fetch=False)
    out = project / "output"
    pages = _pages(out)
    assert {"index.html", "all.html", "lang/zh.html", "lang/en.html", "tags/科技.html"} <= set(pages)
    for name, path in pages.items():
        root = _parse(path)
        assert root.get("lang"), name
        for tag, href in _hrefs(root):
            parts = urlsplit(href)
            if parts.scheme:
                continue  # absolute: the original, the canonical URL, autodiscovery
            target = unquote(urlsplit(urljoin(SITE + name, href)).path.removeprefix("/"))
            assert (out / target).is_file(), f"{name}: <{tag} href={href!r}> reaches nothing"


def test_an_edited_article_rewrites_its_pages_and_the_listings_that_show_it(project: Path) -> None:
    add_fixture(project, "bilingual.md", "only-required.md")
    articles = project / "sources" / "articles"
    (articles / "other.md").write_text(
        "---\ntitle: Quiet article\ndate: 2020-01-01\ntags: [archive]\n---\nNothing new.\n",
        encoding="utf-8")
    config = load_config(project)
    build(config, fetch=False)
    out = project / "output"
    again = build(config, fetch=False)
    assert again.report.written == ()  # nothing changed, nothing written
    before = _mtimes(out)
    quiet_pages = [p for p in _entry_pages(out) if "other" in p]
    assert quiet_pages
    text = (articles / "only-required.md").read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    (articles / "only-required.md").write_text(text.replace(title, "title: A new title"),
                                               encoding="utf-8")
    result = build(config, fetch=False)
    written = set(result.report.written)
    after = _mtimes(out)
    assert {p for p in after if after[p] != before.get(p)} == written
    edited = [p for p in _entry_pages(out) if p in written]
    assert edited and all("only-required" in p for p in edited)
    assert "tags/archive.html" not in written and not set(quiet_pages) & written
    assert {"index.html", "all.html", "all.atom"} <= written


def test_pages_off_writes_only_the_feeds_and_removes_the_pages(project: Path) -> None:
    add_fixture(project, "bilingual.md")
    build(load_config(project), fetch=False)
    out = project / "output"
    assert _entry_pages(out) and (out / "style.css").is_file()
    (project / "feeds.toml").write_text("pages = false\n", encoding="utf-8")
    result = build(load_config(project), fetch=False)
    assert list(_pages(out)) == ["index.html"]  # the plain list of feeds
    assert not (out / "style.css").exists() and not (out / "entries").exists()
    assert any(p.startswith("entries/") for p in result.report.removed)


def test_a_project_template_overrides_the_shipped_one_and_a_broken_one_keeps_the_pages(
        project: Path) -> None:
    add_fixture(project, "bilingual.md")
    config = load_config(project)
    build(config, fetch=False)
    out = project / "output"
    [page] = [p for p in _entry_pages(out) if p.endswith(".en.html")]
    shipped = (Path(__file__).parents[1] / "feeds" / "templates" / "entry.html").read_text(
        encoding="utf-8")
    templates = project / "templates"
    templates.mkdir()
    (templates / "entry.html").write_text(
        shipped.replace("{% block main %}", "{% block main %}<p class=\"mine\">Our own words</p>"),
        encoding="utf-8")
    result = build(config, fetch=False)
    assert "Our own words" in (out / page).read_text(encoding="utf-8")
    assert page in result.report.written and "all.atom" not in result.report.written
    before = _mtimes(out)
    (templates / "entry.html").write_text(
        "{% extends \"base.html\" %}\n{% block main %}\n{{ item.nothing_here }}\n{% endblock %}\n",
        encoding="utf-8")
    broken = build(config, fetch=False)
    [problem] = [str(p) for p in broken.problems]
    assert problem.startswith("templates/entry.html:3: page template failed: UndefinedError"), problem
    assert _mtimes(out) == before  # every page as it was
    (templates / "entry.html").write_text("{% extends \"base.html\" %", encoding="utf-8")
    [problem] = [str(p) for p in build(config, fetch=False).problems]
    assert problem.startswith("templates/entry.html:1: page template failed: TemplateSyntaxError")
    shutil.rmtree(templates)
    fixed = build(config, fetch=False)
    assert fixed.problems == () and "Our own words" not in (out / page).read_text(encoding="utf-8")


def test_check_renders_the_pages_and_names_a_broken_template(project: Path) -> None:
    add_fixture(project, "bilingual.md")
    (project / "templates").mkdir()
    (project / "templates" / "feed.html").write_text(
        "{% extends \"base.html\" %}\n{% block main %}{{ feed.title | nosuchfilter }}{% endblock %}\n",
        encoding="utf-8")
    result = check(load_config(project))
    assert [str(p) for p in result.problems] == [
        "templates/feed.html:2: page template failed: TemplateAssertionError: "
        "No filter named 'nosuchfilter'."]
    assert not (project / "output").exists()


def _chromium_text(path: Path) -> str:
    """The text a person sees of a page, as headless Chromium renders it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", path.as_uri()],
            capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    body = result.stdout.split("<body", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.mark.slow
def test_chromium_shows_the_front_page_a_feed_page_and_an_entry_page(project: Path) -> None:
    add_fixture(project, "bilingual.md")
    build(load_config(project), fetch=False)
    out = project / "output"
    front = _chromium_text(out / "index.html")
    assert "城市开始用无人机巡检输电线路" in front and "Subscribe" in front
    feed = _chromium_text(out / "lang" / "en.html")
    assert "Cities begin inspecting power lines with drones" in feed or "Summary" in feed
    [zh] = [p for p in _entry_pages(out) if p.endswith(".zh.html")]
    entry = _chromium_text(out / zh)
    assert "电网公司扩大无人机巡检范围" in entry and "English" in entry


def test_an_entry_page_removed_from_the_output_is_written_again_alone(project: Path) -> None:
    add_fixture(project, "bilingual.md", "only-required.md")
    config = load_config(project)
    build(config, fetch=False)
    out = project / "output"
    pages = _entry_pages(out)
    gone = next(p for p in pages if "only-required" not in p)
    (out / gone).unlink()
    before = _mtimes(out)
    result = build(config, fetch=False)
    assert result.report.written == (gone,)
    assert (out / gone).is_file()
    after = _mtimes(out)
    assert all(after[p] == before[p] for p in before)


def test_an_entry_page_links_its_tag_once_the_tag_has_a_feed_and_only_its_pages_change(
        project: Path) -> None:
    (project / "feeds.toml").write_text("min_tag_entries = 2\n", encoding="utf-8")
    articles = project / "sources" / "articles"
    articles.mkdir(parents=True, exist_ok=True)
    add_fixture(project, "only-required.md")

    def article(name: str, tag: str, day: int) -> None:
        (articles / name).write_text(
            f"---\ntitle: {name}\ndate: 2024-03-{day:02d}\ntags: [{tag}]\n---\nText {name}.\n",
            encoding="utf-8")

    article("first.md", "rare", 1)
    config = load_config(project)
    build(config, fetch=False)
    out = project / "output"
    first = next(p for p in _entry_pages(out) if "first" in p)
    assert "tags/rare.html" not in (out / first).read_text(encoding="utf-8")
    before = _mtimes(out)
    article("second.md", "rare", 2)
    result = build(config, fetch=False)
    assert "tags/rare.html" in result.report.written
    assert "../tags/rare.html" in (out / first).read_text(encoding="utf-8")
    untouched = [p for p in _entry_pages(out) if "only-required" in p]
    assert untouched and not set(untouched) & set(result.report.written)
    assert all(_mtimes(out)[p] == before[p] for p in untouched)


def test_compiled_templates_are_kept_beside_the_store_and_an_unwritable_cache_is_no_error(
        project: Path) -> None:
    add_fixture(project, "bilingual.md")
    config = load_config(project)
    build(config, fetch=False)
    kept = config.store_path.with_name("templates")
    assert sorted(kept.glob("*.cache"))  # a rebuild that renders a page compiles nothing
    out = project / "output"
    pages = {p: (out / p).read_bytes() for p in _pages(out)}
    shutil.rmtree(out)
    again = build(config, fetch=False)  # every page rendered from the compiled templates
    assert again.problems == ()
    assert {p: (out / p).read_bytes() for p in _pages(out)} == pages
    shutil.rmtree(kept)
    kept.write_text("not a folder", encoding="utf-8")
    shutil.rmtree(out)
    third = build(config, fetch=False)
    assert third.problems == ()
    assert {p: (out / p).read_bytes() for p in _pages(out)} == pages
