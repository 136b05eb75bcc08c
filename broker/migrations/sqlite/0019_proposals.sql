-- Four eyes (issue 24): a change that widens access waits here for a second admin.
CREATE TABLE proposals (
    id           INTEGER PRIMARY KEY,
    change       TEXT    NOT NULL,                 -- JSON: stint_core::four_eyes::Change
    widenings    TEXT    NOT NULL,                 -- JSON: why it waits
    -- A proposed account's first password, hashed; cleared once decided.
    password_hash TEXT,
    proposed_by  INTEGER NOT NULL REFERENCES users (id),
    proposed_at  INTEGER NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'approved', 'rejected', 'withdrawn')),
    decided_by   INTEGER REFERENCES users (id),
    decided_at   INTEGER,
    reason       TEXT,
    -- What an approved creation made (a resource's or user's id).
    created_id   INTEGER
);
CREATE INDEX proposals_pending ON proposals (id) WHERE state = 'pending';

-- Proposals are kept; a decision is final.
CREATE TRIGGER proposals_no_delete BEFORE DELETE ON proposals
BEGIN SELECT RAISE(ABORT, 'proposals are kept'); END;
CREATE TRIGGER proposals_decided_once BEFORE UPDATE ON proposals WHEN OLD.state <> 'pending'
BEGIN SELECT RAISE(ABORT, 'a decision is final'); END;
