-- SQLite's 0015, in PostgreSQL's types.
-- Signing in through identity providers (`--oidc-config`).

-- A sign-in started and not yet finished, under the SHA-256 of the flow secret kept in the
-- browser's cookie (its state, nonce and PKCE verifier are derived from that secret, so
-- none of them is stored). Finishing takes the row: a callback is answered once at most.
CREATE TABLE oidc_logins (
    flow_hash  TEXT   PRIMARY KEY,
    provider   TEXT   NOT NULL,
    started_at BIGINT NOT NULL
);

-- Which person at which provider an account is: made at their first sign-in, and how
-- every later one finds the account (a username alone never does).
CREATE TABLE oidc_links (
    provider  TEXT   COLLATE "C" NOT NULL,
    subject   TEXT   COLLATE "C" NOT NULL,
    user_id   BIGINT NOT NULL UNIQUE REFERENCES users (id),
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
