//! Identities and resources, as requesters pick them.

use super::AppState;
use super::error::AppError;
use super::extract::{CurrentUser, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use stint_core::api::{IdentityView, ResourceView};

pub async fn identities(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<IdentityView>>, AppError> {
    Ok(Json(
        state.store.identities(&user, state.clock.now()).await?,
    ))
}

pub async fn identity(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<IdentityView>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state.store.identity(&user, id, state.clock.now()).await?,
    ))
}

pub async fn resources(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
) -> Result<Json<Vec<ResourceView>>, AppError> {
    Ok(Json(state.store.resources().await?))
}

pub async fn resource(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ResourceView>, AppError> {
    Ok(Json(state.store.resource(parse_id(&id)?).await?))
}
