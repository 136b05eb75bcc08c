//! The signing keys' life in the database.

use crate::store::audit::{self, Actor, Event};
use crate::store::port::Database;
use crate::store::{NewSigningKey, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;

/// Adds `key`. A rotation retires every other key from signing; a first key is added only
/// while there is none (false: another broker starting at once added its own first).
pub async fn add(
    db: &dyn Database,
    key: &NewSigningKey<'_>,
    rotate: bool,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = db.write().await?;
    if !rotate && tx.any_signing_key().await? {
        return Ok(false);
    }
    let retired = tx.retire_signing_keys(now).await?;
    tx.insert_signing_key(key, now).await?;
    let action = if rotate {
        "signing_key.rotated"
    } else {
        "signing_key.created"
    };
    audit::record(
        &mut **tx,
        now,
        Event::new(Actor::Broker, action, "signing_key", None)
            .details(json!({ "kid": key.kid, "retired": retired })),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
