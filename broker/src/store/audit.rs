//! Appending to the audit trail: a SHA-256 hash chain over a canonical encoding.

use super::StoreResult;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;
use stint_core::api::UserView;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who caused an event.
#[derive(Clone, Copy)]
pub enum Actor<'a> {
    User(&'a UserView),
    /// Unauthenticated callers, named by what they claimed to be (e.g. a failed login).
    Anonymous(&'a str),
    /// The broker itself (expiry, bootstrap).
    Broker,
}

impl Actor<'_> {
    fn id(&self) -> Option<i64> {
        match self {
            Actor::User(u) => Some(u.id),
            _ => None,
        }
    }

    fn name(&self) -> String {
        match self {
            Actor::User(u) => u.username.clone(),
            Actor::Anonymous(name) => format!("anonymous:{name}"),
            Actor::Broker => "stint".into(),
        }
    }
}

/// One change worth recording.
pub struct Event<'a> {
    pub actor: Actor<'a>,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: Option<i64>,
    pub request_id: Option<i64>,
    pub grant_id: Option<i64>,
    pub details: Value,
}

/// Appends `event` inside the caller's transaction. The caller holds the write lock
/// (`BEGIN IMMEDIATE`), so reading the head and appending after it cannot interleave.
pub async fn append(
    conn: &mut SqliteConnection,
    at: DateTime<Utc>,
    event: Event<'_>,
) -> StoreResult<()> {
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (seq, prev_hash) = match head {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let at_ms = at.timestamp_millis();
    let actor_name = event.actor.name();
    let details = event.details.to_string();
    let hash = chain_hash(
        &prev_hash,
        &json!([
            seq,
            at_ms,
            event.actor.id(),
            actor_name,
            event.action,
            event.target_kind,
            event.target_id,
            event.request_id,
            event.grant_id,
            event.details,
        ]),
    );
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor_id, actor_name, action, target_kind, target_id,
                                   request_id, grant_id, details, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq)
    .bind(at_ms)
    .bind(event.actor.id())
    .bind(actor_name)
    .bind(event.action)
    .bind(event.target_kind)
    .bind(event.target_id)
    .bind(event.request_id)
    .bind(event.grant_id)
    .bind(details)
    .bind(prev_hash)
    .bind(hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `hex(SHA-256(prev_hash "\n" canonical_json))`. serde_json's maps are sorted by key, so
/// the same event always encodes to the same bytes.
pub fn chain_hash(prev_hash: &str, canonical: &Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.to_string().as_bytes());
    hex::encode(hasher.finalize())
}
