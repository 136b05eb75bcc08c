-- Living ownership declarations, and policies admins edit in the portal.

-- How a declaration ended ('renewed', 'stepped_down', 'lapsed') and the owner's reason.
ALTER TABLE ownerships ADD COLUMN end_kind TEXT;
ALTER TABLE ownerships ADD COLUMN end_reason TEXT;
CREATE INDEX ownerships_current ON ownerships (ended_at, attest_until);

-- Who approves (JSON `Approvers`), the ticket format, and the auto-approval rule (JSON
-- `AutoApprove`, NULL for none).
ALTER TABLE resources ADD COLUMN approvers TEXT NOT NULL DEFAULT '{"kind":"role"}';
ALTER TABLE resources ADD COLUMN ticket_pattern TEXT;
ALTER TABLE resources ADD COLUMN auto_approve TEXT;

-- The approvers a request was filed under: a policy change applies to new requests only.
ALTER TABLE requests ADD COLUMN approvers TEXT NOT NULL DEFAULT '{"kind":"role"}';
