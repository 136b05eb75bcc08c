//! Oversight of live access: ending many grants in one move, each as a single revocation
//! would (its rule, its event, its downstream access through the connector's outbox).

use super::grants::{carry_out, decide_revocation};
use crate::store::port::Database;
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use stint_core::api::UserView;
use stint_core::oversight::{BulkRevokeBody, BulkRevokeFailure, BulkRevokeOutcome, BulkTarget};
use stint_core::{RuleError, visibility};

/// Grants ended per write transaction: big enough to share commits, small enough that
/// other writers wait only briefly for SQLite's one write lock between chunks.
const CHUNK: usize = 100;

/// Ends the grants `body` names, or every live grant its filter matches (admins only).
/// A grant that cannot be ended (gone, ended meanwhile, not the actor's to end) is
/// reported with why, and the others still end. Should the database itself fail, the call
/// fails: the chunks committed before stay ended (each with its event), and repeating the
/// call ends the rest, reporting those already ended rather than ending them twice.
pub async fn bulk_revoke(
    db: &dyn Database,
    actor: &UserView,
    body: &BulkRevokeBody,
    now: DateTime<Utc>,
) -> StoreResult<BulkRevokeOutcome> {
    let (target, reason) = body.checked()?;
    let ids = match target {
        BulkTarget::Ids(ids) => ids,
        BulkTarget::Filter(filter) => {
            if !actor.has_any(visibility::REVOKES_BY_FILTER) {
                return Err(RuleError::Forbidden(
                    "only admins end access by filter; name the grants by id".into(),
                )
                .into());
            }
            db.read().await?.live_grant_ids(&filter, now).await?
        }
    };
    let mut outcome = BulkRevokeOutcome::default();
    for chunk in ids.chunks(CHUNK) {
        let mut tx = db.write().await?;
        let mut ended = Vec::new();
        for &id in chunk {
            match decide_revocation(&mut **tx, actor, id, &reason, now).await {
                Ok(revocation) => {
                    carry_out(&mut **tx, actor, revocation, now).await?;
                    ended.push(id);
                }
                Err(StoreError::Rule(e)) => outcome.failed.push(failure(id, e.to_string())),
                Err(StoreError::NotFound(_)) => {
                    outcome.failed.push(failure(id, "no such grant".into()))
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        outcome.revoked.extend(ended);
    }
    Ok(outcome)
}

fn failure(id: i64, error: String) -> BulkRevokeFailure {
    BulkRevokeFailure { id, error }
}
