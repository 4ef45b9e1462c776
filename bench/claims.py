"""`python -m bench.claims LISTED [BATCHES]`: PostgreSQL CPU per source claimed, by list length.

A fetch worker's batch once sent the whole source list to the server twice
(adding new sources, then claiming among the listed keys), so the server's
work per source polled grew with the list; the list is now put in the store
when it changes, and a batch claims from the store's `next_due` index. A
bench pass of a few thousand feeds cannot show the difference (the list is
short), and one of a million takes hours: this measures the claims alone,
on a store of LISTED sources of which a few batches' worth are due, both
ways on the same store, with the server's CPU read from /proc before and
after (see `pgcluster.Cluster.server_cpu_seconds`). Each claimed batch is
then stored as a fetch would leave it: due an hour later, its leases let
go. It also measures one change of the list (a source added, one removed).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from feeds.model import SourceConfig
from feeds.remote.refresh import list_fingerprint
from feeds.store import open_at
from feeds.store.postgres import PostgresStore

from .pgcluster import Cluster, start_cluster

BATCH = 64  # a fetch worker's default batch (its `concurrency`)


def _measure(cluster: Cluster, store: PostgresStore, name: str, batches: int,
             claim: Callable[[], list[str]]) -> None:
    cpu, wall, claimed = cluster.server_cpu_seconds(), time.monotonic(), 0
    for _ in range(batches):
        keys = claim()
        claimed += len(keys)
        with store._transaction():
            store._db.execute("UPDATE sources SET next_due = ?, lease_until = NULL, "
                              "leased_by = NULL WHERE key = ANY(?)", (time.time() + 3600, keys))
    cpu = cluster.server_cpu_seconds() - cpu
    print(f"{name}: {claimed} sources claimed in {batches} batches: "
          f"{cpu * 1000 / max(claimed, 1):.3f} ms of PostgreSQL CPU per source claimed "
          f"({time.monotonic() - wall:.1f} s wall)", flush=True)


def _claim_among(store: PostgresStore, keys: list[str], now: float, lease: float,
                 limit: int) -> list[str]:
    """The claim a batch made before the list was kept in the store: among `keys`, sent."""
    with store._transaction():
        rows = store._db.execute(
            "UPDATE sources SET lease_until = ?, leased_by = 'w' WHERE key IN ("
            " SELECT key FROM sources WHERE key = ANY(?) AND status <> 'gone'"
            " AND (next_due IS NULL OR next_due <= ?)"
            " AND (lease_until IS NULL OR lease_until <= ?)"
            " ORDER BY next_due NULLS FIRST, md5(key) LIMIT ? FOR UPDATE SKIP LOCKED)"
            " RETURNING key",
            (now + lease, keys, now, now, limit)).fetchall()
    return sorted(str(r[0]) for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listed", type=int, help="sources on the list")
    parser.add_argument("batches", type=int, nargs="?", default=20, help="batches claimed")
    args = parser.parse_args()
    cluster = start_cluster()
    try:
        urls = [f"http://h{n % 997}.example/{n}.xml" for n in range(args.listed)]
        fingerprint = list_fingerprint([SourceConfig(u) for u in urls])
        with open_at(cluster.new_database(), Path()) as store:
            assert isinstance(store, PostgresStore)
            store.list_sources(urls, urls, fingerprint, time.time())
            # All due in an hour but twice the batches' worth, due now, spread over the sites.
            store._db.execute("UPDATE sources SET next_due = ?", (time.time() + 3600,))
            store._db.execute("UPDATE sources SET next_due = NULL WHERE key IN (SELECT key "
                              "FROM sources ORDER BY md5(key) LIMIT ?)",
                              (2 * args.batches * BATCH,))
            store._db.execute("VACUUM ANALYZE sources")

            def sent() -> list[str]:  # as before: the list with every batch
                store.ensure_sources(urls)
                keys = store.resolve_keys(urls)
                return _claim_among(store, list(keys.values()), time.time(), 30.0, BATCH)

            def kept() -> list[str]:  # now: the list in the store
                store.list_sources(urls, urls, fingerprint, time.time())
                return store.claim_listed("w", time.time(), 30.0, BATCH)

            _measure(cluster, store, f"{args.listed} listed, the list sent with each batch",
                     args.batches, sent)
            _measure(cluster, store, f"{args.listed} listed, the list kept in the store",
                     args.batches, kept)
            cpu, wall = cluster.server_cpu_seconds(), time.monotonic()
            store.list_sources([*urls, "http://new.example/x.xml"], urls[1:], "changed",
                               time.time())
            print(f"the list changed (one source added, one removed): "
                  f"{(cluster.server_cpu_seconds() - cpu) * 1000:.0f} ms of PostgreSQL CPU "
                  f"({time.monotonic() - wall:.2f} s wall)", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
