//! Identities and resources as everyone reads them, and the declarations of accountability
//! owners make for identities.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentCaller, CurrentUser, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use stint_core::api::{DeclareBody, IdentityDetail, IdentityView, ResourceView, StepDownBody};
use stint_core::visibility;

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
) -> Result<Json<IdentityDetail>, AppError> {
    let id = parse_id(&id)?;
    let max_days = state.config.max_attestation_days;
    Ok(Json(
        state
            .store
            .identity_detail(&user, id, state.clock.now(), max_days)
            .await?,
    ))
}

pub async fn declare(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeclareBody>,
) -> Result<Json<IdentityDetail>, AppError> {
    let id = parse_id(&id)?;
    let max_days = state.config.max_attestation_days;
    let now = state.clock.now();
    state
        .store
        .declare_ownership(&user, id, &body, now, max_days)
        .await?;
    Ok(Json(
        state
            .store
            .identity_detail(&user, id, now, max_days)
            .await?,
    ))
}

pub async fn step_down(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StepDownBody>,
) -> Result<Json<IdentityDetail>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.step_down(&user, id, &body.reason, now).await?;
    let max_days = state.config.max_attestation_days;
    Ok(Json(
        state
            .store
            .identity_detail(&user, id, now, max_days)
            .await?,
    ))
}

/// `POST /identities/{id}/ownership/{declaration}/confirm`: an admin vouches for a takeover.
pub async fn confirm_takeover(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, declaration)): Path<(String, String)>,
) -> Result<Json<IdentityDetail>, AppError> {
    let id = parse_id(&id)?;
    let declaration = parse_id(&declaration)?;
    let now = state.clock.now();
    state
        .store
        .confirm_takeover(&user, id, declaration, now)
        .await?;
    let max_days = state.config.max_attestation_days;
    Ok(Json(
        state
            .store
            .identity_detail(&user, id, now, max_days)
            .await?,
    ))
}

/// What may be asked for: open to identities' tokens too, so a pipeline can name a resource.
pub async fn resources(
    State(state): State<AppState>,
    CurrentCaller(_): CurrentCaller,
) -> Result<Json<Vec<ResourceView>>, AppError> {
    Ok(Json(state.store.resources().await?))
}

/// A resource; with how its recent grants were used, for those who see all access.
pub async fn resource(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
    Path(id): Path<String>,
) -> Result<Json<ResourceView>, AppError> {
    let id = parse_id(&id)?;
    let mut resource = state.store.resource(id).await?;
    if user.has_any(visibility::SEES_ALL_ACCESS) {
        resource.usage = Some(state.store.resource_usage(id, state.clock.now()).await?);
    }
    Ok(Json(resource))
}
