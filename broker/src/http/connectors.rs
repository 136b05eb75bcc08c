//! The connectors the broker loaded, for the policy editor's choice of a resource's
//! connector.

use super::AppState;
use super::error::AppError;
use super::extract::CurrentUser;
use axum::Json;
use axum::extract::State;
use stint_core::RuleError;
use stint_core::connectors::ConnectorView;
use stint_core::visibility::{self, READS_EVERYTHING};

/// `GET /api/v1/connectors`: names, kinds and privileges, never their secrets; for admins
/// and auditors.
#[utoipa::path(
    get,
    path = "/connectors",
    operation_id = "connectors_list",
    tag = "admin",
    responses((status = 200, body = Vec<ConnectorView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<ConnectorView>>, AppError> {
    if !visibility::any_of(&user.roles, READS_EVERYTHING) {
        return Err(
            RuleError::Forbidden("only admins and auditors see the connectors".into()).into(),
        );
    }
    Ok(Json(state.outbox.connectors.views()))
}
