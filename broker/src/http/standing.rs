//! Standing credentials: scanner imports, records made by hand, triage, mapping rules and
//! coverage. The rules for who may triage live in `stint_core::standing`.

use super::AppState;
use super::admin::Admin;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use super::openapi::{ImportParams, StandingListParams};
use super::query;
use crate::scan_report;
use crate::store::StandingFilter;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use stint_core::standing::{
    CoverageView, ImportSummary, MappingRuleBody, MappingRuleView, NewStandingBody, SecretSource,
    StandingStatus, StandingView, TriageBody,
};

/// Standing secrets found by scanners and recorded by hand, and how each is triaged.
#[utoipa::path(
    get,
    path = "/standing",
    operation_id = "standing_list",
    tag = "standing",
    params(StandingListParams),
    responses((status = 200, body = Vec<StandingView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(params): Query<query::Params>,
) -> Result<Json<Vec<StandingView>>, AppError> {
    let filter = StandingFilter {
        status: query::choice(
            &params,
            "status",
            StandingStatus::parse,
            "unmapped, mapped, false_positive, rotated or leaked_stint_credential",
        )?,
        identity_id: query::id(&params, "identity_id")?,
    };
    Ok(Json(
        state
            .store
            .standing(&user, filter, state.clock.now())
            .await?,
    ))
}

/// A standing secret with its triage history.
#[utoipa::path(
    get,
    path = "/standing/{id}",
    operation_id = "standing_one",
    tag = "standing",
    params(("id" = i64, Path, description = "The finding")),
    responses((status = 200, body = StandingView)),
)]
pub async fn one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<StandingView>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .store
            .standing_one(&user, id, state.clock.now())
            .await?,
    ))
}

/// Records a standing secret by hand.
#[utoipa::path(
    post,
    path = "/standing",
    operation_id = "standing_record",
    tag = "standing",
    request_body = NewStandingBody,
    responses((status = 201, body = StandingView)),
)]
pub async fn record(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<NewStandingBody>,
) -> Result<(StatusCode, Json<StandingView>), AppError> {
    let now = state.clock.now();
    let id = state.store.record_standing(&user, &body, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.standing_one(&user, id, now).await?),
    ))
}

/// Triages a standing secret: mapped, false positive, rotated.
#[utoipa::path(
    post,
    path = "/standing/{id}/triage",
    operation_id = "standing_triage",
    tag = "standing",
    params(("id" = i64, Path, description = "The finding")),
    request_body = TriageBody,
    responses((status = 200, body = StandingView)),
)]
pub async fn triage(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TriageBody>,
) -> Result<Json<StandingView>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.triage_standing(&user, id, &body, now).await?;
    Ok(Json(state.store.standing_one(&user, id, now).await?))
}

/// `POST /standing/import?source=NAME[&format=TOOL][&partial=true]`, the report as the
/// body. Admins only. A report that cannot be read whole imports nothing.
#[utoipa::path(
    post,
    path = "/standing/import",
    operation_id = "standing_import",
    tag = "standing",
    params(ImportParams),
    request_body(
        content = String,
        content_type = "application/octet-stream",
        description = "The scanner's report as it wrote it (JSON, or trufflehog's JSON lines), \
                       whatever its content type",
    ),
    responses((status = 200, body = ImportSummary)),
)]
pub async fn import(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Query(params): Query<query::Params>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportSummary>, AppError> {
    let source = query::text(&params, "source").ok_or_else(|| {
        AppError::bad_input(
            "source",
            "name what was scanned (a repository, a CI system)",
        )
    })?;
    let format = query::choice(
        &params,
        "format",
        SecretSource::parse,
        "detect-secrets, gitleaks or trufflehog",
    )?;
    let partial = query::flag(&params, "partial")?;
    let body = body.map_err(|rejection| AppError::BadInput {
        status: rejection.status(),
        field: Some("report".into()),
        message: format!(
            "the report could not be read ({}); at most {} bytes are accepted",
            rejection.body_text(),
            scan_report::MAX_REPORT_BYTES
        ),
    })?;
    let report = scan_report::parse(&body, format)
        .map_err(|e| AppError::bad_input("report", e.to_string()))?;
    Ok(Json(
        state
            .store
            .import_report(Some(&admin), &report, &source, !partial, state.clock.now())
            .await?,
    ))
}

/// How much access goes through JIT grants, and what still bypasses it.
#[utoipa::path(
    get,
    path = "/standing/coverage",
    operation_id = "standing_coverage",
    tag = "standing",
    responses((status = 200, body = CoverageView)),
)]
pub async fn coverage(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<CoverageView>, AppError> {
    Ok(Json(state.store.coverage(&user, state.clock.now()).await?))
}

/// The rules that map scanner findings to identities.
#[utoipa::path(
    get,
    path = "/standing/rules",
    operation_id = "standing_rules",
    tag = "standing",
    responses((status = 200, body = Vec<MappingRuleView>)),
)]
pub async fn rules(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
) -> Result<Json<Vec<MappingRuleView>>, AppError> {
    Ok(Json(state.store.mapping_rules().await?))
}

/// Adds a rule mapping scanner findings to an identity (admins).
#[utoipa::path(
    post,
    path = "/standing/rules",
    operation_id = "standing_create_rule",
    tag = "standing",
    request_body = MappingRuleBody,
    responses((status = 201, body = MappingRuleView)),
)]
pub async fn create_rule(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<MappingRuleBody>,
) -> Result<(StatusCode, Json<MappingRuleView>), AppError> {
    let id = state
        .store
        .create_mapping_rule(&admin, &body, state.clock.now())
        .await?;
    let rule = state
        .store
        .mapping_rules()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::NotFound(format!("mapping rule {id}")))?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Retires a mapping rule (admins).
#[utoipa::path(
    delete,
    path = "/standing/rules/{id}",
    operation_id = "standing_retire_rule",
    tag = "standing",
    params(("id" = i64, Path, description = "The rule")),
    responses((status = 204, description = "Retired")),
)]
pub async fn retire_rule(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = parse_id(&id)?;
    state
        .store
        .retire_mapping_rule(&admin, id, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
