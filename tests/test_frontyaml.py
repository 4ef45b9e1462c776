"""Front matter's plain shape, read without PyYAML, gives what PyYAML gives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.local.frontyaml import load_yaml, plain_mapping, pyyaml


def _typed(value: Any) -> Any:
    """`value` with the type of every part in it: True is not 1, a date is not a datetime."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo))
    if isinstance(value, date):
        return ("date", value.isoformat())
    return (type(value).__name__, value)


def _outcome(read: Any, text: str) -> Any:
    try:
        return ("value", _typed(read(text)))
    except yaml.YAMLError as exc:
        return ("error", type(exc).__name__, str(exc))


# What articles' front matters hold, the common shapes and the tricky scalars
# of YAML 1.1: words read as booleans or null, numbers in every base,
# sexagesimals, dates (valid or not), indicators, comments, quotes, escapes.
_SCALARS = [
    "x", "A title", "中文标题（12）", "Ünïcode ✓", "a  b", "\u00a0x", "x\u3000", "a#b", "a #b", "a: b",
    "a:b", "http://example.org/a?b=1#c", "ends:", "yes", "No", "ON", "off", "y", "n", "true", "False",
    "~", "null", "Null", "NULL", "", "0", "-3", "+7", "0777", "0o17", "0x1F", "0b101", "1_000",
    "1:20", "190:20:30", "3.14", "-.5", "1e3", "1.0e+3", ".inf", "-.Inf", ".NaN", "=", "<<",
    "2025-03-14", "2025-03-14T08:30:00Z", "2025-3-1 8:30:00", "0000-00-00", "2025-02-30",
    "2025-02-30T08:30:00Z", "2025-03-14T24:00:00Z", "2025-03-14T08:30:00z", "2025-03-14t08:30:00.5+05:30",
    "0000-0-0", "2025-13-45", "9999-12-31T23:59:59-01:00", "2025-03-14 x",
    '"quoted"', '"a \\"b\\" c"', '"back\\\\slash"', '"esc\\n"', '"tab\\t"', '"u\\u00e9"', '"open',
    '"a" b', '"a" #c', "'single'", "'it''s'", "'open", "'a' b", "[a, b]", "[]", "[ ]", "[yes, 1, x y]",
    "[a,]", "[a, [b]]", "[a, -b]", "[a: b]", "{a: 1}", "|", ">-", "&anchor x", "*alias", "!!str 1",
    "!tag x", "%x", "@x", "`x", "-", "- a", "-a", "?", "? a", ":x", "#c", "x\\y", "a\tb", "\\",
]
_KEYS = ["title", "date", "tags", "author", "description", "lang", "draft", "title_en", "a-b", "_k",
         "yes", "on", "No", "null", "y", "1", "3.5", "<<", "=", "two words", '"q"', "k:", "~", "é"]


# The scalars of `_SCALARS` that keep a line in the plain shape (most of
# them resolve to something other than text), for drawing texts that
# mostly stay in it.
_PLAIN_SCALARS = [
    "x", "A title", "中文标题（12）", "Ünïcode ✓", "a  b", "\u00a0x", "x\u3000", "a#b", "a:b",
    "http://example.org/a?b=1#c", "yes", "No", "ON", "off", "y", "n", "true", "False", "~", "null",
    "NULL", "0", "+7", "0777", "0o17", "0x1F", "0b101", "1_000", "1:20", "190:20:30", "3.14", "1e3",
    "1.0e+3", ".inf", ".NaN", "2025-03-14", "2025-03-14T08:30:00Z", "2025-3-1 8:30:00",
    "2025-03-14t08:30:00.5+05:30", "9999-12-31T23:59:59-01:00", "2025-03-14 x", "2025-02-30T08:30:00Z",
    "1999-01-01T00:00:00Z", '"quoted"', '"a \\"b\\" c"', '"back\\\\slash"', '""', "'single'",
    "'it''s'", "''", "' padded '", '" padded "', "[a, b]", "[]", "[yes, 1, x y]", "[a,b]",
    "[ 2025-03-14 , ~ ]", "x\\y",
]
_PLAIN_KEYS = ["title", "date", "tags", "author", "description", "lang", "draft", "title_en",
               "a-b", "_k", "yes", "on", "No", "null", "y", "True", "n", "Off"]


@st.composite
def _front_matters(draw: st.DrawFn, odd: int = 3) -> str:
    """A front matter's text; about one line in `odd` is drawn from anything YAML may hold."""
    def wild() -> bool:
        return draw(st.integers(0, odd - 1)) == 0

    lines = [draw(st.sampled_from(["", " ", "\t"])) if wild() else ""]  # the opening line's rest
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["pair", "pair", "pair", "list", "blank"] + ["odd"] * wild()))
        key = draw(st.sampled_from(_KEYS if wild() else _PLAIN_KEYS))
        colon = draw(st.sampled_from([": ", ":  ", ":", " : ", ":\t"])) if wild() else ": "
        if kind == "pair":
            value = draw(st.one_of(st.sampled_from(_SCALARS),
                                   st.text(st.sampled_from("ab 中:#-'\"\\[],{}!&*?|>%@`~.0129\u2028"),
                                           min_size=1, max_size=8))) if wild() else (
                draw(st.sampled_from(_PLAIN_SCALARS)))
            trail = draw(st.sampled_from(["  ", " # note", "\t"])) if wild() else ""
            lines.append(f"{key}{colon}{value}{trail}")
        elif kind == "list":
            lines.append(f"{key}{draw(st.sampled_from([':', ':  ', ': ']))}")
            indent = draw(st.sampled_from(["", "  ", "    "]))
            for _item in range(draw(st.integers(0, 4))):
                if wild():
                    indent = draw(st.sampled_from(["", " ", "  ", "\t"]))  # misaligned, perhaps
                dash = draw(st.sampled_from(["- ", "-  ", "-", "-\t"])) if wild() else "- "
                item = draw(st.sampled_from(_SCALARS if wild() else _PLAIN_SCALARS))
                lines.append(f"{indent}{dash}{item}")
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "  "])))
        else:
            lines.append(draw(st.sampled_from(
                ["# comment", "  continued", "...", "- stray", "plain", "  - x", "key:value", "\r",
                 "a: b: c", "  nested: 1", "k: |", "  block", "\ufeffk: v", "k:\u0085v"])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_front_matters(), _front_matters(odd=40)))
def test_the_plain_reading_gives_what_pyyaml_gives(text: str) -> None:
    assert _outcome(load_yaml, text) == _outcome(pyyaml, text)


@settings(max_examples=500, deadline=None)
@given(_front_matters(odd=40))
def test_what_the_plain_reading_takes_pyyaml_reads_alike(text: str) -> None:
    plain = plain_mapping(text)
    if plain is not None:
        assert _typed(plain) == _typed(pyyaml(text))


@pytest.mark.parametrize("text", [
    # The shape `feeds new` and the bench write, and the README's example.
    '\ntitle: "Storage plant joins the grid (42)"\ndate: 2024-05-01T08:30:00Z\n'
    'description: "A grid-scale plant went online."\ntags:\n- "energy"\n- "科技"\n'
    'author: "li wei"\n',
    "\ntitle: 新型储能电站在西北并网发电\ndate: 2025-03-14 08:30\nupdated: 2025-03-15\n"
    "tags: [energy, 能源, open source]\nauthors:\n  - Li Wei\n  - Anna Berg\nlang: zh\n"
    "link: https://news.example.org/a?b=1\ndraft: false\nid: a-000042\n\n",
    "\ntitle: 'It''s here'\ndescription:\ntitle_en: Plain English\nimage: /img/a.png\n",
])
def test_the_common_shapes_are_read_without_pyyaml(text: str) -> None:
    plain = plain_mapping(text)
    assert plain is not None
    assert _typed(plain) == _typed(pyyaml(text))


@pytest.mark.parametrize("text", [
    "\ntitle: x # a comment\n", "\ntitle: >\n  folded\n", "\ntags: [a, [b]]\n", "\nk: &a x\n",
    "\ntitle: a\n  continued\n", "\ndate: 0000-00-00\n", "\nk: <<\n", "\n<<: x\n", "\nk: \"\\n\"\n",
    "\r\ntitle: x\r\n", "\n  title: x\n",
])
def test_other_shapes_are_left_to_pyyaml(text: str) -> None:
    assert plain_mapping(text) is None
    assert _outcome(load_yaml, text) == _outcome(pyyaml, text)


def test_the_text_left_to_pyyaml_holds_what_it_cannot_print_or_reads_as_a_break() -> None:
    """Every code point: those PyYAML's reader refuses, and the tab, carriage return, next
    line, line and paragraph separators and byte order mark, which it reads its own way."""
    from yaml.reader import Reader

    from feeds.local.frontyaml import _NOT_PLAIN_TEXT

    every = "".join(map(chr, range(0x110000)))
    others = {ord(c) for c in "\t\r\x85\u2028\u2029\ufeff"}
    expected = [m.start() for m in Reader.NON_PRINTABLE.finditer(every)]
    expected = sorted({*expected, *others})
    assert [m.start() for m in _NOT_PLAIN_TEXT.finditer(every)] == expected
