//! What admins manage — users, identities, resources — as rows (the use cases are
//! `crate::service::admin`).

use super::Conn;
use super::{UserRow, approver_role_holders, load_resource, ms, parse_roles, time};
use crate::store::port::{AdminRows, NewUserRecord, UserRecord};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use stint_core::api::{IdentityBody, NamedRef, ResourceBody, ResourceView, UserAdminView};
use stint_core::{IdentityKind, Role, RuleError};

/// A unique name already taken is the body's fault: refuse it naming the field.
pub(super) fn taken(e: sqlx::Error, field: &'static str, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            RuleError::invalid(field, format!("`{name}` is already taken")).into()
        }
        _ => e.into(),
    }
}

pub(super) async fn users(conn: &mut Conn) -> StoreResult<Vec<UserAdminView>> {
    let rows: Vec<(i64, String, String, String, bool, i64)> = sqlx::query_as(
        "SELECT id, username, display_name, roles, disabled, created_at FROM users
         WHERE identity_id IS NULL ORDER BY disabled, username",
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

fn role_list(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A policy's JSON columns: its approvers and auto-approval rule.
fn policy_json(body: &ResourceBody) -> StoreResult<(String, Option<String>)> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let approvers = serde_json::to_string(&body.policy.approvers).map_err(corrupt)?;
    let auto_approve = body
        .policy
        .auto_approve
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(corrupt)?;
    Ok((approvers, auto_approve))
}

type ResourceQuery<'q> = sqlx::query::Query<'q, super::Db, super::Args>;

/// Binds a resource's fourteen columns, in the order both its INSERT and UPDATE name them.
fn bind_resource<'q>(
    query: ResourceQuery<'q>,
    body: &'q ResourceBody,
    (approvers, auto_approve): &'q (String, Option<String>),
) -> ResourceQuery<'q> {
    let policy = &body.policy;
    let bounds = policy.break_glass.unwrap_or_default();
    query
        .bind(&body.name)
        .bind(&body.description)
        .bind(json!(body.privileges).to_string())
        .bind(policy.approvals_required as i64)
        .bind(policy.max_duration_secs)
        .bind(policy.ticket_required)
        .bind(policy.break_glass.is_some())
        .bind(bounds.max_duration_secs)
        .bind(bounds.review_within_secs)
        .bind(approvers)
        .bind(&policy.ticket_pattern)
        .bind(auto_approve)
        .bind(policy.max_start_ahead_secs)
        .bind(policy.max_total_secs)
}

#[async_trait]
impl AdminRows for Conn {
    async fn user(&mut self, id: i64) -> StoreResult<UserRecord> {
        let row: UserRow = sqlx::query_as(
            "SELECT id, username, display_name, roles, password_hash, disabled,
                    must_change_password
             FROM users WHERE id = $1 AND identity_id IS NULL",
        )
        .bind(id)
        .fetch_optional(&mut *self)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
        Ok(row.record())
    }

    async fn insert_user(&mut self, new: &NewUserRecord<'_>) -> StoreResult<i64> {
        sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, roles, created_at,
                                created_by)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.username)
        .bind(new.display_name)
        .bind(new.password_hash)
        .bind(role_list(new.roles))
        .bind(ms(new.created_at))
        .bind(new.created_by)
        .fetch_one(&mut *self)
        .await
        .map_err(|e| taken(e, "username", new.username))
    }

    async fn update_user(
        &mut self,
        id: i64,
        display_name: &str,
        roles: &[Role],
        disabled: bool,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET display_name = $1, roles = $2, disabled = $3 WHERE id = $4")
            .bind(display_name)
            .bind(role_list(roles))
            .bind(disabled)
            .bind(id)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn end_sessions_of(&mut self, user_id: i64) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self)
            .await?
            .rows_affected())
    }

    async fn approver_role_holders(&mut self) -> StoreResult<Vec<NamedRef>> {
        approver_role_holders(self).await
    }

    async fn role_holders(&mut self, role: Role) -> StoreResult<Vec<NamedRef>> {
        super::records::role_holders(self, role).await
    }

    async fn username_taken(&mut self, username: &str) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&mut *self)
            .await?;
        Ok(found.is_some())
    }

    async fn resource_name_taken(&mut self, name: &str) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM resources WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self)
            .await?;
        Ok(found.is_some())
    }

    async fn identity_body(&mut self, id: i64) -> StoreResult<Option<IdentityBody>> {
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            "SELECT name, kind, description, environment FROM identities WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        row.map(|(name, kind, description, environment)| {
            Ok(IdentityBody {
                kind: IdentityKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("identity kind `{kind}`")))?,
                name,
                description,
                environment,
            })
        })
        .transpose()
    }

    async fn insert_identity(
        &mut self,
        body: &IdentityBody,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        sqlx::query_scalar(
            "INSERT INTO identities (name, kind, description, environment, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&body.name)
        .bind(body.kind.as_str())
        .bind(&body.description)
        .bind(&body.environment)
        .bind(ms(at))
        .fetch_one(&mut *self)
        .await
        .map_err(|e| taken(e, "name", &body.name))
    }

    async fn update_identity(&mut self, id: i64, body: &IdentityBody) -> StoreResult<()> {
        sqlx::query(
            "UPDATE identities SET name = $1, kind = $2, description = $3, environment = $4
             WHERE id = $5",
        )
        .bind(&body.name)
        .bind(body.kind.as_str())
        .bind(&body.description)
        .bind(&body.environment)
        .bind(id)
        .execute(&mut *self)
        .await
        .map_err(|e| taken(e, "name", &body.name))?;
        // Its principal (if it ever acted) is named after it, in the trail too.
        sqlx::query("UPDATE users SET username = $1, display_name = $2 WHERE identity_id = $3")
            .bind(format!("identity:{}", body.name))
            .bind(&body.name)
            .bind(id)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn resource(&mut self, id: i64) -> StoreResult<Option<ResourceView>> {
        let holders = approver_role_holders(self).await?;
        load_resource(self, id)
            .await?
            .map(|row| row.view(&holders))
            .transpose()
    }

    async fn insert_resource(
        &mut self,
        body: &ResourceBody,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let columns = policy_json(body)?;
        let query = sqlx::query(
            "INSERT INTO resources (name, description, privileges, approvals_required,
                                    max_duration_secs, ticket_required, break_glass_allowed,
                                    break_glass_max_secs, review_within_secs, approvers,
                                    ticket_pattern, auto_approve, max_start_ahead_secs,
                                    max_total_secs, created_at, connector)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             RETURNING id",
        );
        let row = bind_resource(query, body, &columns)
            .bind(ms(at))
            .bind(body.connector.as_deref())
            .fetch_one(&mut *self)
            .await
            .map_err(|e| taken(e, "name", &body.name))?;
        Ok(row.get(0))
    }

    async fn update_resource(&mut self, id: i64, body: &ResourceBody) -> StoreResult<()> {
        let columns = policy_json(body)?;
        let query = sqlx::query(
            "UPDATE resources SET name = $1, description = $2, privileges = $3,
                    approvals_required = $4, max_duration_secs = $5, ticket_required = $6,
                    break_glass_allowed = $7, break_glass_max_secs = $8, review_within_secs = $9,
                    approvers = $10, ticket_pattern = $11, auto_approve = $12,
                    max_start_ahead_secs = $13, max_total_secs = $14, connector = $16
             WHERE id = $15",
        );
        bind_resource(query, body, &columns)
            .bind(id)
            .bind(body.connector.as_deref())
            .execute(&mut *self)
            .await
            .map_err(|e| taken(e, "name", &body.name))?;
        Ok(())
    }

    async fn set_introspection_secret(
        &mut self,
        resource_id: i64,
        secret_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "UPDATE resources SET introspection_secret_hash = $1, introspection_secret_at = $2
             WHERE id = $3 RETURNING name",
        )
        .bind(secret_hash)
        .bind(ms(at))
        .bind(resource_id)
        .fetch_optional(&mut *self)
        .await?)
    }
}
