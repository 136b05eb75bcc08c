//! The first page's own read, asked for at boot beside `/me` rather than after it: an
//! approver who opens a request link from a chat message waits one round trip less before
//! Approve is usable (on a phone's slow link, a round trip is 150 ms or more).

use crate::api::{self, ApiResult};
use leptos::prelude::*;
use stint_core::api::RequestDetail;

/// A request link's detail as read at boot, until the request page takes it.
#[derive(Clone, Copy)]
pub struct EarlyRequest(StoredValue<Option<(i64, LocalResource<ApiResult<RequestDetail>>)>>);

impl EarlyRequest {
    /// Starts reading the request the address names, if it names one.
    pub fn provide() {
        let early = window()
            .location()
            .pathname()
            .ok()
            .and_then(|path| request_id(&path))
            .map(|id| (id, LocalResource::new(move || api::request(id))));
        provide_context(EarlyRequest(StoredValue::new(early)));
    }
}

/// Request `id`'s detail: the boot's read of it the first time it is asked for, if that read
/// succeeded (the viewer may have signed in since it was refused); a fresh read otherwise.
pub async fn request(early: Option<EarlyRequest>, id: i64) -> ApiResult<RequestDetail> {
    let early = early
        .and_then(|early| early.0.try_update_value(Option::take).flatten())
        .filter(|(early_id, _)| *early_id == id);
    if let Some((_, read)) = early {
        let answer = read.await;
        if answer.is_ok() {
            return answer;
        }
    }
    api::request(id).await
}

/// The request a portal address shows (`/requests/42`), if it shows one.
fn request_id(path: &str) -> Option<i64> {
    path.strip_prefix("/requests/")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn only_a_request_page_address_names_a_request() {
        assert_eq!(request_id("/requests/42"), Some(42));
        assert_eq!(request_id("/requests/new"), None);
        assert_eq!(request_id("/requests"), None);
        assert_eq!(request_id("/requests/42/extra"), None);
        assert_eq!(request_id("/reviews/42"), None);
    }
}
