"""The store's schema: each migration in order; a store's `user_version` counts those applied."""

from __future__ import annotations

LOCAL = "local"  # the origin of local articles in the entries table

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE sources (
        key TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        title TEXT,
        status TEXT NOT NULL DEFAULT 'new',
        etag TEXT,
        last_modified TEXT,
        last_fetch REAL,
        last_success REAL,
        last_error TEXT,
        last_error_kind TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        next_due REAL,
        redirect_target TEXT,
        redirect_count INTEGER NOT NULL DEFAULT 0,
        warning TEXT,
        feed_id TEXT,
        feed_link TEXT,
        feed_updated TEXT
    );
    CREATE TABLE aliases (
        url TEXT PRIMARY KEY,
        key TEXT NOT NULL REFERENCES sources(key) ON DELETE CASCADE
    );
    CREATE TABLE domains (
        domain TEXT PRIMARY KEY,
        blocked_until REAL NOT NULL
    );
    CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        origin TEXT NOT NULL,
        canonical_link TEXT,
        content_hash TEXT NOT NULL,
        declared_updated TEXT,
        updated TEXT NOT NULL,
        sort_time REAL NOT NULL,
        first_seen REAL NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX entries_by_origin ON entries(origin, sort_time);
    CREATE INDEX entries_by_canonical ON entries(canonical_link);
    """,
    # 2: parsed local articles, so unchanged files are not parsed again
    """
    CREATE TABLE article_cache (
        path TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        data TEXT
    );
    """,
    # 3: listings beside entries, article files known by their stat, and the
    # fingerprints of written feeds, so a rebuild costs what changed
    """
    ALTER TABLE entries ADD COLUMN listing TEXT;
    DROP TABLE article_cache;
    CREATE TABLE article_cache (
        path TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        entry_id TEXT
    );
    CREATE TABLE outputs (
        path TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        sha256 TEXT NOT NULL
    );
    """,
    # 4: what each article's front matter says of its place in the feeds, so
    # that only the articles a feed can show are parsed and stored
    """
    ALTER TABLE article_cache ADD COLUMN head TEXT;
    """,
    # 5: a local article's `updated` is its file's; earlier versions dated a
    # change that kept the file's dates when they noticed it. Forgetting what
    # was read of every file makes the next build read each one again and
    # store it with its own time.
    """
    DELETE FROM article_cache;
    """,
    # 6: WebSub pings a hub has not taken yet, kept until it does, and each
    # hub's last success and failure, for `feeds sources` and /healthz
    """
    CREATE TABLE hub_pings (
        hub TEXT NOT NULL,
        url TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try REAL NOT NULL,
        last_error TEXT,
        owed REAL NOT NULL,
        PRIMARY KEY (hub, url)
    );
    CREATE TABLE hubs (
        hub TEXT PRIMARY KEY,
        last_success REAL,
        last_error TEXT,
        last_failure REAL
    );
    """,
    # 7: feeds' own WebSub hub: verified subscriptions, kept across restarts
    # until their lease ends, and the new content each subscriber is owed
    # until it takes it (the body is read from the feed file when sent)
    """
    CREATE TABLE hub_subscriptions (
        topic TEXT NOT NULL,
        callback TEXT NOT NULL,
        secret TEXT,
        expires REAL NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (topic, callback)
    );
    CREATE TABLE hub_deliveries (
        topic TEXT NOT NULL,
        callback TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try REAL NOT NULL,
        last_error TEXT,
        owed REAL NOT NULL,
        PRIMARY KEY (topic, callback),
        FOREIGN KEY (topic, callback) REFERENCES hub_subscriptions(topic, callback)
            ON DELETE CASCADE
    );
    """,
    # 8: the article pages of `full_text` sources, by the entry's canonical
    # link, with their validators, and each source's last page failure
    """
    CREATE TABLE pages (
        link TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        fetched REAL NOT NULL,
        content_html TEXT,
        error TEXT,
        entry_digest TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT
    );
    ALTER TABLE sources ADD COLUMN page_error TEXT;
    """,
    # 9: what the last sync of the local articles saw of the tree, in one
    # row, so that a rebuild compares a scan with it instead of reading the
    # article cache row by row (see `model.LocalState`)
    """
    CREATE TABLE local_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        key TEXT NOT NULL,
        files INTEGER NOT NULL,
        drafts INTEGER NOT NULL,
        articles INTEGER NOT NULL,
        stored INTEGER NOT NULL,
        wanted TEXT,
        manifest TEXT NOT NULL
    );
    """,
    # 10: the manifest of the local state in parts of a thousand lines, a row
    # each (see `codec.manifest_parts`), so that an edit rewrites one part, not
    # the whole; the state kept before is dropped (the next build reads every
    # file once and keeps it anew)
    """
    DROP TABLE local_state;
    CREATE TABLE local_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        key TEXT NOT NULL,
        files INTEGER NOT NULL,
        drafts INTEGER NOT NULL,
        articles INTEGER NOT NULL,
        stored INTEGER NOT NULL,
        wanted TEXT
    );
    CREATE TABLE local_manifest (
        part INTEGER PRIMARY KEY,
        lines TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
