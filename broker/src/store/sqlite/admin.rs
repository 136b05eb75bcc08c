//! What admins manage — users, identities, resources and their policies — on SQLite.
//! Each function runs inside the caller's `BEGIN IMMEDIATE` transaction and appends the
//! event that records the change; `actor` is `None` for the broker's own bootstrap.

use super::audit::{self, Actor, Event};
use super::{ResourceRow, UserRow, approver_role_holders, load_resource, ms, parse_roles, time};
use crate::store::{NewUser, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqliteConnection;
use stint_core::admin;
use stint_core::api::{IdentityBody, ResourceBody, UserAdminView, UserUpdateBody, UserView};
use stint_core::{Role, RuleError};

fn actor_of(actor: Option<&UserView>) -> Actor<'_> {
    actor.map_or(Actor::Broker, Actor::User)
}

/// A unique name already taken is the body's fault: refuse it naming the field.
fn taken(e: sqlx::Error, field: &'static str, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            RuleError::invalid(field, format!("`{name}` is already taken")).into()
        }
        _ => e.into(),
    }
}

pub(super) async fn users(conn: &mut SqliteConnection) -> StoreResult<Vec<UserAdminView>> {
    let rows: Vec<(i64, String, String, String, bool, i64)> = sqlx::query_as(
        "SELECT id, username, display_name, roles, disabled, created_at FROM users
         ORDER BY disabled, username",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, username, display_name, roles, disabled, created_at)| UserAdminView {
                id,
                username,
                display_name,
                roles: parse_roles(&roles),
                disabled,
                created_at: time(created_at),
            },
        )
        .collect())
}

fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str()).collect()
}

pub(super) async fn create_user(
    conn: &mut SqliteConnection,
    actor: Option<&UserView>,
    user: &NewUser<'_>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let roles = role_names(&admin::canonical_roles(user.roles));
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, roles, created_at, created_by)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.password_hash)
    .bind(roles.join(","))
    .bind(ms(now))
    .bind(actor.map(|a| a.id))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| taken(e, "username", user.username))?;
    audit::append(
        conn,
        now,
        Event::new(actor_of(actor), "user.created", "user", Some(id))
            .details(json!({ "username": user.username, "roles": roles })),
    )
    .await?;
    // The broker's own bootstrap (demo data) grants nothing an admin chose.
    if actor.is_some() {
        let granted = admin::canonical_roles(user.roles);
        record_privileged_grant(conn, actor, id, user.username, &[], &granted, now).await?;
    }
    Ok(id)
}

/// Changes a user's name, roles or standing. Disabling ends every session of theirs in
/// the same transaction, so their next call is refused.
pub(super) async fn update_user(
    conn: &mut SqliteConnection,
    actor: &UserView,
    id: i64,
    body: &UserUpdateBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let before: UserRow = sqlx::query_as(
        "SELECT id, username, display_name, roles, password_hash, disabled, must_change_password FROM users WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
    let display_name = admin::check_display_name(&body.display_name)?;
    let roles = admin::canonical_roles(&body.roles);
    let roles_before = parse_roles(&before.roles);
    admin::check_user_update(actor.id, id, &roles_before, &roles, body.disabled)?;
    sqlx::query("UPDATE users SET display_name = ?, roles = ?, disabled = ? WHERE id = ?")
        .bind(&display_name)
        .bind(role_names(&roles).join(","))
        .bind(body.disabled)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let sessions_ended = if body.disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    } else {
        0
    };
    let action = match (before.disabled, body.disabled) {
        (false, true) => "user.disabled",
        (true, false) => "user.enabled",
        _ => "user.updated",
    };
    audit::append(
        conn,
        now,
        Event::new(Actor::User(actor), action, "user", Some(id)).details(json!({
            "username": before.username,
            "display_name": { "before": before.display_name, "after": display_name },
            "roles": {
                "before": role_names(&parse_roles(&before.roles)),
                "after": role_names(&roles),
            },
            "sessions_ended": sessions_ended,
        })),
    )
    .await?;
    record_privileged_grant(
        conn,
        Some(actor),
        id,
        &before.username,
        &roles_before,
        &roles,
        now,
    )
    .await
}

/// Giving someone the admin or approver role is its own event, for the admin dashboard.
async fn record_privileged_grant(
    conn: &mut SqliteConnection,
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
    audit::append(
        conn,
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

pub(super) async fn create_identity(
    conn: &mut SqliteConnection,
    actor: Option<&UserView>,
    body: &IdentityBody,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let body = admin::check_identity(body)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO identities (name, kind, description, environment, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&body.name)
    .bind(body.kind.as_str())
    .bind(&body.description)
    .bind(&body.environment)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| taken(e, "name", &body.name))?;
    audit::append(
        conn,
        now,
        Event::new(actor_of(actor), "identity.created", "identity", Some(id))
            .details(json!({ "identity": body })),
    )
    .await?;
    Ok(id)
}

pub(super) async fn update_identity(
    conn: &mut SqliteConnection,
    actor: &UserView,
    id: i64,
    body: &IdentityBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let body = admin::check_identity(body)?;
    let before: Option<(String, String, String, String)> =
        sqlx::query_as("SELECT name, kind, description, environment FROM identities WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let before = before.ok_or_else(|| StoreError::NotFound(format!("identity {id}")))?;
    sqlx::query(
        "UPDATE identities SET name = ?, kind = ?, description = ?, environment = ? WHERE id = ?",
    )
    .bind(&body.name)
    .bind(body.kind.as_str())
    .bind(&body.description)
    .bind(&body.environment)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(|e| taken(e, "name", &body.name))?;
    audit::append(
        conn,
        now,
        Event::new(Actor::User(actor), "identity.updated", "identity", Some(id)).details(json!({
            "before": {
                "name": before.0, "kind": before.1, "description": before.2,
                "environment": before.3,
            },
            "after": body,
        })),
    )
    .await
}

/// Checks a resource against the approvers there are now, inside the transaction.
async fn checked_resource(
    conn: &mut SqliteConnection,
    body: &ResourceBody,
) -> StoreResult<(ResourceBody, String, Option<String>)> {
    let body = admin::check_resource(body, &approver_role_holders(conn).await?)?;
    let approvers = serde_json::to_string(&body.policy.approvers)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let auto_approve = body
        .policy
        .auto_approve
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((body, approvers, auto_approve))
}

pub(super) async fn create_resource(
    conn: &mut SqliteConnection,
    actor: Option<&UserView>,
    body: &ResourceBody,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let (body, approvers, auto_approve) = checked_resource(conn, body).await?;
    let policy = &body.policy;
    let bounds = policy.break_glass.unwrap_or_default();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO resources (name, description, privileges, approvals_required,
                                max_duration_secs, ticket_required, break_glass_allowed,
                                break_glass_max_secs, review_within_secs, approvers,
                                ticket_pattern, auto_approve, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&body.name)
    .bind(&body.description)
    .bind(json!(body.privileges).to_string())
    .bind(policy.approvals_required as i64)
    .bind(policy.max_duration_secs)
    .bind(policy.ticket_required)
    .bind(policy.break_glass.is_some())
    .bind(bounds.max_duration_secs)
    .bind(bounds.review_within_secs)
    .bind(&approvers)
    .bind(&policy.ticket_pattern)
    .bind(&auto_approve)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| taken(e, "name", &body.name))?;
    audit::append(
        conn,
        now,
        Event::new(actor_of(actor), "resource.created", "resource", Some(id))
            .details(json!({ "resource": body })),
    )
    .await?;
    Ok(id)
}

/// Saves a resource and its policy. Requests already filed keep the policy they were filed
/// under (their approval count, maximum and approvers are copied onto them).
pub(super) async fn update_resource(
    conn: &mut SqliteConnection,
    actor: &UserView,
    id: i64,
    body: &ResourceBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let before: ResourceRow = load_resource(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("resource {id}")))?;
    let before = before.view(&[])?;
    let (body, approvers, auto_approve) = checked_resource(conn, body).await?;
    let policy = &body.policy;
    let bounds = policy.break_glass.unwrap_or_default();
    sqlx::query(
        "UPDATE resources SET name = ?, description = ?, privileges = ?, approvals_required = ?,
                max_duration_secs = ?, ticket_required = ?, break_glass_allowed = ?,
                break_glass_max_secs = ?, review_within_secs = ?, approvers = ?,
                ticket_pattern = ?, auto_approve = ?
         WHERE id = ?",
    )
    .bind(&body.name)
    .bind(&body.description)
    .bind(json!(body.privileges).to_string())
    .bind(policy.approvals_required as i64)
    .bind(policy.max_duration_secs)
    .bind(policy.ticket_required)
    .bind(policy.break_glass.is_some())
    .bind(bounds.max_duration_secs)
    .bind(bounds.review_within_secs)
    .bind(&approvers)
    .bind(&policy.ticket_pattern)
    .bind(&auto_approve)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(|e| taken(e, "name", &body.name))?;
    audit::append(
        conn,
        now,
        Event::new(Actor::User(actor), "resource.updated", "resource", Some(id)).details(json!({
            "before": {
                "name": before.name, "description": before.description,
                "privileges": before.privileges, "policy": before.policy,
            },
            "after": body,
        })),
    )
    .await
}

/// Replaces a resource's introspection secret (its hash); returns the resource's name.
pub(super) async fn set_introspection_secret(
    conn: &mut SqliteConnection,
    actor: &UserView,
    resource_id: i64,
    secret_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    if !actor.has(Role::Admin) {
        return Err(RuleError::Forbidden("only admins manage Stint".into()).into());
    }
    let name: String = sqlx::query_scalar(
        "UPDATE resources SET introspection_secret_hash = ?, introspection_secret_at = ?
         WHERE id = ? RETURNING name",
    )
    .bind(secret_hash)
    .bind(ms(now))
    .bind(resource_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("resource {resource_id}")))?;
    audit::append(
        conn,
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
    Ok(name)
}
