//! Signing in and out, and who is signed in.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, SESSION_COOKIE, session_cookie};
use crate::credential::{random_bytes, token_hash};
use crate::store::audit::{Actor, ORIGIN};
use crate::store::{FailedPassword, account_key, address_key};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use stint_core::RuleError;
use stint_core::api::{LoginBody, MeView, PasswordChangeBody, SessionView};

/// The TCP peer of the call being served, if it came over a socket.
pub(super) fn client_address() -> Option<String> {
    ORIGIN.try_with(|o| o.source_ip.clone()).ok().flatten()
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let username = body.username.trim();
    let candidate = state.store.login_candidate(username).await?;
    // A name no account has is often a password typed in the wrong field: it is counted
    // and recorded only as a keyed hash.
    let pseudonym = candidate
        .is_none()
        .then(|| state.key_file.pseudonym(username));
    let account = match &pseudonym {
        Some(p) => account_key(&format!("?{p}")),
        None => account_key(username),
    };
    let address = client_address();
    let keys: Vec<String> = std::iter::once(account.clone())
        .chain(address.as_deref().map(address_key))
        .collect();
    // Checked before the password is: a locked caller costs the broker no hash either.
    if let Some(until) = state.store.login_locked_until(&keys, now).await? {
        return Err(AppError::throttled_until(until, now));
    }
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
        let attempt = FailedPassword {
            action: "session.login_failed",
            actor,
            target_user: None,
            account_key: account,
            address_key: address.as_deref().map(address_key),
            details,
        };
        state.store.record_failed_password(&attempt, now).await?;
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

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(token) = session_cookie(&headers) {
        state
            .store
            .close_session(&token_hash(&token), state.clock.now())
            .await?;
    }
    let cookie = session_cookie_header("", 0, state.config.https());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

pub async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    CurrentUser(user): CurrentUser,
) -> Result<Json<MeView>, AppError> {
    let token = session_cookie(&headers).ok_or(AppError::Unauthenticated)?;
    let must_change_password = state
        .store
        .session_user(
            &token_hash(&token),
            state.clock.now(),
            state.config.session_limits,
        )
        .await?
        .is_some_and(|s| s.must_change_password);
    let approvals_waiting = state.store.approvals_waiting(&user).await?;
    let (reviews_waiting, reviews_overdue) = state
        .store
        .reviews_waiting(&user, state.clock.now())
        .await?;
    Ok(Json(MeView {
        user,
        must_change_password,
        approvals_waiting,
        reviews_waiting,
        reviews_overdue,
    }))
}

/// `PUT /me/password`: the current password, then a new one. A wrong current password
/// counts toward the sign-in throttle; the user's other sessions end.
pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<PasswordChangeBody>,
) -> Result<StatusCode, AppError> {
    let now = state.clock.now();
    let account = account_key(&user.username);
    let address = client_address().map(|ip| address_key(&ip));
    let keys: Vec<String> = std::iter::once(account.clone())
        .chain(address.clone())
        .collect();
    if let Some(until) = state.store.login_locked_until(&keys, now).await? {
        return Err(AppError::throttled_until(until, now));
    }
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
        let attempt = FailedPassword {
            action: "user.password_change_failed",
            actor: Actor::User(&user),
            target_user: Some(user.id),
            account_key: account,
            address_key: address,
            details: json!({}),
        };
        state.store.record_failed_password(&attempt, now).await?;
        return Err(RuleError::invalid("current_password", "that is not your password").into());
    };
    let token = session_cookie(&headers).ok_or(AppError::Unauthenticated)?;
    state
        .store
        .change_password(&user, &new_hash, &token_hash(&token), now)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn session_cookie_header(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are base64url")
}
