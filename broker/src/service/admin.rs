//! What admins manage — users, identities, resources and their policies — each change
//! checked by `stint_core::admin` inside its transaction and recorded; `actor` is `None`
//! for the broker's own bootstrap.

use super::proposals::{self, Sanction};
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, NewUserRecord, Rows, UserRecord};
use crate::store::{FourEyes, NewUser, Saved, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use stint_core::admin;
use stint_core::api::{IdentityBody, NamedRef, ResourceBody, UserUpdateBody, UserView};
use stint_core::connectors::ConnectorView;
use stint_core::four_eyes::{self, Change};
use stint_core::{Role, RuleError};

fn actor_of(actor: Option<&UserView>) -> Actor<'_> {
    actor.map_or(Actor::Broker, Actor::User)
}

fn taken(field: &'static str, name: &str) -> StoreError {
    RuleError::invalid(field, format!("`{name}` is already taken")).into()
}

pub(crate) fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str()).collect()
}

/// Creates an account. One whose roles widen access (beyond asking) is a proposal until a
/// second admin approves it, unless `four_eyes` is waived; the broker's own bootstrap
/// (`actor` `None`) applies at once.
pub async fn create_user(
    db: &dyn Database,
    actor: Option<&UserView>,
    user: &NewUser<'_>,
    four_eyes: FourEyes,
    now: DateTime<Utc>,
) -> StoreResult<Saved> {
    let roles = admin::canonical_roles(user.roles);
    let mut widenings = four_eyes::user_widenings(&[], false, &roles, false);
    if let Some(proposer) = actor.filter(|_| roles.contains(&Role::Admin)) {
        widenings.push(four_eyes::password_known_to(&proposer.username));
    }
    let mut tx = db.write().await?;
    if let Some(proposer) = actor.filter(|_| four_eyes == FourEyes::Required)
        && !widenings.is_empty()
    {
        // A name taken now is refused now, not when a second admin approves.
        if tx.username_taken(user.username).await? {
            return Err(taken("username", user.username));
        }
        let change = Change::UserCreate {
            username: user.username.to_string(),
            display_name: user.display_name.to_string(),
            roles,
        };
        return proposals::file(
            tx,
            proposer,
            change,
            &widenings,
            Some(user.password_hash),
            now,
        )
        .await;
    }
    let sanction = Sanction::of(four_eyes, &widenings);
    let id = insert_user(
        &mut **tx,
        actor,
        user,
        &roles,
        actor.map(|a| a.id),
        sanction,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Saved::Applied(id))
}

/// Writes a new account and its events; `created_by` is who answers for it (its proposer,
/// when a second admin approved it).
pub(crate) async fn insert_user(
    rows: &mut dyn Rows,
    actor: Option<&UserView>,
    user: &NewUser<'_>,
    roles: &[Role],
    created_by: Option<i64>,
    sanction: Sanction<'_>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let id = rows
        .insert_user(&NewUserRecord {
            username: user.username,
            display_name: user.display_name,
            password_hash: user.password_hash,
            roles,
            created_at: now,
            created_by,
        })
        .await?;
    audit::record(
        rows,
        now,
        Event::new(actor_of(actor), "user.created", "user", Some(id)).details(
            sanction.add_to(json!({ "username": user.username, "roles": role_names(roles) })),
        ),
    )
    .await?;
    // The broker's own bootstrap (demo data) grants nothing an admin chose.
    if actor.is_some() {
        record_privileged_grant(rows, actor, id, user.username, &[], roles, now).await?;
    }
    Ok(id)
}

/// Changes a user's name, roles or standing. Granting a role beyond asking, or enabling an
/// account, is a proposal until a second admin approves it (unless `four_eyes` is waived).
/// Disabling ends every session of theirs in the same transaction, so their next call is
/// refused.
pub async fn update_user(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    body: &UserUpdateBody,
    four_eyes: FourEyes,
    now: DateTime<Utc>,
) -> StoreResult<Saved> {
    let mut tx = db.write().await?;
    let before = tx.user(id).await?;
    let after = UserUpdateBody {
        display_name: admin::check_display_name(&body.display_name)?,
        roles: admin::canonical_roles(&body.roles),
        disabled: body.disabled,
    };
    admin::check_user_update(actor.id, id, &before.roles, &after.roles, after.disabled)?;
    let mut widenings =
        four_eyes::user_widenings(&before.roles, before.disabled, &after.roles, after.disabled);
    let made_admin = after.roles.contains(&Role::Admin) && !before.roles.contains(&Role::Admin);
    if made_admin && tx.password_setters(id).await?.contains(&actor.id) {
        widenings.push(four_eyes::password_known_to(&actor.username));
    }
    // Disabling never waits: refuse to tie it to a change that would.
    if four_eyes == FourEyes::Required
        && after.disabled
        && !before.disabled
        && !widenings.is_empty()
    {
        return Err(RuleError::invalid(
            "roles",
            "disable the account on its own: roles granted with it would wait for a second \
             admin, and the account with them",
        )
        .into());
    }
    if four_eyes == FourEyes::Required && !widenings.is_empty() {
        let change = Change::UserUpdate {
            user: NamedRef::new(id, before.username.clone()),
            before: update_body_of(&before),
            after,
        };
        return proposals::file(tx, actor, change, &widenings, None, now).await;
    }
    apply_user_update(
        &mut **tx,
        actor,
        &before,
        &after,
        Sanction::of(four_eyes, &widenings),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Saved::Applied(id))
}

/// A user as an update body: what a proposal compares with before it applies.
pub(crate) fn update_body_of(user: &UserRecord) -> UserUpdateBody {
    UserUpdateBody {
        display_name: user.display_name.clone(),
        roles: admin::canonical_roles(&user.roles),
        disabled: user.disabled,
    }
}

pub(crate) async fn apply_user_update(
    rows: &mut dyn Rows,
    actor: &UserView,
    before: &UserRecord,
    after: &UserUpdateBody,
    sanction: Sanction<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let id = before.id;
    rows.update_user(id, &after.display_name, &after.roles, after.disabled)
        .await?;
    let sessions_ended = if after.disabled {
        rows.end_sessions_of(id).await?
    } else {
        0
    };
    let action = match (before.disabled, after.disabled) {
        (false, true) => "user.disabled",
        (true, false) => "user.enabled",
        _ => "user.updated",
    };
    audit::record(
        rows,
        now,
        Event::new(Actor::User(actor), action, "user", Some(id)).details(sanction.add_to(json!({
            "username": before.username,
            "display_name": { "before": before.display_name, "after": after.display_name },
            "roles": { "before": role_names(&before.roles), "after": role_names(&after.roles) },
            "sessions_ended": sessions_ended,
        }))),
    )
    .await?;
    record_privileged_grant(
        rows,
        Some(actor),
        id,
        &before.username,
        &before.roles,
        &after.roles,
        now,
    )
    .await
}

/// Giving someone the admin or approver role is its own event, for the admin dashboard.
pub(crate) async fn record_privileged_grant(
    rows: &mut dyn Rows,
    actor: Option<&UserView>,
    user_id: i64,
    username: &str,
    before: &[Role],
    after: &[Role],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let granted = admin::privileged_roles_granted(before, after);
    if granted.is_empty() {
        return Ok(());
    }
    audit::record(
        rows,
        now,
        Event::new(
            actor_of(actor),
            "user.privileged_role_granted",
            "user",
            Some(user_id),
        )
        .details(json!({ "username": username, "granted": role_names(&granted) })),
    )
    .await
}

pub async fn create_identity(
    db: &dyn Database,
    actor: Option<&UserView>,
    body: &IdentityBody,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let body = admin::check_identity(body)?;
    let mut tx = db.write().await?;
    let id = tx.insert_identity(&body, now).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(actor_of(actor), "identity.created", "identity", Some(id))
            .details(json!({ "identity": body })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update_identity(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    body: &IdentityBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let body = admin::check_identity(body)?;
    let mut tx = db.write().await?;
    let before = tx
        .identity_body(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("identity {id}")))?;
    tx.update_identity(id, &body).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(Actor::User(actor), "identity.updated", "identity", Some(id))
            .details(json!({ "before": before, "after": body })),
    )
    .await?;
    tx.commit().await
}

/// Checks a resource against the approvers there are now, inside the transaction, and
/// its connector against the `connectors` the broker loaded.
pub(crate) async fn checked_resource(
    rows: &mut dyn Rows,
    body: &ResourceBody,
    connectors: &[ConnectorView],
) -> StoreResult<ResourceBody> {
    Ok(admin::check_resource(
        body,
        &rows.approver_role_holders().await?,
        connectors,
    )?)
}

/// Creates a resource. One whose policy lets access happen before anyone decides
/// (break-glass, auto-approval) is a proposal until a second admin approves it, unless
/// `four_eyes` is waived; the broker's own bootstrap (`actor` `None`) applies at once.
pub async fn create_resource(
    db: &dyn Database,
    actor: Option<&UserView>,
    body: &ResourceBody,
    connectors: &[ConnectorView],
    four_eyes: FourEyes,
    now: DateTime<Utc>,
) -> StoreResult<Saved> {
    let mut tx = db.write().await?;
    let body = checked_resource(&mut **tx, body, connectors).await?;
    let widenings = four_eyes::resource_widenings(None, &body);
    if let Some(proposer) = actor.filter(|_| four_eyes == FourEyes::Required)
        && !widenings.is_empty()
    {
        if tx.resource_name_taken(&body.name).await? {
            return Err(taken("name", &body.name));
        }
        let change = Change::ResourceCreate { resource: body };
        return proposals::file(tx, proposer, change, &widenings, None, now).await;
    }
    let id = insert_resource(
        &mut **tx,
        actor,
        &body,
        Sanction::of(four_eyes, &widenings),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Saved::Applied(id))
}

pub(crate) async fn insert_resource(
    rows: &mut dyn Rows,
    actor: Option<&UserView>,
    body: &ResourceBody,
    sanction: Sanction<'_>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let id = rows.insert_resource(body, now).await?;
    audit::record(
        rows,
        now,
        Event::new(actor_of(actor), "resource.created", "resource", Some(id))
            .details(sanction.add_to(json!({ "resource": body }))),
    )
    .await?;
    Ok(id)
}

/// Saves a resource and its policy; a change that widens access is a proposal until a
/// second admin approves it (unless `four_eyes` is waived). Requests already filed keep the
/// policy they were filed under (their approval count, maximum and approvers are copied
/// onto them).
pub async fn update_resource(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    body: &ResourceBody,
    connectors: &[ConnectorView],
    four_eyes: FourEyes,
    now: DateTime<Utc>,
) -> StoreResult<Saved> {
    let mut tx = db.write().await?;
    let before = current_resource(&mut **tx, id).await?;
    let after = checked_resource(&mut **tx, body, connectors).await?;
    let widenings = four_eyes::resource_widenings(Some(&before), &after);
    if four_eyes == FourEyes::Required && !widenings.is_empty() {
        if after.name != before.name && tx.resource_name_taken(&after.name).await? {
            return Err(taken("name", &after.name));
        }
        let change = Change::ResourceUpdate {
            resource_id: id,
            before: Box::new(before),
            after: Box::new(after),
        };
        return proposals::file(tx, actor, change, &widenings, None, now).await;
    }
    apply_resource_update(
        &mut **tx,
        actor,
        id,
        &before,
        &after,
        Sanction::of(four_eyes, &widenings),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Saved::Applied(id))
}

/// The resource as it is now, as a body: what a change is compared with.
pub(crate) async fn current_resource(rows: &mut dyn Rows, id: i64) -> StoreResult<ResourceBody> {
    let r = rows
        .resource(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("resource {id}")))?;
    Ok(ResourceBody {
        name: r.name,
        description: r.description,
        privileges: r.privileges,
        policy: r.policy,
        connector: r.connector,
    })
}

pub(crate) async fn apply_resource_update(
    rows: &mut dyn Rows,
    actor: &UserView,
    id: i64,
    before: &ResourceBody,
    after: &ResourceBody,
    sanction: Sanction<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    rows.update_resource(id, after).await?;
    audit::record(
        rows,
        now,
        Event::new(Actor::User(actor), "resource.updated", "resource", Some(id))
            .details(sanction.add_to(json!({ "before": before, "after": after }))),
    )
    .await
}

/// Gives a resource new introspection credentials (their hash; the old secret stops
/// working); returns the resource's name.
pub async fn set_introspection_secret(
    db: &dyn Database,
    actor: &UserView,
    resource_id: i64,
    secret_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    if !actor.has(Role::Admin) {
        return Err(RuleError::Forbidden("only admins manage Stint".into()).into());
    }
    let mut tx = db.write().await?;
    let name = tx
        .set_introspection_secret(resource_id, secret_hash, now)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("resource {resource_id}")))?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "resource.introspection_credentials_set",
            "resource",
            Some(resource_id),
        )
        .details(json!({ "resource": name })),
    )
    .await?;
    tx.commit().await?;
    Ok(name)
}
