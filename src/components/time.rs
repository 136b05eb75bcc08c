//! Moments and countdowns, relative and live, with the exact time on hover and focus.

use crate::time::{day, exact, use_now};
use chrono::{DateTime, Datelike, Utc};
use leptos::prelude::*;
use stint_core::{format, moments};

/// "3 h ago" / "in 14 min", exact local and UTC time in the tooltip.
#[component]
pub fn RelativeTime(at: DateTime<Utc>) -> impl IntoView {
    let now = use_now();
    view! {
        <time datetime=at.to_rfc3339() title=exact(at) tabindex="0">
            {move || format::relative((at - now.get()).num_seconds())}
        </time>
    }
}

/// "2026-11-22 14:05:09" in the viewer's zone, how long ago beneath, UTC in the tooltip:
/// for records people compare with other logs.
#[component]
pub fn LocalTime(at: DateTime<Utc>) -> impl IntoView {
    let now = use_now();
    let local = at.with_timezone(&chrono::Local);
    let local = format!(
        "{} {}",
        moments::date(&local),
        moments::clock_seconds(&local)
    );
    view! {
        <time datetime=at.to_rfc3339() title=exact(at) tabindex="0" class="local-time">
            {local}
            <span class="muted small">{move || format::relative((at - now.get()).num_seconds())}</span>
        </time>
    }
}

/// "20 Feb 2027 (in 90 d)": a day in the viewer's zone, and how far it is.
#[component]
pub fn DateWithin(at: DateTime<Utc>) -> impl IntoView {
    let now = use_now();
    let day = day(at);
    view! {
        <time datetime=at.to_rfc3339() title=exact(at) tabindex="0">
            {day} " (" {move || format::relative((at - now.get()).num_seconds())} ")"
        </time>
    }
}

/// A live countdown to `until`; amber in the last tenth of the window, then "ending…" until
/// the broker says the grant ended (the page rereads it then): this tab's clock does not
/// decide that access is over.
#[component]
pub fn Countdown(from: DateTime<Utc>, until: DateTime<Utc>) -> impl IntoView {
    let now = use_now();
    let total = (until - from).num_seconds().max(1);
    let left = move || (until - now.get()).num_seconds();
    let class = move || {
        let l = left();
        if l <= 0 {
            "countdown ended"
        } else if l * 10 < total {
            "countdown low"
        } else {
            "countdown"
        }
    };
    view! {
        <time class=class datetime=until.to_rfc3339() title=exact(until) data-testid="countdown">
            {move || {
                let l = left();
                if l <= 0 { "ending…".to_string() } else { format!("{} left", format::countdown(l)) }
            }}
        </time>
    }
}

/// "Sun 6 Dec 2026 11:19" in the viewer's zone, inline in a sentence, UTC in the tooltip.
#[component]
pub fn InlineTime(at: DateTime<Utc>) -> impl IntoView {
    let local = at.with_timezone(&chrono::Local);
    let local = format!(
        "{} {} {} {}",
        moments::weekday(&local),
        moments::day_month(&local),
        local.year(),
        moments::clock(&local)
    );
    view! { <time datetime=at.to_rfc3339() title=exact(at)>{local}</time> }
}
