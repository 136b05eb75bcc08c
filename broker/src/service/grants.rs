//! Grants coming to life, their credentials, and their early end.

use super::{extensions, to_millis};
use crate::connectors::{Connectors, GrantFacts};
use crate::credential::{Keyring, token_hash};
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{
    Database, GrantRecord, NewCredential, NewGrant, RequestKind, RequestRecord, Rows,
};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use stint_core::GrantState;
use stint_core::api::{CredentialView, ReleaseBody, UserView};
use stint_core::connectors::PostgresAccess;
use stint_core::lifecycle::{self, Window};
use stint_core::machine;
use stint_core::rules::{self, LiveGrant};

/// Makes the grant of an approved `request` for `duration_secs` as of `now`: live at
/// once, or scheduled for the window it asked for, with its `grant.activated` or
/// `grant.scheduled` event; returns the grant's id and expiry.
pub async fn grant(
    rows: &mut dyn Rows,
    actor: Actor<'_>,
    request: &RequestRecord,
    duration_secs: i64,
    now: DateTime<Utc>,
) -> StoreResult<(i64, DateTime<Utc>)> {
    let window = lifecycle::grant_window(request.starts_at, duration_secs, now)?;
    let (id, window) = insert(rows, request, window).await?;
    record_activation(rows, actor, request, id, duration_secs, &window, now).await?;
    Ok((id, window.expires_at))
}

/// Inserts the grant of `request` (to its requester, of its kind) for `window`, without
/// its event; returns its id and the window as stored: cut to the millisecond the
/// backends keep, so events say what is stored.
pub async fn insert(
    rows: &mut dyn Rows,
    request: &RequestRecord,
    window: Window,
) -> StoreResult<(i64, Window)> {
    let window = Window {
        starts_at: to_millis(window.starts_at),
        expires_at: to_millis(window.expires_at),
        ..window
    };
    let grant = NewGrant {
        request_id: request.id,
        identity_id: request.identity.id,
        resource_id: request.resource.id,
        privilege: &request.privilege,
        holder_id: request.requester_id,
        kind: match request.kind {
            RequestKind::BreakGlass => RequestKind::BreakGlass,
            RequestKind::Standard | RequestKind::AutoApproved => RequestKind::Standard,
        },
    };
    let id = rows
        .insert_grant(&grant, window.state, window.starts_at, window.expires_at)
        .await?;
    Ok((id, window))
}

/// The event of `request`'s new grant: `grant.activated`, or `grant.scheduled` with its
/// start when it starts later.
pub async fn record_activation(
    rows: &mut dyn Rows,
    actor: Actor<'_>,
    request: &RequestRecord,
    grant_id: i64,
    duration_secs: i64,
    window: &Window,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut details = json!({
        "identity": request.identity.name,
        "resource": request.resource.name,
        "privilege": request.privilege,
        "duration_secs": duration_secs,
        "expires_at": window.expires_at,
    });
    let action = if window.state == GrantState::Scheduled {
        details["starts_at"] = json!(window.starts_at);
        "grant.scheduled"
    } else {
        "grant.activated"
    };
    audit::record(
        rows,
        now,
        Event::new(actor, action, "grant", Some(grant_id))
            .request(request.id)
            .grant(grant_id)
            .details(details),
    )
    .await
}

/// The grant, if `viewer` may see the request it came from (else it does not exist for
/// them).
pub(super) async fn visible_grant(
    rows: &mut dyn Rows,
    viewer: &UserView,
    id: i64,
) -> StoreResult<GrantRecord> {
    let grant = rows.grant(id).await?;
    // A grant's holder filed the request it came from (`grant`, where every grant is made),
    // and a requester always sees their own request: the holder's calls skip that statement.
    if grant.holder_id == viewer.id || rows.may_see_request(viewer, grant.request_id).await? {
        Ok(grant)
    } else {
        Err(StoreError::NotFound(format!("grant {id}")))
    }
}

/// Issues a credential for a live grant to its holder: a JWT signed with the current key,
/// stored only as its hash, with its event; and when a connector made the grant's access
/// downstream, fresh login details for it.
pub async fn issue_credential(
    db: &dyn Database,
    actor: &UserView,
    grant_id: i64,
    now: DateTime<Utc>,
    keyring: &Keyring,
    connectors: &Connectors,
) -> StoreResult<CredentialView> {
    let login = connector_login(db, actor, grant_id, now, connectors).await?;
    let mut tx = db.write().await?;
    let grant = visible_grant(&mut **tx, actor, grant_id).await?;
    let secs_left = (grant.expires_at - now).num_milliseconds() / 1000;
    rules::check_credential_issue(grant.state, grant.holder_id == actor.id, secs_left)?;
    let issued = keyring
        .issue(
            &grant.identity.name,
            &grant.resource.name,
            &grant.privilege,
            now,
            grant.expires_at,
        )
        .map_err(|e| StoreError::Corrupt(format!("signing failed: {e}")))?;
    tx.insert_credential(&NewCredential {
        jti: &issued.jti,
        grant_id,
        token_hash: &token_hash(&issued.token),
        fingerprints: &issued_fingerprints(&issued.token),
        issued_to: actor.id,
        issued_at: now,
        expires_at: grant.expires_at,
        kid: &issued.kid,
    })
    .await?;
    let mut details = grant.details();
    details["jti"] = json!(issued.jti);
    if let Some(login) = &login {
        // Which role's password was set; never the password.
        details["account"] = json!(login.username);
    }
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "credential.issued",
            "grant",
            Some(grant_id),
        )
        .request(grant.request_id)
        .grant(grant_id)
        .details(details),
    )
    .await?;
    tx.commit().await?;
    Ok(CredentialView {
        token: issued.token,
        jti: issued.jti,
        expires_at: grant.expires_at,
        postgres: login,
    })
}

/// How long a credential fetch waits for a connector to finish making the grant's access.
const PROVISIONING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The connector's fresh login details for the grant's holder, if its resource has a
/// connector that gives any. Decided and set before the credential's transaction, so a
/// network call never holds the write lock; only the holder of a live grant gets this far
/// (a password set for anyone else would lock the holder out). Waits up to
/// `PROVISIONING_WAIT` for access still being made.
async fn connector_login(
    db: &dyn Database,
    actor: &UserView,
    grant_id: i64,
    now: DateTime<Utc>,
    connectors: &Connectors,
) -> StoreResult<Option<PostgresAccess>> {
    // Most grants have no downstream access (its row is written with the grant, so it
    // cannot appear later): one statement answers for them, and the credential's own
    // transaction checks who may have it.
    if db.grant_access(grant_id).await?.is_none() {
        return Ok(None);
    }
    let waited = std::time::Instant::now();
    loop {
        let mut tx = db.read().await?;
        let grant = visible_grant(&mut **tx, actor, grant_id).await?;
        let secs_left = (grant.expires_at - now).num_milliseconds() / 1000;
        rules::check_credential_issue(grant.state, grant.holder_id == actor.id, secs_left)?;
        let Some(access) = tx.grant_access(grant_id).await? else {
            return Ok(None);
        };
        drop(tx);
        if !access.provisioned {
            if waited.elapsed() < PROVISIONING_WAIT {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            return Err(StoreError::Provisioning(match access.last_error {
                Some(error) => format!(
                    "the access in {} is not made yet (last attempt: {error}); try again shortly",
                    access.connector
                ),
                None => format!(
                    "the access in {} is not made yet; try again shortly",
                    access.connector
                ),
            }));
        }
        let connector = connectors.get(&access.connector).ok_or_else(|| {
            StoreError::Unavailable(format!("the connector {} is not loaded", access.connector))
        })?;
        let facts = GrantFacts {
            grant_id,
            identity: grant.identity.name.clone(),
            resource: grant.resource.name.clone(),
            privilege: grant.privilege.clone(),
            holder: actor.username.clone(),
            expires_at: grant.expires_at,
            account: access.account.clone(),
            at: now,
        };
        return connector
            .rotate_login(&facts)
            .await
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", access.connector)));
    }
}

/// The fingerprints under which secrets scanners would report `token`: its SHA-256 (what
/// gitleaks' and trufflehog's raw values hash to), its SHA-1, and the SHA-1 of its signed
/// part with the final dot, which is all detect-secrets' JWT detector captures.
fn issued_fingerprints(token: &str) -> Vec<String> {
    use crate::scan_report::{sha1_fingerprint, sha256_fingerprint};
    let mut out = vec![sha256_fingerprint(token), sha1_fingerprint(token)];
    if let Some((signed, _signature)) = token.rsplit_once('.') {
        out.push(sha1_fingerprint(&format!("{signed}.")));
    }
    out
}

/// An owner (or an admin, or a reviewer for break-glass) ends live access early.
pub async fn revoke(
    db: &dyn Database,
    actor: &UserView,
    grant_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    revoke_in(&mut **tx, actor, grant_id, reason, now).await?;
    tx.commit().await
}

/// Revokes a live grant inside the caller's transaction (an access review's decision).
pub async fn revoke_in(
    rows: &mut dyn Rows,
    actor: &UserView,
    grant_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let revocation = decide_revocation(rows, actor, grant_id, reason, now).await?;
    carry_out(rows, actor, revocation, now).await
}

/// A revocation decided and not yet written.
pub struct Revocation {
    grant: GrantRecord,
    next: GrantState,
    reason: String,
}

/// Decides whether `actor` may end grant `grant_id` now, writing nothing: a refusal leaves
/// the transaction as it was, so a bulk revocation can go on with the next grant.
pub async fn decide_revocation(
    rows: &mut dyn Rows,
    actor: &UserView,
    grant_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<Revocation> {
    let grant = visible_grant(rows, actor, grant_id).await?;
    let owner = rows
        .is_current_owner(grant.identity.id, actor.id, now)
        .await?;
    let live = LiveGrant {
        state: grant.state,
        secs_left: (grant.expires_at - now).num_milliseconds() / 1000,
        break_glass: grant.kind == RequestKind::BreakGlass,
    };
    let (next, reason) = rules::decide_revoke(&live, owner, &actor.roles, reason)?;
    Ok(Revocation {
        grant,
        next,
        reason,
    })
}

/// Ends the grant as decided, with its event (and its downstream access, through the
/// connector's outbox).
pub async fn carry_out(
    rows: &mut dyn Rows,
    actor: &UserView,
    revocation: Revocation,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    end_early(
        rows,
        Actor::User(actor),
        &revocation.grant,
        revocation.next,
        &revocation.reason,
        json!({}),
        now,
    )
    .await
}

/// The holder ends a live grant because its task is over ("released by the workload
/// after 4 min of 15"): it ends as a revocation does, its event saying how the task went.
pub async fn release(
    db: &dyn Database,
    actor: &UserView,
    grant_id: i64,
    body: &ReleaseBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let grant = visible_grant(&mut **tx, actor, grant_id).await?;
    let secs_left = (grant.expires_at - now).num_milliseconds() / 1000;
    let (next, note) = machine::decide_release(
        grant.state,
        secs_left,
        grant.holder_id == actor.id,
        body.note.as_deref(),
    )?;
    let outcome = body.outcome.as_str();
    let reason = match &note {
        Some(note) => format!("released by its holder: task {outcome} ({note})"),
        None => format!("released by its holder: task {outcome}"),
    };
    tx.end_grant(
        grant.id,
        grant.state,
        next,
        now,
        Some((&reason, Some(actor.id))),
    )
    .await?;
    let mut details = grant.end_details();
    details["outcome"] = json!(outcome);
    details["note"] = json!(note);
    details["used_secs"] = json!((now - grant.starts_at).num_seconds().max(0));
    details["granted_secs"] = json!((grant.expires_at - grant.starts_at).num_seconds());
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "grant.released",
            "grant",
            Some(grant.id),
        )
        .request(grant.request_id)
        .grant(grant.id)
        .details(details),
    )
    .await?;
    extensions::withdraw_waiting(&mut **tx, &grant, now).await?;
    tx.commit().await
}

/// Ends `grant` early in state `next` (which the caller's rule decided) with `reason`, and
/// records its `grant.revoked` event: the grant's facts, the reason, and `details`.
pub async fn end_early(
    rows: &mut dyn Rows,
    actor: Actor<'_>,
    grant: &GrantRecord,
    next: GrantState,
    reason: &str,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    rows.end_grant(grant.id, grant.state, next, now, Some((reason, actor.id())))
        .await?;
    let mut all = grant.end_details();
    all["reason"] = json!(reason);
    if let (Some(all), serde_json::Value::Object(extra)) = (all.as_object_mut(), details) {
        all.extend(extra);
    }
    audit::record(
        rows,
        now,
        Event::new(actor, "grant.revoked", "grant", Some(grant.id))
            .request(grant.request_id)
            .grant(grant.id)
            .details(all),
    )
    .await?;
    extensions::withdraw_waiting(rows, grant, now).await
}
