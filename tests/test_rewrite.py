"""A source's [[source.rewrite]] rules: elements removed by selector, text replaced by pattern."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pytest
from atomcheck import assert_valid_atom
from feedcheck import assert_valid_json_feed, assert_valid_rss
from feedserver import FeedServer, Response

from feeds import build
from feeds.config import FetchSettings, load_config
from feeds.model import RewriteRule
from feeds.sources import read_sources
from feeds.text.rewrite import MAX_REPLACE_CHARS, rewrite_html, rewrite_title, rule_problem

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=4)

CONTENT = ('<p>Gravity measured to a new precision.</p>'
           '<div class="ad">Buy <b>now</b>!</div>'
           '<p>Read more at Example Science.</p>')


def _rss(title: str, content: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            '<title>Loopback</title><link>http://example.com/</link><language>en</language>'
            f'<item><guid isPermaLink="false">g1</guid><title>{escape(title)}</title>'
            '<link>http://example.com/one</link>'
            f'<description>{escape(content)}</description>'
            '<pubDate>Mon, 01 Sep 2025 10:00:00 +0000</pubDate></item></channel></rss>')


def _links(project: Path, text: str) -> None:
    (project / "sources" / "links.toml").write_text(text, encoding="utf-8")


def test_remove_and_replace_rules_change_the_published_title_and_content(
        project: Path, feed_server: FeedServer) -> None:
    url = feed_server.route("/ads.xml", Response(
        body=_rss("Sponsored: Sensors leave the lab", CONTENT), content_type="application/rss+xml"))
    _links(project, f'''[[source]]
url = "{url}"

[[source.rewrite]]
remove = "div.ad"

[[source.rewrite]]
replace = "^Sponsored: (.*)$"
with = "\\\\1 (sponsored)"
in = "title"

[[source.rewrite]]
replace = "Read more at ([A-Za-z ]+)\\\\."
with = "Source: \\\\1."
''')
    result = build(load_config(project), settings=FAST)
    assert not result.problems and [o.status for o in result.fetched] == ["ok"]
    out = project / "output"
    [entry] = assert_valid_atom(out / "all.atom").entries
    assert entry.title == "Sensors leave the lab (sponsored)"
    content = entry.content[0].value
    assert "Gravity measured" in content and "Source: Example Science." in content
    assert "Buy" not in content and "Read more" not in content
    [item] = assert_valid_rss(out / "all.rss").entries
    assert item.title == "Sensors leave the lab (sponsored)" and "Buy" not in item.description
    [json_item] = assert_valid_json_feed(out / "all.json")["items"]
    assert "Buy" not in json_item["content_html"] and "Source: Example" in json_item["content_html"]


def test_without_rules_the_content_is_published_as_sent(
        project: Path, feed_server: FeedServer) -> None:
    """The guard of the test above: the marked parts are there when no rule removes them."""
    url = feed_server.route("/ads.xml", Response(
        body=_rss("Sponsored: Sensors leave the lab", CONTENT), content_type="application/rss+xml"))
    _links(project, f'[[source]]\nurl = "{url}"\n')
    build(load_config(project), settings=FAST)
    [entry] = assert_valid_atom(project / "output" / "all.atom").entries
    assert entry.title == "Sponsored: Sensors leave the lab" and "Buy" in entry.content[0].value


@pytest.mark.parametrize(("rule", "line", "reason"), [
    ('replace = "(unclosed"', 6, "'replace' pattern '(unclosed' is invalid"),
    ('remove = "div..ad"', 6, "'remove' selector 'div..ad' is invalid"),
    ('remove = "div.ad"\nwhere = "content"', 6, "unknown key 'where'"),
    ('replace = "a"\nin = "body"', 6, "'in' must be \"title\" or \"content\""),
    ('replace = "(a)"\nwith = "\\\\2"', 6, "names group '\\\\2', which 'replace' lacks"),
    ('with = "x"', 6, "needs exactly one of 'remove'"),
])
def test_a_bad_rule_is_reported_at_its_line_and_only_its_source_is_skipped(
        project: Path, feed_server: FeedServer, rule: str, line: int, reason: str) -> None:
    good = feed_server.route("/good.xml", Response(
        body=_rss("Kept", "<p>Kept text.</p>"), content_type="application/rss+xml"))
    bad = feed_server.route("/bad.xml", Response(body=_rss("Never", "<p>x</p>")))
    _links(project, f'''[[source]]
url = "{bad}"

[[source.rewrite]]
remove = "p.fine"
[[source.rewrite]]
{rule}

[[source]]
url = "{good}"
''')
    config = load_config(project)
    [problem] = read_sources(config).problems
    assert problem.where == f"sources/links.toml:{line}"
    assert "rewrite rule #2" in problem.reason and reason in problem.reason
    result = build(config, settings=FAST)
    assert [o.url for o in result.fetched] == [good]
    assert feed_server.requests_for("/bad.xml") == []
    assert [e.title for e in assert_valid_atom(project / "output" / "all.atom").entries] == ["Kept"]


def test_rules_written_inline_are_placed_on_their_source_line(project: Path) -> None:
    _links(project, '\n[[source]]\nurl = "http://a.example/f"\nrewrite = [{ remove = ">>" }]\n')
    [problem] = read_sources(load_config(project)).problems
    assert problem.where == "sources/links.toml:2" and "'remove' selector '>>'" in problem.reason


def test_rules_of_a_later_source_are_placed_on_their_own_lines(project: Path) -> None:
    # Sources before it with and without rules, one after it: each rule is
    # looked for between its own source's header and the next one.
    _links(project, '''[[source]]
url = "http://a.example/f"

[[source.rewrite]]
remove = "p.fine"

[[source]]
url = "http://b.example/f"

[[source]]
url = "http://c.example/f"
[[source.rewrite]]
remove = "p.fine"

[[source.rewrite]]
remove = ">>"

[[source]]
url = "http://d.example/f"
[[source.rewrite]]
remove = "<<"
''')
    problems = read_sources(load_config(project)).problems
    assert [p.where for p in problems] == ["sources/links.toml:15", "sources/links.toml:20"]
    assert "rewrite rule #2" in problems[0].reason and "'>>'" in problems[0].reason
    assert "rewrite rule #1" in problems[1].reason and "'<<'" in problems[1].reason


def test_rules_apply_in_order() -> None:
    first = RewriteRule(replace="cat", with_="dog")
    second = RewriteRule(replace="dog", with_="bird")
    assert rewrite_html("<p>cat</p>", [first, second]) == "<p>bird</p>"
    assert rewrite_html("<p>cat</p>", [second, first]) == "<p>dog</p>"


def test_remove_keeps_the_text_that_follows_a_removed_element() -> None:
    html = '<p>One <span class="x">two</span> three</p><aside id="n">note</aside>tail'
    rules = [RewriteRule(remove="span.x"), RewriteRule(remove="#n")]
    assert rewrite_html(html, rules) == "<p>One  three</p>tail"


def test_title_rules_leave_content_alone_and_content_rules_titles() -> None:
    rules = [RewriteRule(replace="a", with_="b", field="title")]
    assert rewrite_title("a cat", rules) == "b cbt" and rewrite_html("a cat", rules) == "a cat"
    assert rewrite_title("a cat", [RewriteRule(replace="a", with_="b")]) == "a cat"


def test_replacement_skips_content_longer_than_the_cap() -> None:
    rule = RewriteRule(replace="x", with_="y")
    assert rewrite_html("x" * 10, [rule]) == "y" * 10
    long = "x" * (MAX_REPLACE_CHARS + 1)
    assert rewrite_html(long, [rule]) == long


def test_named_groups_are_checked() -> None:
    assert rule_problem(RewriteRule(replace="(?P<w>a)", with_=r"\g<w>")) is None
    assert "lacks" in (rule_problem(RewriteRule(replace="(?P<w>a)", with_=r"\g<v>")) or "")


def test_each_bad_rule_of_a_long_list_is_placed_on_its_own_line(project: Path) -> None:
    """Rule lines are found once for the file and shared out between the sources: each
    source's rules are the headers between its own header and the next source's."""
    text, expected = "", []
    for n in range(300):
        text += f'[[source]]\nurl = "http://h{n}.example/f"\n'
        line = text.count("\n") + 1
        if n % 7 == 0:  # two header rules, the second bad
            text += '[[source.rewrite]]\nremove = "p"\n[[source.rewrite]]\nremove = ">>"\n'
            expected.append(f"sources/links.toml:{line + 2}")
        elif n % 7 == 3:  # inline rules: placed on the source's own line
            text += 'rewrite = [{ remove = "p" }, { remove = ">>" }]\n'
            expected.append(f"sources/links.toml:{line - 2}")
        elif n % 7 == 5:  # a good header rule
            text += '[[source.rewrite]]\nremove = "p"\n'
        text += "\n"
    _links(project, text)
    problems = read_sources(load_config(project)).problems
    assert [p.where for p in problems] == expected
    assert all("rewrite rule #2" in p.reason and "'>>'" in p.reason for p in problems)
