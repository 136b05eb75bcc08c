//! Signing in through an identity provider, once the provider's answer is verified
//! (`crate::oidc`): the sign-in's start and finish as rows every replica shares, the
//! account found by the person's issuer and subject or made at their first sign-in, their
//! roles brought in line with their groups, and a session — each outcome, with the taking
//! of the started sign-in, one transaction and one audit event naming the provider and
//! the subject.

use super::admin::{record_privileged_grant, role_names};
use crate::store::StoreResult;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, NewUserRecord, OidcLink, Rows, StartedSignIn};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::admin::{check_display_name, check_name};
use stint_core::api::UserView;
use stint_core::oidc::{RoleMapping, SsoRefusal, roles_from_groups};

/// How long a started sign-in may take before its callback is refused.
pub const SIGN_IN_TIMEOUT_SECS: i64 = 600;

/// What no password hash parses as, so no password ever verifies against it.
const NO_PASSWORD: &str = "!";

/// The person a provider vouched for, as its verified ID token (and user info) say.
pub struct Person<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    /// The username claim, if it was text: needed only to make an account.
    pub username: Option<&'a str>,
    pub display_name: Option<&'a str>,
    /// `None`: the provider did not say (no claim, or not a list of names).
    pub groups: Option<&'a [String]>,
    pub mapping: &'a RoleMapping,
}

/// How a callback ends, as the broker saw it before looking at any account.
pub enum Answer<'a> {
    Verified(Person<'a>),
    Refused(Refusal<'a>),
}

/// A sign-in's outcome.
#[derive(Debug)]
pub enum SignIn {
    SignedIn(UserView),
    Refused(SsoRefusal),
}

/// Why a sign-in was refused, for its audit event.
#[derive(Clone, Copy)]
pub struct Refusal<'a> {
    pub subject: Option<&'a str>,
    pub username: Option<&'a str>,
    pub refusal: SsoRefusal,
    /// What exactly failed (a verification's error), for the trail; never a secret.
    pub detail: Option<&'a str>,
}

/// Records a sign-in started at `provider` under the hash of its flow secret.
pub async fn start(db: &dyn Database, flow_hash: &str, started: &StartedSignIn) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let stale = started.started_at - Duration::seconds(SIGN_IN_TIMEOUT_SECS);
    tx.insert_oidc_login(flow_hash, started, stale).await?;
    tx.commit().await
}

/// Whether a sign-in at `provider` is under way under `flow_hash` and still fresh; read
/// before the provider is asked anything, and taken only by `finish`.
pub async fn under_way(
    db: &dyn Database,
    flow_hash: &str,
    provider: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut read = db.lookup().await?;
    let started = read.oidc_login(flow_hash).await?;
    Ok(started.is_some_and(|s| fresh(&s, provider, now)))
}

fn fresh(started: &StartedSignIn, provider: &str, now: DateTime<Utc>) -> bool {
    started.provider == provider
        && now - started.started_at <= Duration::seconds(SIGN_IN_TIMEOUT_SECS)
}

/// Finishes the sign-in started under `flow_hash` with the provider's `answer`, in one
/// transaction. A verified person takes the started sign-in (at most one callback gets it,
/// whatever replica serves it) and is signed in — their account found by issuer and
/// subject, or made at their first sign-in; its roles set to what their groups give now; a
/// session opened in place of the one the browser had — or refused, committed with what led
/// to it (a role taken away stays taken away). A refused answer is recorded and takes
/// nothing: a duplicate callback whose code the provider refuses, say, must not take the
/// sign-in from the one that is signing in.
pub async fn finish(
    db: &dyn Database,
    flow_hash: &str,
    provider: &str,
    answer: &Answer<'_>,
    session_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<SignIn> {
    let mut tx = db.write().await?;
    let outcome = match answer {
        Answer::Refused(refusal) => Err(*refusal),
        Answer::Verified(person) => match tx.take_oidc_login(flow_hash).await? {
            Some(started) if fresh(&started, provider, now) => {
                sign_in(&mut **tx, provider, person, &started, session_hash, now).await?
            }
            _ => Err(Refusal {
                subject: Some(person.subject),
                username: person.username,
                refusal: SsoRefusal::NotStarted,
                detail: Some("another callback finished this sign-in first, or it went stale"),
            }),
        },
    };
    let outcome = match outcome {
        Ok(user) => SignIn::SignedIn(user),
        Err(refusal) => {
            record_refusal_in(&mut **tx, provider, &refusal, now).await?;
            SignIn::Refused(refusal.refusal)
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn sign_in<'a>(
    rows: &mut dyn Rows,
    provider: &str,
    person: &Person<'a>,
    started: &StartedSignIn,
    session_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Result<UserView, Refusal<'a>>> {
    let refuse = |refusal, detail| {
        Ok(Err(Refusal {
            subject: Some(person.subject),
            username: person.username,
            refusal,
            detail,
        }))
    };
    // Without the groups nothing about the roles can be decided: nothing changes.
    let Some(groups) = person.groups else {
        return refuse(
            SsoRefusal::GroupsUnknown,
            Some("no list of groups in the claims"),
        );
    };
    let roles = roles_from_groups(person.mapping, groups);
    let who = json!({ "provider": provider, "issuer": person.issuer, "subject": person.subject });
    let user = match rows.oidc_linked_user(person.issuer, person.subject).await? {
        Some((id, linked_through)) => {
            let before = rows.user(id).await?;
            if before.disabled {
                return refuse(SsoRefusal::Disabled, None);
            }
            if linked_through != provider {
                rows.set_oidc_provider(id, provider).await?;
            }
            if before.roles != roles {
                rows.update_user(id, &before.display_name, &roles, false)
                    .await?;
                audit::record(
                    rows,
                    now,
                    Event::new(Actor::Broker, "user.roles_changed", "user", Some(id)).details(
                        json!({
                            "username": before.username,
                            "sso": who,
                            "roles": {
                                "before": role_names(&before.roles),
                                "after": role_names(&roles),
                            },
                        }),
                    ),
                )
                .await?;
                record_privileged_grant(
                    rows,
                    None,
                    id,
                    &before.username,
                    &before.roles,
                    &roles,
                    now,
                )
                .await?;
            }
            if roles.is_empty() {
                // Committed with the refusal: the sessions it had end with the roles.
                rows.end_sessions_of(id).await?;
                return refuse(SsoRefusal::NoAccess, None);
            }
            let mut user = before.view();
            user.roles = roles;
            user
        }
        None => {
            if roles.is_empty() {
                return refuse(SsoRefusal::NoAccess, None);
            }
            let Some(username) = person.username.and_then(|u| check_name("username", u).ok())
            else {
                return refuse(
                    SsoRefusal::UsernameUnusable,
                    Some("the username claim is missing or not a valid username"),
                );
            };
            if rows.user_id_named(&username).await?.is_some() {
                return refuse(SsoRefusal::UsernameTaken, None);
            }
            let display_name = person
                .display_name
                .and_then(|n| check_display_name(n).ok())
                .unwrap_or_else(|| username.clone());
            let id = rows
                .insert_user(&NewUserRecord {
                    username: &username,
                    display_name: &display_name,
                    password_hash: NO_PASSWORD,
                    roles: &roles,
                    created_at: now,
                    created_by: None,
                })
                .await?;
            let link = OidcLink {
                user_id: id,
                issuer: person.issuer,
                subject: person.subject,
                provider,
            };
            rows.link_oidc_user(&link, now).await?;
            audit::record(
                rows,
                now,
                Event::new(Actor::Broker, "user.provisioned", "user", Some(id)).details(json!({
                    "username": username,
                    "sso": who,
                    "roles": role_names(&roles),
                })),
            )
            .await?;
            record_privileged_grant(rows, None, id, &username, &[], &roles, now).await?;
            rows.user(id).await?.view()
        }
    };
    if let Some(old) = &started.replaces_hash {
        rows.delete_session(old).await?;
    }
    rows.insert_session(session_hash, user.id, now).await?;
    audit::record(
        rows,
        now,
        Event::new(Actor::User(&user), "session.login", "user", Some(user.id))
            .details(json!({ "method": "oidc", "sso": who })),
    )
    .await?;
    Ok(Ok(user))
}

/// Records a sign-in refused before its started sign-in was found (a forged or stale
/// callback, a provider that could not be reached at its start).
pub async fn record_refusal(
    db: &dyn Database,
    provider: &str,
    refusal: &Refusal<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    record_refusal_in(&mut **tx, provider, refusal, now).await?;
    tx.commit().await
}

async fn record_refusal_in(
    rows: &mut dyn Rows,
    provider: &str,
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
            "provider": provider,
            "subject": r.subject,
            "reason": r.refusal.code(),
            "detail": r.detail,
        })),
    )
    .await
}
