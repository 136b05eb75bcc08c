-- Standing credentials: static secrets that reach resources outside the JIT path, as
-- secrets scanners report them or as recorded by hand. Never the secret: a fingerprint.

CREATE TABLE standing_credentials (
    id                INTEGER PRIMARY KEY,
    tool              TEXT    NOT NULL,         -- detect-secrets, gitleaks, trufflehog, manual
    source            TEXT    NOT NULL,         -- the scanned thing, named at import
    location          TEXT    NOT NULL,         -- path:line, or a CI variable
    path              TEXT    NOT NULL DEFAULT '',  -- the file path, for mapping rules
    secret_type       TEXT    NOT NULL,
    fingerprint       TEXT,                     -- sha1:… or sha256:… of the secret
    description       TEXT    NOT NULL DEFAULT '',
    first_seen        INTEGER NOT NULL,
    last_seen         INTEGER NOT NULL,
    not_seen_since    INTEGER,
    status            TEXT    NOT NULL,
    identity_id       INTEGER REFERENCES identities (id),
    resource_id       INTEGER REFERENCES resources (id),
    privilege         TEXT,
    mapped_at         INTEGER,
    mapped_by_rule    INTEGER REFERENCES standing_rules (id),
    owner_id          INTEGER REFERENCES users (id),
    resolution_reason TEXT,
    resolved_by       INTEGER REFERENCES users (id),
    resolved_at       INTEGER,
    grant_id          INTEGER REFERENCES grants (id),
    created_by        INTEGER REFERENCES users (id)
);
-- Re-importing a report finds its earlier findings instead of duplicating them.
CREATE UNIQUE INDEX standing_finding ON standing_credentials (tool, source, location, fingerprint)
    WHERE fingerprint IS NOT NULL;
CREATE INDEX standing_status ON standing_credentials (status, first_seen);
CREATE INDEX standing_path ON standing_credentials (identity_id, resource_id, status);
CREATE INDEX standing_resource ON standing_credentials (resource_id, status);

-- Admins' rules that map findings on import.
CREATE TABLE standing_rules (
    id           INTEGER PRIMARY KEY,
    tool         TEXT,
    secret_type  TEXT,
    path_pattern TEXT    NOT NULL,
    identity_id  INTEGER NOT NULL REFERENCES identities (id),
    resource_id  INTEGER NOT NULL REFERENCES resources (id),
    privilege    TEXT,
    created_by   INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    deleted_at   INTEGER                        -- rules are retired, never deleted
);

-- Hashes of each issued credential in the forms scanners report, so a report that
-- contains one is recognised: sha256 of the token (gitleaks, trufflehog), sha1 of the
-- token and of its signed part with the final dot (detect-secrets' JWT detector stops
-- before the signature).
CREATE TABLE credential_fingerprints (
    fingerprint TEXT PRIMARY KEY,
    jti         TEXT NOT NULL REFERENCES credentials (jti)
);
