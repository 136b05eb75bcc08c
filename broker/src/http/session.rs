//! Signing in and out, and who is signed in.

use super::AppState;
use super::error::AppError;
use super::extract::{
    ApiJson, CurrentSession, SESSION_COOKIE, bearer_token, live_session, session_cookie,
    token_caller,
};
use super::password_gate::PasswordGate;
use super::position::Position;
use crate::credential::{random_bytes, token_hash};
use crate::store::audit::Actor;
use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use stint_core::RuleError;
use stint_core::api::{LoginBody, MeView, PasswordChangeBody, SessionView};
use stint_core::oidc::SignedOut;

/// Signs in with a username and password: sets the session cookie.
#[utoipa::path(
    post,
    path = "/session",
    operation_id = "session_login",
    tag = "session",
    security(()),
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in: the session cookie is set", body = SessionView),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, AppError> {
    if !state.oidc.local_login() {
        return Err(RuleError::Forbidden(
            "signing in with a password is turned off here: sign in through your identity \
             provider"
                .into(),
        )
        .into());
    }
    let now = state.clock.now();
    let username = body.username.trim();
    let candidate = state.store.login_candidate(username).await?;
    // A name no account has is often a password typed in the wrong field: it is counted
    // and recorded only as a keyed hash.
    let pseudonym = candidate
        .is_none()
        .then(|| state.key_file.pseudonym(username));
    let account = match &pseudonym {
        Some(p) => format!("?{p}"),
        None => username.to_string(),
    };
    let gate = PasswordGate::check(&state, &account, now).await?;
    let stored = candidate
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| crate::password::decoy().to_string());
    let password = body.password;
    let matches = tokio::task::spawn_blocking(move || crate::password::verify(&password, &stored))
        .await
        .unwrap_or(false);
    let Some(candidate) = candidate.filter(|_| matches) else {
        let (actor, details) = match &pseudonym {
            Some(p) => (Actor::Anonymous(""), json!({ "username_pseudonym": p })),
            None => (Actor::Anonymous(username), json!({ "username": username })),
        };
        gate.failed(&state, "session.login_failed", actor, None, details, now)
            .await?;
        return Err(AppError::BadCredentials);
    };
    // A fresh id at every login: a session id planted before login is worth nothing.
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<16>());
    let replaces = session_cookie(&headers).map(|old| token_hash(&old));
    state
        .store
        .open_session(
            &candidate.user,
            &token_hash(&token),
            replaces.as_deref(),
            now,
        )
        .await?;
    let max_age = state.config.session_limits.absolute.num_seconds();
    let cookie = session_cookie_header(&token, max_age, state.config.https());
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(SessionView {
            user: candidate.user,
            must_change_password: candidate.must_change_password,
        }),
    )
        .into_response())
}

/// Signs out. When the session came from an identity provider that can end its own
/// session too, the answer says where (`SignedOut`), for the portal to offer; otherwise it
/// is empty (204).
#[utoipa::path(
    delete,
    path = "/session",
    operation_id = "session_logout",
    tag = "session",
    // Without a session it signs out nothing and says so the same way.
    security((), ("session" = [])),
    responses(
        (status = 204, description = "Signed out: the session cookie is cleared"),
        (
            status = 200,
            description = "Signed out here; the identity provider's own session ends at `end_session_url`",
            body = SignedOut,
        ),
    ),
)]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let mut provider = None;
    if let Some(token) = session_cookie(&headers) {
        provider = state
            .store
            .close_session(&token_hash(&token), state.clock.now())
            .await?;
    }
    let cookie = session_cookie_header("", 0, state.config.https());
    if let Some(id) = provider
        && let Some(view) = state.oidc.view(&id)
        && let Some(end_session_url) = state.oidc.end_session_url(&id).await
    {
        let signed_out = SignedOut {
            end_session_url,
            provider: view,
        };
        return Ok(([(header::SET_COOKIE, cookie)], Json(signed_out)).into_response());
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Who is calling: a signed-in person, or an identity with its token (as its principal,
/// `identity_id` set, with nothing waiting for it).
#[utoipa::path(
    get,
    path = "/me",
    operation_id = "session_me",
    tag = "session",
    security(("session" = []), ("identity_token" = [])),
    responses((status = 200, body = MeView)),
)]
pub async fn me(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
) -> Result<Json<MeView>, AppError> {
    let (user, must_change_password) = match bearer_token(&headers) {
        Some(token) => (
            token_caller(&state, token)
                .await?
                .ok_or(AppError::InvalidToken)?,
            false,
        ),
        None => {
            let at = Position::now(&state.live);
            let session = live_session(&state, &headers)
                .await?
                .ok_or(AppError::Unauthenticated)?
                .session;
            Position::note(&extensions, at);
            (session.user, session.must_change_password)
        }
    };
    let approvals_waiting = state.store.approvals_waiting(&user).await?;
    let identities_owned = state
        .store
        .identities_owned(&user, state.clock.now())
        .await?;
    let (reviews_waiting, reviews_overdue) = state
        .store
        .reviews_waiting(&user, state.clock.now())
        .await?;
    let campaign_items_waiting = state
        .store
        .campaigns(&user)
        .await?
        .iter()
        .filter(|c| c.closed_at.is_none())
        .map(|c| c.mine_open)
        .sum();
    let proposals_waiting = state.store.proposals_awaiting(&user).await?;
    let signs_in_with = state
        .store
        .sso_provider_of(user.id)
        .await?
        .and_then(|id| state.oidc.view(&id));
    Ok(Json(MeView {
        user,
        must_change_password,
        approvals_waiting,
        reviews_waiting,
        reviews_overdue,
        identities_owned,
        campaign_items_waiting,
        proposals_waiting,
        single_admin: state.config.single_admin,
        signs_in_with,
    }))
}

/// `PUT /me/password`: the current password, then a new one. A wrong current password
/// counts toward the sign-in throttle; the user's other sessions end.
#[utoipa::path(
    put,
    path = "/me/password",
    operation_id = "session_change_password",
    tag = "session",
    request_body = PasswordChangeBody,
    responses((status = 204, description = "Changed; other sessions are ended")),
)]
pub async fn change_password(
    State(state): State<AppState>,
    CurrentSession { token, session }: CurrentSession,
    ApiJson(body): ApiJson<PasswordChangeBody>,
) -> Result<StatusCode, AppError> {
    let now = state.clock.now();
    let user = session.user;
    let gate = PasswordGate::check(&state, &user.username, now).await?;
    stint_core::admin::check_password("new_password", &body.new_password)?;
    if body.new_password == body.current_password {
        return Err(RuleError::invalid(
            "new_password",
            "the new password must differ from the current one",
        )
        .into());
    }
    let stored = state
        .store
        .login_candidate(&user.username)
        .await?
        .map(|c| c.password_hash)
        .ok_or(AppError::Unauthenticated)?;
    let PasswordChangeBody {
        current_password,
        new_password,
    } = body;
    let (matches, new_hash) = tokio::task::spawn_blocking(move || {
        let matches = crate::password::verify(&current_password, &stored);
        (
            matches,
            matches.then(|| crate::password::hash(&new_password)),
        )
    })
    .await
    .expect("hashing does not panic");
    let Some(new_hash) = new_hash.filter(|_| matches) else {
        let actor = Actor::User(&user);
        gate.failed(
            &state,
            "user.password_change_failed",
            actor,
            Some(user.id),
            json!({}),
            now,
        )
        .await?;
        return Err(RuleError::invalid("current_password", "that is not your password").into());
    };
    state
        .store
        .change_password(&user, &new_hash, &token_hash(&token), now)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn session_cookie_header(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are base64url")
}
