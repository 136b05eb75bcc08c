//! The sweeper: ends grants and pending requests whose time is up, without anyone asking.

use crate::http::AppState;
use crate::store::SweepReport;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The shortest wait between sweeps, so a grant that will not expire (a clock that stands
/// still in tests, a failing sweep) cannot make the sweeper spin.
const MIN_WAIT: Duration = Duration::from_millis(5);

/// Sweeps until `shutdown` turns true: at the first active grant's expiry or scheduled
/// grant's start, and at least
/// every `config.sweep_interval` (for requests, declarations, and grants created since).
/// Introspection does not wait for the sweep, since it compares the expiry with the clock.
pub fn spawn(state: AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let wait = until_next_change(&state).await;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => break,
            }
            match state.store.sweep(state.clock.now()).await {
                Ok(report) if report != SweepReport::default() => {
                    // Expired grants may have access downstream to take away, and readers
                    // of the live feed are waiting to hear.
                    state.changed();
                    tracing::info!(
                        grants_started = report.grants_started,
                        grants_expired = report.grants_expired,
                        requests_expired = report.requests_expired,
                        "swept"
                    );
                }
                Ok(_) => {}
                // A failed sweep is retried on the next tick; nothing is lost.
                Err(e) => tracing::warn!(error = %e, "sweep failed; retrying"),
            }
        }
    })
}

/// How long to sleep before the next sweep: until just past the first active grant's
/// expiry or scheduled grant's start, within [`MIN_WAIT`, the sweep interval].
async fn until_next_change(state: &AppState) -> Duration {
    let interval = state.config.sweep_interval;
    match state.store.next_grant_change().await {
        Ok(Some(at)) => (at - state.clock.now() + chrono::Duration::milliseconds(1))
            .to_std()
            .unwrap_or_default()
            .clamp(MIN_WAIT, interval.max(MIN_WAIT)),
        Ok(None) => interval,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the next expiry");
            interval
        }
    }
}
