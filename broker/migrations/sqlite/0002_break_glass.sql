-- Break-glass: access an owner takes at once, and the review that judges it afterwards.

ALTER TABLE resources ADD COLUMN break_glass_allowed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resources ADD COLUMN break_glass_max_secs INTEGER NOT NULL DEFAULT 3600
    CHECK (break_glass_max_secs >= 1);
ALTER TABLE resources ADD COLUMN review_within_secs INTEGER NOT NULL DEFAULT 86400
    CHECK (review_within_secs >= 1);

-- 'standard' (approved by approvers) or 'break_glass' (taken, then reviewed).
ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'standard';
CREATE INDEX requests_break_glass ON requests (kind, requester_id, identity_id, created_at);

CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    grant_id    INTEGER NOT NULL UNIQUE REFERENCES grants (id),   -- one review per access
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    taker_id    INTEGER NOT NULL REFERENCES users (id),
    opened_at   INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    outcome     TEXT,                                             -- NULL while open
    notes       TEXT,
    reviewer_id INTEGER REFERENCES users (id),
    decided_at  INTEGER,
    CHECK (outcome IS NULL OR reviewer_id <> taker_id)
);
CREATE INDEX reviews_due ON reviews (outcome, due_at);
