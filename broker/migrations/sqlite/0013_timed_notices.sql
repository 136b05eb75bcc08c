-- Timed notices the sweeper adds to the audit trail (and so to the live feed): a grant
-- about to expire (`grant.expiring`), a review coming due (`review.due_soon`) and one
-- overdue (`review.overdue`). Each column holds when its notice is due, set when the
-- grant or review is made (by `stint_core::live`) and cleared once the notice is recorded,
-- so each is given once whichever broker sweeps.
ALTER TABLE grants ADD COLUMN expiry_notice_at INTEGER;
ALTER TABLE reviews ADD COLUMN due_soon_notice_at INTEGER;
ALTER TABLE reviews ADD COLUMN overdue_notice_at INTEGER;

CREATE INDEX grants_expiry_notice ON grants (expiry_notice_at)
    WHERE expiry_notice_at IS NOT NULL;
CREATE INDEX reviews_due_soon_notice ON reviews (due_soon_notice_at)
    WHERE due_soon_notice_at IS NOT NULL;
CREATE INDEX reviews_overdue_notice ON reviews (overdue_notice_at)
    WHERE overdue_notice_at IS NOT NULL;

-- What is live now gets its notices too (the rule of `stint_core::live`: only what lasts
-- longer than the notice).
UPDATE grants SET expiry_notice_at = expires_at - 600000
 WHERE state = 'active' AND expires_at - starts_at > 600000;
UPDATE reviews SET due_soon_notice_at = due_at - 7200000
 WHERE outcome IS NULL AND due_at - opened_at > 7200000;
UPDATE reviews SET overdue_notice_at = due_at WHERE outcome IS NULL;
