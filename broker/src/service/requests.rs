//! A request's life before its grant: filed, approved (by people, or by the broker under
//! an auto-approval rule), denied or cancelled.

use super::grants;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, NewRequestRecord, RequestKind, RequestRecord, Rows};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::api::{ApproveBody, NewRequestBody, UserView};
use stint_core::rules::{self, ApprovalOutcome, NewRequest};
use stint_core::state::RequestEvent;
use stint_core::{RequestState, RuleError};

/// Files a request for access; one the resource's auto-approval rule covers is approved
/// and its grant activated in the same transaction. Returns its id.
pub async fn file(
    db: &dyn Database,
    actor: &UserView,
    body: &NewRequestBody,
    now: DateTime<Utc>,
    pending_ttl: Duration,
) -> StoreResult<i64> {
    let mut tx = db.write().await?;
    let target = tx
        .request_target(body.identity_id, body.resource_id, now)
        .await?;
    let policy = &target.resource.policy;
    let justification = rules::check_new_request(&NewRequest {
        identity_has_owner: target.has_owner(),
        requester_owns_identity: target.owned_by(actor.id),
        requester_is_identity: actor.identity_id.map(|id| id == target.identity.id),
        resource_privileges: &target.resource.privileges,
        policy,
        privilege: &body.privilege,
        duration_secs: body.duration_secs,
        justification: &body.justification,
    })?;
    let auto_approved = policy
        .auto_approve
        .as_ref()
        .is_some_and(|rule| rule.covers(target.identity_kind, &body.privilege, body.duration_secs));
    let id = tx
        .insert_request(&NewRequestRecord {
            state: RequestState::Pending,
            decided_at: None,
            identity_id: body.identity_id,
            resource_id: body.resource_id,
            privilege: &body.privilege,
            duration_secs: body.duration_secs,
            justification: &justification,
            requester_id: actor.id,
            vouched_by: actor.vouched_by,
            kind: if auto_approved {
                RequestKind::AutoApproved
            } else {
                RequestKind::Standard
            },
            approvals_required: policy.approvals_required,
            max_duration_secs: policy.max_duration_secs,
            approvers: &policy.approvers,
            created_at: now,
            pending_expires_at: now + pending_ttl,
        })
        .await?;
    let mut details = json!({
        "identity": target.identity.name,
        "resource": target.resource.name,
        "privilege": body.privilege,
        "duration_secs": body.duration_secs,
        "task": justification.task,
        "ticket": justification.ticket,
        "approvals_required": policy.approvals_required,
        "approvers": policy.approvers,
    });
    // An identity filing for itself: with which token, or through which issuer.
    if let Some(via) = &actor.via {
        details["via"] = json!(via);
    }
    audit::record(
        &mut **tx,
        now,
        Event::new(Actor::User(actor), "request.filed", "request", Some(id))
            .request(id)
            .details(details),
    )
    .await?;
    if auto_approved {
        auto_approve(&mut **tx, id, now).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Approves a request the resource's auto-approval rule covers, on the broker's own
/// authority, and activates its grant: one event for each, in the filing's transaction.
async fn auto_approve(rows: &mut dyn Rows, request_id: i64, now: DateTime<Utc>) -> StoreResult<()> {
    let request = rows.request(request_id).await?;
    let next = request
        .state
        .apply(RequestEvent::Approval { complete: true })
        .map_err(RuleError::from)?;
    rows.set_request_state(request_id, request.state, next, now, None)
        .await?;
    audit::record(
        rows,
        now,
        Event::new(
            Actor::Broker,
            "request.auto_approved",
            "request",
            Some(request_id),
        )
        .request(request_id)
        .details(json!({ "rule": "the resource's auto-approval rule covers this request" })),
    )
    .await?;
    grants::activate(rows, Actor::Broker, &request, request.duration_secs, now).await?;
    Ok(())
}

/// The request, if `viewer` may see it: a write on what they may not see is a 404, as a
/// read is, so ids cannot be probed by the difference between 403 and 404.
async fn visible_request(
    rows: &mut dyn Rows,
    viewer: &UserView,
    id: i64,
) -> StoreResult<RequestRecord> {
    let request = rows.request(id).await?;
    if rows.may_see_request(viewer, id).await? {
        Ok(request)
    } else {
        Err(StoreError::NotFound(format!("request {id}")))
    }
}

/// One approver's approval; the last one needed activates the grant, for the shortest
/// duration any approver agreed to.
pub async fn approve(
    db: &dyn Database,
    actor: &UserView,
    request_id: i64,
    body: &ApproveBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let comment = rules::optional_text("comment", body.comment.as_deref())?;
    let mut tx = db.write().await?;
    let request = visible_request(&mut **tx, actor, request_id).await?;
    let approvals = tx.approvals(request_id).await?;
    let (approval, next, outcome) = rules::decide_approval(
        &request.decidable(&approvals, now),
        actor.id,
        &actor.roles,
        body.duration_secs,
    )?;
    tx.insert_approval(request_id, &approval, comment.as_deref(), now)
        .await?;
    let remaining = match outcome {
        ApprovalOutcome::AwaitingMore { remaining } => remaining,
        ApprovalOutcome::Granted { .. } => 0,
    };
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "request.approved",
            "request",
            Some(request_id),
        )
        .request(request_id)
        .details(json!({
            "duration_secs": approval.duration_secs,
            "comment": comment,
            "approvals_remaining": remaining,
        })),
    )
    .await?;
    if let ApprovalOutcome::Granted { duration_secs } = outcome {
        tx.set_request_state(request_id, request.state, next, now, None)
            .await?;
        grants::activate(&mut **tx, Actor::User(actor), &request, duration_secs, now).await?;
    }
    tx.commit().await
}

pub async fn deny(
    db: &dyn Database,
    actor: &UserView,
    request_id: i64,
    comment: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let request = visible_request(&mut **tx, actor, request_id).await?;
    let approvals = tx.approvals(request_id).await?;
    let (next, comment) = rules::decide_denial(
        &request.decidable(&approvals, now),
        actor.id,
        &actor.roles,
        comment,
    )?;
    tx.set_request_state(request_id, request.state, next, now, Some(&comment))
        .await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "request.denied",
            "request",
            Some(request_id),
        )
        .request(request_id)
        .details(json!({ "comment": comment })),
    )
    .await?;
    tx.commit().await
}

/// The requester withdraws a pending request.
pub async fn cancel(
    db: &dyn Database,
    actor: &UserView,
    request_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let request = visible_request(&mut **tx, actor, request_id).await?;
    let next = rules::decide_cancel(request.state, request.requester_id, actor.id)?;
    tx.set_request_state(request_id, request.state, next, now, None)
        .await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "request.cancelled",
            "request",
            Some(request_id),
        )
        .request(request_id),
    )
    .await?;
    tx.commit().await
}
