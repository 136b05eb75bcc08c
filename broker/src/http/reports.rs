//! `GET /reports/evidence?since=&until=&format=json|html&tz=`: the evidence report, for
//! auditors and admins.

use super::AppState;
use super::error::AppError;
use super::extract::CurrentUser;
use super::openapi::EvidenceParams;
use super::query;
use crate::export;
use crate::report::{self, Format, html};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use stint_core::evidence::EvidenceReport;
use stint_core::{RuleError, evidence, visibility};

/// The evidence report for a period, as JSON or a self-contained HTML file (auditors).
#[utoipa::path(
    get,
    path = "/reports/evidence",
    operation_id = "reports_evidence",
    tag = "oversight",
    params(EvidenceParams),
    responses(
        (
            status = 200,
            description = "The evidence report for the period",
            content((EvidenceReport = "application/json"), (String = "text/html")),
        ),
    ),
)]
pub async fn evidence(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(params): Query<query::Params>,
) -> Result<Response, AppError> {
    if !user.has_any(visibility::READS_EVERYTHING) {
        return Err(RuleError::Forbidden(
            "only auditors and admins read the evidence report".into(),
        )
        .into());
    }
    let raw = params.get("format").map(String::as_str).unwrap_or("json");
    let format = Format::parse(raw)
        .ok_or_else(|| AppError::bad_input("format", format!("`{raw}` is not json or html")))?;
    let zone = match params.get("tz").filter(|z| !z.is_empty()) {
        Some(z) => export::parse_zone(z).map_err(|e| AppError::bad_input("tz", e))?,
        None => chrono_tz::UTC,
    };
    let now = state.clock.now();
    let (since, until) = evidence::period(
        query::time(&params, "since")?,
        query::time(&params, "until")?,
        now,
    )?;
    let trusted = state.keyring.trusted();
    let report = report::evidence(&*state.store, &trusted, since, until, now).await?;
    Ok(match format {
        Format::Json => Json(report).into_response(),
        Format::Html => {
            let body = html::render(&report, &state.config.public_url, zone);
            let disposition = format!(
                "inline; filename=\"stint-evidence-{}.html\"",
                until.format("%Y-%m-%d")
            );
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    ),
                    (
                        header::CONTENT_SECURITY_POLICY,
                        html::content_security_policy(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        // Digits and ASCII: always a valid header value.
                        HeaderValue::from_str(&disposition)
                            .unwrap_or_else(|_| HeaderValue::from_static("inline")),
                    ),
                ],
                body,
            )
                .into_response()
        }
    })
}
