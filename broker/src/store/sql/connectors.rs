//! The connectors' outbox as rows (the use cases are `crate::service::connectors`): what a
//! connector made for a grant (`grant_access`) and the steps still to do (`connector_jobs`).
//! Queuing happens in `GrantRows::insert_grant` and `end_grant`, in the grant's own
//! transaction.

use super::Conn;
use super::records::{Outbox, lease};
use super::{ms, time};
use crate::store::StoreResult;
use crate::store::port::{ConnectorJob, ConnectorRows, GrantAccessRecord, JobAction};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

/// What a connector made for a grant, and the last error of a step still to do: read
/// before every credential fetch (`Database::grant_access`), through sqlx or inline.
const GRANT_ACCESS: &str = "SELECT a.connector, a.account, a.provisioned_at, a.revoked_at,
            (SELECT j.last_error FROM connector_jobs j
             WHERE j.grant_id = a.grant_id AND j.done_at IS NULL
             ORDER BY j.id DESC LIMIT 1)
     FROM grant_access a WHERE a.grant_id = $1";

/// `GRANT_ACCESS`'s columns in order.
type AccessRow = (
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

fn access_record(
    (connector, account, provisioned_at, revoked_at, last_error): AccessRow,
) -> GrantAccessRecord {
    GrantAccessRecord {
        connector,
        account,
        provisioned: provisioned_at.is_some(),
        revoked: revoked_at.is_some(),
        last_error,
    }
}

/// `GRANT_ACCESS` on a connection of `inline_reads`.
pub(super) fn grant_access_inline(
    conn: &rusqlite::Connection,
    grant_id: i64,
) -> rusqlite::Result<Option<GrantAccessRecord>> {
    use rusqlite::OptionalExtension;
    let row = conn
        .prepare_cached(GRANT_ACCESS)?
        .query_row(rusqlite::named_params! { "$1": grant_id }, |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .optional()?;
    Ok(row.map(access_record))
}

/// Whether step `j` must wait for another: extending and revoking wait until the access is
/// made, revoking also for an extension under way (so the downstream hears the end last),
/// and a scheduled grant's access is made only once it starts.
macro_rules! step_waits {
    () => {
        "((j.action IN ('extend', 'revoke') AND EXISTS (
              SELECT 1 FROM connector_jobs p WHERE p.grant_id = j.grant_id AND p.done_at IS NULL
              AND (p.action = 'provision' OR (j.action = 'revoke' AND p.action = 'extend'))))
          OR (j.action = 'provision' AND EXISTS (
              SELECT 1 FROM grants s WHERE s.id = j.grant_id AND s.state = 'scheduled')))"
    };
}

#[derive(FromRow)]
struct JobRow {
    id: i64,
    grant_id: i64,
    request_id: i64,
    action: String,
    attempts: i64,
    flagged_at: Option<i64>,
    connector: String,
    account: Option<String>,
    identity_name: String,
    resource_name: String,
    privilege: String,
    holder_name: String,
    expires_at: i64,
    ended_at: Option<i64>,
}

impl JobRow {
    fn record(self, claim: &str) -> ConnectorJob {
        ConnectorJob {
            claim: claim.to_string(),
            id: self.id,
            grant_id: self.grant_id,
            request_id: self.request_id,
            action: match self.action.as_str() {
                "revoke" => JobAction::Revoke,
                "extend" => JobAction::Extend,
                _ => JobAction::Provision,
            },
            attempts: self.attempts,
            flagged: self.flagged_at.is_some(),
            connector: self.connector,
            account: self.account,
            identity: self.identity_name,
            resource: self.resource_name,
            privilege: self.privilege,
            holder: self.holder_name,
            expires_at: time(self.expires_at),
            ended_at: self.ended_at.map(time),
        }
    }
}

#[async_trait]
impl ConnectorRows for Conn {
    async fn claim_connector_jobs(
        &mut self,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim: &str,
        limit: u32,
    ) -> StoreResult<Vec<ConnectorJob>> {
        // A grant that ended before its access was made (or its end moved) needs no
        // making: its revocation (queued when it ended) cleans up whatever an earlier
        // attempt got to. An attempt under way is left to finish, so the revocation comes
        // after it.
        sqlx::query(
            "UPDATE connector_jobs SET done_at = $1, outcome = 'superseded', claimed_until = NULL
             WHERE action IN ('provision', 'extend') AND done_at IS NULL
               AND (claimed_until IS NULL OR claimed_until <= $1)
               AND grant_id IN (SELECT id FROM grants WHERE ended_at IS NOT NULL)",
        )
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        let rows: Vec<JobRow> = sqlx::query_as(concat!(
            "SELECT j.id, j.grant_id, g.request_id, j.action, j.attempts, j.flagged_at, a.connector, a.account,
                    i.name AS identity_name, res.name AS resource_name, g.privilege,
                    u.username AS holder_name, g.expires_at, g.ended_at
             FROM connector_jobs j
             JOIN grant_access a ON a.grant_id = j.grant_id
             JOIN grants g ON g.id = j.grant_id
             JOIN identities i ON i.id = g.identity_id
             JOIN resources res ON res.id = g.resource_id
             JOIN users u ON u.id = g.holder_id
             WHERE j.done_at IS NULL AND j.next_attempt_at <= $3
               AND (j.claimed_until IS NULL OR j.claimed_until <= $1)
               AND NOT ",
            step_waits!(),
            "
             ORDER BY j.next_attempt_at, j.id LIMIT $2",
            claim_rows!("j")
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .bind(ms(due_by))
        .fetch_all(&mut *self)
        .await?;
        lease(
            self,
            Outbox::ConnectorJobs,
            rows.iter().map(|r| r.id),
            lease_until,
            claim,
        )
        .await?;
        Ok(rows.into_iter().map(|row| row.record(claim)).collect())
    }

    async fn retry_open_steps_now(&mut self, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE connector_jobs SET next_attempt_at = $1
             WHERE done_at IS NULL AND next_attempt_at > $1
               AND (claimed_until IS NULL OR claimed_until <= $1)
               AND NOT (action = 'provision'
                        AND grant_id IN (SELECT id FROM grants WHERE state = 'scheduled'))",
        )
        .bind(ms(now))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn name_account(&mut self, grant_id: i64, account: &str) -> StoreResult<()> {
        sqlx::query("UPDATE grant_access SET account = $1 WHERE grant_id = $2 AND account IS NULL")
            .bind(account)
            .bind(grant_id)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn finish_connector_job(
        &mut self,
        job: &ConnectorJob,
        now: DateTime<Utc>,
        sessions_ended: Option<i64>,
    ) -> StoreResult<bool> {
        let held = sqlx::query(
            "UPDATE connector_jobs SET done_at = $1, outcome = 'done', claimed_until = NULL,
                    claim_token = NULL, attempts = attempts + 1, last_error = NULL
             WHERE id = $2 AND claim_token = $3 AND done_at IS NULL",
        )
        .bind(ms(now))
        .bind(job.id)
        .bind(&job.claim)
        .execute(&mut *self)
        .await?
        .rows_affected()
            == 1;
        if !held {
            return Ok(false);
        }
        let fact = match job.action {
            JobAction::Provision => {
                "UPDATE grant_access SET provisioned_at = COALESCE(provisioned_at, $1)
                 WHERE grant_id = $2"
            }
            // The grant's expiry, which the access now follows, is the fact.
            JobAction::Extend => return Ok(true),
            JobAction::Revoke => {
                "UPDATE grant_access SET revoked_at = $1, sessions_ended = $3 WHERE grant_id = $2"
            }
        };
        sqlx::query(fact)
            .bind(ms(now))
            .bind(job.grant_id)
            .bind(sessions_ended)
            .execute(&mut *self)
            .await?;
        Ok(true)
    }

    async fn fail_connector_job(
        &mut self,
        job: &ConnectorJob,
        error: &str,
        next_attempt_at: DateTime<Utc>,
        flag_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE connector_jobs SET attempts = attempts + 1, last_error = $1,
                    next_attempt_at = $2, claimed_until = NULL, claim_token = NULL,
                    flagged_at = COALESCE(flagged_at, $3)
             WHERE id = $4 AND claim_token = $5 AND done_at IS NULL",
        )
        .bind(error)
        .bind(ms(next_attempt_at))
        .bind(flag_at.map(ms))
        .bind(job.id)
        .bind(&job.claim)
        .execute(&mut *self)
        .await?
        .rows_affected()
            == 1)
    }

    async fn next_connector_job_at(&mut self) -> StoreResult<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar(concat!(
            "SELECT min(CASE WHEN claimed_until > next_attempt_at THEN claimed_until
                             ELSE next_attempt_at END)
             FROM connector_jobs j WHERE done_at IS NULL AND NOT ",
            step_waits!()
        ))
        .fetch_one(&mut *self)
        .await?;
        Ok(at.map(time))
    }

    async fn connectors_in_use(&mut self) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT connector FROM resources WHERE connector IS NOT NULL
             UNION
             SELECT connector FROM grant_access WHERE revoked_at IS NULL
             ORDER BY 1",
        )
        .fetch_all(&mut *self)
        .await?)
    }

    async fn grant_access(&mut self, grant_id: i64) -> StoreResult<Option<GrantAccessRecord>> {
        let row: Option<AccessRow> = sqlx::query_as(GRANT_ACCESS)
            .bind(grant_id)
            .fetch_optional(&mut *self)
            .await?;
        Ok(row.map(access_record))
    }
}
