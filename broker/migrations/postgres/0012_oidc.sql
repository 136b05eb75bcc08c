-- SQLite's 0015, in PostgreSQL's types.
-- Signing in through identity providers (`--oidc-config`).

-- A sign-in started and not yet finished, under the SHA-256 of the flow secret kept in the
-- browser's cookie (its state, nonce and PKCE verifier are derived from that secret, so
-- none of them is stored), with the hash of the session it would replace, if the browser
-- had one. Finishing takes the row: a callback is answered once at most.
CREATE TABLE oidc_logins (
    flow_hash     TEXT   PRIMARY KEY,
    provider      TEXT   NOT NULL,
    started_at    BIGINT NOT NULL,
    replaces_hash TEXT
);

-- Which person at which issuer an account is: made at their first sign-in, and how every
-- later one finds the account (a username alone never does; a subject is unique only
-- within its issuer, so pointing a provider's entry at another issuer links no one). The
-- provider is the entry of the providers file they signed in through last.
CREATE TABLE oidc_links (
    issuer    TEXT COLLATE "C" NOT NULL,
    subject   TEXT COLLATE "C" NOT NULL,
    provider  TEXT   NOT NULL,
    user_id   BIGINT NOT NULL UNIQUE REFERENCES users (id),
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
