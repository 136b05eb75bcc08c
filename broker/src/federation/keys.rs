//! Trusted issuers' public keys: given inline, or fetched from their JWKS URL and cached.
//!
//! Fetches are bounded, whatever tokens arrive: one at a time, and for one issuer at most one
//! every `REFETCH_FLOOR` — except that a token naming a key the cache lacks may trigger one
//! refetch sooner (the issuer may just have rotated), unless the last fetch was itself such a
//! refetch or failed. A flood of made-up `kid`s, or an issuer that is down, therefore costs at
//! most one fetch per `REFETCH_FLOOR`.

use crate::store::port::IssuerRecord;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use std::collections::HashMap;
use std::sync::Mutex;
use stint_core::federation::Refusal;

/// Keys fetched longer ago than this are fetched again: issuers rotate.
const FRESH_FOR: Duration = Duration::minutes(10);
/// The least time between two fetches for one issuer (but see the module's comment).
const REFETCH_FLOOR: Duration = Duration::seconds(30);
/// How long a fetch may take.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Default)]
pub struct KeyCache {
    fetched: Mutex<HashMap<i64, Fetched>>,
    /// One fetch at a time: a burst of tokens waits for one answer rather than each asking.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Fetched {
    /// The keys last fetched (none when no fetch has succeeded yet).
    keys: Vec<Jwk>,
    /// When they were fetched.
    keys_at: Option<DateTime<Utc>>,
    /// When a fetch was last tried, and whether it used up the early refetch (it was made
    /// for an unknown key, or it failed).
    tried_at: DateTime<Utc>,
    early_used: bool,
    /// Why the last fetch failed, if it did.
    error: Option<String>,
}

impl Fetched {
    fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.keys_at.is_some_and(|at| now - at < FRESH_FOR)
    }

    fn may_fetch(&self, now: DateTime<Utc>, for_unknown_kid: bool) -> bool {
        now - self.tried_at >= REFETCH_FLOOR || (for_unknown_kid && !self.early_used)
    }

    /// The key, or why there is none: a failed fetch says so rather than "no such key".
    fn select(&self, url: &str, kid: Option<&str>, alg: Algorithm) -> Result<Jwk, Refusal> {
        match (&self.error, self.keys.is_empty()) {
            (Some(why), true) => Err(Refusal::BadSignature(format!(
                "the issuer's keys could not be fetched from {url}: {why}"
            ))),
            _ => select(&self.keys, kid, alg),
        }
    }
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
        if let Some(cached) = &cached {
            let found = cached.select(&url, kid, alg);
            let unknown_kid = found.is_err();
            if (found.is_ok() && cached.fresh(now)) || !cached.may_fetch(now, unknown_kid) {
                return found;
            }
        }
        let _turn = self.fetching.lock().await;
        // Whoever held the turn may have fetched what this token needs.
        let latest = self.cached(issuer.id);
        if let Some(latest) = &latest
            && cached.as_ref().map(|c| c.tried_at) != Some(latest.tried_at)
        {
            return latest.select(&url, kid, alg);
        }
        let fetched = fetch(url.clone()).await;
        let entry = {
            let mut all = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
            let previous = all.get(&issuer.id).cloned();
            let had_kid = previous
                .as_ref()
                .is_some_and(|p| select(&p.keys, kid, alg).is_ok());
            let entry = match fetched {
                Ok(keys) => Fetched {
                    keys,
                    keys_at: Some(now),
                    tried_at: now,
                    early_used: previous.is_some() && !had_kid,
                    error: None,
                },
                // Keys that were good a moment ago still are while the issuer is unreachable.
                Err(why) => Fetched {
                    keys: previous
                        .as_ref()
                        .map(|p| p.keys.clone())
                        .unwrap_or_default(),
                    keys_at: previous.as_ref().and_then(|p| p.keys_at),
                    tried_at: now,
                    early_used: true,
                    error: Some(why),
                },
            };
            all.insert(issuer.id, entry.clone());
            entry
        };
        entry.select(&url, kid, alg)
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

/// The key for `kid` (or the one key there is, when the token names none): a signing key,
/// of a type that fits `alg`.
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
    if key
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return Err(Refusal::BadSignature(
            "the issuer's key is not one for signatures (`use`)".into(),
        ));
    }
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
