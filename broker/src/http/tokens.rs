//! An identity's API tokens: minted (shown once), listed without secrets, revoked.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use stint_core::api::{IdentityTokenView, IssuedIdentityToken, NewIdentityTokenBody};

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
