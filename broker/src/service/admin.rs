//! What admins manage — users, identities, resources and their policies — each change
//! checked by `stint_core::admin` inside its transaction and recorded; `actor` is `None`
//! for the broker's own bootstrap.

use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, NewUserRecord, Rows};
use crate::store::{NewUser, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use stint_core::admin;
use stint_core::api::{IdentityBody, ResourceBody, UserUpdateBody, UserView};
use stint_core::connectors::ConnectorView;
use stint_core::{Role, RuleError};

fn actor_of(actor: Option<&UserView>) -> Actor<'_> {
    actor.map_or(Actor::Broker, Actor::User)
}

pub(crate) fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str()).collect()
}

pub async fn create_user(
    db: &dyn Database,
    actor: Option<&UserView>,
    user: &NewUser<'_>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let roles = admin::canonical_roles(user.roles);
    let mut tx = db.write().await?;
    let id = tx
        .insert_user(&NewUserRecord {
            username: user.username,
            display_name: user.display_name,
            password_hash: user.password_hash,
            roles: &roles,
            created_at: now,
            created_by: actor.map(|a| a.id),
        })
        .await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(actor_of(actor), "user.created", "user", Some(id))
            .details(json!({ "username": user.username, "roles": role_names(&roles) })),
    )
    .await?;
    // The broker's own bootstrap (demo data) grants nothing an admin chose.
    if actor.is_some() {
        record_privileged_grant(&mut **tx, actor, id, user.username, &[], &roles, now).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Changes a user's name, roles or standing. Disabling ends every session of theirs in
/// the same transaction, so their next call is refused.
pub async fn update_user(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    body: &UserUpdateBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let before = tx.user(id).await?;
    let display_name = admin::check_display_name(&body.display_name)?;
    let roles = admin::canonical_roles(&body.roles);
    admin::check_user_update(actor.id, id, &before.roles, &roles, body.disabled)?;
    tx.update_user(id, &display_name, &roles, body.disabled)
        .await?;
    let sessions_ended = if body.disabled {
        tx.end_sessions_of(id).await?
    } else {
        0
    };
    let action = match (before.disabled, body.disabled) {
        (false, true) => "user.disabled",
        (true, false) => "user.enabled",
        _ => "user.updated",
    };
    audit::record(
        &mut **tx,
        now,
        Event::new(Actor::User(actor), action, "user", Some(id)).details(json!({
            "username": before.username,
            "display_name": { "before": before.display_name, "after": display_name },
            "roles": { "before": role_names(&before.roles), "after": role_names(&roles) },
            "sessions_ended": sessions_ended,
        })),
    )
    .await?;
    record_privileged_grant(
        &mut **tx,
        Some(actor),
        id,
        &before.username,
        &before.roles,
        &roles,
        now,
    )
    .await?;
    tx.commit().await
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
async fn checked_resource(
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

pub async fn create_resource(
    db: &dyn Database,
    actor: Option<&UserView>,
    body: &ResourceBody,
    connectors: &[ConnectorView],
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let mut tx = db.write().await?;
    let body = checked_resource(&mut **tx, body, connectors).await?;
    let id = tx.insert_resource(&body, now).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(actor_of(actor), "resource.created", "resource", Some(id))
            .details(json!({ "resource": body })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Saves a resource and its policy. Requests already filed keep the policy they were filed
/// under (their approval count, maximum and approvers are copied onto them).
pub async fn update_resource(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    body: &ResourceBody,
    connectors: &[ConnectorView],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let before = tx
        .resource(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("resource {id}")))?;
    let body = checked_resource(&mut **tx, body, connectors).await?;
    tx.update_resource(id, &body).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(Actor::User(actor), "resource.updated", "resource", Some(id)).details(json!({
            "before": {
                "name": before.name, "description": before.description,
                "privileges": before.privileges, "policy": before.policy,
                "connector": before.connector,
            },
            "after": body,
        })),
    )
    .await?;
    tx.commit().await
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
