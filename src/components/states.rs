//! Loading, empty and error states, the same on every page.

use crate::api::ApiError;
use leptos::prelude::*;

/// Grey bars where content will be, so nothing jumps when it arrives.
#[component]
pub fn Skeleton(#[prop(default = 3)] rows: usize) -> impl IntoView {
    view! {
        <div class="skeleton" aria-busy="true" aria-label="Loading">
            {(0..rows).map(|_| view! { <div class="skeleton-row"></div> }).collect_view()}
        </div>
    }
}

#[component]
pub fn Empty(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <div class="empty" data-testid="empty">
            <p class="empty-title">{title}</p>
            <div class="empty-body">{children()}</div>
        </div>
    }
}

/// The broker's message and a way to try again.
#[component]
pub fn ErrorState(error: ApiError, retry: Callback<()>) -> impl IntoView {
    view! {
        <div class="error-state" role="alert">
            <p>{error.to_string()}</p>
            <button class="button" on:click=move |_| retry.run(())>"Retry"</button>
        </div>
    }
}
