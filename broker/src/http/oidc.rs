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
use crate::oidc::{FLOW_COOKIE, Flow, Refused, Verified};
use crate::service::oidc::{Person, Refusal, SIGN_IN_TIMEOUT_SECS, SignIn};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use stint_core::admin::{check_display_name, check_name};
use stint_core::oidc::{SignInOptions, SsoRefusal};

/// `GET /api/v1/oidc/providers`: what the login page offers. Public: it names only the
/// providers' labels.
pub async fn options(State(state): State<AppState>) -> Json<SignInOptions> {
    Json(SignInOptions {
        local_login: state.oidc.local_login(),
        providers: state.oidc.views(),
    })
}

/// `GET /api/v1/oidc/{provider}/login`: starts a sign-in and sends the browser to the
/// provider.
pub async fn login(State(state): State<AppState>, Path(provider): Path<String>) -> Response {
    let now = state.clock.now();
    let flow = Flow::new();
    let url = match state.oidc.authorization_url(&provider, &flow).await {
        Ok(url) => url,
        Err(refused) => return refuse(&state, &provider, refused, None, now).await,
    };
    if let Err(e) = state.store.start_sso(&flow.hash(), &provider, now).await {
        return AppError::from(e).into_response();
    }
    let mut response = redirect(&url);
    response.headers_mut().append(
        header::SET_COOKIE,
        flow_cookie(flow.secret(), SIGN_IN_TIMEOUT_SECS, state.config.https()),
    );
    response
}

#[derive(serde::Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /api/v1/oidc/{provider}/callback`: where the provider sends the browser back.
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Query(answer): Query<Callback>,
) -> Response {
    let now = state.clock.now();
    let mut response = match finish(&state, &provider, &headers, &answer, now).await {
        Ok(Ok(response)) => response,
        Ok(Err(Refusing::Now(refused, verified))) => {
            refuse(&state, &provider, refused, verified.as_ref(), now).await
        }
        Ok(Err(Refusing::Recorded(refusal))) => back_to_login(&provider, refusal),
        Err(e) => e.into_response(),
    };
    // The flow is over, whatever its outcome: its cookie goes.
    response
        .headers_mut()
        .append(header::SET_COOKIE, flow_cookie("", 0, state.config.https()));
    response
}

enum Refusing {
    /// Refused here, to be recorded.
    Now(Refused, Option<Verified>),
    /// Refused, and recorded, where the account was looked at.
    Recorded(SsoRefusal),
}

async fn finish(
    state: &AppState,
    provider: &str,
    headers: &HeaderMap,
    answer: &Callback,
    now: DateTime<Utc>,
) -> Result<Result<Response, Refusing>, AppError> {
    let refused =
        |refusal, detail: &str| Ok(Err(Refusing::Now(Refused::new(refusal, detail), None)));
    if state.oidc.view(provider).is_none() {
        return refused(SsoRefusal::UnknownProvider, "no such provider");
    }
    let Some(secret) = cookie(headers, FLOW_COOKIE) else {
        return refused(
            SsoRefusal::NotStarted,
            "no sign-in cookie came with the callback",
        );
    };
    let flow = Flow::from_cookie(&secret);
    // Taken first, whatever follows: a callback is answered once at most.
    if !state.store.take_sso(&flow.hash(), provider, now).await? {
        return refused(
            SsoRefusal::NotStarted,
            "no sign-in at this provider is under way under this cookie (finished, or stale)",
        );
    }
    if let Some(error) = &answer.error {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return refused(
            SsoRefusal::ProviderError,
            &format!("the provider answered error={error}"),
        );
    }
    if !answer
        .state
        .as_deref()
        .is_some_and(|s| flow.state_matches(s))
    {
        return refused(
            SsoRefusal::StateMismatch,
            "the callback's state is not this flow's",
        );
    }
    let Some(code) = &answer.code else {
        return refused(SsoRefusal::CodeRefused, "the callback carried no code");
    };
    let verified = match state.oidc.verify(provider, &flow, code, now).await {
        Ok(verified) => verified,
        Err(refused) => return Ok(Err(Refusing::Now(refused, None))),
    };
    let Some(username) = verified
        .username
        .as_deref()
        .and_then(|u| check_name("username", u).ok())
    else {
        return Ok(Err(Refusing::Now(
            Refused::new(
                SsoRefusal::UsernameUnusable,
                "the username claim is missing or not a valid username",
            ),
            Some(verified),
        )));
    };
    let display_name = verified
        .display_name
        .as_deref()
        .and_then(|n| check_display_name(n).ok())
        .unwrap_or_else(|| username.clone());
    // A fresh session id, as at every sign-in.
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<16>());
    let replaces = session_cookie(headers).map(|old| token_hash(&old));
    let person = Person {
        provider,
        subject: &verified.subject,
        username: &username,
        display_name: &display_name,
        roles: &verified.roles,
    };
    match state
        .store
        .sso_sign_in(&person, &token_hash(&token), replaces.as_deref(), now)
        .await?
    {
        SignIn::SignedIn(_) => {
            let max_age = state.config.session_limits.absolute.num_seconds();
            let mut response = redirect("/");
            response.headers_mut().append(
                header::SET_COOKIE,
                session_cookie_header(&token, max_age, state.config.https()),
            );
            Ok(Ok(response))
        }
        SignIn::Refused(refusal) => Ok(Err(Refusing::Recorded(refusal))),
    }
}

/// Records a refusal and sends the browser back to the login page, saying why.
async fn refuse(
    state: &AppState,
    provider: &str,
    refused: Refused,
    verified: Option<&Verified>,
    now: DateTime<Utc>,
) -> Response {
    tracing::warn!(provider, reason = refused.refusal.code(), detail = %refused.detail, "sign-in through an identity provider refused");
    // A name no provider has is not worth a line in the trail (anyone can type one).
    if refused.refusal != SsoRefusal::UnknownProvider {
        let refusal = Refusal {
            provider,
            subject: verified.map(|v| v.subject.as_str()),
            username: verified.and_then(|v| v.username.as_deref()),
            refusal: refused.refusal,
            detail: Some(&refused.detail),
        };
        if let Err(e) = state.store.record_sso_refusal(&refusal, now).await {
            return AppError::from(e).into_response();
        }
    }
    back_to_login(provider, refused.refusal)
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
