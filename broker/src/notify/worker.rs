//! Runs the notifications: fans new events of the trail out to the sinks that hear them,
//! then sends the deliveries that are due, each outside any transaction, recording every
//! attempt. Every broker on a database runs one; a claimed delivery is leased, so replicas
//! never send one message at once, and one whose sender died is sent when the lease ends.

use super::destination;
use crate::connectors::worker::{jitter, wait_until};
use crate::http::AppState;
use crate::outbound::{self, Post, PostError};
use crate::store::port::DeliveryJob;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How long a claimed delivery is another worker's to leave alone: longer than any POST.
const LEASE_SECS: i64 = 60;
/// Deliveries claimed at once, sent concurrently.
const BATCH: u32 = 32;
/// Events fanned out per transaction.
const FAN_OUT_BATCH: u32 = 200;
/// After a wake, how long to let a burst of changes gather into one fan-out.
const GATHER: Duration = Duration::from_millis(20);

/// Queues deliveries for every event after the cursor; how many were queued.
pub async fn fan_out(state: &AppState) -> anyhow::Result<u32> {
    let mut queued = 0;
    loop {
        let (count, more) = state
            .store
            .fan_out_notifications(&state.config.public_url, FAN_OUT_BATCH, state.clock.now())
            .await?;
        queued += count;
        if !more {
            return Ok(queued);
        }
    }
}

/// Sends every delivery due when the pass starts, once each; how many were delivered and
/// how many failed.
pub async fn run_due(state: &AppState) -> anyhow::Result<(u32, u32)> {
    let (mut delivered, mut failed) = (0, 0);
    let started = state.clock.now();
    loop {
        let jobs = state
            .store
            .claim_deliveries(
                state.clock.now(),
                started,
                chrono::Duration::seconds(LEASE_SECS),
                BATCH,
            )
            .await?;
        if jobs.is_empty() {
            return Ok((delivered, failed));
        }
        let mut sends = JoinSet::new();
        for job in jobs {
            let state = state.clone();
            sends.spawn(async move { send(&state, job).await });
        }
        while let Some(outcome) = sends.join_next().await {
            match outcome {
                Ok(Ok(true)) => delivered += 1,
                Ok(Ok(false)) => failed += 1,
                // Not recorded: the lease runs out and the delivery is sent again.
                Ok(Err(e)) => tracing::warn!(error = %e, "recording a delivery failed"),
                Err(e) => tracing::warn!(error = %e, "a delivery panicked"),
            }
        }
    }
}

/// One attempt of `job`, recorded; whether the sink took it.
async fn send(state: &AppState, job: DeliveryJob) -> anyhow::Result<bool> {
    let now = state.clock.now();
    let result = match destination(&job, &state.config.variables) {
        Err(message) => Err(PostError {
            response_code: None,
            message,
        }),
        Ok(to) => {
            let key = format!("stint-notification-{}", job.id);
            outbound::send(Post {
                url: &to.url,
                body: &job.body,
                secret: to.secret.as_deref(),
                timestamp: now.timestamp(),
                idempotency_key: &key,
                headers: &[("Stint-Event", &job.event)],
            })
            .await
        }
    };
    let ok = result.is_ok();
    state.metrics.delivery(ok);
    if let Err(e) = &result {
        tracing::warn!(
            sink = %job.sink_name,
            delivery = job.id,
            attempt = job.attempts + 1,
            error = %e.message,
            "a notification was not delivered; it will be retried"
        );
    }
    state
        .store
        .delivery_attempted(
            &job,
            result,
            &state.outbox.retry,
            jitter(),
            state.clock.now(),
        )
        .await?;
    Ok(ok)
}

/// Runs until `shutdown` turns true: when woken by a change, when a delivery is due, and
/// at least every 250 ms (`wait_until`).
pub fn spawn(state: AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            // Asked first with reads: fanning out and claiming take the write lock, and
            // most looks find nothing to do.
            if let Ok(true) = state.store.notifications_to_fan_out().await
                && let Err(e) = fan_out(&state).await
            {
                tracing::warn!(error = %e, "fanning out notifications failed");
            }
            if let Ok(Some(at)) = state.store.next_delivery_at().await
                && at <= state.clock.now()
                && let Err(e) = run_due(&state).await
            {
                tracing::warn!(error = %e, "sending notifications failed");
            }
            let next = state.store.next_delivery_at().await.ok().flatten();
            let wait = wait_until(next, state.clock.now());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = state.notifier.bell.notified() => tokio::time::sleep(GATHER).await,
                _ = shutdown.changed() => break,
            }
        }
    })
}
