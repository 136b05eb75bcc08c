//! The audit trail, for auditors and admins: pages of events and the chain's verification.

use super::AppState;
use super::error::AppError;
use super::extract::CurrentUser;
use super::openapi::{AuditFilterParams, AuditPageParams, ExportParams};
use super::query;
use crate::export::{self, Format};
use crate::store::AuditFilter;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use stint_core::RuleError;
use stint_core::api::{AuditCheckpoint, AuditEventView, AuditVerification, Page, UserView};
use stint_core::query::AuditQuery;
use tokio_stream::wrappers::ReceiverStream;

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

fn is_auditor(user: &UserView) -> bool {
    user.has_any(stint_core::visibility::READS_EVERYTHING)
}

fn require_auditor(user: &UserView) -> Result<(), AppError> {
    if is_auditor(user) {
        Ok(())
    } else {
        Err(RuleError::Forbidden("only auditors and admins read the audit trail".into()).into())
    }
}

/// The filter of `GET /audit` and `GET /audit/export`:
/// `actor=&action=&identity=&resource=&request_id=&grant_id=&q=&since=&until=&cursor=&after_seq=&li
/// mit=`.
/// Auditors and admins read the whole trail; anyone else the events of the requests for
/// identities they own or owned.
fn filter_from(params: &query::Params, user: &UserView) -> Result<AuditFilter, AppError> {
    let asked = AuditQuery::parse(params).map_err(query::refused)?;
    Ok(AuditFilter {
        limit: query::page_size(asked.limit, DEFAULT_PAGE, MAX_PAGE)?,
        asked,
        owner: (!is_auditor(user)).then_some(user.id),
    })
}

/// The audit trail, newest first, filtered (auditors see all of it; others the events of identities
/// they own or owned).
#[utoipa::path(
    get,
    path = "/audit",
    operation_id = "audit_list",
    tag = "audit",
    params(AuditFilterParams, AuditPageParams),
    responses((status = 200, body = Page<AuditEventView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(params): Query<query::Params>,
) -> Result<Json<Page<AuditEventView>>, AppError> {
    let filter = filter_from(&params, &user)?;
    let items = state.store.audit_events(&filter).await?;
    // Newest-first pages continue below their last event; a followed trail above it.
    let next_cursor = (items.len() as u32 == filter.limit)
        .then(|| items.last().map(|e| e.seq))
        .flatten();
    Ok(Json(Page { items, next_cursor }))
}

/// Walks the hash chain and says whether it is whole, and where it breaks.
#[utoipa::path(
    get,
    path = "/audit/verify",
    operation_id = "audit_verify",
    tag = "audit",
    responses(
        (
            status = 200,
            description = "Whether the chain is whole, and where it breaks",
            body = AuditVerification,
        ),
    ),
)]
pub async fn verify(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<AuditVerification>, AppError> {
    require_auditor(&user)?;
    Ok(Json(
        state
            .store
            .verify_audit(&state.keyring.trusted(), &[])
            .await?,
    ))
}

/// Signed heads of the chain, newest first: keep copies elsewhere to detect truncation.
#[utoipa::path(
    get,
    path = "/audit/checkpoints",
    operation_id = "audit_checkpoints",
    tag = "audit",
    responses((status = 200, body = Vec<AuditCheckpoint>)),
)]
pub async fn checkpoints(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<AuditCheckpoint>>, AppError> {
    require_auditor(&user)?;
    Ok(Json(state.store.checkpoints(1000).await?))
}

/// `GET /audit/export?format=ndjson|csv` and the filters of `GET /audit`: the matching
/// events, oldest first, streamed as a download a page at a time.
#[utoipa::path(
    get,
    path = "/audit/export",
    operation_id = "audit_export",
    tag = "audit",
    params(ExportParams, AuditFilterParams),
    responses(
        (
            status = 200,
            description = "The matching events, oldest first, streamed",
            content((String = "application/x-ndjson"), (String = "text/csv")),
        ),
    ),
)]
pub async fn export(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(params): Query<query::Params>,
) -> Result<Response, AppError> {
    require_auditor(&user)?;
    let raw = params.get("format").map(String::as_str).unwrap_or("ndjson");
    let format = Format::parse(raw)
        .ok_or_else(|| AppError::bad_input("format", format!("`{raw}` is not ndjson or csv")))?;
    let zone = params
        .get("tz")
        .filter(|z| !z.is_empty())
        .map(|z| export::parse_zone(z).map_err(|e| AppError::bad_input("tz", e)))
        .transpose()?;
    let encoder = export::Encoder::new(format, zone);
    let filter = filter_from(&params, &user)?;
    let (chunks, body) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let store = state.store.clone();
    tokio::spawn(async move {
        if chunks.send(Ok(encoder.header())).await.is_err() {
            return;
        }
        let mut after_seq = 0;
        loop {
            let page = match export::page(&*store, &filter, after_seq).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "audit export failed");
                    let _ = chunks
                        .send(Err(std::io::Error::other("export failed")))
                        .await;
                    return;
                }
            };
            let chunk: Vec<u8> = page.iter().flat_map(|e| encoder.encode(e)).collect();
            if chunks.send(Ok(chunk)).await.is_err() || (page.len() as u32) < export::PAGE {
                return;
            }
            after_seq = page.last().map(|e| e.seq).unwrap_or(after_seq);
        }
    });
    let disposition = format!(
        "attachment; filename=\"stint-audit.{}\"",
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(ReceiverStream::new(body)),
    )
        .into_response())
}
