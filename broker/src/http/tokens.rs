//! An identity's API tokens: minted (shown once), listed without secrets, revoked.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use stint_core::api::{IdentityTokenView, IssuedIdentityToken, NewIdentityTokenBody};

/// Mints an API token for an identity (an owner, or an admin): shown once, stored only as a
/// hash.
#[utoipa::path(
    post,
    path = "/identities/{id}/tokens",
    operation_id = "tokens_mint",
    tag = "catalog",
    params(("id" = i64, Path, description = "The identity")),
    request_body = NewIdentityTokenBody,
    responses(
        (
            status = 201,
            description = "Minted: the token is shown this once",
            body = IssuedIdentityToken,
        ),
    ),
)]
pub async fn mint(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewIdentityTokenBody>,
) -> Result<(StatusCode, Json<IssuedIdentityToken>), AppError> {
    let id = parse_id(&id)?;
    let issued = state
        .store
        .mint_identity_token(&user, id, &body, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// An identity's API tokens (their hashes never leave the broker).
#[utoipa::path(
    get,
    path = "/identities/{id}/tokens",
    operation_id = "tokens_list",
    tag = "catalog",
    params(("id" = i64, Path, description = "The identity")),
    responses((status = 200, body = Vec<IdentityTokenView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<IdentityTokenView>>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .store
            .identity_tokens(&user, id, state.clock.now())
            .await?,
    ))
}

/// Revokes an identity's API token.
#[utoipa::path(
    delete,
    path = "/identities/{id}/tokens/{token_id}",
    operation_id = "tokens_revoke",
    tag = "catalog",
    params(
        ("id" = i64, Path, description = "The identity"),
        ("token_id" = i64, Path, description = "The token"),
    ),
    responses((status = 204, description = "Revoked")),
)]
pub async fn revoke(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let (id, token_id) = (parse_id(&id)?, parse_id(&token_id)?);
    state
        .store
        .revoke_identity_token(&user, id, token_id, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
