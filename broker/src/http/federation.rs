//! Workload federation: admins register trusted issuers; workloads exchange their tokens
//! at `POST /token` (RFC 8693), answered in OAuth's error shape (RFC 6749 §5.2), which
//! OAuth clients read.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use crate::store::audit::ORIGIN;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stint_core::federation::{self, ExchangedToken, IdentityRuleView, IssuerBody, IssuerView};

/// Trusts an issuer of workload tokens (CI, Kubernetes) and says how its tokens map to identities.
#[utoipa::path(
    post,
    path = "/federation/issuers",
    operation_id = "federation_register",
    tag = "admin",
    request_body = IssuerBody,
    responses((status = 201, body = IssuerView)),
)]
pub async fn register(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<IssuerBody>,
) -> Result<(StatusCode, Json<IssuerView>), AppError> {
    let view = state
        .store
        .register_issuer(&user, &body, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Trusted issuers of workload tokens, with their rules.
#[utoipa::path(
    get,
    path = "/federation/issuers",
    operation_id = "federation_issuers",
    tag = "admin",
    responses((status = 200, body = Vec<IssuerView>)),
)]
pub async fn issuers(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<IssuerView>>, AppError> {
    Ok(Json(state.store.issuers(&user).await?))
}

/// `GET /identities/{id}/federation-rules`: which platforms' jobs may act as it.
#[utoipa::path(
    get,
    path = "/identities/{id}/federation-rules",
    operation_id = "federation_identity_rules",
    tag = "catalog",
    params(("id" = i64, Path, description = "The identity")),
    responses((status = 200, body = Vec<IdentityRuleView>)),
)]
pub async fn identity_rules(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<IdentityRuleView>>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .store
            .identity_federation_rules(&user, id, state.clock.now())
            .await?,
    ))
}

/// RFC 8693's request; other parameters it defines (`audience`, `scope`, actor tokens) are
/// ignored: the rule the token matches decides what it becomes.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ExchangeRequest {
    grant_type: Option<String>,
    subject_token: Option<String>,
    subject_token_type: Option<String>,
}

/// `POST /api/v1/token`: form-encoded (as RFC 8693 says) or JSON.
#[utoipa::path(
    post,
    path = "/token",
    operation_id = "federation_token",
    tag = "machines",
    security(()),
    request_body(content((ExchangeRequest = "application/x-www-form-urlencoded"), (ExchangeRequest = "application/json")), description = "RFC 8693 token exchange: a workload's token from a trusted issuer"),
    responses(
        (
            status = 200,
            description = "A Stint access token for the identity the matching rule names",
            body = ExchangedToken,
        ),
        (
            status = "4XX",
            description = "RFC 6749 error, with Stint's reason and the field at fault",
            body = OAuthErrorBody,
        ),
    ),
)]
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match exchange(&state, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    within_rate(state)?;
    let request = parse(headers, body)?;
    let grant_type = required(request.grant_type, "grant_type")?;
    if grant_type != federation::GRANT_TYPE {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type must be {}", federation::GRANT_TYPE),
        ));
    }
    let token = required(request.subject_token, "subject_token")?;
    let token_type = required(request.subject_token_type, "subject_token_type")?;
    // An OIDC ID token is a JWT too (GitLab's and Kubernetes' are sent as either).
    if token_type != federation::JWT_TOKEN_TYPE && token_type != ID_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(
            "subject_token_type",
            format!("subject_token_type must be {}", federation::JWT_TOKEN_TYPE),
        ));
    }
    let now = state.clock.now();
    let outcome = crate::federation::exchange(&*state.store, &state.federation, &token, now)
        .await
        .map_err(|e| OAuthError::from(AppError::from(e)))?;
    match outcome {
        Ok(issued) => Ok(Json(issued).into_response()),
        Err(refusal) => Err(OAuthError {
            reason: Some(refusal.code()),
            ..OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_grant", refusal.message())
        }),
    }
}

const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

fn parse(headers: &HeaderMap, body: &[u8]) -> Result<ExchangeRequest, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    match essence {
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(body)
            .map_err(|e| OAuthError::invalid_request("body", format!("unreadable form: {e}"))),
        "application/json" => serde_json::from_slice(body)
            .map_err(|e| OAuthError::invalid_request("body", format!("unreadable JSON: {e}"))),
        _ => Err(OAuthError::invalid_request(
            "body",
            "send application/x-www-form-urlencoded (or JSON)",
        )),
    }
}

fn required(value: Option<String>, field: &'static str) -> Result<String, OAuthError> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(field, format!("{field} is required")))
}

/// Exchanges per calling address: enough for any fleet of jobs behind one address, and a
/// bound on what a flood of junk costs.
fn within_rate(state: &AppState) -> Result<(), OAuthError> {
    let key = ORIGIN
        .try_with(|o| o.source_ip.clone())
        .ok()
        .flatten()
        .unwrap_or_default();
    super::rate_limit::within_limit(&state.exchange_limiter, &key).map_err(OAuthError::from)
}

/// RFC 6749 §5.2's error body, with the field at fault and Stint's reason code added.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    reason: Option<&'static str>,
    field: Option<&'static str>,
    /// When to try again, for a refusal that is not the request's fault.
    retry_after: Option<HeaderValue>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            reason: None,
            field: None,
            retry_after: None,
        }
    }

    fn invalid_request(field: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            field: Some(field),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
        }
    }
}

impl From<AppError> for OAuthError {
    fn from(e: AppError) -> Self {
        // Keep the API's own answer for what is not the request's fault (rate, outages).
        let response = e.into_response();
        let status = response.status();
        let error = if status == StatusCode::TOO_MANY_REQUESTS {
            "slow_down"
        } else {
            "server_error"
        };
        let description = if status.is_server_error() {
            "the broker could not complete this; it has been logged".to_string()
        } else {
            "too many exchanges from this address; try again shortly".to_string()
        };
        OAuthError {
            retry_after: response.headers().get(header::RETRY_AFTER).cloned(),
            ..Self::new(status, error, description)
        }
    }
}

/// The body of a refused exchange.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    /// RFC 6749's code: `invalid_request`, `invalid_grant`, `unsupported_grant_type`,
    /// `slow_down`, `server_error`.
    error: &'static str,
    error_description: String,
    /// Why Stint refused the token, when it was the token.
    reason: Option<&'static str>,
    /// The parameter at fault, when one was.
    field: Option<&'static str>,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.error,
            error_description: self.description,
            reason: self.reason,
            field: self.field,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        response
    }
}
