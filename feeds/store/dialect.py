"""What the store's tables need of a database connection, and where SQL dialects differ.

The tables (`entries`, `sources`, `hubs`, `subscriptions`) hold SQL both
SQLite and PostgreSQL run as written, with `?` placeholders: standard
upserts (`ON CONFLICT … DO UPDATE`, the updated row named by its table),
`CASE` for conditional counts. The few functions the two spell apart are
named by a `Dialect`, and each store gives its tables a connection that
answers `execute` and `executemany` as `sqlite3` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Cursor(Protocol):
    """The rows of one statement, and how many it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection as the tables use it: statements with `?` placeholders."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


@dataclass(frozen=True)
class Dialect:
    """The SQL functions the two databases name differently."""

    least: str  # the smaller of two values
    greatest: str  # the larger of two values
    # The source feed's own `updated` inside an entry's stored JSON (`data`).
    source_updated: str


SQLITE = Dialect(least="MIN", greatest="MAX", source_updated="json_extract(data, '$.source[3]')")
POSTGRESQL = Dialect(least="LEAST", greatest="GREATEST",
                     source_updated="(data::json -> 'source' ->> 3)")
