//! Access requests: filing, listing, and the decisions on them.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentCaller, CurrentUser, parse_id};
use super::openapi::{RequestListParams, SearchParams};
use super::query;
use crate::store::RequestFilter;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use stint_core::api::{ApproveBody, DenyBody, NewRequestBody, Page, RequestDetail, RequestView};
use stint_core::query::RequestQuery;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// Files a request for access for a task: an identity, a resource, a privilege, how long, and why.
#[utoipa::path(
    post,
    path = "/requests",
    operation_id = "requests_file",
    tag = "requests",
    security(("session" = []), ("identity_token" = [])),
    request_body = NewRequestBody,
    responses(
        (
            status = 201,
            description = "Filed (and decided at once when an auto-approval rule covers it)",
            body = RequestDetail,
            links(
                ("detail" = (operation_id = "requests_detail", parameters(("id" = "$response.body#/id")))),
                ("approve" = (operation_id = "requests_approve", parameters(("id" = "$response.body#/id")))),
            ),
        ),
    ),
)]
pub async fn file(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
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

/// Requests the caller may see, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/requests",
    operation_id = "requests_list",
    tag = "requests",
    security(("session" = []), ("identity_token" = [])),
    params(RequestListParams, SearchParams),
    responses((status = 200, description = "Newest first", body = Page<RequestView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
    Query(params): Query<query::Params>,
) -> Result<Json<Page<RequestView>>, AppError> {
    let asked = RequestQuery::parse(&params).map_err(query::refused)?;
    let filter = RequestFilter {
        state: asked.state,
        mine: asked.mine,
        awaiting_me: asked.awaiting_me,
        search: asked.search,
        before_id: asked.cursor,
        limit: query::page_size(asked.limit, DEFAULT_PAGE, MAX_PAGE)?,
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

/// A request with its timeline, its grant and what bears on deciding it.
#[utoipa::path(
    get,
    path = "/requests/{id}",
    operation_id = "requests_detail",
    tag = "requests",
    security(("session" = []), ("identity_token" = [])),
    params(("id" = i64, Path, description = "The request")),
    responses((status = 200, body = RequestDetail)),
)]
pub async fn detail(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
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

/// Approves a request (an approver of its resource, never its requester); optionally for less time.
#[utoipa::path(
    post,
    path = "/requests/{id}/approve",
    operation_id = "requests_approve",
    tag = "requests",
    params(("id" = i64, Path, description = "The request")),
    request_body = ApproveBody,
    responses(
        (
            status = 200,
            description = "Approved; with the last approval needed, the grant is issued",
            body = RequestDetail,
            links(
                ("credential" = (operation_id = "grants_credential", parameters(("id" = "$response.body#/grant/id")))),
            ),
        ),
    ),
)]
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

/// Denies a request, saying why.
#[utoipa::path(
    post,
    path = "/requests/{id}/deny",
    operation_id = "requests_deny",
    tag = "requests",
    params(("id" = i64, Path, description = "The request")),
    request_body = DenyBody,
    responses((status = 200, body = RequestDetail)),
)]
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

/// Withdraws a pending request (its requester).
#[utoipa::path(
    post,
    path = "/requests/{id}/cancel",
    operation_id = "requests_cancel",
    tag = "requests",
    security(("session" = []), ("identity_token" = [])),
    params(("id" = i64, Path, description = "The request")),
    responses((status = 200, body = RequestDetail)),
)]
pub async fn cancel(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.cancel(&user, id, now).await?;
    Ok(Json(state.store.request_detail(&user, id, now).await?))
}
