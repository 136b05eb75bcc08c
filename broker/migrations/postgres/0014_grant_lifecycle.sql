-- SQLite's 0017, in PostgreSQL's types.
-- The whole life of a grant (issue 20): a request may ask for access from a later start
-- (a change window), and the holder of a live grant may ask to extend it, by a request of
-- its own that moves the same grant's expiry once approved.
ALTER TABLE requests ADD COLUMN starts_at BIGINT;                         -- NULL: on approval
ALTER TABLE requests ADD COLUMN extends_grant_id BIGINT REFERENCES grants (id);
-- One extension of a grant waits at a time.
CREATE UNIQUE INDEX requests_pending_extension ON requests (extends_grant_id)
    WHERE state = 'pending' AND extends_grant_id IS NOT NULL;

-- How far ahead a request may schedule its start, and how long a grant may run in all,
-- extensions included. NULL: the broker's defaults (30 days; twice the longest grant).
ALTER TABLE resources ADD COLUMN max_start_ahead_secs BIGINT;
ALTER TABLE resources ADD COLUMN max_total_secs BIGINT;

ALTER TABLE grants ADD COLUMN extensions BIGINT NOT NULL DEFAULT 0;
-- What the sweeper starts: scheduled grants, by start.
CREATE INDEX grants_scheduled ON grants (starts_at) WHERE state = 'scheduled';

-- A connector moves the end of what it made when its grant is extended: a third step.
ALTER TABLE connector_jobs DROP CONSTRAINT connector_jobs_action_check;
ALTER TABLE connector_jobs ADD CONSTRAINT connector_jobs_action_check
    CHECK (action IN ('provision', 'extend', 'revoke'));
