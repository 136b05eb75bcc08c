//! Break-glass access and the review queue that governs it.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use super::openapi::{ReviewListParams, SearchParams};
use super::password_gate::PasswordGate;
use super::query;
use crate::store::ReviewFilter;
use crate::store::audit::Actor;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use stint_core::RuleError;
use stint_core::api::{BreakGlassBody, RequestDetail, ReviewBody, ReviewDetail, ReviewView};
use stint_core::query::ReviewQuery;

/// Takes access at once. The taker re-enters their password, checked before the
/// transaction so the slow hash never holds the database's write lock.
#[utoipa::path(
    post,
    path = "/break-glass",
    operation_id = "break_glass_take",
    tag = "break-glass",
    request_body = BreakGlassBody,
    responses(
        (
            status = 201,
            description = "Taken at once; a review is owed",
            body = RequestDetail,
            links(
                ("credential" = (operation_id = "grants_credential", parameters(("id" = "$response.body#/grant/id")))),
                ("release" = (operation_id = "grants_release", parameters(("id" = "$response.body#/grant/id")))),
            ),
        ),
    ),
)]
pub async fn take(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<BreakGlassBody>,
) -> Result<(StatusCode, Json<RequestDetail>), AppError> {
    let now = state.clock.now();
    // Re-entering the password counts toward the same throttle as signing in.
    let gate = PasswordGate::check(&state, &user.username, now).await?;
    let stored = state
        .store
        .login_candidate(&user.username)
        .await?
        .map(|c| c.password_hash)
        .ok_or(AppError::Unauthenticated)?;
    let password = body.password.clone();
    let matches = tokio::task::spawn_blocking(move || crate::password::verify(&password, &stored))
        .await
        .unwrap_or(false);
    if !matches {
        let details = serde_json::json!({ "identity_id": body.identity_id });
        let actor = Actor::User(&user);
        gate.failed(
            &state,
            "break_glass.password_failed",
            actor,
            Some(user.id),
            details,
            now,
        )
        .await?;
        return Err(RuleError::invalid("password", "that is not your password").into());
    }
    let taken = state
        .store
        .take_break_glass(&user, &body, now, state.config.break_glass_limit)
        .await?;
    let detail = state
        .store
        .request_detail(&user, taken.request_id, now)
        .await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// Break-glass reviews, searched like requests.
#[utoipa::path(
    get,
    path = "/reviews",
    operation_id = "break_glass_list",
    tag = "break-glass",
    params(ReviewListParams, SearchParams),
    responses((status = 200, body = Vec<ReviewView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(params): Query<query::Params>,
) -> Result<Json<Vec<ReviewView>>, AppError> {
    let asked = ReviewQuery::parse(&params).map_err(query::refused)?;
    let filter = ReviewFilter {
        status: asked.status,
        outcome: asked.outcome,
        search: asked.search,
        limit: query::page_size(asked.limit, 200, 1000)?,
    };
    Ok(Json(
        state
            .store
            .reviews(&user, filter, state.clock.now())
            .await?,
    ))
}

/// A break-glass review: the access taken, what was done with it, and the decision.
#[utoipa::path(
    get,
    path = "/reviews/{id}",
    operation_id = "break_glass_detail",
    tag = "break-glass",
    params(("id" = i64, Path, description = "The review")),
    responses((status = 200, body = ReviewDetail)),
)]
pub async fn detail(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ReviewDetail>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state.store.review(&user, id, state.clock.now()).await?,
    ))
}

/// Judges a break-glass access after the fact: justified or not (reviewers, never the one who took
/// it).
#[utoipa::path(
    post,
    path = "/reviews/{id}",
    operation_id = "break_glass_decide",
    tag = "break-glass",
    params(("id" = i64, Path, description = "The review")),
    request_body = ReviewBody,
    responses((status = 200, body = ReviewDetail)),
)]
pub async fn decide(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Result<Json<ReviewDetail>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.decide_review(&user, id, &body, now).await?;
    Ok(Json(state.store.review(&user, id, now).await?))
}
