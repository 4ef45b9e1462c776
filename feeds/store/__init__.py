"""The store: one SQLite file that keeps entries and sources between runs.

`sqlite.Store` opens it (schema and migrations in `schema`, entries in
`entries`, WebSub pings in `hubs`, the dating rules in `dates`); the
pipeline and the refresh are the only modules that use it.
"""

from .dates import decide_updated, local_updated
from .entries import LocalSync
from .schema import LOCAL, SCHEMA_VERSION
from .sqlite import Store

__all__ = ["LOCAL", "SCHEMA_VERSION", "LocalSync", "Store", "decide_updated", "local_updated"]
