//! Runs the connectors' outbox: claims the steps that are due, attempts each against its
//! downstream outside any transaction, and records the outcome (`service::connectors`).
//! Every broker on a database runs one; a claim is a lease, so replicas never attempt one
//! step at once, and a broker that dies mid-attempt leaves a step another takes up when
//! the lease runs out.

use super::{Connectors, GrantFacts};
use crate::http::AppState;
use crate::store::port::{ConnectorJob, JobAction};
use std::sync::Arc;
use std::time::Duration;
use stint_core::connectors::RetryPolicy;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

/// How long a claimed step is another worker's to leave alone: longer than any attempt.
const LEASE_SECS: i64 = 60;
/// How long an attempt may take before it counts as failed (and is retried).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(45);
/// Steps claimed at once, attempted concurrently (each connector bounds its own
/// connections).
const BATCH: u32 = 64;
/// The longest the worker sleeps: steps queued by another replica are seen this soon.
const MAX_WAIT: Duration = Duration::from_millis(250);
const MIN_WAIT: Duration = Duration::from_millis(5);

/// The outbox's runner, shared by the broker's tasks.
pub struct Outbox {
    pub connectors: Connectors,
    pub retry: RetryPolicy,
    /// Rung after a change that may have queued a step, so it is attempted at once.
    pub bell: Notify,
}

impl Outbox {
    pub fn new(connectors: Connectors, retry: RetryPolicy) -> Outbox {
        Outbox {
            connectors,
            retry,
            bell: Notify::new(),
        }
    }

    pub fn wake(&self) {
        self.bell.notify_one();
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub succeeded: u32,
    pub failed: u32,
}

/// Attempts every step due when the pass starts, once each: a step that fails meanwhile
/// is due again only after the pass began, so the pass ends.
pub async fn run_due(state: &AppState) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    let started = state.clock.now();
    loop {
        let jobs = state
            .store
            .claim_connector_jobs(
                &state.outbox.connectors,
                state.clock.now(),
                started,
                chrono::Duration::seconds(LEASE_SECS),
                BATCH,
            )
            .await?;
        if jobs.is_empty() {
            return Ok(report);
        }
        let mut attempts = JoinSet::new();
        for job in jobs {
            let state = state.clone();
            attempts.spawn(async move { attempt(&state, job).await });
        }
        while let Some(outcome) = attempts.join_next().await {
            match outcome {
                Ok(Ok(true)) => report.succeeded += 1,
                Ok(Ok(false)) => report.failed += 1,
                // Not recorded: the lease runs out and the step is attempted again.
                Ok(Err(e)) => tracing::warn!(error = %e, "recording a connector step failed"),
                Err(e) => tracing::warn!(error = %e, "a connector step panicked"),
            }
        }
        // Each outcome was recorded with its event: the live feed streams them now.
        state.live.wake();
    }
}

/// One attempt of `job`, recorded; whether it succeeded.
async fn attempt(state: &AppState, job: ConnectorJob) -> anyhow::Result<bool> {
    let outbox = &state.outbox;
    let facts = GrantFacts {
        grant_id: job.grant_id,
        identity: job.identity.clone(),
        resource: job.resource.clone(),
        privilege: job.privilege.clone(),
        holder: job.holder.clone(),
        expires_at: job.expires_at,
        account: job.account.clone(),
        at: state.clock.now(),
    };
    let outcome = match outbox.connectors.get(&job.connector) {
        None => Err(format!(
            "the connector {} is not in this broker's connectors file",
            job.connector
        )),
        Some(connector) => {
            let run = async {
                match job.action {
                    JobAction::Provision => connector.provision(&facts).await.map(|()| None),
                    JobAction::Extend => connector.extend(&facts).await.map(|()| None),
                    JobAction::Revoke => connector.revoke(&facts).await.map(Some),
                }
            };
            match tokio::time::timeout(ATTEMPT_TIMEOUT, run).await {
                Ok(result) => result.map_err(|e| e.0),
                Err(_) => Err(format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())),
            }
        }
    };
    let now = state.clock.now();
    state
        .metrics
        .connector_step(job.action.as_str(), outcome.is_ok());
    match outcome {
        Ok(revoked) => {
            state
                .store
                .connector_step_succeeded(&job, revoked.as_ref(), now)
                .await?;
            Ok(true)
        }
        Err(error) => {
            let next = state
                .store
                .connector_step_failed(&job, &error, &outbox.retry, jitter(), now)
                .await?;
            tracing::warn!(
                grant = job.grant_id,
                connector = %job.connector,
                step = job.action.as_str(),
                attempt = job.attempts + 1,
                %error,
                next_attempt_at = %next,
                "connector step failed; it will be retried"
            );
            Ok(false)
        }
    }
}

/// How long a worker sleeps before its next look, when the next thing falls due at `next`:
/// at least `MIN_WAIT` (no spinning on a step just due) and at most `MAX_WAIT` (work queued
/// by another replica is seen this soon).
pub fn wait_until(
    next: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Duration {
    next.map_or(MAX_WAIT, |at| {
        (at - now)
            .to_std()
            .unwrap_or_default()
            .clamp(MIN_WAIT, MAX_WAIT)
    })
}

/// A uniform draw from [0, 1).
pub fn jitter() -> f64 {
    let bits = u64::from_le_bytes(crate::credential::random_bytes());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs the outbox until `shutdown` turns true: when woken, when the next step is due,
/// and at least every `MAX_WAIT`.
pub fn spawn(state: AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let outbox: Arc<Outbox> = state.outbox.clone();
        loop {
            // Asked first with a read: claiming takes the write lock, and most looks find
            // nothing to do.
            if let Ok(Some(at)) = state.store.next_connector_step_at().await
                && at <= state.clock.now()
                && let Err(e) = run_due(&state).await
            {
                tracing::warn!(error = %e, "running the connectors' outbox failed");
            }
            let next = state.store.next_connector_step_at().await.ok().flatten();
            let wait = wait_until(next, state.clock.now());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = outbox.bell.notified() => {}
                _ = shutdown.changed() => break,
            }
        }
    })
}
