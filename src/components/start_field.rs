//! When requested access should start: when approved, or at a set time (a change window,
//! "deploy on Saturday 02:00–04:00"), in the viewer's zone, previewed with `stint_core`.

use crate::components::form::Refusal;
use crate::time::{from_local_input, to_local_input, use_now, window, zone_name};
use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;
use stint_core::{Policy, RuleError, format, lifecycle};

/// The start the form asks for: `None` while it is "when approved", or no time is set.
#[derive(Clone, Copy)]
pub struct StartChoice {
    pub later: RwSignal<bool>,
    pub at: RwSignal<Option<DateTime<Utc>>>,
}

impl StartChoice {
    pub fn new() -> StartChoice {
        StartChoice {
            later: RwSignal::new(false),
            at: RwSignal::new(None),
        }
    }

    /// What the request sends.
    pub fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.later
            .get_untracked()
            .then(|| self.at.get_untracked())
            .flatten()
    }

    /// What the broker would refuse about the start, by its own rule.
    pub fn problem(&self, policy: &Policy, now: DateTime<Utc>) -> Option<RuleError> {
        if !self.later.get() {
            return None;
        }
        match self.at.get() {
            None => Some(RuleError::invalid(
                "starts_at",
                "choose when the access should start",
            )),
            Some(at) => lifecycle::check_start(Some(at), policy, now).err(),
        }
    }
}

#[component]
pub fn StartField(
    choice: StartChoice,
    policy: Memo<Option<Policy>>,
    duration: RwSignal<i64>,
    /// The message under the field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    let now = use_now();
    let zone = zone_name().unwrap_or_else(|| "your time zone".into());
    // The input offers nothing before now or beyond the policy's reach.
    let bounds = move || {
        let now = now.get();
        let ahead = policy.get().map_or(lifecycle::MAX_START_AHEAD_SECS, |p| {
            lifecycle::start_ahead_limit(&p)
        });
        (
            to_local_input(now),
            to_local_input(now + Duration::seconds(ahead)),
        )
    };
    view! {
        <fieldset class="field" data-testid="start">
            <legend>"Starts"</legend>
            <label class="check">
                <input
                    type="radio"
                    name="start"
                    prop:checked=move || !choice.later.get()
                    on:change=move |_| choice.later.set(false)
                />
                "When approved"
            </label>
            <label class="check">
                <input
                    type="radio"
                    name="start"
                    prop:checked=move || choice.later.get()
                    on:change=move |_| choice.later.set(true)
                    data-testid="start-later"
                />
                "At a set time (a change window)"
            </label>
            <Show when=move || choice.later.get()>
                <label for="starts-at">{format!("Start, in {zone}")}</label>
                <input
                    id="starts-at"
                    type="datetime-local"
                    min=move || bounds().0
                    max=move || bounds().1
                    prop:value=move || choice.at.get().map(to_local_input).unwrap_or_default()
                    on:input=move |ev| choice.at.set(from_local_input(&event_target_value(&ev)))
                    aria-describedby="starts-at-help starts-at-error"
                    aria-invalid=move || error.get().is_some().to_string()
                    data-testid="starts-at"
                />
                <p class="help" id="starts-at-help" data-testid="window-preview">
                    {move || match choice.at.get() {
                        Some(at) => format!(
                            "Access from {} ({}). It cannot be used before it starts.",
                            window(at, at + Duration::seconds(duration.get())),
                            format::relative((at - now.get()).num_seconds())
                        ),
                        None => "Pick the start of the window; the duration above is its length."
                            .into(),
                    }}
                </p>
            </Show>
            <Refusal message=error id="starts-at-error"/>
        </fieldset>
    }
}
