//! The connectors' outbox as use cases: claiming the steps that are due, and recording how
//! each attempt went with its audit event. The attempts themselves run outside any
//! transaction (`crate::connectors::worker`), so a slow downstream never holds the write
//! lock.

use crate::connectors::{Connectors, Revoked};
use crate::credential::random_bytes;
use crate::store::StoreResult;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{ConnectorJob, Database, JobAction};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::connectors::{RetryPolicy, retry_delay};

/// Claims up to `limit` steps due by `due_by` until `now + lease` (no other worker takes
/// them meanwhile), naming the account of each first provisioning before its attempt, so every
/// attempt, and the revocation, work on the same one.
pub async fn claim(
    db: &dyn Database,
    connectors: &Connectors,
    now: DateTime<Utc>,
    due_by: DateTime<Utc>,
    lease: Duration,
    limit: u32,
) -> StoreResult<Vec<ConnectorJob>> {
    let mut tx = db.write().await?;
    let claim = hex::encode(random_bytes::<16>());
    let mut jobs = tx
        .claim_connector_jobs(now, due_by, now + lease, &claim, limit)
        .await?;
    for job in &mut jobs {
        if job.action != JobAction::Provision || job.account.is_some() {
            continue;
        }
        if let Some(name) = connectors
            .get(&job.connector)
            .and_then(|c| c.account_name(job.grant_id))
        {
            tx.name_account(job.grant_id, &name).await?;
            job.account = Some(name);
        }
    }
    tx.commit().await?;
    Ok(jobs)
}

/// The downstream confirmed the step: `connector.provisioned`, `connector.extended` or
/// `connector.revoked`.
/// Nothing is recorded when the attempt no longer held its claim: whoever holds it now
/// records (a provisioning superseded meanwhile is cleaned up by its grant's revocation,
/// which waited for it).
pub async fn succeeded(
    db: &dyn Database,
    job: &ConnectorJob,
    revoked: Option<&Revoked>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    if !tx
        .finish_connector_job(job, now, revoked.map(|r| r.sessions_ended))
        .await?
    {
        return Ok(());
    }
    let mut details = job.details();
    details["attempts"] = json!(job.attempts + 1);
    let action = match job.action {
        JobAction::Provision => "connector.provisioned",
        JobAction::Extend => {
            details["expires_at"] = json!(job.expires_at);
            "connector.extended"
        }
        JobAction::Revoke => {
            details["sessions_ended"] = json!(revoked.map_or(0, |r| r.sessions_ended));
            if let Some(ended_at) = job.ended_at {
                // From the end of the grant to the end of the access downstream.
                details["after_ms"] = json!((now - ended_at).num_milliseconds().max(0));
            }
            "connector.revoked"
        }
    };
    audit::record(&mut **tx, now, step_event(job, action, details)).await?;
    tx.commit().await
}

/// The attempt failed with `error`: it is tried again after a backoff (`jitter` in [0, 1)
/// spreads retries of many failed steps apart). A revocation that has failed
/// `policy.alert_after` times is flagged once, `grant.revocation_failing`, and keeps being
/// retried.
pub async fn failed(
    db: &dyn Database,
    job: &ConnectorJob,
    error: &str,
    policy: &RetryPolicy,
    jitter: f64,
    now: DateTime<Utc>,
) -> StoreResult<DateTime<Utc>> {
    let attempt = job.attempts + 1;
    let next = now + Duration::milliseconds(retry_delay(policy, attempt, jitter));
    let flag = job.action == JobAction::Revoke && !job.flagged && attempt >= policy.alert_after;
    let mut tx = db.write().await?;
    if !tx
        .fail_connector_job(job, error, next, flag.then_some(now))
        .await?
    {
        return Ok(next);
    }
    let mut details = job.details();
    details["attempt"] = json!(attempt);
    details["error"] = json!(error);
    details["next_attempt_at"] = json!(next);
    let action = match job.action {
        JobAction::Provision => "connector.provision_failed",
        JobAction::Extend => "connector.extend_failed",
        JobAction::Revoke => "connector.revoke_failed",
    };
    audit::record(&mut **tx, now, step_event(job, action, details.clone())).await?;
    if flag {
        audit::record(
            &mut **tx,
            now,
            step_event(job, "grant.revocation_failing", details),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(next)
}

/// The broker's event `action` about `job`'s grant.
fn step_event<'a>(job: &ConnectorJob, action: &'a str, details: serde_json::Value) -> Event<'a> {
    Event::new(Actor::Broker, action, "grant", Some(job.grant_id))
        .request(job.request_id)
        .grant(job.grant_id)
        .details(details)
}

/// Makes every open step due now, whatever its backoff (not the making of a scheduled
/// grant's access, which waits for its start).
pub async fn retry_now(db: &dyn Database, now: DateTime<Utc>) -> StoreResult<()> {
    let mut tx = db.write().await?;
    tx.retry_open_steps_now(now).await?;
    tx.commit().await
}
