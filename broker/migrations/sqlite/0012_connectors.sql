-- Connectors (`stint serve --connectors FILE`) make the access a grant gives in a real
-- system and take it away again. A resource names the connector it is linked to.
ALTER TABLE resources ADD COLUMN connector TEXT;

-- What a connector made for a grant: the account (a PostgreSQL role) and what the
-- downstream confirmed. Written with the grant; the facts only ever fill in.
CREATE TABLE grant_access (
    grant_id       INTEGER PRIMARY KEY REFERENCES grants (id),
    connector      TEXT    NOT NULL,
    account        TEXT,              -- named before the first attempt, so retries agree
    provisioned_at INTEGER,           -- the downstream confirmed the access exists
    revoked_at     INTEGER,           -- the downstream confirmed it is gone
    sessions_ended INTEGER
);

-- The outbox: the work of making and ending that access, written in the transaction of
-- the change that calls for it and done until the downstream confirms. One job per step
-- per grant, so queuing a step twice queues it once.
CREATE TABLE connector_jobs (
    id              INTEGER PRIMARY KEY,
    grant_id        INTEGER NOT NULL REFERENCES grant_access (grant_id),
    action          TEXT    NOT NULL CHECK (action IN ('provision', 'revoke')),
    queued_at       INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,          -- an attempt is under way until then
    claim_token     TEXT,             -- whose attempt it is: only its claimant records it
    last_error      TEXT,
    done_at         INTEGER,
    outcome         TEXT CHECK (outcome IN ('done', 'superseded')),
    flagged_at      INTEGER,          -- when `grant.revocation_failing` was recorded
    UNIQUE (grant_id, action)
);
CREATE INDEX connector_jobs_open ON connector_jobs (next_attempt_at) WHERE done_at IS NULL;
