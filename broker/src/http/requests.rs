//! Access requests: filing, listing, and the decisions on them.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use crate::store::RequestFilter;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use std::collections::HashMap;
use stint_core::RequestState;
use stint_core::api::{ApproveBody, DenyBody, NewRequestBody, Page, RequestDetail, RequestView};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub async fn file(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<NewRequestBody>,
) -> Result<(StatusCode, Json<RequestDetail>), AppError> {
    let now = state.clock.now();
    let id = state
        .store
        .file_request(&user, &body, now, state.config.pending_ttl)
        .await?;
    let detail = state.store.request_detail(&user, id, now).await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Page<RequestView>>, AppError> {
    let filter = RequestFilter {
        state: match query.get("state").map(String::as_str) {
            None | Some("") | Some("all") => None,
            Some(s) => Some(RequestState::parse(s).ok_or_else(|| {
                AppError::bad_input(
                    "state",
                    format!(
                        "unknown state `{s}`: use pending, approved, denied, cancelled or expired"
                    ),
                )
            })?),
        },
        mine: flag(&query, "mine")?,
        awaiting_me: flag(&query, "awaiting_me")?,
        before_id: query.get("cursor").map(|c| parse_id(c)).transpose()?,
        limit: match query.get("limit") {
            None => DEFAULT_PAGE,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .ok_or_else(|| {
                    AppError::bad_input("limit", format!("limit must be 1 to {MAX_PAGE}"))
                })?,
        },
        now: state.clock.now(),
    };
    let items = state.store.requests(&user, &filter).await?;
    let next_cursor = if items.len() as u32 == filter.limit {
        items.last().map(|r| r.id)
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }))
}

fn flag(query: &HashMap<String, String>, name: &str) -> Result<bool, AppError> {
    match query.get(name).map(String::as_str) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(other) => Err(AppError::bad_input(
            name,
            format!("`{other}` is not true or false"),
        )),
    }
}

pub async fn detail(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .store
            .request_detail(&user, id, state.clock.now())
            .await?,
    ))
}

pub async fn approve(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> Result<Json<RequestDetail>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.approve(&user, id, &body, now).await?;
    Ok(Json(state.store.request_detail(&user, id, now).await?))
}

pub async fn deny(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DenyBody>,
) -> Result<Json<RequestDetail>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.deny(&user, id, &body.comment, now).await?;
    Ok(Json(state.store.request_detail(&user, id, now).await?))
}

pub async fn cancel(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.cancel(&user, id, now).await?;
    Ok(Json(state.store.request_detail(&user, id, now).await?))
}
