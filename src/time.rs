//! The viewer's clock: one signal ticking every second, and how moments are written.

use chrono::{DateTime, Local, Utc};
use leptos::prelude::*;

/// The current time, updated every second by the app; countdowns read it.
#[derive(Clone, Copy)]
pub struct Now(pub RwSignal<DateTime<Utc>>);

pub fn use_now() -> RwSignal<DateTime<Utc>> {
    expect_context::<Now>().0
}

/// "2026-11-22 14:05 (13:05 UTC)": the viewer's zone first, UTC for comparing notes.
pub fn exact(at: DateTime<Utc>) -> String {
    format!(
        "{} ({} UTC)",
        at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S %Z"),
        at.format("%H:%M:%S")
    )
}
