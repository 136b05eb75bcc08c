//! Signing in and out, sessions with idle and absolute limits, passwords, the sign-in
//! throttle (counted in the database, so it holds across restarts and replicas), and the
//! record of refused calls.

use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, Rows, ThrottleRecord};
use crate::store::{
    FailedPassword, FourEyes, SessionLimits, SessionUser, StoreError, StoreResult, account_key,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::api::UserView;
use stint_core::throttle::{self, ThrottlePolicy};
use stint_core::{Role, RuleError, admin};

/// Touch a session at most this often: reads should not all become writes.
const TOUCH_EVERY_MS: i64 = 5_000;

/// Opens a session for a verified login, ending the one it replaces (rotation); a
/// successful sign-in forgets its account's failures (not its address's).
pub async fn open(
    db: &dyn Database,
    user: &UserView,
    token_hash: &str,
    replaces: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    if let Some(old) = replaces {
        tx.delete_session(old).await?;
    }
    tx.insert_session(token_hash, user.id, now).await?;
    let failed = tx.forget_throttle(&account_key(&user.username)).await?;
    let mut event = Event::new(Actor::User(user), "session.login", "user", Some(user.id));
    if failed > 0 {
        event = event.details(json!({ "failures_before": failed }));
    }
    audit::record(&mut **tx, now, event).await?;
    tx.commit().await
}

/// The user behind a session, if it is still within its limits; touches it now and then.
pub async fn user(
    db: &dyn Database,
    token_hash: &str,
    now: DateTime<Utc>,
    limits: SessionLimits,
) -> StoreResult<Option<SessionUser>> {
    look_up(db, token_hash, now, limits, true).await
}

/// The user behind a session if it is still within its limits, leaving its idle clock
/// alone: for what watches on the user's behalf (the live feed), which is not the user
/// at work and must not keep an abandoned session open.
pub async fn user_untouched(
    db: &dyn Database,
    token_hash: &str,
    now: DateTime<Utc>,
    limits: SessionLimits,
) -> StoreResult<Option<SessionUser>> {
    look_up(db, token_hash, now, limits, false).await
}

async fn look_up(
    db: &dyn Database,
    token_hash: &str,
    now: DateTime<Utc>,
    limits: SessionLimits,
    touch: bool,
) -> StoreResult<Option<SessionUser>> {
    let Some((session, user)) = db.session(token_hash).await? else {
        return Ok(None);
    };
    let idle_out = now - session.last_seen_at >= limits.idle;
    let absolute_out = now - session.created_at >= limits.absolute;
    if idle_out || absolute_out {
        let mut tx = db.write().await?;
        tx.delete_session(token_hash).await?;
        tx.commit().await?;
        return Ok(None);
    }
    if touch && (now - session.last_seen_at).num_milliseconds() > TOUCH_EVERY_MS {
        let mut tx = db.write().await?;
        tx.touch_session(token_hash, now).await?;
        tx.commit().await?;
    }
    Ok(Some(SessionUser {
        user: user.view(),
        must_change_password: user.must_change_password,
    }))
}

/// Signs out: the session ends and the logout is recorded as its user's. Returns the
/// identity provider its user signs in through, if any (whose own session may end too).
pub async fn close(
    db: &dyn Database,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<String>> {
    let mut tx = db.write().await?;
    let mut provider = None;
    if let Some(user_id) = tx.delete_session(token_hash).await? {
        provider = tx.oidc_provider_of(user_id).await?;
        let user = tx.user(user_id).await?.view();
        audit::record(
            &mut **tx,
            now,
            Event::new(Actor::User(&user), "session.logout", "user", Some(user_id)),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(provider)
}

/// A user sets a new password (the current one was checked by the caller); their other
/// sessions end, `keep_session` goes on. Returns how many ended.
pub async fn change_password(
    db: &dyn Database,
    user: &UserView,
    password_hash: &str,
    keep_session: &str,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut tx = db.write().await?;
    tx.set_password(user.id, password_hash, false)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {}", user.id)))?;
    let ended = tx.end_other_sessions(user.id, keep_session).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(user),
            "user.password_changed",
            "user",
            Some(user.id),
        )
        .details(json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// An admin sets a temporary password for someone else, to be changed at next sign-in;
/// all their sessions end: whoever knew the old password is signed out with it. While
/// changes need four eyes, another admin's password is not reset: whoever set it could
/// sign in as them and approve their own proposals.
pub async fn reset_password(
    db: &dyn Database,
    actor: &UserView,
    user_id: i64,
    password_hash: &str,
    four_eyes: FourEyes,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    admin::check_password_reset(actor.has(Role::Admin), actor.id, user_id)?;
    let mut tx = db.write().await?;
    if four_eyes == FourEyes::Required
        && (tx.user(user_id).await?.roles.contains(&Role::Admin)
            || super::proposals::admin_pending_for(&mut **tx, user_id).await?)
    {
        return Err(RuleError::Forbidden(
            "an admin's password (or that of someone a proposal would make one) is not reset by \
             another admin while changes need a second admin's approval: whoever set it could \
             approve their own changes as them. They change it themselves; a lost one is reset \
             by a broker started with --single-admin"
                .into(),
        )
        .into());
    }
    // A password would outlive the person's removal at their provider.
    if let Some(provider) = tx.oidc_provider_of(user_id).await? {
        return Err(RuleError::invalid(
            "new_password",
            format!(
                "this account signs in through the identity provider `{provider}` and has no \
                 password here"
            ),
        )
        .into());
    }
    let username = tx
        .set_password(user_id, password_hash, true)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
    let ended = tx.end_sessions_of(user_id).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "user.password_reset",
            "user",
            Some(user_id),
        )
        .details(json!({ "username": username, "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await
}

/// The latest time one of `keys` is locked until, if any is locked at `now`.
pub async fn locked_until(
    db: &dyn Database,
    keys: &[String],
    now: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let mut read = db.read().await?;
    let mut until = None;
    for key in keys {
        if let Some(locked) = read.throttle(key).await?.and_then(|t| t.locked_until)
            && locked > now
        {
            until = until.max(Some(locked));
        }
    }
    Ok(until)
}

/// Counts one failure against `key`; returns the count and the lock it now has, if any.
async fn count(
    rows: &mut dyn Rows,
    key: &str,
    policy: &ThrottlePolicy,
    now: DateTime<Utc>,
) -> StoreResult<throttle::Failure> {
    let failure = match rows.throttle(key).await? {
        Some(t) => policy.fail(
            t.failures,
            Some((now - t.last_failure_at).num_milliseconds() / 1000),
        ),
        None => policy.fail(0, None),
    };
    let entry = ThrottleRecord {
        failures: failure.failures,
        last_failure_at: now,
        locked_until: failure.lock_secs.map(|secs| now + Duration::seconds(secs)),
    };
    rows.put_throttle(key, &entry).await?;
    Ok(failure)
}

/// Counts a wrong password against its account and address, and records it. Failures are
/// aggregated: each event carries the count so far and the lock it set; failures refused
/// while locked (429) never reach here.
pub async fn record_failed_password(
    db: &dyn Database,
    attempt: &FailedPassword<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let mut tx = db.write().await?;
    let account = count(&mut **tx, &attempt.account_key, &throttle::ACCOUNT, now).await?;
    let address = match &attempt.address_key {
        Some(key) => Some(count(&mut **tx, key, &throttle::ADDRESS, now).await?),
        None => None,
    };
    let lock = account
        .lock_secs
        .max(address.and_then(|a| a.lock_secs))
        .map(|secs| now + Duration::seconds(secs));
    let mut details = attempt.details.clone();
    details["failures"] = json!(account.failures);
    if let Some(address) = address {
        details["failures_from_address"] = json!(address.failures);
    }
    if let Some(until) = lock {
        details["locked_until"] = json!(until);
    }
    audit::record(
        &mut **tx,
        now,
        Event::new(attempt.actor, attempt.action, "user", attempt.target_user).details(details),
    )
    .await?;
    tx.commit().await?;
    Ok(lock)
}

/// Records that `actor` was refused `method path`, and why.
pub async fn record_refusal(
    db: &dyn Database,
    actor: &UserView,
    method: &str,
    path: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // Paths and reasons come from the broker's own routes and messages; still bounded.
    let path: String = path.chars().take(200).collect();
    let mut tx = db.write().await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(Actor::User(actor), "authz.refused", "endpoint", None)
            .details(json!({ "method": method, "path": path, "reason": reason })),
    )
    .await?;
    tx.commit().await
}
