//! Token introspection (RFC 7662) for authenticated callers, rate-limited per caller, and
//! the resource client credentials it is called with.

use super::AppState;
use super::admin::Admin;
use super::error::AppError;
use super::extract::{ApiJson, live_session, parse_id, session_cookie};
use crate::credential::{random_bytes, token_hash};
use crate::store::IntrospectionCaller;
use crate::store::audit::ORIGIN;
use crate::usage::Use;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use stint_core::api::{
    CSRF_HEADER, IntrospectBody, IntrospectView, IntrospectionCredentialsView, UserView,
};

/// What a resource's client secret starts with, so scanners and people recognise it.
pub const SECRET_PREFIX: &str = "stint_rs_";

/// RFC 7662 §2.1: the caller authenticates. A resource server sends its client
/// credentials (HTTP Basic, or its secret as a Bearer token); a person their session
/// (with the CSRF header, as for every cookie-borne call). A token the broker did not
/// issue, whose grant has ended, or that is not the caller's business is just inactive.
#[utoipa::path(
    post,
    path = "/introspect",
    operation_id = "introspection_introspect",
    tag = "machines",
    security(("introspection_client" = []), ("session" = [])),
    request_body = IntrospectBody,
    responses(
        (
            status = 200,
            description = "Whether the credential is active now, and for what",
            body = IntrospectView,
        ),
    ),
)]
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<IntrospectBody>,
) -> Result<Json<IntrospectView>, AppError> {
    let token = token_hash(body.token.trim());
    let now = state.clock.now();
    let issuer = state.keyring.issuer();
    let Some(secret) = client_authorization(&headers)? else {
        // A person: known before any lookup, so one over the rate costs nothing more.
        let person = person(&state, &headers).await?;
        within_rate(&state, &IntrospectionCaller::Person(person.clone()))?;
        return Ok(Json(
            state.store.introspect(&person, &token, now, issuer).await?,
        ));
    };
    // A resource server: found together with the token, in one query; one over its rate
    // learns nothing from it.
    let introspected = state
        .store
        .introspect_as_resource(&token_hash(&secret), &token, now, issuer)
        .await?
        .ok_or(AppError::ClientUnauthenticated)?;
    within_rate(&state, &introspected.caller)?;
    // A resource's server checking a live token of its own: the grant is in use.
    if let Some(grant_id) = introspected.used {
        state
            .usage
            .record(grant_id, Use::Introspection, now, caller_address());
    }
    Ok(Json(introspected.view))
}

/// Refuses a caller over its introspection rate.
fn within_rate(state: &AppState, caller: &IntrospectionCaller) -> Result<(), AppError> {
    super::rate_limit::within_limit(&state.introspection_limiter, &caller.rate_key())
}

/// The client secret of a resource server's `Authorization` header, if it sent one.
fn client_authorization(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    headers
        .get(header::AUTHORIZATION)
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(client_secret)
                .ok_or(AppError::ClientUnauthenticated)
        })
        .transpose()
}

/// A signed-in person introspecting from the portal: with the CSRF header, as for every
/// cookie-borne call.
async fn person(state: &AppState, headers: &HeaderMap) -> Result<UserView, AppError> {
    if session_cookie(headers).is_none() {
        return Err(AppError::ClientUnauthenticated);
    }
    if headers.get(CSRF_HEADER).is_none() {
        return Err(AppError::Csrf(
            "state-changing calls need the x-stint-csrf header",
        ));
    }
    live_session(state, headers)
        .await?
        .map(|s| s.session)
        .filter(|s| !s.must_change_password)
        .map(|s| s.user)
        .ok_or(AppError::ClientUnauthenticated)
}

/// The secret of `Basic base64(client_id:client_secret)` or `Bearer secret`. The client id
/// (the resource's name) is not trusted: the secret alone names the resource.
fn client_secret(authorization: &str) -> Option<String> {
    let (scheme, value) = authorization.split_once(' ')?;
    let secret = if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
        decoded.split_once(':')?.1.to_string()
    } else if scheme.eq_ignore_ascii_case("bearer") {
        value.trim().to_string()
    } else {
        return None;
    };
    secret.starts_with(SECRET_PREFIX).then_some(secret)
}

/// `POST /resources/{id}/introspection-credentials`: new client credentials for a resource
/// server, shown once; the previous secret stops working.
#[utoipa::path(
    post,
    path = "/resources/{id}/introspection-credentials",
    operation_id = "introspection_create_credentials",
    tag = "admin",
    params(("id" = i64, Path, description = "The resource")),
    responses(
        (
            status = 201,
            description = "New client credentials, shown this once; the old ones stop working",
            body = IntrospectionCredentialsView,
        ),
    ),
)]
pub async fn create_credentials(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<IntrospectionCredentialsView>), AppError> {
    let id = parse_id(&id)?;
    let secret = format!(
        "{SECRET_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    );
    let now = state.clock.now();
    let name = state
        .store
        .set_introspection_secret(&admin, id, &token_hash(&secret), now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IntrospectionCredentialsView {
            client_id: name,
            client_secret: secret,
            created_at: now,
        }),
    ))
}

/// The calling address, for usage evidence: the TCP peer, as the audit trail records it.
pub(super) fn caller_address() -> Option<String> {
    ORIGIN.try_with(|o| o.source_ip.clone()).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_basic_and_bearer_client_secrets() {
        let secret = format!("{SECRET_PREFIX}abc");
        let basic = STANDARD.encode(format!("payments-db:{secret}"));
        assert_eq!(
            client_secret(&format!("Basic {basic}")),
            Some(secret.clone())
        );
        assert_eq!(client_secret(&format!("bearer {secret}")), Some(secret));
        assert_eq!(client_secret("Bearer eyJhbGciOi.not.ours"), None);
        assert_eq!(client_secret("Basic !!!"), None);
        assert_eq!(client_secret("Digest x"), None);
    }
}
