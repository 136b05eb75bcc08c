//! Judging break-glass access after the fact.

use super::grants;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, ReviewRecord, Rows};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use stint_core::api::{ReviewBody, UserView};
use stint_core::break_glass;
use stint_core::rules::{self, LiveGrant};
use stint_core::visibility::SEES_ALL_ACCESS;

/// A reviewer's verdict on a break-glass use, and with `end_access` the end of the access
/// it judged unjustified, in the same transaction.
pub async fn decide(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    body: &ReviewBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let review = tx.review(id).await?;
    // As for reading it: who may not see a review gets 404, not 403.
    if !actor.has_any(SEES_ALL_ACCESS) && review.taker.id != actor.id {
        return Err(StoreError::NotFound(format!("review {id}")));
    }
    let notes = break_glass::decide(
        actor.id,
        &actor.roles,
        review.taker.id,
        review.outcome,
        body.outcome,
        &body.notes,
    )?;
    break_glass::check_end_access(body.outcome, body.end_access)?;
    tx.decide_review(id, body.outcome, notes.as_deref(), actor.id, now)
        .await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(Actor::User(actor), "review.decided", "review", Some(id))
            .request(review.request_id)
            .grant(review.grant_id)
            .details(json!({
                "outcome": body.outcome,
                "notes": notes,
                "identity": review.identity.name,
                "taker": review.taker.name,
                "overdue": now >= review.due_at,
                "end_access": body.end_access,
            })),
    )
    .await?;
    if body.end_access {
        let notes = notes.as_deref().unwrap_or_default();
        end_judged_access(&mut **tx, actor, &review, notes, now).await?;
    }
    tx.commit().await
}

/// Revokes the access a review judged unjustified, as the reviewer; nothing to do when it
/// has already ended.
async fn end_judged_access(
    rows: &mut dyn Rows,
    actor: &UserView,
    review: &ReviewRecord,
    notes: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let grant = rows.grant(review.grant_id).await?;
    let live = LiveGrant {
        state: grant.state,
        secs_left: (grant.expires_at - now).num_milliseconds() / 1000,
        break_glass: true,
    };
    let reason = format!("judged unjustified in review #{}: {notes}", review.id);
    let Ok((next, reason)) = rules::decide_revoke(&live, false, &actor.roles, &reason) else {
        return Ok(());
    };
    grants::end_early(
        rows,
        Actor::User(actor),
        &grant,
        next,
        &reason,
        json!({ "review": review.id }),
        now,
    )
    .await
}
