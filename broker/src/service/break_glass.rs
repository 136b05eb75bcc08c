//! Break-glass: access taken at once by an owner, its review opened in the same step.

use super::grants;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, NewRequestRecord, RequestKind};
use crate::store::{BreakGlassLimit, BreakGlassTaken, StoreResult};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::api::{BreakGlassBody, UserView};
use stint_core::break_glass::{self, Attempt};
use stint_core::lifecycle;
use stint_core::{Approvers, RequestState};

/// Grants access at once and opens its review (the password was verified by the caller):
/// the request, born approved by nobody, the grant and the review, each with its event.
pub async fn take(
    db: &dyn Database,
    actor: &UserView,
    body: &BreakGlassBody,
    now: DateTime<Utc>,
    limit: BreakGlassLimit,
) -> StoreResult<BreakGlassTaken> {
    let mut tx = db.write().await?;
    let target = tx
        .request_target(body.identity_id, body.resource_id, now)
        .await?;
    let (justification, bounds) = break_glass::check_attempt(&Attempt {
        identity_has_owner: target.has_owner(),
        taker_owns_identity: target.owned_by(actor.id),
        taker_takeover_unconfirmed: tx
            .takeover_unconfirmed(body.identity_id, actor.id, now, limit.takeover_wait)
            .await?,
        resource_privileges: &target.resource.privileges,
        policy: &target.resource.policy,
        privilege: &body.privilege,
        duration_secs: body.duration_secs,
        justification: &body.justification,
        recent_uses: tx
            .break_glass_uses(actor.id, body.identity_id, now - limit.window)
            .await?,
        max_uses: limit.max_uses,
    })?;
    let request_id = tx
        .insert_request(&NewRequestRecord {
            state: RequestState::Approved,
            decided_at: Some(now),
            identity_id: body.identity_id,
            resource_id: body.resource_id,
            privilege: &body.privilege,
            duration_secs: body.duration_secs,
            justification: &justification,
            vouched_by: None,
            requester_id: actor.id,
            kind: RequestKind::BreakGlass,
            approvals_required: 0,
            max_duration_secs: bounds.max_duration_secs,
            approvers: &Approvers::Role,
            created_at: now,
            pending_expires_at: now,
            starts_at: None,
            extends_grant_id: None,
        })
        .await?;
    let request = tx.request(request_id).await?;
    let window = lifecycle::grant_window(None, body.duration_secs, now)?;
    let (grant_id, window) = grants::insert(&mut **tx, &request, window).await?;
    let due_at = now + Duration::seconds(bounds.review_within_secs);
    let review_id = tx
        .insert_review(grant_id, request_id, actor.id, now, due_at)
        .await?;

    let event = |action, target_kind, target_id, details| {
        Event::new(Actor::User(actor), action, target_kind, Some(target_id))
            .request(request_id)
            .grant(grant_id)
            .details(details)
    };
    let mut taken = json!({
        "identity": target.identity.name,
        "resource": target.resource.name,
        "privilege": body.privilege,
        "duration_secs": body.duration_secs,
    });
    taken["task"] = json!(justification.task);
    taken["ticket"] = json!(justification.ticket);
    audit::record(
        &mut **tx,
        now,
        event("break_glass.taken", "request", request_id, taken),
    )
    .await?;
    grants::record_activation(
        &mut **tx,
        Actor::User(actor),
        &request,
        grant_id,
        body.duration_secs,
        &window,
        now,
    )
    .await?;
    let opened = json!({ "review_id": review_id, "due_at": due_at });
    audit::record(
        &mut **tx,
        now,
        event("review.opened", "review", review_id, opened),
    )
    .await?;
    tx.commit().await?;
    Ok(BreakGlassTaken {
        request_id,
        grant_id,
        review_id,
    })
}
