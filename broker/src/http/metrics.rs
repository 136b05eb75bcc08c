//! `/metrics` and what feeds it from the API: each call's route, status and latency.

use super::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Counts a matched API call (a route layer: the route's pattern is known).
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().to_string();
    let response = next.run(req).await;
    state.metrics.call(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics` in Prometheus' text format (OpenMetrics).
async fn scrape(State(state): State<AppState>) -> Response {
    let now = state.clock.now();
    match state.store.ops_facts(now).await {
        Ok(facts) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            state.metrics.render(&facts, state.live.readers(), now),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the metrics' facts failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The metrics listener's routes: kept off the public listener, for the scraper alone.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}
