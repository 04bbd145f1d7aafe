-- Quarry catalog store, PostgreSQL flavour (clusters).
--
-- Must mean the same as ../sqlite/0001_catalog_store.sql; only the types differ (TIMESTAMPTZ,
-- JSONB, BYTEA, BIGINT).

-- Plugin component bytes, content addressed: identical bytes are stored once, whatever
-- name@version they were uploaded as.
CREATE TABLE plugin_blobs (
    sha256 TEXT PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes BYTEA NOT NULL
);

-- Uploaded connector components. Immutable once uploaded.
CREATE TABLE plugins (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES plugin_blobs (sha256),
    contract_version TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size >= 0),
    -- JSON array of {name, doc, required, secret, default} from the plugin's spec.
    config_fields JSONB NOT NULL,
    description TEXT NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE INDEX plugins_by_sha256 ON plugins (sha256);

-- Named instances of a plugin. A plugin used by a catalog cannot be deleted.
CREATE TABLE catalogs (
    name TEXT PRIMARY KEY,
    plugin_name TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    -- JSON object of string to string, stored as given (`${ENV:NAME}` stays a reference).
    properties JSONB NOT NULL,
    -- JSON {allowed_paths: [..], allowed_hosts: [..]}.
    grants JSONB NOT NULL,
    generation BIGINT NOT NULL CHECK (generation >= 1),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (plugin_name, plugin_version) REFERENCES plugins (name, version)
);

CREATE INDEX catalogs_by_plugin ON catalogs (plugin_name, plugin_version);

-- Worker processes, as they announced themselves.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    last_heartbeat TIMESTAMPTZ NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('alive', 'dead', 'stopped'))
);

-- What each worker last reported for each catalog. A catalog's status is derived from these
-- rows and is never stored.
CREATE TABLE catalog_workers (
    catalog_name TEXT NOT NULL REFERENCES catalogs (name) ON DELETE CASCADE,
    worker_id TEXT NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    generation BIGINT NOT NULL CHECK (generation >= 1),
    state TEXT NOT NULL CHECK (state IN ('loading', 'loaded', 'failed')),
    error TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (catalog_name, worker_id)
);

CREATE INDEX catalog_workers_by_worker ON catalog_workers (worker_id);
