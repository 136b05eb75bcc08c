//! Credentials: Ed25519-signed JWTs a downstream service verifies offline with the JWKS.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use stint_core::api::AuditCheckpoint;

/// The JWT `typ` of a Stint grant credential.
pub const TOKEN_TYPE: &str = "stint-grant+jwt";

/// Signs grant credentials with the broker's key.
pub struct Signer {
    kid: String,
    issuer: String,
    encoding_key: EncodingKey,
    key: SigningKey,
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
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("invalid signing key: {0}")]
    Key(String),
    #[error(transparent)]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

impl Signer {
    /// A new random key: its id and PKCS#8 DER.
    pub fn generate_key() -> (String, Vec<u8>) {
        let key = SigningKey::from_bytes(&random_bytes::<32>());
        let der = key
            .to_pkcs8_der()
            .expect("an Ed25519 key always encodes as PKCS#8")
            .as_bytes()
            .to_vec();
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(key.verifying_key().as_bytes())[..12]);
        (kid, der)
    }

    pub fn from_pkcs8(kid: String, issuer: String, der: &[u8]) -> Result<Signer, SignerError> {
        let key = SigningKey::from_pkcs8_der(der).map_err(|e| SignerError::Key(e.to_string()))?;
        Ok(Signer {
            kid,
            issuer,
            encoding_key: EncodingKey::from_ed_der(der),
            key,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn issue(
        &self,
        identity: &str,
        resource: &str,
        privilege: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Issued, SignerError> {
        let jti = URL_SAFE_NO_PAD.encode(random_bytes::<16>());
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.into());
        header.kid = Some(self.kid.clone());
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
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding_key)?;
        Ok(Issued { token, jti })
    }

    /// The public key as a JWK Set (RFC 7517, OKP key type of RFC 8037).
    pub fn jwks(&self) -> Value {
        json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes()),
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            }]
        })
    }
}

impl Signer {
    /// Signs the audit chain's head as of `at`.
    pub fn checkpoint(&self, head_seq: i64, head_hash: &str, at: DateTime<Utc>) -> AuditCheckpoint {
        let message = checkpoint_message(head_seq, head_hash, at);
        let signature = self.key.sign(message.as_bytes());
        AuditCheckpoint {
            at,
            head_seq,
            head_hash: head_hash.to_string(),
            kid: self.kid.clone(),
            signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        }
    }

    /// Whether this broker's key signed `checkpoint` as it reads now.
    pub fn signed(&self, checkpoint: &AuditCheckpoint) -> bool {
        let message = checkpoint_message(checkpoint.head_seq, &checkpoint.head_hash, checkpoint.at);
        URL_SAFE_NO_PAD
            .decode(&checkpoint.signature)
            .ok()
            .and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok())
            .is_some_and(|sig| {
                self.key
                    .verifying_key()
                    .verify(message.as_bytes(), &sig)
                    .is_ok()
            })
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
