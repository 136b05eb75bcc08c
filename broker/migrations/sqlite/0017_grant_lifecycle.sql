-- The whole life of a grant (issue 20): a request may ask for access from a later start
-- (a change window), and the holder of a live grant may ask to extend it, by a request of
-- its own that moves the same grant's expiry once approved.
ALTER TABLE requests ADD COLUMN starts_at INTEGER;                        -- NULL: on approval
ALTER TABLE requests ADD COLUMN extends_grant_id INTEGER REFERENCES grants (id);
-- One extension of a grant waits at a time.
CREATE UNIQUE INDEX requests_pending_extension ON requests (extends_grant_id)
    WHERE state = 'pending' AND extends_grant_id IS NOT NULL;

-- How far ahead a request may schedule its start, and how long a grant may run in all,
-- extensions included. NULL: the broker's defaults (30 days; twice the longest grant).
ALTER TABLE resources ADD COLUMN max_start_ahead_secs INTEGER;
ALTER TABLE resources ADD COLUMN max_total_secs INTEGER;

ALTER TABLE grants ADD COLUMN extensions INTEGER NOT NULL DEFAULT 0;
-- What the sweeper starts: scheduled grants, by start.
CREATE INDEX grants_scheduled ON grants (starts_at) WHERE state = 'scheduled';

-- A connector moves the end of what it made when its grant is extended: a third step.
-- SQLite changes a CHECK only by rebuilding the table.
CREATE TABLE connector_jobs_new (
    id              INTEGER PRIMARY KEY,
    grant_id        INTEGER NOT NULL REFERENCES grant_access (grant_id),
    action          TEXT    NOT NULL CHECK (action IN ('provision', 'extend', 'revoke')),
    queued_at       INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,          -- an attempt is under way until then
    claim_token     TEXT,             -- whose attempt it is: only its claimant records it
    last_error      TEXT,
    done_at         INTEGER,
    outcome         TEXT CHECK (outcome IN ('done', 'superseded')),
    flagged_at      INTEGER,          -- when `grant.revocation_failing` was recorded
    UNIQUE (grant_id, action)         -- a later extension requeues the grant's one step
);
INSERT INTO connector_jobs_new SELECT * FROM connector_jobs;
DROP TABLE connector_jobs;
ALTER TABLE connector_jobs_new RENAME TO connector_jobs;
CREATE INDEX connector_jobs_open ON connector_jobs (next_attempt_at) WHERE done_at IS NULL;
