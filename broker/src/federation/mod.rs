//! RFC 8693 token exchange for workloads: a token an outside issuer signed (GitHub
//! Actions, GitLab CI, Kubernetes, SPIFFE…) is verified here — its header, its issuer's
//! key, signature, `iss`, `aud` and times — and handed with its claims to
//! `service::federation::exchange`, which maps it to one identity.

mod keys;

use keys::KeyCache;

use crate::store::{Store, StoreResult};
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{AlgorithmFamily, DecodingKey, Header, Validation};
use serde_json::Value;
use std::collections::BTreeMap;
use stint_core::federation::{self, ExchangedToken, Refusal};

/// How many refusals of tokens whose signature did not verify each issuer's trail takes per
/// minute: anyone can send junk naming a public issuer, and the trail is not a log sink.
const UNVERIFIED_REFUSALS_PER_MINUTE: u32 = 10;

/// What verifying workload tokens keeps in memory: the issuers' keys, and each issuer's
/// budget of recorded refusals for tokens nobody is known to have signed.
pub struct Federation {
    keys: KeyCache,
    unverified_refusals: governor::DefaultKeyedRateLimiter<i64>,
}

impl Default for Federation {
    fn default() -> Self {
        let quota = governor::Quota::per_minute(
            std::num::NonZeroU32::new(UNVERIFIED_REFUSALS_PER_MINUTE).expect("not zero"),
        );
        Federation {
            keys: KeyCache::default(),
            unverified_refusals: governor::DefaultKeyedRateLimiter::keyed(quota),
        }
    }
}

/// Exchanges `token` for a Stint access token, or says why not. Refusals of a token that
/// names a registered issuer are recorded — those of a token whose signature did not verify
/// only up to `UNVERIFIED_REFUSALS_PER_MINUTE` per issuer; a token naming no registered
/// issuer is not recorded at all (nobody could act on it, and anyone could send millions).
pub async fn exchange(
    store: &dyn Store,
    federation: &Federation,
    token: &str,
    now: DateTime<Utc>,
) -> StoreResult<Result<ExchangedToken, Refusal>> {
    let iss = match claimed_issuer(token) {
        Ok(iss) => iss,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let Some(issuer) = store.federation_issuer(&iss).await? else {
        return Ok(Err(Refusal::NoIssuer));
    };
    let verified = match header(token) {
        Ok(header) => match federation
            .keys
            .key(&issuer, header.kid.as_deref(), header.alg, now)
            .await
        {
            Ok(key) => verify(token, &header, &key, &issuer.issuer, &issuer.audience),
            Err(refusal) => Err(refusal),
        },
        Err(refusal) => Err(refusal),
    };
    let lifetime = verified.and_then(|claims| {
        let exp = number(&claims, "exp")?.unwrap_or_default(); // required: checked in `verify`
        let secs = federation::access_token_secs(
            now.timestamp(),
            exp,
            number(&claims, "nbf")?,
            number(&claims, "iat")?,
        )?;
        Ok((claims, secs))
    });
    match lifetime {
        Ok((claims, secs)) => {
            store
                .exchange_token(&issuer, &as_strings(&claims), secs, now)
                .await
        }
        Err(refusal) => {
            let signed = !matches!(refusal, Refusal::BadSignature(_) | Refusal::Malformed(_));
            if signed || federation.unverified_refusals.check_key(&issuer.id).is_ok() {
                store
                    .record_federation_refusal(&issuer, &refusal, now)
                    .await?;
            } else {
                tracing::debug!(
                    issuer = %issuer.name,
                    reason = refusal.code(),
                    "refused a token whose signature did not verify; over the budget to record"
                );
            }
            Ok(Err(refusal))
        }
    }
}

/// The `iss` the token claims (not verified yet): it says whose keys to verify with. Read
/// whatever the header says, so that even an `alg: none` forgery naming a registered issuer
/// is recorded against it.
fn claimed_issuer(token: &str) -> Result<String, Refusal> {
    use base64::Engine;
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| Refusal::Malformed("not a JWT (no payload)".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| Refusal::Malformed(format!("not a JWT ({e})")))?;
    let claims: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Refusal::Malformed(format!("its claims are not JSON ({e})")))?;
    claims
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Refusal::Malformed("it has no `iss`".into()))
}

/// The token's header. `alg: none` is no algorithm the JWT library reads, so it fails
/// here; HMAC is refused, since its key would be a secret shared with the issuer, and a
/// public key used as one is the classic forgery.
fn header(token: &str) -> Result<Header, Refusal> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| Refusal::Malformed(format!("not a signed JWT Stint accepts ({e})")))?;
    if header.alg.family() == AlgorithmFamily::Hmac {
        return Err(Refusal::BadSignature(format!(
            "{:?} (a shared-secret algorithm) is refused; issuers sign with a public key",
            header.alg
        )));
    }
    Ok(header)
}

/// Checks the signature with `key`, and `iss` and `aud`; times are checked against the
/// broker's clock by `stint-core`, not the wall clock the library would use.
fn verify(
    token: &str,
    header: &Header,
    key: &jsonwebtoken::jwk::Jwk,
    iss: &str,
    aud: &str,
) -> Result<Value, Refusal> {
    let key = DecodingKey::from_jwk(key)
        .map_err(|e| Refusal::BadSignature(format!("the issuer's key is unusable: {e}")))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[iss]);
    validation.set_audience(&[aud]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidAudience => Refusal::WrongAudience,
            // `iss` chose the issuer, so this is one `iss` in a list, or not a string.
            ErrorKind::InvalidIssuer => {
                Refusal::Malformed("its `iss` is not a single registered issuer".into())
            }
            ErrorKind::MissingRequiredClaim(claim) => {
                Refusal::Malformed(format!("it has no `{claim}`"))
            }
            ErrorKind::InvalidClaimFormat(claim) => {
                Refusal::Malformed(format!("its `{claim}` is not what the JWT standard says"))
            }
            _ => Refusal::BadSignature(e.to_string()),
        })
}

/// A time claim: absent, or whole seconds since the epoch (RFC 7519's NumericDate, as
/// every issuer writes it); anything else is refused rather than ignored.
fn number(claims: &Value, name: &str) -> Result<Option<i64>, Refusal> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| Refusal::Malformed(format!("its `{name}` is not a time in seconds"))),
    }
}

/// The claims rules compare, as strings: text as it is, numbers and booleans as JSON writes
/// them. Arrays and objects match no rule.
fn as_strings(claims: &Value) -> BTreeMap<String, String> {
    claims
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter_map(|(name, value)| {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((name.clone(), text))
                })
                .collect()
        })
        .unwrap_or_default()
}
