//! The viewer's clock: one signal ticking every second, and how moments are written.

use chrono::{DateTime, Datelike, Local, Utc};
use leptos::prelude::*;
use stint_core::moments;

/// The current time, updated every second by the app; countdowns read it.
#[derive(Clone, Copy)]
pub struct Now(pub RwSignal<DateTime<Utc>>);

pub fn use_now() -> RwSignal<DateTime<Utc>> {
    expect_context::<Now>().0
}

/// "2026-11-22 14:05 (13:05 UTC)": the viewer's zone first, UTC for comparing notes.
pub fn exact(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Local);
    format!(
        "{} {} {} ({} UTC)",
        moments::date(&local),
        moments::clock_seconds(&local),
        local.offset(),
        moments::clock_seconds(&at)
    )
}

/// "1 Mar 2027": a day in the viewer's zone, in words no locale reads the other way round.
pub fn day(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Local);
    format!("{} {}", moments::day_month(&local), local.year())
}

/// The viewer's IANA time zone (`Europe/Berlin`), as the browser knows it.
pub fn zone_name() -> Option<String> {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options();
    js_sys::Reflect::get(&options, &"timeZone".into())
        .ok()
        .and_then(|zone| zone.as_string())
}

/// A `datetime-local` input's value ("2026-11-22T14:05", the viewer's zone) as UTC.
pub fn from_local_input(value: &str) -> Option<DateTime<Utc>> {
    moments::parse_minute(value)?
        .and_local_timezone(Local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A moment as a `datetime-local` input shows it, in the viewer's zone.
pub fn to_local_input(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Local);
    format!("{}T{}", moments::date(&local), moments::clock(&local))
}

/// "Sat 5 Dec 02:00": a moment in the viewer's zone, to the minute, with its weekday (a
/// change window is planned by the day).
pub fn short(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Local);
    format!(
        "{} {} {}",
        moments::weekday(&local),
        moments::day_month(&local),
        moments::clock(&local)
    )
}

/// "Sat 5 Dec 02:00–04:00" (or "Sat 5 Dec 22:00 – Sun 6 Dec 02:00" across midnight): a
/// grant's window in the viewer's zone.
pub fn window(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let (from, to) = (start.with_timezone(&Local), end.with_timezone(&Local));
    if from.date_naive() == to.date_naive() {
        format!("{}–{}", short(start), moments::clock(&to))
    } else {
        format!("{} – {}", short(start), short(end))
    }
}
