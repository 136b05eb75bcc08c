-- Signed checkpoints of the audit chain's head: a copy kept elsewhere proves that the
-- trail was not cut short or rewritten after the checkpoint was taken.
CREATE TABLE audit_checkpoints (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    head_seq  INTEGER NOT NULL,
    head_hash TEXT    NOT NULL,
    kid       TEXT    NOT NULL,
    signature TEXT    NOT NULL      -- base64url Ed25519 over checkpoint_message(...)
);

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
