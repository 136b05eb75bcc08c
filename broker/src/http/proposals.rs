//! Four eyes: changes that widen access, proposed by one admin and decided by another.
//! Admins and auditors read them; admins decide.

use super::AppState;
use super::admin::Admin;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use super::query;
use axum::Json;
use axum::extract::{Path, Query, State};
use stint_core::four_eyes::{ProposalState, ProposalView, RejectBody};

/// `GET /proposals?state=pending|approved|rejected|withdrawn|all` (all by default), newest
/// first.
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

pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ProposalView>, AppError> {
    Ok(Json(state.store.proposal(&user, parse_id(&id)?).await?))
}

/// A second admin approves: the change applies now.
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
