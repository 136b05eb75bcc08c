//! Credentials: Ed25519-signed JWTs a downstream service verifies offline with the JWKS.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use stint_core::api::AuditCheckpoint;
use zeroize::Zeroizing;

/// The JWT `typ` of a Stint grant credential.
pub const TOKEN_TYPE: &str = "stint-grant+jwt";

/// One Ed25519 key able to sign.
struct SigningEntry {
    kid: String,
    encoding_key: EncodingKey,
    key: SigningKey,
}

/// The keys as the database holds them at one moment: the one that signs, and the public
/// halves of all of them.
pub struct KeySet {
    signing: SigningEntry,
    /// Every key ever used, so checkpoints signed by retired keys still verify.
    trusted: TrustedKeys,
    /// What the JWKS publishes: current keys, and retired ones until the last credential
    /// they signed has expired.
    published: Vec<(String, VerifyingKey)>,
}

impl KeySet {
    /// `private_der` signs; `public` lists every key (kid, public key, published?).
    pub fn new(
        signing_kid: String,
        private_der: &[u8],
        public: Vec<(String, VerifyingKey, bool)>,
    ) -> Result<KeySet, SignerError> {
        let key =
            SigningKey::from_pkcs8_der(private_der).map_err(|e| SignerError::Key(e.to_string()))?;
        let mut trusted = TrustedKeys::default();
        let mut published = Vec::new();
        for (kid, public_key, is_published) in public {
            if is_published {
                published.push((kid.clone(), public_key));
            }
            trusted.insert(kid, public_key);
        }
        Ok(KeySet {
            signing: SigningEntry {
                kid: signing_kid,
                encoding_key: EncodingKey::from_ed_der(private_der),
                key,
            },
            trusted,
            published,
        })
    }
}

/// Signs grant credentials and audit checkpoints with the broker's current key. The set
/// is replaced whole when the keys in the database change (a rotation).
pub struct Keyring {
    issuer: String,
    keys: RwLock<Arc<KeySet>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    scope: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: &'a str,
}

/// A freshly signed token; the broker keeps only its hash.
pub struct Issued {
    pub token: String,
    pub jti: String,
    /// The key that signed it.
    pub kid: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("invalid signing key: {0}")]
    Key(String),
    #[error(transparent)]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

/// A new random Ed25519 key: its id, public key and PKCS#8 DER (kept in memory only).
pub fn generate_key() -> (String, VerifyingKey, Zeroizing<Vec<u8>>) {
    let key = SigningKey::from_bytes(&random_bytes::<32>());
    let der = Zeroizing::new(
        key.to_pkcs8_der()
            .expect("an Ed25519 key always encodes as PKCS#8")
            .as_bytes()
            .to_vec(),
    );
    (key_id(&key.verifying_key()), key.verifying_key(), der)
}

/// A key's id: derived from its public key, so ids never collide across replicas.
pub fn key_id(public_key: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(public_key.as_bytes())[..12])
}

/// The public key of a PKCS#8 private key.
pub fn public_key_of(private_der: &[u8]) -> Result<VerifyingKey, SignerError> {
    SigningKey::from_pkcs8_der(private_der)
        .map(|k| k.verifying_key())
        .map_err(|e| SignerError::Key(e.to_string()))
}

impl Keyring {
    pub fn new(issuer: String, keys: KeySet) -> Keyring {
        Keyring {
            issuer,
            keys: RwLock::new(Arc::new(keys)),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Puts a freshly read set in place; calls already signing finish with the old one.
    pub fn replace(&self, keys: KeySet) {
        *self
            .keys
            .write()
            .expect("the keyring lock is never poisoned") = Arc::new(keys);
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .expect("the keyring lock is never poisoned")
            .clone()
    }

    /// The id of the key that signs now.
    pub fn signing_kid(&self) -> String {
        self.current().signing.kid.clone()
    }

    /// The public keys of every key this broker ever held.
    pub fn trusted(&self) -> TrustedKeys {
        self.current().trusted.clone()
    }

    pub fn issue(
        &self,
        identity: &str,
        resource: &str,
        privilege: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Issued, SignerError> {
        let keys = self.current();
        let jti = URL_SAFE_NO_PAD.encode(random_bytes::<16>());
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.into());
        header.kid = Some(keys.signing.kid.clone());
        let claims = Claims {
            iss: &self.issuer,
            sub: identity,
            aud: resource,
            scope: privilege,
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: &jti,
        };
        let token = jsonwebtoken::encode(&header, &claims, &keys.signing.encoding_key)?;
        Ok(Issued {
            token,
            jti,
            kid: keys.signing.kid.clone(),
        })
    }

    /// The published public keys as a JWK Set (RFC 7517, OKP key type of RFC 8037).
    pub fn jwks(&self) -> Value {
        let keys = self.current();
        let keys: Vec<Value> = keys
            .published
            .iter()
            .map(|(kid, public_key)| {
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(public_key.as_bytes()),
                    "kid": kid,
                    "alg": "EdDSA",
                    "use": "sig",
                })
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Signs the audit chain's head as of `at`.
    pub fn checkpoint(&self, head_seq: i64, head_hash: &str, at: DateTime<Utc>) -> AuditCheckpoint {
        let keys = self.current();
        let message = checkpoint_message(head_seq, head_hash, at);
        let signature = keys.signing.key.sign(message.as_bytes());
        AuditCheckpoint {
            at,
            head_seq,
            head_hash: head_hash.to_string(),
            kid: keys.signing.kid.clone(),
            signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        }
    }
}

/// Public keys a verifier trusts, by id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<String, VerifyingKey>,
}

impl TrustedKeys {
    pub fn insert(&mut self, kid: String, key: VerifyingKey) {
        self.keys.insert(kid, key);
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The Ed25519 keys of a JWK Set (as `/.well-known/jwks.json` publishes it).
    pub fn from_jwks(jwks: &Value) -> Result<TrustedKeys, String> {
        let mut trusted = TrustedKeys::default();
        let keys = jwks["keys"]
            .as_array()
            .ok_or("a JWK Set has a `keys` array")?;
        for (i, jwk) in keys.iter().enumerate() {
            if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
                continue;
            }
            let kid = jwk["kid"]
                .as_str()
                .ok_or_else(|| format!("keys[{i}] has no kid"))?;
            let x: [u8; 32] = jwk["x"]
                .as_str()
                .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
                .and_then(|x| x.try_into().ok())
                .ok_or_else(|| format!("keys[{i}].x is not a base64url Ed25519 public key"))?;
            let key = VerifyingKey::from_bytes(&x)
                .map_err(|_| format!("keys[{i}].x is not an Ed25519 public key"))?;
            trusted.insert(kid.to_string(), key);
        }
        Ok(trusted)
    }

    /// Whether one of these keys made `checkpoint`'s signature over what it says now.
    pub fn signed(&self, checkpoint: &AuditCheckpoint) -> bool {
        let Some(key) = self.keys.get(&checkpoint.kid) else {
            return false;
        };
        let message = checkpoint_message(checkpoint.head_seq, &checkpoint.head_hash, checkpoint.at);
        URL_SAFE_NO_PAD
            .decode(&checkpoint.signature)
            .ok()
            .and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok())
            .is_some_and(|sig| key.verify(message.as_bytes(), &sig).is_ok())
    }
}

/// The exact bytes a checkpoint signature covers.
pub fn checkpoint_message(head_seq: i64, head_hash: &str, at: DateTime<Utc>) -> String {
    format!(
        "stint-audit-checkpoint\n{head_seq}\n{head_hash}\n{}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

/// The hex SHA-256 under which a token or session id is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system has no random source");
    buf
}
