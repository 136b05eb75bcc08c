//! Identities and resources as everyone reads them, and the declarations of accountability
//! owners make for identities.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentCaller, CurrentUser, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use stint_core::api::{DeclareBody, IdentityDetail, IdentityView, ResourceView, StepDownBody};
use stint_core::visibility;

/// The identities, with their owners.
#[utoipa::path(
    get,
    path = "/identities",
    operation_id = "catalog_identities",
    tag = "catalog",
    responses((status = 200, body = Vec<IdentityView>)),
)]
pub async fn identities(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<IdentityView>>, AppError> {
    Ok(Json(
        state.store.identities(&user, state.clock.now()).await?,
    ))
}

/// An identity with its owners, pending declarations and history.
#[utoipa::path(
    get,
    path = "/identities/{id}",
    operation_id = "catalog_identity",
    tag = "catalog",
    params(("id" = i64, Path, description = "The identity")),
    responses((status = 200, body = IdentityDetail)),
)]
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

/// Declares ownership of an identity: accountability, with a statement and an end date.
#[utoipa::path(
    post,
    path = "/identities/{id}/ownership",
    operation_id = "catalog_declare",
    tag = "catalog",
    params(("id" = i64, Path, description = "The identity")),
    request_body = DeclareBody,
    responses(
        (
            status = 200,
            description = "Declared (a takeover waits for the current owner or an admin)",
            body = IdentityDetail,
        ),
    ),
)]
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

/// Steps down as an owner of an identity.
#[utoipa::path(
    post,
    path = "/identities/{id}/ownership/step-down",
    operation_id = "catalog_step_down",
    tag = "catalog",
    params(("id" = i64, Path, description = "The identity")),
    request_body = StepDownBody,
    responses((status = 200, body = IdentityDetail)),
)]
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
#[utoipa::path(
    post,
    path = "/identities/{id}/ownership/{declaration}/confirm",
    operation_id = "catalog_confirm_takeover",
    tag = "catalog",
    params(
        ("id" = i64, Path, description = "The identity"),
        ("declaration" = i64, Path, description = "The pending declaration"),
    ),
    responses((status = 200, body = IdentityDetail)),
)]
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
#[utoipa::path(
    get,
    path = "/resources",
    operation_id = "catalog_resources",
    tag = "catalog",
    security(("session" = []), ("identity_token" = [])),
    responses((status = 200, body = Vec<ResourceView>)),
)]
pub async fn resources(
    State(state): State<AppState>,
    CurrentCaller(_caller): CurrentCaller,
) -> Result<Json<Vec<ResourceView>>, AppError> {
    Ok(Json(state.store.resources().await?))
}

/// A resource; with how its recent grants were used, for those who see all access.
#[utoipa::path(
    get,
    path = "/resources/{id}",
    operation_id = "catalog_resource",
    tag = "catalog",
    security(("session" = []), ("identity_token" = [])),
    params(("id" = i64, Path, description = "The resource")),
    responses((status = 200, body = ResourceView)),
)]
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
