//! The sweeper: ends grants and pending requests whose time is up, without anyone asking.

use crate::http::AppState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Sweeps every `config.sweep_interval` until `shutdown` turns true. Expiry is therefore
/// recorded within one interval of its time; introspection does not wait for it, since it
/// compares the expiry with the clock itself.
pub fn spawn(state: AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.sweep_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            match state.store.sweep(state.clock.now()).await {
                Ok(report) if report.grants_expired + report.requests_expired > 0 => {
                    tracing::info!(
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
