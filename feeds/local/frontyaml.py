"""The YAML of a front matter: its plain shape read directly, the rest by PyYAML (pure).

Most front matters are a handful of `key: value` lines and a block list or
two. PyYAML reads them with libyaml's C parser but builds and resolves
every node in Python, about 80 µs a file: most of the time a cold build
spends on an article it does not render. `load_yaml` reads that plain shape
line by line and hands each scalar to PyYAML's own rules (its implicit
resolvers, then its constructors), so a value is what PyYAML would make of
it; anything else (comments, anchors, tags, block scalars, flow mappings,
escapes other than `\\"` and `\\\\`, continuation lines, tabs, other line
breaks, a key that is not a plain word) is read by PyYAML, which also words
every error. A property test holds the two equal on drawn front matters.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import yaml
from yaml.nodes import ScalarNode


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader when present (yaml.SafeLoader's rules, in C).

    PyYAML builds a date from any `dddd-d-d` scalar and lets Python's
    ValueError out for one that is no date (`0000-0-0`); that is bad input
    like any other, so it becomes a YAML error that knows its line.
    """


def _yaml_timestamp(loader: yaml.constructor.SafeConstructor, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a date ({exc})", node.start_mark) from exc


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _yaml_timestamp)


def load_yaml(text: str) -> Any:
    """The value of the YAML document `text`, as `yaml.load` with the safe loader gives it.

    Raises yaml.YAMLError as PyYAML does: a text the plain reading does not
    take is read by PyYAML alone.
    """
    plain = plain_mapping(text)
    return plain if plain is not None else pyyaml(text)


def pyyaml(text: str) -> Any:
    """The value of the YAML document `text` as PyYAML's safe loader reads it, every shape."""
    return yaml.load(text, Loader=_YamlLoader)  # a safe loader


# Characters outside YAML's printable set, and the line breaks and byte
# order mark that are printable but other than "\n": PyYAML treats each
# in its own way, so a text holding one is PyYAML's to read. Named as they
# are, not as all but the rest (`[^\n\x20-\x7e\xa0-\u2027...]`): Python's
# re compiles a class by marking each character of its ranges, one by one,
# which took the complement's 63,000 five milliseconds at every start.
_NOT_PLAIN_TEXT = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
# A key of letters, digits, `_` and `-` at the start of a line, then `:` and
# the value after at least one space (or nothing): `title:x` is a scalar, not a pair.
_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,127}):(?: +(.*))?")
# Characters that cannot start a plain scalar, or give it another meaning.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_DOUBLE_QUOTED = re.compile(r'"((?:[^"\\]|\\["\\])*)" *')
_SINGLE_QUOTED = re.compile(r"'((?:[^']|'')*)' *")
_ESCAPE = re.compile(r'\\(["\\])')
# A time to the second in UTC (`2025-03-14T08:30:00Z`): a timestamp to PyYAML, never a number.
# The hour is below 24, which `datetime` requires (as PyYAML's constructor does) while
# `datetime.fromisoformat` may read `T24:00:00` as the next midnight.
_UTC_SECOND = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}Z")
# A flow list of plain words: `[a, b c, 2]`, nothing in it that flow context reads otherwise.
_FLOW_LIST = re.compile(r"\[([^\[\]{}#:?\"'!&*|>%@`]*)\] *")

# PyYAML's implicit resolvers by a scalar's first character, each list followed by
# those for any character (PyYAML has none, but a resolver added later is kept).
_WILDCARD: list[tuple[str, re.Pattern[str]]] = _YamlLoader.yaml_implicit_resolvers.get(None, [])
_RESOLVERS = {first: [*resolvers, *_WILDCARD]
              for first, resolvers in _YamlLoader.yaml_implicit_resolvers.items()}
# The tags a plain scalar may resolve to whose constructors need nothing but
# the scalar's text; any other (a merge key `<<`, a value `=`) is PyYAML's.
_CONSTRUCTED = frozenset(f"tag:yaml.org,2002:{name}"
                         for name in ("null", "bool", "int", "float", "timestamp"))
# PyYAML's constructors use nothing of their loader but its tables of words
# and patterns, which a bare SafeConstructor holds as the loader does.
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _NotPlain(Exception):
    """The text is not in the plain shape: PyYAML reads it."""


def plain_mapping(text: str) -> dict[Any, Any] | None:
    """The mapping a plain front matter holds, or None when it is not plain (PyYAML's to read).

    Plain: lines `key: value` at the start of the line, and under a key
    whose value is empty, block list items `- value` at one indentation,
    with blank lines anywhere. A value is a plain scalar on one line, a
    single- or double-quoted one (escapes `\\"` and `\\\\` only), or a flow
    list of plain words.
    """
    if _NOT_PLAIN_TEXT.search(text):
        return None
    try:
        return _read_pairs(text.split("\n"))
    except (_NotPlain, yaml.YAMLError, ValueError, OverflowError):
        # A value PyYAML's constructor refuses (a `dddd-d-d` that is no
        # date) is reported by PyYAML itself, with its line.
        return None


def _read_pairs(lines: list[str]) -> dict[Any, Any] | None:
    mapping: dict[Any, Any] = {}
    count = len(lines)
    number = 0
    while number < count:
        line = lines[number]
        number += 1
        pair = _PAIR.fullmatch(line)
        if pair is None:
            if line.strip(" "):
                raise _NotPlain
            continue  # a blank line
        key, rest = pair.groups()
        # `rest` starts after every space that follows the colon: empty, or text.
        if rest:
            value = _value(rest.rstrip(" "))
        else:
            items, number = _block_list(lines, number)
            value = items or None
        made = _KEYS.get(key, _KEYS)
        if made is _KEYS:
            made = _plain(key)
            if len(_KEYS) < 1000:
                _KEYS[key] = made
        mapping[made] = value
    return mapping or None


# Keys as `_plain` makes them (words, or `true`, `null`...): the same few in every front matter.
_KEYS: dict[str, Any] = {}


def _block_list(lines: list[str], number: int) -> tuple[list[Any], int]:
    """The items of a block list starting at line `number`, and the line after it."""
    items: list[Any] = []
    indent = -1
    count = len(lines)
    while number < count:
        line = lines[number]
        if line[:2] == "- " and indent <= 0:
            indent = 0  # the common case: an item at the start of the line
            item = line[2:].strip(" ")
        else:
            stripped = line.lstrip(" ")
            if not stripped:
                number += 1
                continue
            if not stripped.startswith("- "):
                if stripped == "-" or len(stripped) != len(line):
                    raise _NotPlain  # an empty item, or a line that continues something
                break
            depth = len(line) - len(stripped)
            if indent not in (-1, depth):
                raise _NotPlain
            indent = depth
            item = stripped[2:].strip(" ")
        if not item:
            raise _NotPlain
        items.append(_value(item))
        number += 1
    return items, number


def _value(text: str) -> Any:
    """One value written on one line (`text` without its edge spaces)."""
    first = text[0]
    if first == '"':
        inside = text[1:-1]
        if text[-1] == '"' and '"' not in inside and "\\" not in inside and len(text) > 1:
            return inside  # the common case, without a regular expression
        quoted = _DOUBLE_QUOTED.fullmatch(text)
        if quoted is None:
            raise _NotPlain
        inside = quoted.group(1)
        return _ESCAPE.sub(_escaped, inside) if "\\" in inside else inside
    if first == "'":
        quoted = _SINGLE_QUOTED.fullmatch(text)
        if quoted is None:
            raise _NotPlain
        return quoted.group(1).replace("''", "'")
    if first == "[":
        flow = _FLOW_LIST.fullmatch(text)
        if flow is None:
            raise _NotPlain
        inside = flow.group(1)
        if not inside.strip(" "):
            return []
        words = [word.strip(" ") for word in inside.split(",")]
        if not all(words) or any(word[0] in _INDICATORS for word in words):
            raise _NotPlain  # an empty item, or one flow context reads otherwise
        return [_plain(word) for word in words]
    if first in _INDICATORS or ": " in text or text.endswith(":") or " #" in text:
        raise _NotPlain
    return _plain(text)


def _escaped(escape: re.Match[str]) -> str:
    return escape.group(1)


def _plain(text: str) -> Any:
    """A plain scalar as PyYAML resolves and constructs it (see `yaml.resolver.BaseResolver.resolve`)."""
    if "0" <= text[0] <= "9" and _UTC_SECOND.fullmatch(text):
        # The date most front matters hold, made as PyYAML's timestamp
        # constructor makes it (in UTC; ValueError for a day or time that
        # does not exist), in a tenth of the time.
        return datetime.fromisoformat(text)
    for tag, pattern in _RESOLVERS.get(text[0], _WILDCARD):
        if pattern.match(text):
            if tag not in _CONSTRUCTED:
                raise _NotPlain
            return _YamlLoader.yaml_constructors[tag](_CONSTRUCTOR, ScalarNode(tag, text))
    return text
