-- Non-human identities speak for themselves. Each identity that acts gets one principal:
-- a user row tied to it (no password, no role), so what it files and holds is recorded
-- like anyone's (requester, holder, actor). Its username, `identity:NAME`, cannot be a
-- person's (names have no `:`).
ALTER TABLE users ADD COLUMN identity_id INTEGER REFERENCES identities (id);
CREATE UNIQUE INDEX users_identity ON users (identity_id);

-- API tokens an identity's owners (or admins) mint for it: only the SHA-256 of the token.
-- Revoked ones stay, so the trail's references hold.
CREATE TABLE identity_tokens (
    id           INTEGER PRIMARY KEY,
    identity_id  INTEGER NOT NULL REFERENCES identities (id),
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_by   INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    revoked_by   INTEGER REFERENCES users (id)
);
CREATE INDEX identity_tokens_identity ON identity_tokens (identity_id);
