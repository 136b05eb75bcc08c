//! One module per route.

pub mod account;
pub mod admin_federation;
pub mod admin_resources;
pub mod admin_users;
pub mod approvals;
pub mod audit;
pub mod break_glass;
pub mod campaign_detail;
pub mod campaigns;
pub mod dashboard;
pub mod evidence;
pub mod identities;
pub mod identity_detail;
pub mod live_access;
pub mod login;
pub mod new_request;
pub mod not_found;
pub mod notifications;
pub mod proposals;
pub mod request_detail;
pub mod requests;
pub mod review_detail;
pub mod reviews;
pub mod secrets;

use crate::api::{ApiError, ApiResult};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::future::Future;

/// The number in the route's `:id`, read when called (a live change is matched against
/// the page shown when it arrives).
pub fn route_id() -> impl Fn() -> Option<i64> + Copy + 'static {
    let params = use_params_map();
    move || {
        params
            .read_untracked()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
    }
}

/// Loads the record the route's `:id` names with `fetch`; a non-numeric id reads as a
/// missing `what`.
pub fn load_by_route_id<T, F, Fut>(what: &'static str, fetch: F) -> LocalResource<ApiResult<T>>
where
    T: 'static,
    F: Fn(i64) -> Fut + Copy + 'static,
    Fut: Future<Output = ApiResult<T>> + 'static,
{
    let params = use_params_map();
    LocalResource::new(move || {
        let id = params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok());
        async move {
            match id {
                Some(id) => fetch(id).await,
                None => Err(ApiError::Rejected {
                    status: 404,
                    code: "not_found".into(),
                    message: format!("There is no such {what}."),
                    field: None,
                }),
            }
        }
    })
}
