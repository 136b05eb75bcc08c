//! Prometheus metrics (`GET /metrics` on `--metrics-listen`): what the broker counts as it
//! serves — calls by route and status with their latency, connector steps and notification
//! deliveries by outcome, refused sign-ins and throttled calls — and what it reads from the
//! database at each scrape, so every replica reports the same shared state: grants live and
//! ending soon, requests waiting, reviews overdue, how far the sweep lags, the outboxes'
//! depth, the audit trail's length; and its own live-feed readers.

use crate::store::OpsFacts;
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    /// The route's pattern (`/api/v1/requests/{id}`), never the path itself: a bounded set.
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    step: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The broker's series, registered once.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    sign_ins_refused: Counter,
    throttled: Counter,
    connector_steps: Family<StepLabels, Counter>,
    deliveries: Family<OutcomeLabels, Counter>,
    grants_active: Gauge,
    grants_expiring: Gauge,
    requests_pending: Gauge,
    reviews_overdue: Gauge,
    sweep_lag: Gauge<f64, AtomicU64>,
    connector_steps_open: Gauge,
    deliveries_open: Gauge,
    audit_events: Counter,
    live_readers: Gauge,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("stint");
        let metrics = Metrics {
            calls: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            sign_ins_refused: Counter::default(),
            throttled: Counter::default(),
            connector_steps: Family::default(),
            deliveries: Family::default(),
            grants_active: Gauge::default(),
            grants_expiring: Gauge::default(),
            requests_pending: Gauge::default(),
            reviews_overdue: Gauge::default(),
            sweep_lag: Gauge::default(),
            connector_steps_open: Gauge::default(),
            deliveries_open: Gauge::default(),
            audit_events: Counter::default(),
            live_readers: Gauge::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "http_requests",
            "API calls answered, by route, method and status",
            metrics.calls.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time to answer an API call",
            Unit::Seconds,
            metrics.latency.clone(),
        );
        r.register(
            "sign_ins_refused",
            "Sign-ins refused (wrong name or password)",
            metrics.sign_ins_refused.clone(),
        );
        r.register(
            "throttled_requests",
            "Calls refused for coming too often (429)",
            metrics.throttled.clone(),
        );
        r.register(
            "connector_steps",
            "Connector steps attempted (provision, revoke), by outcome",
            metrics.connector_steps.clone(),
        );
        r.register(
            "notification_deliveries",
            "Notification deliveries attempted, by outcome",
            metrics.deliveries.clone(),
        );
        r.register(
            "grants_active",
            "Grants live now",
            metrics.grants_active.clone(),
        );
        r.register(
            "grants_expiring",
            "Live grants that end within 10 minutes",
            metrics.grants_expiring.clone(),
        );
        r.register(
            "requests_pending",
            "Requests waiting for a decision",
            metrics.requests_pending.clone(),
        );
        r.register(
            "reviews_overdue",
            "Break-glass reviews past their due time",
            metrics.reviews_overdue.clone(),
        );
        r.register_with_unit(
            "sweep_lag",
            "How long the oldest grant past its expiry has waited to be ended (0 when none)",
            Unit::Seconds,
            metrics.sweep_lag.clone(),
        );
        r.register(
            "connector_outbox_depth",
            "Connector steps not yet confirmed",
            metrics.connector_steps_open.clone(),
        );
        r.register(
            "notification_outbox_depth",
            "Notification deliveries not yet delivered or given up",
            metrics.deliveries_open.clone(),
        );
        r.register(
            "audit_events",
            "Events in the audit trail (its rate is the append rate)",
            metrics.audit_events.clone(),
        );
        r.register(
            "live_readers",
            "Live-feed (SSE) readers connected to this broker",
            metrics.live_readers.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// One API call answered.
    pub fn call(&self, route: &str, method: &str, status: u16, took: Duration) {
        let route = route.to_string();
        let method = method.to_string();
        self.calls
            .get_or_create(&CallLabels {
                route: route.clone(),
                method: method.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method: method.clone(),
            })
            .observe(took.as_secs_f64());
        if status == 429 {
            self.throttled.inc();
        }
        if status == 401 && route == "/api/v1/session" && method == "POST" {
            self.sign_ins_refused.inc();
        }
    }

    /// A connector step attempted: `step` provision or revoke.
    pub fn connector_step(&self, step: &'static str, succeeded: bool) {
        let outcome = if succeeded { "succeeded" } else { "failed" };
        self.connector_steps
            .get_or_create(&StepLabels { step, outcome })
            .inc();
    }

    /// A notification delivery attempted.
    pub fn delivery(&self, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The exposition, with the database's facts read at `now` and this broker's readers.
    pub fn render(&self, facts: &OpsFacts, live_readers: usize, now: DateTime<Utc>) -> String {
        self.grants_active.set(facts.grants_active);
        self.grants_expiring.set(facts.grants_expiring);
        self.requests_pending.set(facts.requests_pending);
        self.reviews_overdue.set(facts.reviews_overdue);
        let lag = facts.oldest_unended_expiry.map_or(0.0, |at| {
            (now - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        self.sweep_lag.set(lag);
        self.connector_steps_open.set(facts.connector_steps_open);
        self.deliveries_open.set(facts.deliveries_open);
        // The trail only grows: the counter catches up with its length (at once, so two
        // scrapes together cannot both add the same difference).
        self.audit_events
            .inner()
            .fetch_max(facts.audit_events.max(0) as u64, Ordering::Relaxed);
        self.live_readers.set(live_readers as i64);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }
}
