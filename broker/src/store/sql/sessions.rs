//! Sessions, passwords and the sign-in throttle as rows (the use cases are
//! `crate::service::sessions`).

use super::Conn;
use super::records::{SessionUserRow, UserRow};
use super::{ms, time};
use crate::store::StoreResult;
use crate::store::port::{SessionRecord, SessionRows, ThrottleRecord, UserRecord};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The session whose token hashes to `$1`, and its user unless disabled.
const SESSION_AND_USER: &str =
    "SELECT s.created_at, s.last_seen_at, u.id, u.username, u.display_name, u.roles,
            u.password_hash, u.disabled, u.must_change_password
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND NOT u.disabled";

/// `SessionRows::session` on one of SQLite's inline readers: the same statement, run on
/// the calling thread.
pub(super) fn session_inline(
    conn: &rusqlite::Connection,
    token_hash: &str,
) -> rusqlite::Result<Option<(SessionRecord, UserRecord)>> {
    use rusqlite::OptionalExtension;
    let row = conn
        .prepare_cached(SESSION_AND_USER)?
        .query_row(
            rusqlite::named_params! { "$1": token_hash },
            SessionUserRow::from_sqlite,
        )
        .optional()?;
    Ok(row.map(SessionUserRow::records))
}

impl SessionUserRow {
    fn records(self) -> (SessionRecord, UserRecord) {
        let session = SessionRecord {
            user_id: self.user.id,
            created_at: time(self.created_at),
            last_seen_at: time(self.last_seen_at),
        };
        (session, self.user.record())
    }

    /// The row as rusqlite reads it, by the column names sqlx's `FromRow` uses.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionUserRow> {
        Ok(SessionUserRow {
            created_at: row.get("created_at")?,
            last_seen_at: row.get("last_seen_at")?,
            user: UserRow {
                id: row.get("id")?,
                username: row.get("username")?,
                display_name: row.get("display_name")?,
                roles: row.get("roles")?,
                password_hash: row.get("password_hash")?,
                disabled: row.get("disabled")?,
                must_change_password: row.get("must_change_password")?,
            },
        })
    }
}

#[async_trait]
impl SessionRows for Conn {
    async fn session(
        &mut self,
        token_hash: &str,
    ) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
        let row: Option<SessionUserRow> = sqlx::query_as(SESSION_AND_USER)
            .bind(token_hash)
            .fetch_optional(&mut *self)
            .await?;
        Ok(row.map(SessionUserRow::records))
    }

    async fn insert_session(
        &mut self,
        token_hash: &str,
        user_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(ms(at))
        .bind(ms(at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
                .bind(token_hash)
                .fetch_optional(&mut *self)
                .await?,
        )
    }

    async fn touch_session(&mut self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(ms(at))
            .bind(token_hash)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn end_other_sessions(&mut self, user_id: i64, keep: &str) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash != $2")
                .bind(user_id)
                .bind(keep)
                .execute(&mut *self)
                .await?
                .rows_affected(),
        )
    }

    async fn set_password(
        &mut self,
        user_id: i64,
        password_hash: &str,
        must_change: bool,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3
             RETURNING username",
        )
        .bind(password_hash)
        .bind(must_change)
        .bind(user_id)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn throttle(&mut self, key: &str) -> StoreResult<Option<ThrottleRecord>> {
        let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *self)
        .await?;
        Ok(
            row.map(|(failures, last_failure_at, locked_until)| ThrottleRecord {
                failures: failures as u32,
                last_failure_at: time(last_failure_at),
                locked_until: locked_until.map(time),
            }),
        )
    }

    async fn put_throttle(&mut self, key: &str, entry: &ThrottleRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET failures = $2, last_failure_at = $3,
                                              locked_until = $4",
        )
        .bind(key)
        .bind(entry.failures as i64)
        .bind(ms(entry.last_failure_at))
        .bind(entry.locked_until.map(ms))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn forget_throttle(&mut self, key: &str) -> StoreResult<u32> {
        let failures: Option<i64> =
            sqlx::query_scalar("DELETE FROM login_throttle WHERE key = $1 RETURNING failures")
                .bind(key)
                .fetch_optional(&mut *self)
                .await?;
        Ok(failures.unwrap_or(0) as u32)
    }
}
