//! Performance API marks at the moments a person can act, for `cargo xtask bench` to read
//! (and real-user monitoring too): `performance.getEntriesByName(NAME)[0].startTime` is the
//! time since navigation began.

use leptos::prelude::window;

/// The approvals queue is on the page.
pub const APPROVALS_RENDERED: &str = "stint:approvals-rendered";
/// A request's Approve button is on the page and usable.
pub const APPROVE_READY: &str = "stint:approve-ready";

pub fn mark(name: &str) {
    if let Some(performance) = window().performance() {
        let _ = performance.mark(name);
    }
}
