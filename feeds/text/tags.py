"""Tags as feeds publish them: folded, aliased, without repeats (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .sanitise import clean_text


def normalise_tags(items: Sequence[Any], aliases: Mapping[str, str], fail: Any = None) -> tuple[
        str, ...]:
    """Tags case-folded, stripped, aliased and de-duplicated in first-seen order."""
    tags: list[str] = []
    for item in items:
        if isinstance(item, (list, dict)) or item is None:
            if fail is not None:
                raise fail(item)
            continue
        tag = " ".join(clean_text(str(item)).split()).casefold()
        tag = aliases.get(tag, tag)
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)
