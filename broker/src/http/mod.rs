//! The HTTP API (v1), the JWKS, health, and the portal's static files.

mod admin;
mod audit;
mod break_glass;
mod campaigns;
mod catalog;
mod connectors;
mod error;
mod events;
mod extract;
mod federation;
mod grants;
mod introspection;
pub mod metrics;
mod notifications;
mod oidc;
mod openapi;
mod password_gate;
mod portal;
mod position;
mod proposals;
mod query;
mod rate_limit;
mod reports;
mod requests;
mod session;
mod standing;
mod tokens;

pub use error::AppError;
pub use extract::SESSION_COOKIE;
pub use oidc::SIGN_INS_PER_MINUTE;
pub use rate_limit::limiter as per_minute_limiter;

use crate::clock::Clock;
use crate::config::Config;
use crate::credential::Keyring;
use crate::keys::KeyFile;
use crate::store::Store;
use crate::store::audit::{ORIGIN, Origin};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use stint_core::api::CSRF_HEADER;
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Instrument;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// Request bodies larger than this are refused with 413 before they are parsed.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// What every handler and worker reads, behind one `Arc`: axum clones the state for each
/// extractor and middleware layer of every call, and one shared count costs less than one per
/// service (the sixteen counts' increments and decrements were ~7 % of the broker's CPU
/// under introspection load).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The broker's services, shared by every call through [`AppState`].
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub keyring: Arc<Keyring>,
    /// Opens the sealed signing keys when they are reread.
    pub key_file: Arc<KeyFile>,
    /// Introspection calls per caller.
    pub introspection_limiter: Arc<governor::DefaultKeyedRateLimiter<String>>,
    /// Token exchanges per calling address.
    pub exchange_limiter: Arc<governor::DefaultKeyedRateLimiter<String>>,
    /// Sign-ins through identity providers (starts and callbacks) per calling address.
    pub sign_in_limiter: Arc<governor::DefaultKeyedRateLimiter<String>>,
    /// Trusted issuers' public keys, fetched and cached, and refusal budgets.
    pub federation: Arc<crate::federation::Federation>,
    /// The connectors and the runner of their outbox.
    pub outbox: Arc<crate::connectors::worker::Outbox>,
    /// The live feed's hub (`GET /api/v1/events`).
    pub live: Arc<crate::live::Hub>,
    /// The notification worker's bell.
    pub notifier: Arc<crate::notify::Notifier>,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The identity providers people sign in through.
    pub oidc: Arc<crate::oidc::Providers>,
    /// Grants' uses counted and not yet written.
    pub usage: Arc<crate::usage::Recorder>,
    pub config: Arc<Config>,
}

/// The calls browsers make with the session cookie (identities with their token make some),
/// each with its description: all but the report import run on the store's write runtime.
fn browser_calls() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(session::login, session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::change_password))
        .routes(routes!(oidc::options))
        .routes(routes!(oidc::login))
        .routes(routes!(oidc::callback))
        .routes(routes!(events::stream))
        .routes(routes!(
            notifications::my_choices,
            notifications::set_my_choices
        ))
        .routes(routes!(catalog::identities, admin::create_identity))
        .routes(routes!(catalog::identity, admin::update_identity))
        .routes(routes!(tokens::list, tokens::mint))
        .routes(routes!(tokens::revoke))
        .routes(routes!(federation::identity_rules))
        .routes(routes!(catalog::declare))
        .routes(routes!(catalog::step_down))
        .routes(routes!(catalog::confirm_takeover))
        .routes(routes!(catalog::resources, admin::create_resource))
        .routes(routes!(catalog::resource, admin::update_resource))
        .routes(routes!(introspection::create_credentials))
        .routes(routes!(admin::users, admin::create_user))
        .routes(routes!(admin::update_user))
        .routes(routes!(admin::reset_password))
        .routes(routes!(proposals::list))
        .routes(routes!(proposals::show))
        .routes(routes!(proposals::approve))
        .routes(routes!(proposals::reject))
        .routes(routes!(requests::list, requests::file))
        .routes(routes!(requests::detail))
        .routes(routes!(requests::approve))
        .routes(routes!(requests::deny))
        .routes(routes!(requests::cancel))
        .routes(routes!(grants::list))
        .routes(routes!(grants::live))
        .routes(routes!(grants::revoke_many))
        .routes(routes!(grants::one))
        .routes(routes!(grants::credential))
        .routes(routes!(grants::revoke))
        .routes(routes!(grants::release))
        .routes(routes!(grants::extend))
        .routes(routes!(break_glass::take))
        .routes(routes!(break_glass::list))
        .routes(routes!(break_glass::detail, break_glass::decide))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::checkpoints))
        .routes(routes!(audit::export))
        .routes(routes!(reports::evidence))
        .routes(routes!(campaigns::list, campaigns::start))
        .routes(routes!(campaigns::show))
        .routes(routes!(campaigns::close))
        .routes(routes!(campaigns::decide))
        .routes(routes!(standing::list, standing::record))
        .routes(routes!(standing::coverage))
        .routes(routes!(standing::rules, standing::create_rule))
        .routes(routes!(standing::retire_rule))
        .routes(routes!(standing::one))
        .routes(routes!(standing::triage))
        .routes(routes!(connectors::list))
        .routes(routes!(notifications::sinks, notifications::add_sink))
        .routes(routes!(notifications::remove_sink))
        .routes(routes!(notifications::deliveries))
        .routes(routes!(federation::issuers, federation::register))
}

/// A scanner's report: far larger than the API's other bodies.
fn report_import() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(
        routes!(standing::import)
            .layer(DefaultBodyLimit::max(crate::scan_report::MAX_REPORT_BYTES)),
    )
}

/// Called by downstream services and workloads with their credentials, never a cookie.
fn machine_calls() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(introspection::introspect))
        .routes(routes!(federation::token))
}

/// The API's own description, as data and as a page.
fn description_calls() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi::spec))
        .routes(routes!(openapi::reference))
}

/// Outside the versioned API.
fn public_calls() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jwks))
        .routes(routes!(healthz))
}

/// The API's description, built from the same route table the broker serves.
pub fn api_description() -> utoipa::openapi::OpenApi {
    let api = browser_calls()
        .merge(report_import())
        .merge(machine_calls())
        .merge(description_calls());
    openapi::document(
        OpenApiRouter::new()
            .nest("/api/v1", api)
            .merge(public_calls())
            .into_openapi(),
    )
}

/// The API's description as JSON: what `GET /api/v1/openapi.json` serves and `openapi.json`
/// holds.
pub fn api_description_json() -> String {
    openapi::to_json(&api_description())
}

pub fn router(state: AppState) -> anyhow::Result<Router> {
    // Each group of layers is given to axum in one `layer` call (a `ServiceBuilder`, its
    // outermost layer first): axum wraps every route in each layer separately and clones
    // every wrapper on every call, so a group costs one clone per call, not one per layer.
    // Called by browsers with the session cookie: guarded against cross-site use.
    let browser_api = Router::from(browser_calls())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            on_write_runtime,
        ))
        // Merged after that layer, so not on the writer thread: parsing a report of
        // megabytes there would hold every other write up.
        .merge(Router::from(report_import()))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(csrf_guard))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    audit_refusals,
                )),
        );
    let api = browser_api
        .merge(Router::from(machine_calls()))
        .merge(Router::from(description_calls()))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .fallback(|| async { AppError::NotFound("no such API endpoint".into()) })
        .layer(
            ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
                .layer(middleware::from_fn(position::stamp))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    wake_followers,
                )),
        );
    let (portal, csp) = portal::service(state.config.portal_dir.as_deref())?;
    // Over TLS, browsers must never come back over plain HTTP (a year, as is usual).
    let hsts = state.config.https().then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        )
    });
    Ok(Router::new()
        .nest("/api/v1", api)
        .merge(Router::from(public_calls()))
        .fallback_service(portal)
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(middleware::from_fn(with_origin))
                .option_layer(hsts)
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                // A response with a policy of its own (the evidence report's, stricter)
                // keeps it.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_str(&csp)?,
                )),
        )
        .with_state(state))
}

/// Refuses state-changing calls that a cross-site page could have made: they must carry
/// the custom CSRF header (which needs a CORS preflight the broker never grants) and must
/// not be marked cross-site by the browser. `SameSite=Strict` cookies are the other layer.
/// A call with a Bearer token is exempt: a cross-site page cannot set `Authorization` (it
/// would need the same CORS preflight), which is what makes the exemption safe. Such a call
/// is judged by its token alone wherever it is authorised (`extract::CurrentCaller`); only
/// signing in and out act on cookies whatever else the call carries.
async fn csrf_guard(req: Request, next: Next) -> Response {
    if !is_safe(req.method()) && extract::bearer_token(req.headers()).is_none() {
        let headers = req.headers();
        if headers.get(CSRF_HEADER).is_none() {
            return AppError::Csrf("state-changing calls need the x-stint-csrf header")
                .into_response();
        }
        if headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site")
        {
            return AppError::Csrf("cross-site requests are refused").into_response();
        }
    }
    next.run(req).await
}

/// Whether calls with `method` change nothing.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Runs a state-changing call on the store's write runtime when it has one (SQLite's
/// pinned writer thread): the whole call, since its transaction is driven by the task that
/// serves it, with the origin `with_origin` set and the call's span carried across. A
/// caller hanging up cancels it there, as it would here.
async fn on_write_runtime(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(runtime) = state
        .store
        .write_runtime()
        .filter(|_| !is_safe(req.method()))
    else {
        return next.run(req).await;
    };
    let origin = ORIGIN.try_with(Origin::clone).unwrap_or_default();
    let call = ORIGIN
        .scope(origin, next.run(req))
        .instrument(tracing::Span::current());
    let mut call = AbortOnDrop(runtime.spawn(call));
    match (&mut call.0).await {
        Ok(response) => response,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => AppError::ShuttingDown.into_response(),
    }
}

/// A spawned call, cancelled when whoever waits for it stops waiting.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves the call with its origin (peer address, user agent) in scope for the audit trail.
/// The peer is the TCP peer: behind a proxy that is the proxy, never a forgeable header.
async fn with_origin(req: Request, next: Next) -> Response {
    let origin = Origin {
        source_ip: req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip().to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
    };
    ORIGIN.scope(origin, next.run(req)).await
}

/// Wakes what follows committed changes after a call went through: the connectors'
/// outbox (an approval, a revocation or a release may have queued a step, then attempted
/// at once rather than at the worker's next look) and the live feed (which streams the
/// change at once rather than at its next look; under a stream of writes, at most once per
/// `live::LOOK_APART`, each look taking every change since the last).
async fn wake_followers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let changes = req.method() != axum::http::Method::GET;
    let response = next.run(req).await;
    if changes && response.status().is_success() {
        state.changed();
    }
    response
}

impl AppState {
    /// Something was committed: whatever follows changes looks now.
    pub fn changed(&self) {
        self.outbox.wake();
        self.live.wake();
        self.notifier.wake();
    }
}

/// Writes an `authz.refused` event for every call a signed-in user, or an identity with
/// its token, was forbidden to make. The refusal itself changed nothing, so it has no
/// transaction to join: it is recorded after the answer is decided, and a failure to
/// record it is logged, not hidden.
async fn audit_refusals(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    // Inside the nested API router the path is stripped of `/api/v1`; record the full one.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|uri| uri.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let bearer = extract::bearer_token(req.headers()).map(str::to_string);
    let cookie = extract::session_cookie(req.headers());
    let response = next.run(req).await;
    if response.status() != axum::http::StatusCode::FORBIDDEN {
        return response;
    }
    let now = state.clock.now();
    let caller = match (bearer, cookie) {
        (Some(token), _) => extract::token_caller(&state, &token).await.ok().flatten(),
        (None, Some(cookie)) => state
            .store
            .session_user(
                &crate::credential::token_hash(&cookie),
                now,
                state.config.session_limits,
            )
            .await
            .ok()
            .flatten()
            .map(|session| session.user),
        (None, None) => None,
    };
    let Some(user) = caller else { return response };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT_BYTES)
        .await
        .unwrap_or_default();
    let reason = serde_json::from_slice::<stint_core::api::ErrorBody>(&bytes)
        .map(|e| e.error.message)
        .unwrap_or_default();
    if let Err(e) = state
        .store
        .record_refusal(&user, &method, &path, &reason, now)
        .await
    {
        tracing::error!(error = %e, "could not record an authorization refusal");
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The public keys Stint signs credentials with (JWK Set), for verifying them offline.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "machines",
    security(()),
    responses(
        (
            status = 200,
            description = "The public keys credentials are signed with (JWK Set)",
            body = Object,
        ),
    ),
)]
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keyring.jwks()),
    )
}

/// Whether the broker is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "machines",
    security(()),
    responses((status = 200, description = "The broker is up", body = Object)),
)]
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}
