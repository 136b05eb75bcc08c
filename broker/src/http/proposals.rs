//! Four eyes: changes that widen access, proposed by one admin and decided by another.
//! Admins and auditors read them; admins decide.

use super::AppState;
use super::admin::Admin;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use super::openapi::ProposalListParams;
use super::query;
use axum::Json;
use axum::extract::{Path, Query, State};
use stint_core::four_eyes::{ProposalState, ProposalView, RejectBody};

/// `GET /proposals?state=pending|approved|rejected|withdrawn|all` (all by default), newest
/// first.
#[utoipa::path(
    get,
    path = "/proposals",
    operation_id = "proposals_list",
    tag = "admin",
    params(ProposalListParams),
    responses((status = 200, body = Vec<ProposalView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(params): Query<query::Params>,
) -> Result<Json<Vec<ProposalView>>, AppError> {
    let wanted = query::choice(
        &params,
        "state",
        ProposalState::parse,
        "pending, approved, rejected, withdrawn or all",
    )?;
    Ok(Json(state.store.proposals(&user, wanted).await?))
}

/// A proposal: what it changes, before and after, and who may decide it.
#[utoipa::path(
    get,
    path = "/proposals/{id}",
    operation_id = "proposals_show",
    tag = "admin",
    params(("id" = i64, Path, description = "The proposal")),
    responses((status = 200, body = ProposalView)),
)]
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ProposalView>, AppError> {
    Ok(Json(state.store.proposal(&user, parse_id(&id)?).await?))
}

/// A second admin approves: the change applies now.
#[utoipa::path(
    post,
    path = "/proposals/{id}/approve",
    operation_id = "proposals_approve",
    tag = "admin",
    params(("id" = i64, Path, description = "The proposal")),
    responses(
        (
            status = 200,
            description = "Approved by a second admin: the change applied",
            body = ProposalView,
        ),
    ),
)]
pub async fn approve(
    State(state): State<AppState>,
    Admin(user): Admin,
    Path(id): Path<String>,
) -> Result<Json<ProposalView>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .store
            .approve_proposal(
                &user,
                id,
                &state.outbox.connectors.views(),
                state.clock.now(),
            )
            .await?,
    ))
}

/// `{reason}`: another admin rejects; the proposer withdraws.
#[utoipa::path(
    post,
    path = "/proposals/{id}/reject",
    operation_id = "proposals_reject",
    tag = "admin",
    params(("id" = i64, Path, description = "The proposal")),
    request_body = RejectBody,
    responses(
        (status = 200, description = "Rejected (by its proposer: withdrawn)", body = ProposalView),
    ),
)]
pub async fn reject(
    State(state): State<AppState>,
    Admin(user): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<Json<ProposalView>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .store
            .reject_proposal(&user, id, &body, state.clock.now())
            .await?,
    ))
}
