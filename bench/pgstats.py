"""What a pass of fetching cost PostgreSQL: its CPU, its transactions, the rows it wrote, where.

The server's processes are not the benchmark's children, so their CPU is
read from /proc before and after (see `Cluster.server_cpu_seconds`); the
work is read from PostgreSQL's cumulative statistics, which a backend
sends when its transaction ends and when it exits: `settle` waits until
every other connection to the database has ended, so the counts are
complete. With pg_stat_statements loaded, the statements most often run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bench.pgcluster import Cluster

# pg_stat_database's counters a pass is judged by.
_DATABASE = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted",
             "tup_returned", "tup_fetched")
# pg_stat_user_tables' counters, by table.
_TABLES = ("n_tup_ins", "n_tup_upd", "n_tup_hot_upd", "n_tup_del", "seq_scan", "seq_tup_read",
           "idx_scan")


@dataclass(frozen=True)
class Snapshot:
    """The server's CPU and one database's counters at one moment."""

    cpu: float
    database: dict[str, int]
    tables: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Cost:
    """What the server did between two snapshots."""

    cpu: float  # user + system seconds of every server process
    database: dict[str, int]
    tables: dict[str, dict[str, int]]
    size: int  # the database's size afterwards, bytes
    statements: list[tuple[int, float, int, str]] = field(default_factory=list)

    def counter(self, name: str) -> int:
        return self.database.get(name, 0)


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def settle(url: str, timeout: float = 30.0) -> None:
    """Wait until no other connection to `url`'s database is open (their statistics are sent)."""
    deadline = time.monotonic() + timeout
    with _connect(url) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                               "current_database() AND pid <> pg_backend_pid()").fetchone()
            if row is not None and int(row[0]) == 0:
                return
            time.sleep(0.1)


def snapshot(cluster: Cluster, url: str) -> Snapshot:
    """The server's CPU now and `url`'s database's counters as the server has them."""
    with _connect(url) as conn:
        row = conn.execute(f"SELECT {', '.join(_DATABASE)} FROM pg_stat_database "
                           "WHERE datname = current_database()").fetchone()
        database = {name: int(value or 0) for name, value in zip(_DATABASE, row, strict=True)}
        tables = {}
        for r in conn.execute(f"SELECT relname, {', '.join(_TABLES)} FROM pg_stat_user_tables"):
            tables[str(r[0])] = {name: int(v or 0) for name, v in zip(_TABLES, r[1:], strict=True)}
    return Snapshot(cluster.server_cpu_seconds(), database, tables)


def cost(cluster: Cluster, url: str, before: Snapshot, statements: bool = False) -> Cost:
    """What the server did since `before` (once the other connections have ended)."""
    settle(url)
    after = snapshot(cluster, url)
    database = {k: v - before.database.get(k, 0) for k, v in after.database.items()}
    tables = {}
    for table, counts in after.tables.items():
        old = before.tables.get(table, {})
        tables[table] = {k: v - old.get(k, 0) for k, v in counts.items()}
    with _connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        top = top_statements(conn) if statements else []
    return Cost(after.cpu - before.cpu, database, tables, int(row[0]) if row else 0, top)


def load_statements(url: str) -> None:
    """Make pg_stat_statements readable from `url`'s database and start its counts afresh."""
    with _connect(url) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")


def top_statements(conn: Any, limit: int = 12) -> list[tuple[int, float, int, str]]:
    """(calls, total ms, rows, query) of this database's most frequent statements."""
    rows = conn.execute(
        "SELECT calls, total_exec_time, rows, query FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "ORDER BY calls DESC LIMIT %s", (limit,)).fetchall()
    return [(int(r[0]), float(r[1]), int(r[2]), " ".join(str(r[3]).split())) for r in rows]
