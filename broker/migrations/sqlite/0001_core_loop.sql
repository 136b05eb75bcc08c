-- The core loop: people, identities, resources, requests, grants, credentials, audit.
-- Times are INTEGER milliseconds since the Unix epoch (UTC), so they compare as numbers.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,             -- argon2id PHC string
    roles         TEXT    NOT NULL DEFAULT '',  -- comma-separated role names
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,           -- SHA-256 of the cookie value; never the value
    user_id      INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE identities (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    environment TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

-- A user's declaration of accountability for an identity; current while not ended and
-- before attest_until.
CREATE TABLE ownerships (
    id           INTEGER PRIMARY KEY,
    identity_id  INTEGER NOT NULL REFERENCES identities (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    statement    TEXT    NOT NULL,
    declared_at  INTEGER NOT NULL,
    attest_until INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX ownerships_identity ON ownerships (identity_id, user_id);

CREATE TABLE resources (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE,
    description        TEXT    NOT NULL DEFAULT '',
    privileges         TEXT    NOT NULL,        -- JSON array of names
    approvals_required INTEGER NOT NULL CHECK (approvals_required >= 1),
    max_duration_secs  INTEGER NOT NULL CHECK (max_duration_secs >= 1),
    ticket_required    INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL
);

CREATE TABLE requests (
    id                 INTEGER PRIMARY KEY,
    identity_id        INTEGER NOT NULL REFERENCES identities (id),
    resource_id        INTEGER NOT NULL REFERENCES resources (id),
    privilege          TEXT    NOT NULL,
    duration_secs      INTEGER NOT NULL CHECK (duration_secs >= 1),
    task               TEXT    NOT NULL,
    ticket             TEXT,
    requester_id       INTEGER NOT NULL REFERENCES users (id),
    state              TEXT    NOT NULL,
    -- The policy as it was when the request was filed.
    approvals_required INTEGER NOT NULL,
    max_duration_secs  INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    pending_expires_at INTEGER NOT NULL,
    decided_at         INTEGER,
    decision_comment   TEXT
);
CREATE INDEX requests_state ON requests (state, pending_expires_at);
CREATE INDEX requests_requester ON requests (requester_id);

CREATE TABLE approvals (
    request_id    INTEGER NOT NULL REFERENCES requests (id),
    approver_id   INTEGER NOT NULL REFERENCES users (id),
    duration_secs INTEGER NOT NULL,
    comment       TEXT,
    at            INTEGER NOT NULL,
    PRIMARY KEY (request_id, approver_id)      -- one approval per approver
);

CREATE TABLE grants (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL UNIQUE REFERENCES requests (id),  -- never two grants
    identity_id   INTEGER NOT NULL REFERENCES identities (id),
    resource_id   INTEGER NOT NULL REFERENCES resources (id),
    privilege     TEXT    NOT NULL,
    holder_id     INTEGER NOT NULL REFERENCES users (id),
    kind          TEXT    NOT NULL DEFAULT 'standard',
    state         TEXT    NOT NULL,
    starts_at     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    revoke_reason TEXT,
    revoked_by    INTEGER REFERENCES users (id)
);
CREATE INDEX grants_state ON grants (state, expires_at);

CREATE TABLE credentials (
    jti        TEXT    PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES grants (id),
    token_hash TEXT    NOT NULL UNIQUE,         -- SHA-256 of the JWT; never the JWT
    issued_to  INTEGER NOT NULL REFERENCES users (id),
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX credentials_grant ON credentials (grant_id);

CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY,
    private_key BLOB    NOT NULL,               -- PKCS#8 DER of the Ed25519 key
    created_at  INTEGER NOT NULL
);

-- The audit trail: append-only, each event chained to the previous by SHA-256.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER REFERENCES users (id),  -- NULL: the broker itself
    actor_name  TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_kind TEXT    NOT NULL,
    target_id   INTEGER,
    request_id  INTEGER,
    grant_id    INTEGER,
    details     TEXT    NOT NULL,               -- canonical JSON
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_request ON audit_events (request_id);
CREATE INDEX audit_grant ON audit_events (grant_id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
