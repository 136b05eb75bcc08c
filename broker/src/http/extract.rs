//! Extractors: the signed-in user or an identity's token, JSON bodies and ids with errors
//! in the API's shape.

use super::AppState;
use super::error::AppError;
use super::position::Position;
use crate::credential::token_hash;
use crate::store::SessionUser;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use serde::de::DeserializeOwned;
use stint_core::api::UserView;

pub const SESSION_COOKIE: &str = "stint_session";

/// The user behind the request's session cookie; 401 without a live session. A user whose
/// password an admin reset gets 403 for everything but reading who they are, changing the
/// password and signing out.
pub struct CurrentUser(pub UserView);

/// The calls open to a user who must change their password first (paths as routed inside
/// `/api/v1`).
const OPEN_BEFORE_PASSWORD_CHANGE: [(Method, &str); 3] = [
    (Method::GET, "/me"),
    (Method::PUT, "/me/password"),
    (Method::DELETE, "/session"),
];

/// The live session behind the request's cookie, whatever it allows: for the few calls
/// that must work before a reset password is changed. 401 without one.
pub struct CurrentSession {
    /// The session id (the cookie's value).
    pub token: String,
    pub session: SessionUser,
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(token) = bearer_token(&parts.headers) {
            return Err(refuse_token(state, token).await);
        }
        let at = Position::now(&state.live);
        let session = live_session(state, &parts.headers)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Position::note(&parts.extensions, at);
        Ok(session)
    }
}

/// Whoever calls: a signed-in person (by the session cookie), or a non-human identity
/// speaking for itself with its `Authorization: Bearer` token, as its principal (no role,
/// `identity_id` set). A request with a Bearer token is judged by it alone, never by a
/// cookie it also carries, which is why such requests need no CSRF header.
pub struct CurrentCaller(pub UserView);

impl FromRequestParts<AppState> for CurrentCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match bearer_token(&parts.headers) {
            Some(token) => Ok(CurrentCaller(
                token_caller(state, token)
                    .await?
                    .ok_or(AppError::InvalidToken)?,
            )),
            None => Ok(CurrentCaller(
                CurrentUser::from_request_parts(parts, state).await?.0,
            )),
        }
    }
}

/// The credentials of an `Authorization: Bearer` header, if the request has one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The identity a Bearer token lets in now.
pub async fn token_caller(state: &AppState, token: &str) -> Result<Option<UserView>, AppError> {
    Ok(state.store.token_caller(token, state.clock.now()).await?)
}

/// A call for people made with a token: 403 when the token is good (so the refusal is
/// recorded against its identity), else 401.
async fn refuse_token(state: &AppState, token: &str) -> AppError {
    match token_caller(state, token).await {
        Ok(Some(_)) => AppError::PeopleOnly,
        Ok(None) => AppError::InvalidToken,
        Err(e) => e,
    }
}

/// The session the request's cookie names, if it is live (touching it).
pub async fn live_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, AppError> {
    let Some(token) = session_cookie(headers) else {
        return Ok(None);
    };
    let session = state
        .store
        .session_user(
            &token_hash(&token),
            state.clock.now(),
            state.config.session_limits,
        )
        .await?;
    Ok(session.map(|session| CurrentSession { token, session }))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let CurrentSession { session, .. } =
            CurrentSession::from_request_parts(parts, state).await?;
        let open = OPEN_BEFORE_PASSWORD_CHANGE
            .iter()
            .any(|(method, path)| parts.method == method && parts.uri.path() == *path);
        if session.must_change_password && !open {
            return Err(AppError::PasswordChangeRequired);
        }
        Ok(CurrentUser(session.user))
    }
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie `name`, unless it is missing or empty.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// `axum::Json`, with rejections answered in the API's error shape naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// A numeric id from the path.
pub fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::bad_input("id", format!("`{raw}` is not an id")))
}
