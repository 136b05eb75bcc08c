//! Trusted issuers' public keys: given inline, or fetched from their JWKS URL and cached.
//! A token naming a key the cache lacks triggers a refetch (the issuer may have rotated),
//! but not again within `REFETCH_UNKNOWN_KID_EVERY` of one made for that reason, so a flood
//! of made-up `kid`s cannot make the broker hammer the issuer.

use crate::store::port::IssuerRecord;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use std::collections::HashMap;
use std::sync::Mutex;
use stint_core::federation::Refusal;

/// Keys fetched longer ago than this are fetched again: issuers rotate.
const FRESH_FOR: Duration = Duration::minutes(10);
/// The least time between two fetches for one issuer.
const REFETCH_UNKNOWN_KID_EVERY: Duration = Duration::seconds(30);
/// How long a fetch may take.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Default)]
pub struct KeyCache {
    fetched: Mutex<HashMap<i64, Fetched>>,
}

#[derive(Clone)]
struct Fetched {
    keys: Vec<Jwk>,
    at: DateTime<Utc>,
    /// Fetched because a token named a key the cache lacked.
    for_unknown_kid: bool,
}

impl KeyCache {
    /// The key `issuer` signs tokens of `alg` with under `kid`.
    pub async fn key(
        &self,
        issuer: &IssuerRecord,
        kid: Option<&str>,
        alg: Algorithm,
        now: DateTime<Utc>,
    ) -> Result<Jwk, Refusal> {
        if let Some(inline) = &issuer.jwks {
            return select(&parse(inline), kid, alg);
        }
        let url = issuer.jwks_url.clone().unwrap_or_default();
        let cached = self.cached(issuer.id);
        let mut for_unknown_kid = false;
        if let Some(cached) = &cached {
            match select(&cached.keys, kid, alg) {
                Ok(key) if now - cached.at < FRESH_FOR => return Ok(key),
                Ok(_) => {}
                // A key the cache lacks may be new (the issuer rotated): fetch once, unless
                // the cache was itself fetched for an unknown key a moment ago.
                Err(refusal)
                    if cached.for_unknown_kid && now - cached.at < REFETCH_UNKNOWN_KID_EVERY =>
                {
                    return Err(refusal);
                }
                Err(_) => for_unknown_kid = true,
            }
        }
        let keys = match fetch(url.clone()).await {
            Ok(keys) => keys,
            // Keys that were good a moment ago still are while the issuer is unreachable.
            Err(why) => match cached {
                Some(cached) => return select(&cached.keys, kid, alg),
                None => {
                    return Err(Refusal::BadSignature(format!(
                        "the issuer's keys could not be fetched from {url}: {why}"
                    )));
                }
            },
        };
        let selected = select(&keys, kid, alg);
        self.fetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                issuer.id,
                Fetched {
                    keys,
                    at: now,
                    for_unknown_kid,
                },
            );
        selected
    }

    fn cached(&self, issuer_id: i64) -> Option<Fetched> {
        self.fetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&issuer_id)
            .cloned()
    }
}

/// The keys of a JWK Set Stint can use; a key of a kind it does not know is skipped rather
/// than spoiling the set.
fn parse(jwks: &str) -> Vec<Jwk> {
    let set: serde_json::Value = serde_json::from_str(jwks).unwrap_or_default();
    set.get("keys")
        .and_then(|k| k.as_array())
        .map(|keys| {
            keys.iter()
                .filter_map(|k| serde_json::from_value(k.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

async fn fetch(url: String) -> Result<Vec<Jwk>, String> {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(FETCH_TIMEOUT))
            .build()
            .into();
        let body = agent
            .get(&url)
            .call()
            .and_then(|mut answer| answer.body_mut().read_to_string())
            .map_err(|e| e.to_string())?;
        let keys = parse(&body);
        if keys.is_empty() {
            return Err("the answer holds no usable key".into());
        }
        Ok(keys)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The key for `kid` (or the one key there is, when the token names none), of a type that
/// fits `alg`.
fn select(keys: &[Jwk], kid: Option<&str>, alg: Algorithm) -> Result<Jwk, Refusal> {
    let key = match kid {
        Some(kid) => keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .ok_or_else(|| Refusal::BadSignature(format!("the issuer has no key `{kid}`")))?,
        None => match keys {
            [only] => only,
            _ => {
                return Err(Refusal::BadSignature(
                    "the token names no key (`kid`) and the issuer has several".into(),
                ));
            }
        },
    };
    let fits = matches!(
        (&key.algorithm, alg.family()),
        (
            AlgorithmParameters::RSA(_),
            jsonwebtoken::AlgorithmFamily::Rsa
        ) | (
            AlgorithmParameters::EllipticCurve(_),
            jsonwebtoken::AlgorithmFamily::Ec
        ) | (
            AlgorithmParameters::OctetKeyPair(_),
            jsonwebtoken::AlgorithmFamily::Ed
        )
    );
    let declared = key
        .common
        .key_algorithm
        .and_then(|a| a.to_string().parse::<Algorithm>().ok());
    if !fits || declared.is_some_and(|declared| declared != alg) {
        return Err(Refusal::BadSignature(format!(
            "the token says {alg:?}, which its issuer's key is not for"
        )));
    }
    Ok(key.clone())
}
