"""The PostgreSQL store's schema: each migration in order; `feeds_schema.version` counts those applied.

It holds what SQLite's migrations 1–7 built, in PostgreSQL's types: times
as double precision epoch seconds, sizes as bigint, and every text a key
or an order is taken from in the "C" collation, so that rows sort by code
point as SQLite sorts them (and feeds come out byte for byte the same)
whatever the database's locale. A source's row can gain the columns of a
fetch worker's lease in a later migration without touching the rest.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: everything SQLite's schema 7 holds
    """
    CREATE TABLE sources (
        key TEXT COLLATE "C" PRIMARY KEY,
        url TEXT NOT NULL,
        title TEXT,
        status TEXT NOT NULL DEFAULT 'new',
        etag TEXT,
        last_modified TEXT,
        last_fetch DOUBLE PRECISION,
        last_success DOUBLE PRECISION,
        last_error TEXT,
        last_error_kind TEXT,
        error_count BIGINT NOT NULL DEFAULT 0,
        next_due DOUBLE PRECISION,
        redirect_target TEXT,
        redirect_count BIGINT NOT NULL DEFAULT 0,
        warning TEXT,
        feed_id TEXT,
        feed_link TEXT,
        feed_updated TEXT
    );
    CREATE INDEX sources_by_due ON sources(next_due);
    CREATE TABLE aliases (
        url TEXT COLLATE "C" PRIMARY KEY,
        key TEXT COLLATE "C" NOT NULL REFERENCES sources(key) ON DELETE CASCADE
    );
    CREATE TABLE domains (
        domain TEXT COLLATE "C" PRIMARY KEY,
        blocked_until DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE entries (
        id TEXT COLLATE "C" PRIMARY KEY,
        origin TEXT COLLATE "C" NOT NULL,
        canonical_link TEXT COLLATE "C",
        content_hash TEXT NOT NULL,
        declared_updated TEXT,
        updated TEXT NOT NULL,
        sort_time DOUBLE PRECISION NOT NULL,
        first_seen DOUBLE PRECISION NOT NULL,
        data TEXT NOT NULL,
        listing TEXT
    );
    CREATE INDEX entries_by_origin ON entries(origin, sort_time);
    CREATE INDEX entries_by_canonical ON entries(canonical_link);
    CREATE TABLE article_cache (
        path TEXT COLLATE "C" PRIMARY KEY,
        digest TEXT NOT NULL,
        size BIGINT NOT NULL,
        mtime_ns BIGINT NOT NULL,
        entry_id TEXT COLLATE "C",
        head TEXT
    );
    CREATE TABLE outputs (
        path TEXT COLLATE "C" PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        sha256 TEXT NOT NULL
    );
    CREATE TABLE hub_pings (
        hub TEXT COLLATE "C" NOT NULL,
        url TEXT COLLATE "C" NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_try DOUBLE PRECISION NOT NULL,
        last_error TEXT,
        owed DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (hub, url)
    );
    CREATE TABLE hubs (
        hub TEXT COLLATE "C" PRIMARY KEY,
        last_success DOUBLE PRECISION,
        last_error TEXT,
        last_failure DOUBLE PRECISION
    );
    CREATE TABLE hub_subscriptions (
        topic TEXT COLLATE "C" NOT NULL,
        callback TEXT COLLATE "C" NOT NULL,
        secret TEXT,
        expires DOUBLE PRECISION NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (topic, callback)
    );
    CREATE TABLE hub_deliveries (
        topic TEXT COLLATE "C" NOT NULL,
        callback TEXT COLLATE "C" NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_try DOUBLE PRECISION NOT NULL,
        last_error TEXT,
        owed DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (topic, callback),
        FOREIGN KEY (topic, callback) REFERENCES hub_subscriptions(topic, callback)
            ON DELETE CASCADE
    );
    """,
    # 2: SQLite's 8: the article pages of `full_text` sources, and each
    # source's last page failure
    """
    CREATE TABLE pages (
        link TEXT COLLATE "C" PRIMARY KEY,
        url TEXT NOT NULL,
        fetched DOUBLE PRECISION NOT NULL,
        content_html TEXT,
        error TEXT,
        entry_digest TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT
    );
    ALTER TABLE sources ADD COLUMN page_error TEXT;
    """,
    # 3: what processes sharing the store coordinate by (see `coordination`):
    # a fetch worker's lease on a source, a site's turn, each process's heartbeat
    """
    ALTER TABLE sources ADD COLUMN lease_until DOUBLE PRECISION;
    ALTER TABLE sources ADD COLUMN leased_by TEXT;
    CREATE INDEX sources_by_holder ON sources(leased_by);
    CREATE TABLE sites (
        domain TEXT COLLATE "C" PRIMARY KEY,
        busy_until DOUBLE PRECISION,
        busy_by TEXT,
        next_allowed DOUBLE PRECISION NOT NULL DEFAULT 0
    );
    CREATE TABLE workers (
        id TEXT COLLATE "C" PRIMARY KEY,
        host TEXT NOT NULL,
        pid BIGINT NOT NULL,
        role TEXT NOT NULL,
        started DOUBLE PRECISION NOT NULL,
        heartbeat DOUBLE PRECISION NOT NULL,
        every DOUBLE PRECISION NOT NULL
    );
    """,
    # 4: what the last sync of the local articles saw of the tree (see
    # `model.LocalState`), as SQLite's schema 9
    """
    CREATE TABLE local_state (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        key TEXT NOT NULL,
        files BIGINT NOT NULL,
        drafts BIGINT NOT NULL,
        articles BIGINT NOT NULL,
        stored BIGINT NOT NULL,
        wanted TEXT,
        manifest TEXT NOT NULL
    );
    """,
    # 5: the source list fetch workers claim from (see `coordination`): which
    # sources it lists, due first, and the fingerprint of the list they came from
    """
    ALTER TABLE sources ADD COLUMN listed BOOLEAN NOT NULL DEFAULT false;
    CREATE INDEX sources_listed_by_due ON sources(next_due NULLS FIRST) WHERE listed;
    CREATE TABLE source_list (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        fingerprint TEXT NOT NULL,
        changed DOUBLE PRECISION NOT NULL
    );
    """,
    # 6: the local state's manifest in parts, a row each, as SQLite's schema 10
    """
    DROP TABLE local_state;
    CREATE TABLE local_state (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        key TEXT NOT NULL,
        files BIGINT NOT NULL,
        drafts BIGINT NOT NULL,
        articles BIGINT NOT NULL,
        stored BIGINT NOT NULL,
        wanted TEXT
    );
    CREATE TABLE local_manifest (
        part BIGINT PRIMARY KEY,
        lines TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
