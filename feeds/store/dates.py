"""When a stored entry was updated: decided once, when its content really changes (pure)."""

from __future__ import annotations

from datetime import datetime


def decide_updated(
    stored: tuple[str, str | None, str] | None,
    new_hash: str,
    declared: datetime | None,
    now: datetime,
) -> tuple[datetime, bool]:
    """The `updated` time to keep for an entry, and whether to write it (pure).

    `stored` is (content hash, declared updated, kept updated) or None for a
    new entry. Unchanged content keeps its time; a changed declared time is
    taken as it is; changed content under the same declared time is dated now.
    """
    if stored is None:
        return (declared if declared is not None else now), True
    declared_text = declared.isoformat() if declared is not None else None
    old_hash, old_declared, old_updated = stored
    if old_hash == new_hash and old_declared == declared_text:
        return datetime.fromisoformat(old_updated), False
    if declared is not None and declared_text != old_declared:
        return declared, True
    return max(now, datetime.fromisoformat(old_updated)), True


def local_updated(
    stored: tuple[str, str | None, str] | None, new_hash: str, updated: datetime
) -> tuple[datetime, bool]:
    """The `updated` time of a local article, and whether to write its entry (pure).

    The article's file decides its time (front matter `updated`, else
    `date`), never the store's history: an edit that keeps the dates, or a
    changed site default such as the author, is then no update, and a fresh
    build of the same files gives the same time. `stored` is as for
    `decide_updated`; the entry is written when its content or its time
    differs from what is stored.
    """
    return updated, stored is None or stored[0] != new_hash or stored[2] != updated.isoformat()
