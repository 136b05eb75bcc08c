//! Access review campaigns: started by admins and auditors, answered item by item by the
//! people each item is for, closed for good.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use stint_core::campaigns::{CampaignDetail, CampaignView, DecisionBody, NewCampaignBody};

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<CampaignView>>, AppError> {
    Ok(Json(state.store.campaigns(&user).await?))
}

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

pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<CampaignDetail>, AppError> {
    Ok(Json(state.store.campaign(&user, parse_id(&id)?).await?))
}

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
