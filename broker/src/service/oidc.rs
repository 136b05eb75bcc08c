//! Signing in through an identity provider, once the provider's answer is verified
//! (`crate::oidc`): the sign-in's start and finish as rows every replica shares, the
//! account found by the person's subject or made at their first sign-in, their roles
//! brought in line with their groups, and a session — each outcome an audit event naming
//! the provider and the subject.

use super::admin::{record_privileged_grant, role_names};
use crate::store::StoreResult;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, NewUserRecord};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::Role;
use stint_core::api::UserView;
use stint_core::oidc::SsoRefusal;

/// How long a started sign-in may take before its callback is refused.
pub const SIGN_IN_TIMEOUT_SECS: i64 = 600;

/// What no password hash parses as, so no password ever verifies against it.
const NO_PASSWORD: &str = "!";

/// The person a provider vouched for, and the roles their groups give.
pub struct Person<'a> {
    pub provider: &'a str,
    pub subject: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub roles: &'a [Role],
}

/// A sign-in's outcome.
#[derive(Debug)]
pub enum SignIn {
    SignedIn(UserView),
    Refused(SsoRefusal),
}

/// Why a sign-in was refused, for its audit event.
pub struct Refusal<'a> {
    pub provider: &'a str,
    pub subject: Option<&'a str>,
    pub username: Option<&'a str>,
    pub refusal: SsoRefusal,
    /// What exactly failed (a verification's error), for the trail; never a secret.
    pub detail: Option<&'a str>,
}

/// Records a sign-in started at `provider` under the hash of its flow secret.
pub async fn start(
    db: &dyn Database,
    flow_hash: &str,
    provider: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let stale = now - Duration::seconds(SIGN_IN_TIMEOUT_SECS);
    tx.insert_oidc_login(flow_hash, provider, now, stale)
        .await?;
    tx.commit().await
}

/// Takes the sign-in started under `flow_hash` at `provider`, if it is still fresh: at most
/// one callback gets it, whatever replica serves it.
pub async fn take(
    db: &dyn Database,
    flow_hash: &str,
    provider: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = db.write().await?;
    let started = tx.take_oidc_login(flow_hash).await?;
    tx.commit().await?;
    Ok(started.is_some_and(|(started_at_provider, at)| {
        started_at_provider == provider && now - at <= Duration::seconds(SIGN_IN_TIMEOUT_SECS)
    }))
}

/// Signs `person` in: finds their account by provider and subject (or makes it at their
/// first sign-in), sets its roles to what their groups give now, and opens a session
/// (ending the one it replaces). A refusal is committed with what led to it — a role
/// taken away stays taken away.
pub async fn sign_in(
    db: &dyn Database,
    person: &Person<'_>,
    session_hash: &str,
    replaces: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<SignIn> {
    let mut tx = db.write().await?;
    let who = json!({ "provider": person.provider, "subject": person.subject });
    let user = match tx.oidc_linked_user(person.provider, person.subject).await? {
        Some(id) => {
            let before = tx.user(id).await?;
            let mut refused = before.disabled.then_some(SsoRefusal::Disabled);
            if refused.is_none() && before.roles != person.roles {
                tx.update_user(id, &before.display_name, person.roles, false)
                    .await?;
                let mut user = before.view();
                user.roles = person.roles.to_vec();
                audit::record(
                    &mut **tx,
                    now,
                    Event::new(Actor::User(&user), "user.roles_changed", "user", Some(id)).details(
                        json!({
                            "username": before.username,
                            "provider": person.provider,
                            "subject": person.subject,
                            "roles": {
                                "before": role_names(&before.roles),
                                "after": role_names(person.roles),
                            },
                        }),
                    ),
                )
                .await?;
                record_privileged_grant(
                    &mut **tx,
                    None,
                    id,
                    &before.username,
                    &before.roles,
                    person.roles,
                    now,
                )
                .await?;
                if person.roles.is_empty() {
                    tx.end_sessions_of(id).await?;
                    refused = Some(SsoRefusal::NoAccess);
                }
            } else if refused.is_none() && person.roles.is_empty() {
                refused = Some(SsoRefusal::NoAccess);
            }
            if let Some(refusal) = refused {
                refuse(&mut **tx, person, refusal, now).await?;
                tx.commit().await?;
                return Ok(SignIn::Refused(refusal));
            }
            let mut user = before.view();
            user.roles = person.roles.to_vec();
            user
        }
        None => {
            let refused = if person.roles.is_empty() {
                Some(SsoRefusal::NoAccess)
            } else if tx.user_id_named(person.username).await?.is_some() {
                Some(SsoRefusal::UsernameTaken)
            } else {
                None
            };
            if let Some(refusal) = refused {
                refuse(&mut **tx, person, refusal, now).await?;
                tx.commit().await?;
                return Ok(SignIn::Refused(refusal));
            }
            let id = tx
                .insert_user(&NewUserRecord {
                    username: person.username,
                    display_name: person.display_name,
                    password_hash: NO_PASSWORD,
                    roles: person.roles,
                    created_at: now,
                    created_by: None,
                })
                .await?;
            tx.link_oidc_user(id, person.provider, person.subject, now)
                .await?;
            let user = tx.user(id).await?.view();
            audit::record(
                &mut **tx,
                now,
                Event::new(Actor::User(&user), "user.provisioned", "user", Some(id)).details(
                    json!({
                        "username": person.username,
                        "provider": person.provider,
                        "subject": person.subject,
                        "roles": role_names(person.roles),
                    }),
                ),
            )
            .await?;
            record_privileged_grant(&mut **tx, None, id, person.username, &[], person.roles, now)
                .await?;
            user
        }
    };
    if let Some(old) = replaces {
        tx.delete_session(old).await?;
    }
    tx.insert_session(session_hash, user.id, now).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(Actor::User(&user), "session.login", "user", Some(user.id))
            .details(json!({ "method": "oidc", "sso": who })),
    )
    .await?;
    tx.commit().await?;
    Ok(SignIn::SignedIn(user))
}

async fn refuse(
    rows: &mut dyn crate::store::port::Rows,
    person: &Person<'_>,
    refusal: SsoRefusal,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    record_refusal_in(
        rows,
        &Refusal {
            provider: person.provider,
            subject: Some(person.subject),
            username: Some(person.username),
            refusal,
            detail: None,
        },
        now,
    )
    .await
}

/// Records a sign-in refused before any account was looked at (a forged callback, a
/// token that failed verification, a provider that could not be reached).
pub async fn record_refusal(
    db: &dyn Database,
    refusal: &Refusal<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    record_refusal_in(&mut **tx, refusal, now).await?;
    tx.commit().await
}

async fn record_refusal_in(
    rows: &mut dyn crate::store::port::Rows,
    r: &Refusal<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    audit::record(
        rows,
        now,
        Event::new(
            Actor::Anonymous(r.username.unwrap_or("")),
            "session.sso_refused",
            "user",
            None,
        )
        .details(json!({
            "provider": r.provider,
            "subject": r.subject,
            "reason": r.refusal.code(),
            "detail": r.detail,
        })),
    )
    .await
}
