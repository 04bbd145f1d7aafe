-- Quarry catalog store, SQLite flavour (the embedded default).
--
-- Must mean the same as ../postgres/0001_catalog_store.sql. Differences are only in types:
-- timestamps are RFC 3339 text in UTC (sqlx's chrono encoding), JSON documents are text, and
-- tables are STRICT so that a value of the wrong type is an error rather than a surprise.

-- Plugin component bytes, content addressed: identical bytes are stored once, whatever
-- name@version they were uploaded as.
CREATE TABLE plugin_blobs (
    sha256 TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    bytes BLOB NOT NULL
) STRICT;

-- Uploaded connector components. Immutable once uploaded.
CREATE TABLE plugins (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES plugin_blobs (sha256),
    contract_version TEXT NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    -- JSON array of {name, doc, required, secret, default} from the plugin's spec.
    config_fields TEXT NOT NULL,
    description TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
) STRICT;

CREATE INDEX plugins_by_sha256 ON plugins (sha256);

-- Named instances of a plugin. A plugin used by a catalog cannot be deleted.
CREATE TABLE catalogs (
    name TEXT PRIMARY KEY NOT NULL,
    plugin_name TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    -- JSON object of string to string, stored as given (`${ENV:NAME}` stays a reference).
    properties TEXT NOT NULL,
    -- JSON {allowed_paths: [..], allowed_hosts: [..]}.
    grants TEXT NOT NULL,
    generation INTEGER NOT NULL CHECK (generation >= 1),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (plugin_name, plugin_version) REFERENCES plugins (name, version)
) STRICT;

CREATE INDEX catalogs_by_plugin ON catalogs (plugin_name, plugin_version);

-- Worker processes, as they announced themselves.
CREATE TABLE workers (
    id TEXT PRIMARY KEY NOT NULL,
    address TEXT NOT NULL,
    started_at TEXT NOT NULL,
    last_heartbeat TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('alive', 'dead', 'stopped'))
) STRICT;

-- What each worker last reported for each catalog. A catalog's status is derived from these
-- rows and is never stored.
CREATE TABLE catalog_workers (
    catalog_name TEXT NOT NULL REFERENCES catalogs (name) ON DELETE CASCADE,
    worker_id TEXT NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL CHECK (generation >= 1),
    state TEXT NOT NULL CHECK (state IN ('loading', 'loaded', 'failed')),
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (catalog_name, worker_id)
) STRICT;

CREATE INDEX catalog_workers_by_worker ON catalog_workers (worker_id);
