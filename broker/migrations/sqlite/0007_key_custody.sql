-- Signing keys leave the database in the clear. The private half is sealed
-- (ChaCha20-Poly1305, the key id as associated data) under a key derived from the key file,
-- which lives outside the database. Keys written before this migration are sealed and
-- their plaintext rows deleted by the broker at its next start (it holds the key file; SQL
-- cannot seal).
ALTER TABLE signing_keys RENAME TO legacy_signing_keys;

CREATE TABLE signing_keys (
    kid                TEXT    PRIMARY KEY,
    public_key         BLOB    NOT NULL,       -- 32 bytes, Ed25519
    sealed_private_key BLOB    NOT NULL,       -- nonce || ciphertext of the PKCS#8 DER
    created_at         INTEGER NOT NULL,
    retired_at         INTEGER                 -- a newer key took over signing
);

-- Which key signed each credential: a retired key stays in the JWKS until the last
-- credential it signed has expired.
ALTER TABLE credentials ADD COLUMN kid TEXT;
UPDATE credentials
   SET kid = (SELECT kid FROM legacy_signing_keys ORDER BY created_at DESC LIMIT 1);
CREATE INDEX credentials_kid_expiry ON credentials (kid, expires_at);
