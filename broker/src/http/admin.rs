//! Administration: users and their roles, identities, resources and their policies.
//! Every call needs the admin role; the rules for what may be saved live in
//! `stint_core::admin` and run inside the store's transaction.

use super::AppState;
use super::error::AppError;
use super::extract::{ApiJson, CurrentUser, parse_id};
use crate::store::{FourEyes, NewUser, Saved};
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use stint_core::api::{
    IdentityBody, IdentityView, NewUserBody, PasswordResetBody, ResourceBody, UserAdminView,
    UserUpdateBody, UserView,
};
use stint_core::four_eyes::ProposalView;
use stint_core::{Role, RuleError};

/// Whether changes that widen access wait for a second admin here.
pub(super) fn four_eyes(state: &AppState) -> FourEyes {
    if state.config.single_admin {
        FourEyes::Waived
    } else {
        FourEyes::Required
    }
}

/// A change that waits for a second admin: 202 Accepted, the proposal, and where it lives.
fn proposed(proposal: Box<ProposalView>) -> Response {
    let location = format!("/api/v1/proposals/{}", proposal.id);
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(proposal),
    )
        .into_response()
}

/// The signed-in user, who must hold the admin role (403 otherwise, recorded).
pub struct Admin(pub UserView);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if !user.has(Role::Admin) {
            return Err(RuleError::Forbidden("only admins manage Stint".into()).into());
        }
        Ok(Admin(user))
    }
}

/// The people who use Stint, with their roles (admins).
#[utoipa::path(
    get,
    path = "/users",
    operation_id = "admin_users",
    tag = "admin",
    responses((status = 200, body = Vec<UserAdminView>)),
)]
pub async fn users(
    State(state): State<AppState>,
    Admin(_admin): Admin,
) -> Result<Json<Vec<UserAdminView>>, AppError> {
    Ok(Json(state.store.users().await?))
}

async fn user_view(state: &AppState, id: i64) -> Result<UserAdminView, AppError> {
    state
        .store
        .users()
        .await?
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| AppError::NotFound(format!("user {id}")))
}

/// Adds a person (admins); one with a role beyond requester waits for a second admin.
#[utoipa::path(
    post,
    path = "/users",
    operation_id = "admin_create_user",
    tag = "admin",
    request_body = NewUserBody,
    responses(
        (status = 201, body = UserAdminView),
        (
            status = 202,
            description = "It widens access: a proposal waits for a second admin",
            body = ProposalView,
        ),
    ),
)]
pub async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<Response, AppError> {
    let body = stint_core::admin::check_new_user(&body)?;
    let password = body.password.clone();
    let password_hash = tokio::task::spawn_blocking(move || crate::password::hash(&password))
        .await
        .expect("hashing does not panic");
    let user = NewUser {
        username: &body.username,
        display_name: &body.display_name,
        password_hash: &password_hash,
        roles: &body.roles,
    };
    let saved = state
        .store
        .create_user(Some(&admin), &user, four_eyes(&state), state.clock.now())
        .await?;
    Ok(match saved {
        Saved::Applied(id) => {
            (StatusCode::CREATED, Json(user_view(&state, id).await?)).into_response()
        }
        Saved::Proposed(proposal) => proposed(proposal),
    })
}

/// Changes a person's name, roles or whether they may sign in (admins); a widening waits for a
/// second admin.
#[utoipa::path(
    put,
    path = "/users/{id}",
    operation_id = "admin_update_user",
    tag = "admin",
    params(("id" = i64, Path, description = "The user")),
    request_body = UserUpdateBody,
    responses(
        (status = 200, body = UserAdminView),
        (
            status = 202,
            description = "It widens access: a proposal waits for a second admin",
            body = ProposalView,
        ),
    ),
)]
pub async fn update_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserUpdateBody>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let saved = state
        .store
        .update_user(&admin, id, &body, four_eyes(&state), state.clock.now())
        .await?;
    Ok(match saved {
        Saved::Applied(_) => Json(user_view(&state, id).await?).into_response(),
        Saved::Proposed(proposal) => proposed(proposal),
    })
}

/// `POST /users/{id}/password`: a temporary password the user must change at next sign-in;
/// their sessions end at once.
#[utoipa::path(
    post,
    path = "/users/{id}/password",
    operation_id = "admin_reset_password",
    tag = "admin",
    params(("id" = i64, Path, description = "The user")),
    request_body = PasswordResetBody,
    responses(
        (status = 204, description = "Reset: they choose a new one at their next sign-in"),
    ),
)]
pub async fn reset_password(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PasswordResetBody>,
) -> Result<StatusCode, AppError> {
    let id = parse_id(&id)?;
    stint_core::admin::check_password("new_password", &body.new_password)?;
    let password = body.new_password;
    let password_hash = tokio::task::spawn_blocking(move || crate::password::hash(&password))
        .await
        .expect("hashing does not panic");
    state
        .store
        .reset_password(
            &admin,
            id,
            &password_hash,
            four_eyes(&state),
            state.clock.now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Registers an identity (admins).
#[utoipa::path(
    post,
    path = "/identities",
    operation_id = "admin_create_identity",
    tag = "admin",
    request_body = IdentityBody,
    responses((status = 201, body = IdentityView)),
)]
pub async fn create_identity(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<IdentityBody>,
) -> Result<(StatusCode, Json<IdentityView>), AppError> {
    let now = state.clock.now();
    let id = state
        .store
        .create_identity(Some(&admin), &body, now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.identity(&admin, id, now).await?),
    ))
}

/// Changes an identity (admins).
#[utoipa::path(
    put,
    path = "/identities/{id}",
    operation_id = "admin_update_identity",
    tag = "admin",
    params(("id" = i64, Path, description = "The identity")),
    request_body = IdentityBody,
    responses((status = 200, body = IdentityView)),
)]
pub async fn update_identity(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<IdentityBody>,
) -> Result<Json<IdentityView>, AppError> {
    let id = parse_id(&id)?;
    let now = state.clock.now();
    state.store.update_identity(&admin, id, &body, now).await?;
    Ok(Json(state.store.identity(&admin, id, now).await?))
}

/// Creates a resource with its privileges and policy (admins); one that widens access waits for a
/// second admin.
#[utoipa::path(
    post,
    path = "/resources",
    operation_id = "admin_create_resource",
    tag = "admin",
    request_body = ResourceBody,
    responses(
        (status = 201, body = stint_core::api::ResourceView),
        (
            status = 202,
            description = "It widens access: a proposal waits for a second admin",
            body = ProposalView,
        ),
    ),
)]
pub async fn create_resource(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<ResourceBody>,
) -> Result<Response, AppError> {
    let saved = state
        .store
        .create_resource(
            Some(&admin),
            &body,
            &state.outbox.connectors.views(),
            four_eyes(&state),
            state.clock.now(),
        )
        .await?;
    Ok(match saved {
        Saved::Applied(id) => {
            (StatusCode::CREATED, Json(state.store.resource(id).await?)).into_response()
        }
        Saved::Proposed(proposal) => proposed(proposal),
    })
}

/// Changes a resource (admins); a change that widens access waits for a second admin.
#[utoipa::path(
    put,
    path = "/resources/{id}",
    operation_id = "admin_update_resource",
    tag = "admin",
    params(("id" = i64, Path, description = "The resource")),
    request_body = ResourceBody,
    responses(
        (status = 200, body = stint_core::api::ResourceView),
        (
            status = 202,
            description = "It widens access: a proposal waits for a second admin",
            body = ProposalView,
        ),
    ),
)]
pub async fn update_resource(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResourceBody>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let saved = state
        .store
        .update_resource(
            &admin,
            id,
            &body,
            &state.outbox.connectors.views(),
            four_eyes(&state),
            state.clock.now(),
        )
        .await?;
    Ok(match saved {
        Saved::Applied(_) => Json(state.store.resource(id).await?).into_response(),
        Saved::Proposed(proposal) => proposed(proposal),
    })
}
