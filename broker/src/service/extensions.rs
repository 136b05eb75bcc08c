//! Extending a live grant: its holder files a request linked to it, decided by the same
//! policy as any; once approved, the same grant's expiry moves on from where it was, so
//! there is no moment without access, and a connector's account ends later too.

use super::grants::visible_grant;
use super::requests::{self, Ask};
use crate::store::StoreResult;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, GrantRecord, RequestRecord, Rows};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::api::{ExtendBody, UserView};
use stint_core::lifecycle;
use stint_core::state::RequestEvent;
use stint_core::{RequestState, RuleError};

/// The holder asks to extend live grant `grant_id` by `body.duration_secs`: a request of
/// its own, waiting at most until the grant's expiry (after which there is nothing left to
/// extend). Returns the request's id.
pub async fn request(
    db: &dyn Database,
    actor: &UserView,
    grant_id: i64,
    body: &ExtendBody,
    now: DateTime<Utc>,
    pending_ttl: Duration,
) -> StoreResult<i64> {
    let mut tx = db.write().await?;
    let grant = visible_grant(&mut **tx, actor, grant_id).await?;
    let target = tx
        .request_target(grant.identity.id, grant.resource.id, now)
        .await?;
    let pending = tx.pending_extension(grant_id).await?;
    let extendable = grant.extendable(
        grant.holder_id == actor.id,
        pending,
        &target.resource.policy,
    );
    lifecycle::check_extension(&extendable, body.duration_secs, now)?;
    let ask = Ask {
        privilege: &grant.privilege,
        duration_secs: body.duration_secs,
        justification: &body.justification,
        starts_at: None,
        extends: Some((grant.id, grant.expires_at)),
        pending_expires_at: lifecycle::extension_deadline(now, pending_ttl, grant.expires_at),
    };
    let id = requests::file_checked(&mut **tx, actor, &target, &ask, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// The approved extension `request` moves grant `grant_id`'s expiry on by `duration_secs`,
/// with its `grant.extended` event: refused (and so nothing approved) when the grant ended
/// while the extension waited.
pub(super) async fn extend(
    rows: &mut dyn Rows,
    actor: Actor<'_>,
    request: &RequestRecord,
    grant_id: i64,
    duration_secs: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let grant = rows.grant(grant_id).await?;
    let expires_at = lifecycle::extended_expiry(
        grant.state,
        grant.starts_at,
        grant.expires_at,
        duration_secs,
        now,
    )?;
    rows.extend_grant(grant.id, grant.expires_at, expires_at, now)
        .await?;
    let mut details = grant.details();
    details["expires_at"] = json!(expires_at);
    details["previous_expires_at"] = json!(grant.expires_at);
    details["duration_secs"] = json!(duration_secs);
    details["extension_request"] = json!(request.id);
    audit::record(
        rows,
        now,
        Event::new(actor, "grant.extended", "grant", Some(grant.id))
            .request(grant.request_id)
            .grant(grant.id)
            .details(details),
    )
    .await
}

/// Withdraws the extension of `grant` still waiting, now that the grant ended early: there
/// is nothing left to extend, so no approver should be asked (`request.cancelled`, by the
/// broker). One that outlives its grant's expiry expires with it.
pub(super) async fn withdraw_waiting(
    rows: &mut dyn Rows,
    grant: &GrantRecord,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Some(request_id) = rows.pending_extension(grant.id).await? else {
        return Ok(());
    };
    let next = RequestState::Pending
        .apply(RequestEvent::Cancel)
        .map_err(RuleError::from)?;
    rows.set_request_state(request_id, RequestState::Pending, next, now, None)
        .await?;
    audit::record(
        rows,
        now,
        Event::new(
            Actor::Broker,
            "request.cancelled",
            "request",
            Some(request_id),
        )
        .request(request_id)
        .details(json!({ "reason": "the grant it extends ended", "grant": grant.id })),
    )
    .await
}
