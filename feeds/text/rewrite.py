"""A source's rewrite rules: elements removed by CSS selector, text replaced by regular expression.

Sites put advertisements, share buttons and boilerplate in their feeds;
`[[source.rewrite]]` rules take them out. The rules run on the HTML as the
source gave it, before sanitising, because the sanitiser drops the `class`
and `id` attributes selectors name; whatever a rule leaves, or puts in with
`with`, is sanitised like the rest. Titles are rewritten as the text a
reader sees (markup and entities already gone).

Regular expressions are Python's `re`, which backtracks: a pattern such as
`(a+)+$` can take exponential time on a hostile text. The patterns are the
user's own, but the text is the remote site's, so replacements run only on
text up to MAX_REPLACE_CHARS long; longer content is left to the other
rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..model import RewriteRule

if TYPE_CHECKING:
    from lxml.cssselect import CSSSelector

# lxml and its selectors are imported when a `remove` rule is met: every
# rebuild reads the source list, and few lists have such rules.

# Longer text is not searched by `replace` rules: see the module docstring.
MAX_REPLACE_CHARS = 1_000_000

_GROUP_REFERENCE = re.compile(r"\\(?:g<([^>]*)>|(\d{1,2}))")


def rule_problem(rule: RewriteRule) -> str | None:
    """Why `rule` cannot be applied (a bad selector, pattern or group reference), else None."""
    if rule.remove is not None:
        from lxml.cssselect import SelectorError

        try:
            _selector(rule.remove)
        except (SelectorError, SyntaxError, ValueError) as exc:
            return f"'remove' selector {rule.remove!r} is invalid: {exc}"
        return None
    assert rule.replace is not None
    try:
        pattern = _pattern(rule.replace)
    except re.error as exc:
        return f"'replace' pattern {rule.replace!r} is invalid: {exc}"
    for match in _GROUP_REFERENCE.finditer(rule.with_):
        name, number = match.group(1), match.group(2)
        known = (int(number) <= pattern.groups if number is not None
                 else name in pattern.groupindex
                 or (name.isdigit() and int(name) <= pattern.groups))
        if not known:
            return f"'with' {rule.with_!r} names group {match.group(0)!r}, which 'replace' lacks"
    return None


@lru_cache(maxsize=256)
def _selector(css: str) -> CSSSelector:
    from lxml.cssselect import CSSSelector

    return CSSSelector(css, translator="html")


@lru_cache(maxsize=256)
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def rewrite_title(title: str, rules: Sequence[RewriteRule]) -> str:
    """`title` (plain text) after the `replace` rules meant for titles, in order."""
    for rule in rules:
        if rule.replace is not None and rule.field == "title":
            title = _replace(title, rule)
    return title


def rewrite_html(html: str, rules: Sequence[RewriteRule], *, document: bool = False) -> str:
    """`html` after the rules meant for content, in order: unsanitised in, unsanitised out.

    `document` says `html` is a whole page (kept as one, with its head) rather
    than an entry's content.
    """
    for rule in rules:
        if rule.remove is not None:
            html = _remove(html, rule.remove, document)
        elif rule.replace is not None and rule.field == "content":
            html = _replace(html, rule)
    return html


def _replace(text: str, rule: RewriteRule) -> str:
    if len(text) > MAX_REPLACE_CHARS:
        return text
    assert rule.replace is not None
    try:
        return _pattern(rule.replace).sub(rule.with_, text)
    except (re.error, IndexError):  # checked on load; a rule built elsewhere may not be
        return text


def _remove(html: str, css: str, document: bool) -> str:
    if not html.strip():
        return html
    import lxml.html
    from lxml import etree

    try:
        root: Any = (lxml.html.document_fromstring(html) if document
                     else lxml.html.fragment_fromstring(html, create_parent="div"))
    except (etree.ParserError, ValueError):
        return html  # nothing lxml can read: nothing to match either
    found = _selector(css)(root)
    if not found:
        return html
    for element in found:
        if element is root:
            return ""
        element.drop_tree()  # its tail text stays
    if document:
        return str(lxml.html.tostring(root, encoding="unicode"))
    inner = (root.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in root)
    return str(inner)
