//! One module per route.

pub mod approvals;
pub mod break_glass;
pub mod dashboard;
pub mod login;
pub mod new_request;
pub mod not_found;
pub mod request_detail;
pub mod requests;
pub mod review_detail;
pub mod reviews;

use leptos::prelude::*;
use std::time::Duration;

/// Runs `refresh` every `every` while the calling page is shown, so a page follows what
/// others do (an approval, an expiry) without being reloaded.
pub fn poll(every: Duration, refresh: impl Fn() + 'static) {
    if let Ok(handle) = set_interval_with_handle(refresh, every) {
        on_cleanup(move || handle.clear());
    }
}
