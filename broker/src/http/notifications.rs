//! Notification sinks: admins add and remove them, admins and auditors see them and each
//! one's deliveries. The rules live in `stint_core::notify`, the use cases in
//! `crate::service::notifications`.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use stint_core::notify::{DeliveryView, MutesBody, NewSinkBody, NotificationChoice, SinkView};

/// The deliveries a sink's page shows.
const DELIVERIES_SHOWN: u32 = 100;

/// `GET /api/v1/notifications/sinks`.
#[utoipa::path(
    get,
    path = "/notifications/sinks",
    operation_id = "notifications_sinks",
    tag = "notifications",
    responses((status = 200, body = Vec<SinkView>)),
)]
pub async fn sinks(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<SinkView>>, AppError> {
    let alert_after = state.outbox.retry.alert_after;
    Ok(Json(
        state.store.notification_sinks(&user, alert_after).await?,
    ))
}

/// `POST /api/v1/notifications/sinks`: 201 with the sink.
#[utoipa::path(
    post,
    path = "/notifications/sinks",
    operation_id = "notifications_add_sink",
    tag = "notifications",
    request_body = NewSinkBody,
    responses((status = 201, body = SinkView)),
)]
pub async fn add_sink(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<NewSinkBody>,
) -> Result<(StatusCode, Json<SinkView>), AppError> {
    let alert_after = state.outbox.retry.alert_after;
    let sink = state
        .store
        .add_notification_sink(
            &user,
            &body,
            &state.config.variables,
            alert_after,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(sink)))
}

/// `DELETE /api/v1/notifications/sinks/{id}`: 204.
#[utoipa::path(
    delete,
    path = "/notifications/sinks/{id}",
    operation_id = "notifications_remove_sink",
    tag = "notifications",
    params(("id" = i64, Path, description = "The sink")),
    responses((status = 204, description = "Removed")),
)]
pub async fn remove_sink(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = parse_id(&id)?;
    state
        .store
        .remove_notification_sink(&user, id, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/notifications/sinks/{id}/deliveries`: newest first.
#[utoipa::path(
    get,
    path = "/notifications/sinks/{id}/deliveries",
    operation_id = "notifications_deliveries",
    tag = "notifications",
    params(("id" = i64, Path, description = "The sink")),
    responses((status = 200, body = Vec<DeliveryView>)),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeliveryView>>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .store
            .notification_deliveries(&user, id, DELIVERIES_SHOWN)
            .await?,
    ))
}

/// `GET /api/v1/me/notifications`: the events the signed-in person may be named in.
#[utoipa::path(
    get,
    path = "/me/notifications",
    operation_id = "notifications_my_choices",
    tag = "notifications",
    responses((status = 200, body = Vec<NotificationChoice>)),
)]
pub async fn my_choices(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<NotificationChoice>>, AppError> {
    Ok(Json(state.store.notification_choices(&user).await?))
}

/// `PUT /api/v1/me/notifications` `{muted: [...]}`: what they no longer want to be named in.
#[utoipa::path(
    put,
    path = "/me/notifications",
    operation_id = "notifications_set_my_choices",
    tag = "notifications",
    request_body = MutesBody,
    responses((status = 200, body = Vec<NotificationChoice>)),
)]
pub async fn set_my_choices(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<MutesBody>,
) -> Result<Json<Vec<NotificationChoice>>, AppError> {
    Ok(Json(
        state
            .store
            .set_notification_choices(&user, &body, state.clock.now())
            .await?,
    ))
}
