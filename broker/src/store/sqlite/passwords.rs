//! Passwords changed by their users, or reset by an admin, on SQLite. Either way the
//! user's other sessions end in the same transaction: whoever knew the old password is
//! signed out with it.

use super::audit::{self, Actor, Event};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqliteConnection;
use stint_core::api::UserView;
use stint_core::{Role, admin};

pub(super) async fn change(
    conn: &mut SqliteConnection,
    user: &UserView,
    password_hash: &str,
    keep_session: &str,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    sqlx::query("UPDATE users SET password_hash = ?, must_change_password = 0 WHERE id = ?")
        .bind(password_hash)
        .bind(user.id)
        .execute(&mut *conn)
        .await?;
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = ? AND token_hash != ?")
        .bind(user.id)
        .bind(keep_session)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    audit::append(
        conn,
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
    Ok(ended)
}

pub(super) async fn reset(
    conn: &mut SqliteConnection,
    actor: &UserView,
    user_id: i64,
    password_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    admin::check_password_reset(actor.has(Role::Admin), actor.id, user_id)?;
    let username: String = sqlx::query_scalar(
        "UPDATE users SET password_hash = ?, must_change_password = 1 WHERE id = ?
         RETURNING username",
    )
    .bind(password_hash)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = ?")
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    audit::append(
        conn,
        now,
        Event::new(
            Actor::User(actor),
            "user.password_reset",
            "user",
            Some(user_id),
        )
        .details(json!({ "username": username, "sessions_ended": ended })),
    )
    .await
}
