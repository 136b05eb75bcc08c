//! Access review campaigns: started by admins and auditors, answered item by item by the
//! people each item is for, closed for good.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use stint_core::campaigns::{CampaignDetail, CampaignView, DecisionBody, NewCampaignBody};

/// Access review campaigns.
#[utoipa::path(
    get,
    path = "/campaigns",
    operation_id = "campaigns_list",
    tag = "oversight",
    responses((status = 200, body = Vec<CampaignView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<CampaignView>>, AppError> {
    Ok(Json(state.store.campaigns(&user).await?))
}

/// Starts an access review: everything that gives access in its scope becomes an item put
/// to the person who must answer for it.
#[utoipa::path(
    post,
    path = "/campaigns",
    operation_id = "campaigns_start",
    tag = "oversight",
    request_body = NewCampaignBody,
    responses((status = 201, body = CampaignDetail)),
)]
pub async fn start(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<NewCampaignBody>,
) -> Result<(StatusCode, Json<CampaignDetail>), AppError> {
    let id = state
        .store
        .start_campaign(&user, &body, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.campaign(&user, id).await?),
    ))
}

/// A campaign with its items and their decisions.
#[utoipa::path(
    get,
    path = "/campaigns/{id}",
    operation_id = "campaigns_show",
    tag = "oversight",
    params(("id" = i64, Path, description = "The campaign")),
    responses((status = 200, body = CampaignDetail)),
)]
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CampaignDetail>, AppError> {
    Ok(Json(state.store.campaign(&user, parse_id(&id)?).await?))
}

/// Decides an item: keep it, change it or revoke it (a revocation is carried out at once).
#[utoipa::path(
    post,
    path = "/campaigns/{id}/items/{item}/decide",
    operation_id = "campaigns_decide",
    tag = "oversight",
    params(
        ("id" = i64, Path, description = "The campaign"),
        ("item" = i64, Path, description = "The item"),
    ),
    request_body = DecisionBody,
    responses((status = 200, body = CampaignDetail)),
)]
pub async fn decide(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, item)): Path<(String, String)>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<CampaignDetail>, AppError> {
    let id = parse_id(&id)?;
    state
        .store
        .decide_campaign_item(&user, id, parse_id(&item)?, &body, state.clock.now())
        .await?;
    Ok(Json(state.store.campaign(&user, id).await?))
}

/// Closes a campaign for good: its decisions are final, its undecided items stay so.
#[utoipa::path(
    post,
    path = "/campaigns/{id}/close",
    operation_id = "campaigns_close",
    tag = "oversight",
    params(("id" = i64, Path, description = "The campaign")),
    responses((status = 200, body = CampaignDetail)),
)]
pub async fn close(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CampaignDetail>, AppError> {
    let id = parse_id(&id)?;
    state
        .store
        .close_campaign(&user, id, state.clock.now())
        .await?;
    Ok(Json(state.store.campaign(&user, id).await?))
}
