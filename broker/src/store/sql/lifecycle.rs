//! The grant lifecycle as rows (the use cases are `crate::service::lifecycle`): scheduled
//! grants that start, and live grants whose expiry an extension moves.

use super::Conn;
use super::records::GrantRow;
use super::{ms, time};
use crate::store::StoreResult;
use crate::store::port::{GrantRecord, LifecycleRows};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stint_core::{RuleError, live};

#[async_trait]
impl LifecycleRows for Conn {
    async fn due_starts(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<GrantRecord>> {
        // A grant whose whole window passed (the broker was down) is expired instead.
        let rows: Vec<GrantRow> = sqlx::query_as(concat!(
            grant_select!(),
            " WHERE g.state = 'scheduled' AND g.starts_at <= $1 AND g.expires_at > $1
              ORDER BY g.starts_at, g.id LIMIT $2",
            claim_rows!("g")
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(GrantRow::record).collect()
    }

    async fn start_grant(&mut self, id: i64) -> StoreResult<()> {
        let changed =
            sqlx::query("UPDATE grants SET state = 'active' WHERE id = $1 AND state = 'scheduled'")
                .bind(id)
                .execute(&mut *self)
                .await?
                .rows_affected();
        if changed != 1 {
            return Err(RuleError::Conflict(format!("grant {id} changed meanwhile")).into());
        }
        Ok(())
    }

    async fn pending_extension(&mut self, grant_id: i64) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM requests WHERE extends_grant_id = $1 AND state = 'pending'",
        )
        .bind(grant_id)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn extend_grant(
        &mut self,
        id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let starts_at: Option<i64> = sqlx::query_scalar(
            "UPDATE grants SET expires_at = $1, extensions = extensions + 1
             WHERE id = $2 AND state = 'active' AND expires_at = $3 RETURNING starts_at",
        )
        .bind(ms(to))
        .bind(id)
        .bind(ms(from))
        .fetch_optional(&mut *self)
        .await?;
        let Some(starts_at) = starts_at else {
            return Err(RuleError::Conflict(format!("grant {id} changed meanwhile")).into());
        };
        // Its holder is warned again before the new expiry, even if warned of the old one.
        sqlx::query("UPDATE grants SET expiry_notice_at = $1 WHERE id = $2")
            .bind(live::expiry_notice_at(time(starts_at), to).map(ms))
            .bind(id)
            .execute(&mut *self)
            .await?;
        // What a connector made ends later too. The grant's one extension step is queued
        // afresh, taking it from an attempt under way (whose claim no longer counts), so
        // the latest expiry is what the downstream ends up with.
        sqlx::query(
            "INSERT INTO connector_jobs (grant_id, action, queued_at, next_attempt_at)
             SELECT grant_id, 'extend', $2, $2 FROM grant_access WHERE grant_id = $1
             ON CONFLICT (grant_id, action) DO UPDATE SET
               queued_at = excluded.queued_at, next_attempt_at = excluded.next_attempt_at,
               attempts = 0, claimed_until = NULL, claim_token = NULL, last_error = NULL,
               done_at = NULL, outcome = NULL, flagged_at = NULL",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}
