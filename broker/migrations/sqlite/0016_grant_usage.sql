-- How each grant was used (issue 20's usage evidence): introspections by its resource's
-- servers and credential fetches by its holder, counted in memory and added here about
-- once a second by each broker (`crate::usage`), never a token.
CREATE TABLE grant_usage (
    grant_id           INTEGER PRIMARY KEY REFERENCES grants (id),
    introspections     INTEGER NOT NULL DEFAULT 0,
    credential_fetches INTEGER NOT NULL DEFAULT 0,
    first_used_at      INTEGER NOT NULL,
    last_used_at       INTEGER NOT NULL,
    last_address       TEXT              -- the caller's address at the last use, if known
);

-- What an identity's page and a request's approver context read: an identity's grants,
-- by resource.
CREATE INDEX grants_identity_resource ON grants (identity_id, resource_id, state);
