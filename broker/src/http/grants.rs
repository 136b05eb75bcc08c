//! Grants, their credentials, extension, early revocation, and release by their holder.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentCaller, CurrentUser, parse_id};
use super::openapi::{GrantListParams, LiveAccessParams, SearchParams};
use super::query;
use crate::store::GrantFilter;
use crate::usage::Use;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use stint_core::api::{
    CredentialView, ExtendBody, GrantView, ReleaseBody, RequestDetail, RevokeBody,
};
use stint_core::oversight::{
    BulkRevokeBody, BulkRevokeOutcome, GrantKind, LIVE_ACCESS_SHOWN, LiveAccessFilter,
    LiveAccessView,
};
use stint_core::query::{GrantCursor, GrantQuery};

/// Grants the caller may see, soonest to end first: `state`, `access`, `mine`, the search
/// of the requests they came from (`q`, `ticket`, `identity_id`, `resource_id`,
/// `requester_id` for the holder, `since`/`until` for when they were asked for), `limit`.
#[utoipa::path(
    get,
    path = "/grants",
    operation_id = "grants_list",
    tag = "grants",
    security(("session" = []), ("identity_token" = [])),
    params(GrantListParams, SearchParams),
    responses(
        (
            status = 200,
            description = "Soonest to end first",
            body = Vec<GrantView>,
            headers(("stint-next-cursor" = String, description = "On a full page, the `cursor` of the next one; empty at the end")),
        ),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
    Query(params): Query<query::Params>,
) -> Result<([(&'static str, String); 1], Json<Vec<GrantView>>), AppError> {
    let asked = GrantQuery::parse(&params).map_err(query::refused)?;
    let filter = GrantFilter {
        state: asked.state,
        access: asked.access,
        mine: asked.mine,
        search: asked.search,
        limit: query::page_size(asked.limit, 200, 500)?,
        after: asked.cursor.map(|c| (c.ends_at_ms, c.id)),
    };
    let grants = state
        .store
        .grants(&user, &filter, state.clock.now())
        .await?;
    // A full page may have a next one: where it starts, as `cursor=` takes it.
    let next = grants
        .last()
        .filter(|_| grants.len() as u32 == filter.limit)
        .map(|g| {
            GrantCursor {
                ends_at_ms: g.expires_at.timestamp_millis(),
                id: g.id,
            }
            .to_string()
        })
        .unwrap_or_default();
    Ok(([(NEXT_CURSOR, next)], Json(grants)))
}

/// The header a full page of grants names the next one's `cursor` in (empty: no more).
pub const NEXT_CURSOR: &str = "stint-next-cursor";

/// A short-lived credential for an active grant the caller holds: shown once, never stored.
#[utoipa::path(
    post,
    path = "/grants/{id}/credential",
    operation_id = "grants_credential",
    tag = "grants",
    security(("session" = []), ("identity_token" = [])),
    params(("id" = i64, Path, description = "The grant")),
    responses(
        (
            status = 200,
            description = "A short-lived credential for the active grant, shown this once",
            body = CredentialView,
            links(
                ("release" = (operation_id = "grants_release", parameters(("id" = "$request.path.id")))),
            ),
        ),
    ),
)]
pub async fn credential(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
    Path(id): Path<String>,
) -> Result<Json<CredentialView>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    let credential = state
        .store
        .issue_credential(&user, id, now, &state.keyring, &state.outbox.connectors)
        .await?;
    let address = super::introspection::caller_address();
    state.usage.record(id, Use::CredentialFetch, now, address);
    Ok(Json(credential))
}

/// Ends a live grant early, with a reason (an owner of the identity, an approver, an admin;
/// a reviewer for break-glass).
#[utoipa::path(
    post,
    path = "/grants/{id}/revoke",
    operation_id = "grants_revoke",
    tag = "grants",
    params(("id" = i64, Path, description = "The grant")),
    request_body = RevokeBody,
    responses((status = 200, body = GrantView)),
)]
pub async fn revoke(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RevokeBody>,
) -> Result<Json<GrantView>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.revoke(&user, id, &body.reason, now).await?;
    Ok(Json(state.store.grant(&user, id, now).await?))
}

/// Every live grant the query's filter matches (admins and auditors): `resource_id`,
/// `identity_id`, `kind`, `privilege`, `holder_id`, `ends_within_secs`.
#[utoipa::path(
    get,
    path = "/grants/live",
    operation_id = "grants_live",
    tag = "oversight",
    params(LiveAccessParams),
    responses((status = 200, body = LiveAccessView)),
)]
pub async fn live(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(params): Query<query::Params>,
) -> Result<Json<LiveAccessView>, AppError> {
    let filter = LiveAccessFilter {
        resource_id: query::id(&params, "resource_id")?,
        identity_id: query::id(&params, "identity_id")?,
        kind: query::choice(&params, "kind", GrantKind::parse, GrantKind::CHOICES)?,
        privilege: query::text(&params, "privilege"),
        holder_id: query::id(&params, "holder_id")?,
        ends_within_secs: query::seconds(&params, "ends_within_secs")?,
    }
    .normalized()
    .map_err(query::refused)?;
    let most = LIVE_ACCESS_SHOWN as u32;
    let shown = query::limit(&params, most, most)? as usize;
    Ok(Json(
        state
            .store
            .live_access(&user, &filter, shown, state.clock.now())
            .await?,
    ))
}

/// Ends several grants for one reason: `{ids | filter, reason}`; what ended and what
/// could not, with why.
#[utoipa::path(
    post,
    path = "/grants/revoke",
    operation_id = "grants_revoke_many",
    tag = "oversight",
    request_body = BulkRevokeBody,
    responses((status = 200, body = BulkRevokeOutcome)),
)]
pub async fn revoke_many(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<BulkRevokeBody>,
) -> Result<Json<BulkRevokeOutcome>, AppError> {
    let now = state.clock.now();
    Ok(Json(state.store.bulk_revoke(&user, &body, now).await?))
}

/// A grant the caller may see.
#[utoipa::path(
    get,
    path = "/grants/{id}",
    operation_id = "grants_one",
    tag = "grants",
    security(("session" = []), ("identity_token" = [])),
    params(("id" = i64, Path, description = "The grant")),
    responses(
        (
            status = 200,
            body = GrantView,
            links(
                ("credential" = (operation_id = "grants_credential", parameters(("id" = "$response.body#/id")))),
                ("extend" = (operation_id = "grants_extend", parameters(("id" = "$response.body#/id")))),
                ("release" = (operation_id = "grants_release", parameters(("id" = "$response.body#/id")))),
                ("revoke" = (operation_id = "grants_revoke", parameters(("id" = "$response.body#/id")))),
            ),
        ),
    ),
)]
pub async fn one(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
    Path(id): Path<String>,
) -> Result<Json<GrantView>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(state.store.grant(&user, id, state.clock.now()).await?))
}

/// The holder asks for more time on a live grant (`{duration_secs, justification}`): a
/// request linked to it, decided by the resource's policy; `201` with that request.
#[utoipa::path(
    post,
    path = "/grants/{id}/extend",
    operation_id = "grants_extend",
    tag = "grants",
    security(("session" = []), ("identity_token" = [])),
    params(("id" = i64, Path, description = "The grant")),
    request_body = ExtendBody,
    responses(
        (
            status = 201,
            description = "An extension request, decided like any other",
            body = RequestDetail,
        ),
    ),
)]
pub async fn extend(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ExtendBody>,
) -> Result<(StatusCode, Json<RequestDetail>), AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    let request_id = state
        .store
        .request_extension(&user, id, &body, now, state.config.pending_ttl)
        .await?;
    let detail = state.store.request_detail(&user, request_id, now).await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// The holder's task is over: the grant ends now (`{outcome: "completed"|"failed", note?}`).
#[utoipa::path(
    post,
    path = "/grants/{id}/release",
    operation_id = "grants_release",
    tag = "grants",
    security(("session" = []), ("identity_token" = [])),
    params(("id" = i64, Path, description = "The grant")),
    request_body = ReleaseBody,
    responses(
        (status = 200, description = "Given back by its holder before its end", body = GrantView),
    ),
)]
pub async fn release(
    State(state): State<AppState>,
    CurrentCaller(user): CurrentCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReleaseBody>,
) -> Result<Json<GrantView>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.release(&user, id, &body, now).await?;
    Ok(Json(state.store.grant(&user, id, now).await?))
}
