//! Failed passwords counted per account and per address, in the database so the count
//! holds across restarts (and, with a shared database, across replicas).

use super::audit::{self, Event};
use super::{ms, time};
use crate::store::{FailedPassword, StoreResult};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::SqliteConnection;
use stint_core::throttle::{self, ThrottlePolicy};

/// The latest time any of `keys` stays locked until, if one is locked at `now`.
pub(super) async fn locked_until(
    conn: &mut SqliteConnection,
    keys: &[String],
    now: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let mut until = None;
    for key in keys {
        let at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE key = ?")
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(Some(at)) = at
            && at > ms(now)
        {
            until = until.max(Some(time(at)));
        }
    }
    Ok(until)
}

/// Counts one failure against `key`; returns the lock it now has, if any.
async fn count(
    conn: &mut SqliteConnection,
    key: &str,
    policy: &ThrottlePolicy,
    now: DateTime<Utc>,
) -> StoreResult<throttle::Failure> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT failures, last_failure_at FROM login_throttle WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    let failure = match row {
        Some((failures, last)) => policy.fail(failures as u32, Some((ms(now) - last) / 1000)),
        None => policy.fail(0, None),
    };
    let locked_until = failure
        .lock_secs
        .map(|secs| ms(now + Duration::seconds(secs)));
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET failures = ?2, last_failure_at = ?3, locked_until = ?4",
    )
    .bind(key)
    .bind(failure.failures as i64)
    .bind(ms(now))
    .bind(locked_until)
    .execute(&mut *conn)
    .await?;
    Ok(failure)
}

/// Counts a wrong password against its account and address, and records it. Failures are
/// aggregated: each event carries the count so far and the lock it set, and failures
/// refused while locked (429) are neither counted nor recorded.
pub(super) async fn record_failure(
    conn: &mut SqliteConnection,
    attempt: &FailedPassword<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let account = count(conn, &attempt.account_key, &throttle::ACCOUNT, now).await?;
    let address = match &attempt.address_key {
        Some(key) => Some(count(conn, key, &throttle::ADDRESS, now).await?),
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
    audit::append(
        conn,
        now,
        Event::new(attempt.actor, attempt.action, "user", attempt.target_user).details(details),
    )
    .await?;
    Ok(lock)
}

/// A successful sign-in forgets its account's failures (not its address's).
pub(super) async fn forget_account(conn: &mut SqliteConnection, key: &str) -> StoreResult<u32> {
    let failures: Option<i64> =
        sqlx::query_scalar("DELETE FROM login_throttle WHERE key = ? RETURNING failures")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(failures.unwrap_or(0) as u32)
}
