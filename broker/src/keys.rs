//! Custody of the signing keys. The database holds each key's public half and its private
//! half *sealed* (ChaCha20-Poly1305) under a key-encryption key derived from a key file kept
//! outside the database: a copy or backup of the database alone can neither mint
//! credentials nor re-sign a rewritten audit trail.

use crate::credential::{KeySet, Keyring, TrustedKeys, generate_key, key_id, public_key_of};
use crate::store::{NewSigningKey, Store, StoredKey};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A key file must hold at least this many bytes (`head -c 32 /dev/urandom > stint.key`).
pub const MIN_KEY_FILE_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
/// Bind each derived key to its one use.
const HKDF_INFO: &[u8] = b"stint key file v1: sealing signing keys";
const PSEUDONYM_INFO: &[u8] = b"stint key file v1: pseudonyms";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(
        "signing key {kid} does not unseal with the key file {path}: the database's keys were \
         sealed under another key file, or the key row was replaced"
    )]
    WrongKeyFile { kid: String, path: PathBuf },
}

/// The key-encryption key, read from a key file.
pub struct KeyFile {
    path: PathBuf,
    cipher: ChaCha20Poly1305,
    pseudonym_key: Zeroizing<[u8; 32]>,
}

impl KeyFile {
    /// Reads an existing key file.
    pub fn open(path: &Path) -> Result<KeyFile, KeyError> {
        let fail = |message: String| KeyError::File {
            path: path.to_path_buf(),
            message,
        };
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| fail(e.to_string()))?);
        if bytes.len() < MIN_KEY_FILE_BYTES {
            return Err(fail(format!(
                "holds {} bytes; it needs at least {MIN_KEY_FILE_BYTES} random bytes \
                 (head -c 32 /dev/urandom > FILE)",
                bytes.len()
            )));
        }
        warn_if_readable_by_others(path);
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(None, &bytes);
        let derive = |info: &[u8]| {
            let mut key = Zeroizing::new([0u8; 32]);
            hkdf.expand(info, &mut *key)
                .expect("32 bytes is a valid HKDF-SHA256 output length");
            key
        };
        Ok(KeyFile {
            path: path.to_path_buf(),
            cipher: ChaCha20Poly1305::new((&*derive(HKDF_INFO)).into()),
            pseudonym_key: derive(PSEUDONYM_INFO),
        })
    }

    /// Creates a key file of 32 random bytes, readable by its owner only, and opens it.
    /// Refuses to overwrite one that exists.
    pub fn create(path: &Path) -> Result<KeyFile, KeyError> {
        let fail = |e: std::io::Error| KeyError::File {
            path: path.to_path_buf(),
            message: format!("cannot create it: {e}"),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(fail)?;
        file.write_all(&*Zeroizing::new(crate::credential::random_bytes::<32>()))
            .and_then(|()| file.sync_all())
            .map_err(fail)?;
        KeyFile::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A keyed hash of `text` (HMAC-SHA256, first 16 bytes, hex), for recording what must
    /// not be recorded verbatim (a username no account has: often a password typed in the
    /// wrong field) while still letting repeats be told apart. Without the key file it
    /// cannot be guessed back, even for a short text.
    pub fn pseudonym(&self, text: &str) -> String {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&*self.pseudonym_key)
            .expect("HMAC takes a key of any length");
        mac.update(text.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Seals a private key: a random nonce, then the ciphertext. The key's id is bound in
    /// as associated data, so a sealed key cannot be passed off under another id.
    pub fn seal(&self, kid: &str, private_der: &[u8]) -> Vec<u8> {
        let nonce = crate::credential::random_bytes::<NONCE_BYTES>();
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: private_der,
                    aad: kid.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 seals any message this size");
        [nonce.as_slice(), &sealed].concat()
    }

    /// Opens what `seal` made; fails for another key file's seal or a tampered one.
    pub fn unseal(&self, kid: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let wrong = || KeyError::WrongKeyFile {
            kid: kid.to_string(),
            path: self.path.clone(),
        };
        if sealed.len() < NONCE_BYTES {
            return Err(wrong());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: kid.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| wrong())
    }
}

/// The key file a broker on `database_url` uses: `explicit`, or `stint.key` beside an
/// SQLite file. A missing file is created only while the database holds no sealed key.
pub async fn key_file_for(
    store: &dyn Store,
    database_url: &str,
    explicit: Option<&Path>,
    now: DateTime<Utc>,
) -> anyhow::Result<KeyFile> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => default_path(database_url).ok_or_else(|| {
            anyhow::anyhow!("this database is not a file: give the key file with --key-file")
        })?,
    };
    if path.exists() {
        return Ok(KeyFile::open(&path)?);
    }
    if !store.signing_keys(now).await?.is_empty() {
        anyhow::bail!(
            "the database's signing keys are sealed under a key file, and {} does not exist: \
             give that key file with --key-file (or STINT_KEY_FILE)",
            path.display()
        );
    }
    tracing::info!(path = %path.display(), "created the key file that seals the signing keys");
    Ok(KeyFile::create(&path)?)
}

/// The broker's keys, ready to sign: clear keys of an older broker sealed, a first key
/// made if there is none, each key unsealed and held against its stored public half.
pub async fn open_keyring(
    store: &dyn Store,
    key_file: &KeyFile,
    issuer: String,
    now: DateTime<Utc>,
) -> anyhow::Result<Keyring> {
    for (kid, der, created_at) in store.legacy_signing_keys().await? {
        let public_key = public_key_of(&der)?;
        let sealed = key_file.seal(&kid, &der);
        store
            .seal_legacy_key(
                &NewSigningKey {
                    kid: &kid,
                    public_key: public_key.as_bytes(),
                    sealed_private_key: &sealed,
                },
                created_at,
                now,
            )
            .await?;
        tracing::info!(%kid, "sealed a signing key that was stored in the clear");
    }
    if store.signing_keys(now).await?.is_empty() {
        add_key(store, key_file, false, now).await?;
    }
    Ok(Keyring::new(
        issuer,
        load_key_set(store, key_file, now).await?,
    ))
}

/// Reads the keys as they are now (after a rotation, say).
pub async fn load_key_set(
    store: &dyn Store,
    key_file: &KeyFile,
    now: DateTime<Utc>,
) -> anyhow::Result<KeySet> {
    let stored = store.signing_keys(now).await?;
    let mut public = Vec::with_capacity(stored.len());
    let mut signing = None;
    for key in &stored {
        let der = unseal_checked(key_file, key)?;
        if signing.is_none() && key.retired_at.is_none() {
            signing = Some((key.kid.clone(), der));
        }
        public.push((key.kid.clone(), public_key_of_row(key)?, key.published));
    }
    let (kid, der) = signing.ok_or_else(|| anyhow::anyhow!("no signing key is current"))?;
    Ok(KeySet::new(kid, &der, public)?)
}

/// Adds a new key that takes over signing; the old ones stay published until the last
/// credential each signed has expired. Returns the new key's id.
pub async fn rotate(
    store: &dyn Store,
    key_file: &KeyFile,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    // Only a key file that opens the current keys may add to them.
    load_key_set(store, key_file, now).await?;
    add_key(store, key_file, true, now).await
}

async fn add_key(
    store: &dyn Store,
    key_file: &KeyFile,
    rotate: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let (kid, public_key, der) = generate_key();
    let sealed = key_file.seal(&kid, &der);
    let key = NewSigningKey {
        kid: &kid,
        public_key: public_key.as_bytes(),
        sealed_private_key: &sealed,
    };
    store.add_signing_key(&key, rotate, now).await?;
    Ok(kid)
}

/// The public keys of the stored keys that unseal under `key_file`: a key row someone
/// wrote without the key file fails, naming it.
pub async fn trusted_by_key_file(
    store: &dyn Store,
    key_file: &KeyFile,
    now: DateTime<Utc>,
) -> anyhow::Result<TrustedKeys> {
    let mut trusted = TrustedKeys::default();
    for key in store.signing_keys(now).await? {
        unseal_checked(key_file, &key)?;
        trusted.insert(key.kid.clone(), public_key_of_row(&key)?);
    }
    Ok(trusted)
}

/// The public keys stored in the database, trusted only because they are there.
pub async fn stored_public_keys(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> anyhow::Result<TrustedKeys> {
    let mut keys = TrustedKeys::default();
    for key in store.signing_keys(now).await? {
        keys.insert(key.kid.clone(), public_key_of_row(&key)?);
    }
    Ok(keys)
}

fn public_key_of_row(key: &StoredKey) -> anyhow::Result<VerifyingKey> {
    let bytes: [u8; 32] = key
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("signing key {} has a malformed public key", key.kid))?;
    Ok(VerifyingKey::from_bytes(&bytes)?)
}

/// Unseals a stored key and checks that it is the key its row says it is.
fn unseal_checked(key_file: &KeyFile, key: &StoredKey) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let der = key_file.unseal(&key.kid, &key.sealed_private_key)?;
    let public_key = public_key_of(&der)?;
    if public_key.as_bytes().as_slice() != key.public_key.as_slice()
        || key_id(&public_key) != key.kid
    {
        anyhow::bail!(
            "signing key {} does not match its stored public key: the row was altered",
            key.kid
        );
    }
    Ok(der)
}

/// `stint.key` beside an SQLite database file, when the URL names one.
pub fn default_path(database_url: &str) -> Option<PathBuf> {
    let path = Path::new(crate::store::sqlite_file(database_url)?);
    Some(match path.parent() {
        Some(dir) => dir.join("stint.key"),
        None => PathBuf::from("stint.key"),
    })
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the key file can be read by other users; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_its_key_file_and_id() {
        let dir = tempfile::tempdir().unwrap();
        let ours = KeyFile::create(&dir.path().join("a.key")).unwrap();
        let theirs = KeyFile::create(&dir.path().join("b.key")).unwrap();
        let sealed = ours.seal("kid-1", b"private key bytes");
        assert_eq!(
            &*ours.unseal("kid-1", &sealed).unwrap(),
            b"private key bytes"
        );
        assert!(theirs.unseal("kid-1", &sealed).is_err());
        assert!(ours.unseal("kid-2", &sealed).is_err(), "bound to its id");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(ours.unseal("kid-1", &flipped).is_err());
        assert!(
            !sealed
                .windows(b"private key bytes".len())
                .any(|w| w == b"private key bytes")
        );
    }

    #[test]
    fn a_key_file_is_created_for_its_owner_only_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stint.key");
        KeyFile::create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(KeyFile::create(&path).is_err());
        std::fs::write(dir.path().join("short.key"), [7u8; 16]).unwrap();
        let err = KeyFile::open(&dir.path().join("short.key")).err().unwrap();
        assert!(err.to_string().contains("at least 32"), "{err}");
    }

    #[test]
    fn the_default_key_file_sits_beside_the_database() {
        assert_eq!(
            default_path("sqlite://data/stint.db?mode=rwc"),
            Some(PathBuf::from("data/stint.key"))
        );
        assert_eq!(default_path("sqlite::memory:"), None);
        assert_eq!(default_path("postgres://x/y"), None);
    }
}
