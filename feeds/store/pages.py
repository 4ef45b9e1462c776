"""The pages table: the articles of `full_text` sources, kept by their entry's canonical link.

`PageTables` is the part of a store that keeps them, in SQL both SQLite
and PostgreSQL run; it works on the connection and transactions the store
opens. Which pages to fetch and when
one is due again is decided in `remote.fulltext`; this only remembers them,
so a page is not fetched again on every poll of its feed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import astuple, fields
from functools import cache
from typing import TYPE_CHECKING

from .. import model
from .dialect import Connection

if TYPE_CHECKING:  # made when first used (see `feeds.model`)
    from ..model import CachedPage


@cache
def _names() -> tuple[str, ...]:
    """The columns of a kept page: CachedPage's fields, in order."""
    return tuple(f.name for f in fields(model.CachedPage))


class PageTables:
    """Cached article pages, over the Store's connection."""

    _db: Connection
    _transaction: Callable[[], AbstractContextManager[None]]

    def cached_pages(self, links: Iterable[str]) -> dict[str, CachedPage]:
        """Canonical link → the page kept for it, of those of `links` that have one."""
        wanted = list(dict.fromkeys(links))
        found: dict[str, CachedPage] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = self._db.execute(
                f"SELECT {', '.join(_names())} FROM pages "
                f"WHERE link IN ({','.join('?' * len(chunk))})", chunk)
            found.update((row[0], model.CachedPage(*row)) for row in rows)
        return found

    def record_pages(self, pages: Iterable[CachedPage]) -> None:
        """Keep `pages` (replacing what was kept for their links), and forget orphans.

        A page whose link no stored entry has any more (retention removed
        it) is of no use and goes in the same transaction.
        """
        with self._transaction():
            self._db.executemany(
                f"INSERT INTO pages ({', '.join(_names())}) VALUES ({','.join('?' * len(_names()))}) "
                "ON CONFLICT(link) DO UPDATE SET "
                + ", ".join(f"{name} = excluded.{name}" for name in _names()[1:]),
                (astuple(page) for page in pages))
            self._db.execute(
                "DELETE FROM pages WHERE link NOT IN "
                "(SELECT canonical_link FROM entries WHERE canonical_link IS NOT NULL)")
