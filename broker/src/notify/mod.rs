//! Notifications: the events people must act on, told where they already are — a Slack
//! channel, or any system behind a signed webhook.
//!
//! Deliveries come from the audit trail itself, the outbox every change already writes in
//! its own transaction: the fan-out (`crate::service::notifications::fan_out`) reads the
//! events after its cursor, queues one delivery per sink that hears each, and moves the
//! cursor, in one transaction. A change rolled back never reaches the trail, so it is
//! never sent; a broker killed before the fan-out commits leaves the cursor behind, and
//! whoever runs next queues the same events. `worker` sends what is queued until each sink
//! answers 2xx, retrying with the connectors' backoff.

pub mod message;
pub mod worker;

use crate::config::Variables;
use crate::store::port::DeliveryJob;
use stint_core::RuleError;
use stint_core::notify::{CheckedSink, SinkTarget, check_sink_url};
use tokio::sync::Notify;

/// The worker's bell, rung after a change that may be news for a sink.
#[derive(Default)]
pub struct Notifier {
    pub bell: Notify,
}

impl Notifier {
    pub fn wake(&self) {
        self.bell.notify_one();
    }
}

/// Where a sink posts and the key it signs with, read from this broker's environment.
pub struct Destination {
    pub url: String,
    pub secret: Option<Vec<u8>>,
}

/// Resolves a delivery's destination now: a variable may have been set or fixed since the
/// sink was added. The error names the variable, never its value.
pub fn destination(job: &DeliveryJob, variables: &Variables) -> Result<Destination, String> {
    let variable = |name: &str| variables.get(name);
    let url = match (&job.url_env, &job.url) {
        (Some(var), _) => {
            let url = variable(var).ok_or_else(|| format!("${var} is not set on this broker"))?;
            // Checked again: the variable may have changed since the sink was added.
            let url = url.trim().to_string();
            check_sink_url("url_env", &url)
                .map_err(|_| format!("${var} does not hold an https:// URL"))?;
            url
        }
        (None, Some(url)) => url.clone(),
        (None, None) => return Err("the sink has no URL".into()),
    };
    let secret = match &job.secret_env {
        None => None,
        Some(var) => Some(
            variable(var)
                .ok_or_else(|| format!("${var} (the signing key) is not set on this broker"))?
                .into_bytes(),
        ),
    };
    Ok(Destination { url, secret })
}

/// Checks, when a sink is added, that the variables it names are set here and hold a URL
/// a sink may post to: a mistake is a 400 now rather than failed deliveries later.
pub fn check_environment(sink: &CheckedSink, variables: &Variables) -> Result<(), RuleError> {
    let variable = |name: &str| variables.get(name);
    if let SinkTarget::Env(var) = &sink.target {
        let url = variable(var).ok_or_else(|| {
            RuleError::invalid("url_env", format!("${var} is not set on this broker"))
        })?;
        check_sink_url("url_env", url.trim()).map_err(|_| {
            RuleError::invalid("url_env", format!("${var} does not hold an https:// URL"))
        })?;
    }
    if let Some(var) = &sink.secret_env
        && variable(var).is_none()
    {
        return Err(RuleError::invalid(
            "secret_env",
            format!("${var} is not set on this broker"),
        ));
    }
    Ok(())
}
