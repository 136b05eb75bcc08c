-- Access review campaigns (issue 21): a snapshot of what gives access in a scope, each
-- item answered by the person who must answer for it. A closed campaign is a record.
CREATE TABLE campaigns (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    scope       TEXT    NOT NULL,                  -- JSON: resource_ids, identity_kinds
    created_by  INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    closed_at   INTEGER,
    closed_by   INTEGER REFERENCES users (id),
    -- When the sweep tells those with items left that it is overdue; cleared once told.
    overdue_notice_at INTEGER
);
CREATE INDEX campaigns_overdue_notice ON campaigns (overdue_notice_at)
    WHERE overdue_notice_at IS NOT NULL;

CREATE TABLE campaign_items (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    kind         TEXT    NOT NULL,
    subject      TEXT    NOT NULL,                 -- what it is, as it was at the start
    detail       TEXT    NOT NULL,
    assignee_id  INTEGER REFERENCES users (id),    -- NULL: any admin
    resource_id  INTEGER REFERENCES resources (id),
    identity_id  INTEGER REFERENCES identities (id),
    grant_id     INTEGER REFERENCES grants (id),
    ownership_id INTEGER REFERENCES ownerships (id),
    standing_id  INTEGER REFERENCES standing_credentials (id),
    subject_user_id INTEGER REFERENCES users (id),  -- whose access it is
    decision     TEXT CHECK (decision IN ('keep', 'change', 'revoke')),
    comment      TEXT,
    link         TEXT,
    decided_by   INTEGER REFERENCES users (id),
    decided_at   INTEGER
);
CREATE INDEX campaign_items_campaign ON campaign_items (campaign_id);
CREATE INDEX campaign_items_assignee ON campaign_items (assignee_id) WHERE decision IS NULL;

-- Nothing that records access is deleted; a decision is made once; a closed campaign
-- does not change (the broker refuses first, these hold against anyone else).
CREATE TRIGGER campaigns_no_delete BEFORE DELETE ON campaigns
BEGIN SELECT RAISE(ABORT, 'campaigns are kept'); END;
CREATE TRIGGER campaigns_closed_are_final BEFORE UPDATE ON campaigns WHEN OLD.closed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a closed campaign is final'); END;
CREATE TRIGGER campaign_items_no_delete BEFORE DELETE ON campaign_items
BEGIN SELECT RAISE(ABORT, 'campaign items are kept'); END;
CREATE TRIGGER campaign_items_not_into_closed BEFORE INSERT ON campaign_items
WHEN (SELECT closed_at FROM campaigns WHERE id = NEW.campaign_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a closed campaign is final'); END;
CREATE TRIGGER campaign_items_decided_once BEFORE UPDATE ON campaign_items
WHEN OLD.decision IS NOT NULL
  OR (SELECT closed_at FROM campaigns WHERE id = OLD.campaign_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a decision is final'); END;
