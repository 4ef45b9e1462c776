"""The store: what keeps entries and sources between runs, a SQLite file or a PostgreSQL database.

`sqlite.Store` opens the file (schema and migrations in `schema`),
`postgres.PostgresStore` the database (its own in `pgschema`); both are
`tables.Tables`: entries in `entries`, sources in `sources`, WebSub pings
in `hubs`, the own hub's subscribers in `subscriptions`, the dating rules
in `dates`. The pipeline and the refresh are the only modules that use it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StoreError
from .dates import decide_updated, local_updated
from .entries import LocalSync
from .schema import LOCAL, SCHEMA_VERSION
from .sqlite import Store
from .tables import Tables


def open_at(url: str | None, path: Path) -> Tables:
    """A session of the PostgreSQL store at `url` if given, else of the SQLite file at `path`.

    The PostgreSQL driver is an optional install: a project on SQLite needs
    none of it, and only one naming a database is told to add it.
    """
    if url is None:
        return Store(path)
    try:
        from .postgres import PostgresStore
    except ImportError as exc:
        raise StoreError(
            f"a PostgreSQL store needs the psycopg driver, which is not installed ({exc}); "
            "install it with: pip install 'feeds[postgresql]'") from exc
    return PostgresStore(url)


__all__ = ["LOCAL", "SCHEMA_VERSION", "LocalSync", "Store", "Tables", "decide_updated",
           "local_updated", "open_at"]
