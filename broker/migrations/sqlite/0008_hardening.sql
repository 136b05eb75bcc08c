-- Failed passwords per account and per address (`account:…`, `address:…`): the backoff
-- holds across restarts and replicas.
CREATE TABLE login_throttle (
    key             TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    locked_until    INTEGER
);

-- Who created each account: that admin may not decide its requests.
ALTER TABLE users ADD COLUMN created_by INTEGER REFERENCES users (id);

-- Taking over an orphaned identity lets its new owner file requests at once, but take
-- break-glass only once an admin confirms the takeover (or a configured wait has passed).
ALTER TABLE ownerships ADD COLUMN takeover_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ownerships ADD COLUMN confirmed_by INTEGER REFERENCES users (id);
ALTER TABLE ownerships ADD COLUMN confirmed_at INTEGER;

-- Who mapped a finding by hand: dismissing it as a false positive then takes an admin.
ALTER TABLE standing_credentials ADD COLUMN mapped_by INTEGER REFERENCES users (id);

-- An admin reset the password: the user must choose a new one before anything else.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- Each resource's client secret for token introspection (RFC 7662 §2.1), hashed.
ALTER TABLE resources ADD COLUMN introspection_secret_hash TEXT;
ALTER TABLE resources ADD COLUMN introspection_secret_at INTEGER;
CREATE UNIQUE INDEX resources_introspection_secret ON resources (introspection_secret_hash);

-- A scanner report's findings while it is imported in short batches; published (and
-- deleted) in one transaction, so readers see a whole import or none of it.
CREATE TABLE standing_staged (
    import_key  TEXT    NOT NULL,
    idx         INTEGER NOT NULL,
    location    TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    secret_type TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    rule_id     INTEGER,
    staged_at   INTEGER NOT NULL,
    PRIMARY KEY (import_key, idx)
);
CREATE INDEX standing_staged_fingerprint ON standing_staged (fingerprint);
