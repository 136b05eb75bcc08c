//! Signing in through an identity provider: the login page's options, the redirect to the
//! provider, and the callback that verifies its answer and opens a session.
//!
//! Both ends are browser navigations, not API calls: they answer with redirects, and a
//! refusal sends the browser back to the login page with `?sso_error=CODE` (only a code
//! from `SsoRefusal`, never the provider's words), its details in the audit trail.

use super::AppState;
use super::error::AppError;
use super::extract::{cookie, session_cookie};
use super::session::session_cookie_header;
use crate::credential::{random_bytes, token_hash};
use crate::oidc::{FLOW_COOKIE, Flow, Refused};
use crate::service::oidc::{Answer, Person, Refusal, SIGN_IN_TIMEOUT_SECS, SignIn};
use crate::store::audit::ORIGIN;
use crate::store::port::StartedSignIn;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use stint_core::oidc::{SignInOptions, SsoRefusal};

/// `GET /api/v1/oidc/providers`: what the login page offers. Public: it names only the
/// providers' labels.
#[utoipa::path(
    get,
    path = "/oidc/providers",
    operation_id = "oidc_options",
    tag = "session",
    security(()),
    responses((status = 200, body = SignInOptions)),
)]
pub async fn options(State(state): State<AppState>) -> Json<SignInOptions> {
    Json(SignInOptions {
        local_login: state.oidc.local_login(),
        providers: state.oidc.views(),
    })
}

/// Sign-in starts and callbacks each address may make per minute: far more than a person
/// signing in needs, and a bound on what a flood of them costs (each writes a row).
pub const SIGN_INS_PER_MINUTE: u32 = 60;

/// `GET /api/v1/oidc/{provider}/login`: starts a sign-in and sends the browser to the
/// provider.
#[utoipa::path(
    get,
    path = "/oidc/{provider}/login",
    operation_id = "oidc_login",
    tag = "session",
    security(()),
    params(("provider" = String, Path, description = "The provider's id")),
    responses(
        (
            status = 303,
            description = "To the identity provider (or back to the sign-in page, saying why not)",
        ),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    if let Some(refusal) = screen(&state, &provider) {
        return Ok(back_to_login(&provider, refusal));
    }
    let flow = Flow::new();
    let url = match state.oidc.authorization_url(&provider, &flow).await {
        Ok(url) => url,
        Err(refused) => return refuse(&state, &provider, &refused, now).await,
    };
    // The browser's session, if it has one: this is a same-site navigation, so its strict
    // cookie came (the provider's redirect back will not bring it).
    let started = StartedSignIn {
        provider: provider.clone(),
        started_at: now,
        replaces_hash: session_cookie(&headers).map(|old| token_hash(&old)),
    };
    state.store.start_sso(&flow.hash(), &started).await?;
    let mut response = redirect(&url);
    response.headers_mut().append(
        header::SET_COOKIE,
        flow_cookie(flow.secret(), SIGN_IN_TIMEOUT_SECS, state.config.https()),
    );
    Ok(response)
}

/// What the identity provider sends the browser back with (OAuth 2.0's authorization
/// response).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Callback {
    /// The authorization code, exchanged here for the provider's tokens.
    code: Option<String>,
    /// The sign-in's state, matched against the browser's flow cookie.
    state: Option<String>,
    /// The provider's refusal, when it refused.
    error: Option<String>,
    /// RFC 9207: which provider answered (a defence against one provider's answer being
    /// passed off as another's).
    iss: Option<String>,
}

/// `GET /api/v1/oidc/{provider}/callback`: where the provider sends the browser back.
#[utoipa::path(
    get,
    path = "/oidc/{provider}/callback",
    operation_id = "oidc_callback",
    tag = "session",
    security(()),
    params(("provider" = String, Path, description = "The provider's id"), Callback),
    responses(
        (
            status = 303,
            description = "Signed in and on to the portal, or back to the sign-in page saying why not",
        ),
    ),
)]
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Query(answer): Query<Callback>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let (mut response, over) = finish(&state, &provider, &headers, &answer, now).await?;
    // A finished (or stale) sign-in's cookie goes; a forged answer's does not, or it would
    // cancel the real sign-in in this browser.
    if over {
        response
            .headers_mut()
            .append(header::SET_COOKIE, flow_cookie("", 0, state.config.https()));
    }
    Ok(response)
}

async fn finish(
    state: &AppState,
    provider: &str,
    headers: &HeaderMap,
    answer: &Callback,
    now: DateTime<Utc>,
) -> Result<(Response, bool), AppError> {
    if let Some(refusal) = screen(state, provider) {
        return Ok((back_to_login(provider, refusal), false));
    }
    // Without a sign-in under way in this browser there is nothing to finish, and nothing
    // worth a line in the trail: anyone can send a browser here.
    let flow = cookie(headers, FLOW_COOKIE).map(|secret| Flow::from_cookie(&secret));
    let under_way = match &flow {
        Some(flow) => {
            state
                .store
                .sso_under_way(&flow.hash(), provider, now)
                .await?
        }
        None => false,
    };
    let Some(flow) = flow.filter(|_| under_way) else {
        tracing::info!(
            provider,
            "a callback with no sign-in under way in its browser"
        );
        return Ok((back_to_login(provider, SsoRefusal::NotStarted), true));
    };
    // An answer that is not this sign-in's is refused and leaves the sign-in alone: a
    // forged callback cannot cancel a person's sign-in in progress.
    let forged = if !answer
        .state
        .as_deref()
        .is_some_and(|s| flow.state_matches(s))
    {
        Some("the callback's state is not this sign-in's")
    } else if !issuer_matches(state, provider, answer.iss.as_deref()).await {
        Some("the callback's iss is missing or not this provider's issuer")
    } else {
        None
    };
    if let Some(detail) = forged {
        let refused = Refused::new(SsoRefusal::StateMismatch, detail);
        return Ok((refuse(state, provider, &refused, now).await?, false));
    }
    let verified = match (&answer.error, &answer.code) {
        (Some(error), _) => {
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            Err(Refused::new(
                SsoRefusal::ProviderError,
                format!("the provider answered error={error}"),
            ))
        }
        (None, None) => Err(Refused::new(
            SsoRefusal::CodeRefused,
            "the callback carried no code",
        )),
        (None, Some(code)) => state.oidc.verify(provider, &flow, code, now).await,
    };
    let mapping = state.oidc.mapping(provider).expect("screened above");
    let answer = match &verified {
        Ok(v) => Answer::Verified(Person {
            issuer: &v.issuer,
            subject: &v.subject,
            username: v.username.as_deref(),
            display_name: v.display_name.as_deref(),
            groups: v.groups.as_deref(),
            mapping,
        }),
        Err(refused) => {
            warn(provider, refused);
            Answer::Refused(Refusal {
                subject: None,
                username: None,
                refusal: refused.refusal,
                detail: Some(&refused.detail),
            })
        }
    };
    // A fresh session id, as at every sign-in.
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<16>());
    let outcome = state
        .store
        .finish_sso(&flow.hash(), provider, &answer, &token_hash(&token), now)
        .await?;
    // Accounts, roles and sessions may have changed: what follows the trail looks now.
    state.changed();
    let response = match outcome {
        SignIn::SignedIn(_) => {
            let max_age = state.config.session_limits.absolute.num_seconds();
            let mut response = redirect("/");
            response.headers_mut().append(
                header::SET_COOKIE,
                session_cookie_header(&token, max_age, state.config.https()),
            );
            response
        }
        SignIn::Refused(refusal) => back_to_login(provider, refusal),
    };
    Ok((response, true))
}

/// Refusals decided before anything is read: a provider nobody configured, or an address
/// over its budget. Neither is recorded (anyone can cause them).
fn screen(state: &AppState, provider: &str) -> Option<SsoRefusal> {
    if state.oidc.view(provider).is_none() {
        return Some(SsoRefusal::UnknownProvider);
    }
    let address = ORIGIN
        .try_with(|o| o.source_ip.clone())
        .ok()
        .flatten()
        .unwrap_or_default();
    state
        .sign_in_limiter
        .check_key(&address)
        .is_err()
        .then_some(SsoRefusal::Throttled)
}

/// RFC 9207: the callback's `iss`, when it has one, is the provider's issuer exactly; a
/// provider that promised to name itself always does.
async fn issuer_matches(state: &AppState, provider: &str, iss: Option<&str>) -> bool {
    match iss {
        Some(iss) => state.oidc.issuer(provider) == Some(iss),
        None => !state.oidc.names_issuer(provider).await,
    }
}

fn warn(provider: &str, refused: &Refused) {
    tracing::warn!(
        provider,
        reason = refused.refusal.code(),
        detail = %refused.detail,
        "sign-in through an identity provider refused"
    );
}

/// Records a refusal and sends the browser back to the login page, saying why.
async fn refuse(
    state: &AppState,
    provider: &str,
    refused: &Refused,
    now: DateTime<Utc>,
) -> Result<Response, AppError> {
    warn(provider, refused);
    let refusal = Refusal {
        subject: None,
        username: None,
        refusal: refused.refusal,
        detail: Some(&refused.detail),
    };
    state
        .store
        .record_sso_refusal(provider, &refusal, now)
        .await?;
    Ok(back_to_login(provider, refused.refusal))
}

fn back_to_login(provider: &str, refusal: SsoRefusal) -> Response {
    let query =
        serde_urlencoded::to_string([("sso_error", refusal.code()), ("provider", provider)])
            .unwrap_or_default();
    redirect(&format!("/login?{query}"))
}

fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => AppError::NotFound("no such page".into()).into_response(),
    }
}

/// The flow secret's cookie. `SameSite=Lax`, unlike the session's `Strict`: the provider
/// sends the browser back by a cross-site navigation, on which a strict cookie would not
/// come; it is scoped to these endpoints, lives ten minutes and opens nothing by itself.
fn flow_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path=/api/v1/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("flow secrets are base64url")
}
