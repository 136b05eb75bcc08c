//! A request's life before its grant: filed, approved (by people, or by the broker under
//! an auto-approval rule), denied or cancelled.

use super::{extensions, grants, to_millis};
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{
    Database, NewRequestRecord, RequestKind, RequestRecord, RequestTarget, Rows,
};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::api::{ApproveBody, NewRequestBody, UserView};
use stint_core::lifecycle;
use stint_core::rules::{self, Approval, ApprovalOutcome, Justification, NewRequest};
use stint_core::state::RequestEvent;
use stint_core::{RequestState, RuleError};

/// Files a request for access, from approval or from the start it asks for; one the
/// resource's auto-approval rule covers is approved and its grant made in the same
/// transaction. Returns its id.
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
    let starts_at =
        lifecycle::check_start(body.starts_at.map(to_millis), &target.resource.policy, now)?;
    let ask = Ask {
        privilege: &body.privilege,
        duration_secs: body.duration_secs,
        justification: &body.justification,
        starts_at,
        extends: None,
        pending_expires_at: lifecycle::pending_deadline(
            now,
            pending_ttl,
            starts_at,
            body.duration_secs,
        ),
    };
    let id = file_checked(&mut **tx, actor, &target, &ask, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// What a request asks for, once its timing is checked.
pub(super) struct Ask<'a> {
    pub privilege: &'a str,
    pub duration_secs: i64,
    pub justification: &'a Justification,
    pub starts_at: Option<DateTime<Utc>>,
    /// The live grant it extends, and that grant's expiry now.
    pub extends: Option<(i64, DateTime<Utc>)>,
    pub pending_expires_at: DateTime<Utc>,
}

/// Checks the rules every request passes, inserts it with its `request.filed` event, and
/// approves it at once when the auto-approval rule covers it. Returns its id.
pub(super) async fn file_checked(
    rows: &mut dyn Rows,
    actor: &UserView,
    target: &RequestTarget,
    ask: &Ask<'_>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let policy = &target.resource.policy;
    let justification = rules::check_new_request(&NewRequest {
        identity_has_owner: target.has_owner(),
        requester_owns_identity: target.owned_by(actor.id),
        requester_is_identity: actor.identity_id.map(|id| id == target.identity.id),
        resource_privileges: &target.resource.privileges,
        policy,
        privilege: ask.privilege,
        duration_secs: ask.duration_secs,
        justification: ask.justification,
    })?;
    let auto_approved = policy
        .auto_approve
        .as_ref()
        .is_some_and(|rule| rule.covers(target.identity_kind, ask.privilege, ask.duration_secs));
    let id = rows
        .insert_request(&NewRequestRecord {
            state: RequestState::Pending,
            decided_at: None,
            identity_id: target.identity.id,
            resource_id: target.resource.id,
            privilege: ask.privilege,
            duration_secs: ask.duration_secs,
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
            pending_expires_at: ask.pending_expires_at,
            starts_at: ask.starts_at,
            extends_grant_id: ask.extends.map(|(grant_id, _)| grant_id),
        })
        .await?;
    let mut details = json!({
        "identity": target.identity.name,
        "resource": target.resource.name,
        "privilege": ask.privilege,
        "duration_secs": ask.duration_secs,
        "task": justification.task,
        "ticket": justification.ticket,
        "approvals_required": policy.approvals_required,
        "approvers": policy.approvers,
    });
    if let Some(starts_at) = ask.starts_at {
        details["starts_at"] = json!(starts_at);
    }
    if let Some((grant_id, expires_at)) = ask.extends {
        details["extends_grant"] = json!(grant_id);
        details["grant_expires_at"] = json!(expires_at);
    }
    // An identity filing for itself: with which token, or through which issuer.
    if let Some(via) = &actor.via {
        details["via"] = json!(via);
    }
    audit::record(
        rows,
        now,
        Event::new(Actor::User(actor), "request.filed", "request", Some(id))
            .request(id)
            .details(details),
    )
    .await?;
    if auto_approved {
        auto_approve(rows, id, now).await?;
    }
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
    fulfil(rows, Actor::Broker, &request, request.duration_secs, now).await
}

/// What an approved request brings: its grant, or the extension of the grant it extends.
async fn fulfil(
    rows: &mut dyn Rows,
    actor: Actor<'_>,
    request: &RequestRecord,
    duration_secs: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    match request.extends_grant_id {
        Some(grant_id) => {
            extensions::extend(rows, actor, request, grant_id, duration_secs, now).await
        }
        None => grants::grant(rows, actor, request, duration_secs, now)
            .await
            .map(|_| ()),
    }
}

/// The request, if `viewer` may see it: a write on what they may not see is a 404, as a
/// read is, so ids cannot be probed by the difference between 403 and 404.
async fn visible_request(
    rows: &mut dyn Rows,
    viewer: &UserView,
    id: i64,
) -> StoreResult<RequestRecord> {
    let request = rows.request(id).await?;
    visible(rows, viewer, id, request).await
}

/// The request and its approvals so far, if `viewer` may see it (as `visible_request`).
async fn visible_request_with_approvals(
    rows: &mut dyn Rows,
    viewer: &UserView,
    id: i64,
) -> StoreResult<(RequestRecord, Vec<Approval>)> {
    let read = rows.request_with_approvals(id).await?;
    visible(rows, viewer, id, read).await
}

/// `read` of request `id`, or the same 404 as a missing request when `viewer` may not see it.
async fn visible<T>(rows: &mut dyn Rows, viewer: &UserView, id: i64, read: T) -> StoreResult<T> {
    if rows.may_see_request(viewer, id).await? {
        Ok(read)
    } else {
        Err(StoreError::NotFound(format!("request {id}")))
    }
}

/// One approver's approval; the last one needed makes the grant (or extends the grant the
/// request extends), for the shortest duration any approver agreed to.
pub async fn approve(
    db: &dyn Database,
    actor: &UserView,
    request_id: i64,
    body: &ApproveBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let comment = rules::optional_text("comment", body.comment.as_deref())?;
    let mut tx = db.write().await?;
    let (request, approvals) = visible_request_with_approvals(&mut **tx, actor, request_id).await?;
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
        fulfil(&mut **tx, Actor::User(actor), &request, duration_secs, now).await?;
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
    let (request, approvals) = visible_request_with_approvals(&mut **tx, actor, request_id).await?;
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
