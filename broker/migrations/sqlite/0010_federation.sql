-- Workload federation: outside issuers whose tokens a workload exchanges for a short Stint
-- access token, and the rules mapping a token's claims to an identity.
CREATE TABLE federation_issuers (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    issuer     TEXT    NOT NULL UNIQUE,      -- the tokens' `iss`, exactly
    audience   TEXT    NOT NULL,
    jwks_url   TEXT,                         -- where its keys are fetched, or
    jwks       TEXT,                         -- its keys, given inline (a JWK Set)
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    CHECK ((jwks_url IS NULL) <> (jwks IS NULL))
);

CREATE TABLE federation_rules (
    id          INTEGER PRIMARY KEY,
    issuer_id   INTEGER NOT NULL REFERENCES federation_issuers (id),
    claims      TEXT    NOT NULL,            -- JSON object: claim -> value or `*` pattern
    identity_id INTEGER NOT NULL REFERENCES identities (id)
);
CREATE INDEX federation_rules_issuer ON federation_rules (issuer_id);

-- Access tokens handed out by exchanges: only their SHA-256, like every token.
CREATE TABLE exchanged_tokens (
    token_hash  TEXT    PRIMARY KEY,
    identity_id INTEGER NOT NULL REFERENCES identities (id),
    issuer_id   INTEGER NOT NULL REFERENCES federation_issuers (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX exchanged_tokens_expiry ON exchanged_tokens (expires_at);
