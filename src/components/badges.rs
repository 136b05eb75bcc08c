//! State shown as colour, word and icon together, never colour alone.

use leptos::prelude::*;
use stint_core::{GrantState, RequestState};

#[component]
pub fn RequestBadge(state: RequestState) -> impl IntoView {
    let (icon, tone) = match state {
        RequestState::Pending => ("◷", "amber"),
        RequestState::Approved => ("✓", "green"),
        RequestState::Denied => ("✕", "grey struck"),
        RequestState::Cancelled => ("–", "grey struck"),
        RequestState::Expired => ("⌛", "grey"),
    };
    view! {
        <span class=format!("badge {tone}") data-testid="request-state" data-state=state.as_str()>
            <span aria-hidden="true">{icon}</span>
            {state.as_str()}
        </span>
    }
}

#[component]
pub fn GrantBadge(state: GrantState) -> impl IntoView {
    let (icon, tone, word) = match state {
        GrantState::Scheduled => ("◷", "blue", "scheduled"),
        GrantState::Active => ("●", "green", "active"),
        GrantState::Expired => ("⌛", "grey", "expired"),
        GrantState::Revoked => ("⊘", "purple", "revoked"),
    };
    view! {
        <span class=format!("badge {tone}") data-testid="grant-state" data-state=state.as_str()>
            <span aria-hidden="true">{icon}</span>
            {word}
        </span>
    }
}
