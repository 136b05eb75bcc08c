//! Loading, empty and error states, the same on every page.

use crate::api::{ApiError, ApiResult};
use crate::app::use_auth;
use crate::page::Page;
use leptos::prelude::*;
use stint_core::Role;

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

/// What was read from the broker, shown the one way every page shows it: a skeleton of
/// `rows` while it loads, the error with a Retry button if it failed, else `children` of
/// the value (`<Loaded value rows=8 retry let:detail>…</Loaded>`).
#[component]
pub fn Loaded<T, V, F>(
    #[prop(into)] value: Signal<Option<ApiResult<T>>>,
    #[prop(default = 3)] rows: usize,
    retry: Callback<()>,
    children: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + Send + Sync + 'static,
{
    move || match value.get() {
        Some(Ok(loaded)) => children(loaded).into_any(),
        Some(Err(error)) => not_loaded(Some(error), rows, retry),
        None => not_loaded(None, rows, retry),
    }
}

/// What `Loaded` shows until it has a value: the skeleton, or the failure with Retry. Not
/// generic, so the portal carries it once rather than once per `Loaded`.
fn not_loaded(failure: Option<ApiError>, rows: usize, retry: Callback<()>) -> AnyView {
    match failure {
        None => view! { <Skeleton rows/> }.into_any(),
        Some(error) => view! { <ErrorState error retry/> }.into_any(),
    }
}

/// A list read from the broker, shown as `Loaded` shows a value, with `empty` where the
/// list has nothing in it.
#[component]
pub fn LoadedList<T, V, F>(
    #[prop(into)] value: Signal<Option<ApiResult<Vec<T>>>>,
    #[prop(default = 3)] rows: usize,
    retry: Callback<()>,
    /// What an empty list shows, e.g. an `Empty` saying what would be here.
    #[prop(into)]
    empty: ViewFn,
    children: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
    F: Fn(Vec<T>) -> V + Send + Sync + 'static,
{
    let shown = move |list: Vec<T>| {
        if list.is_empty() {
            empty.run()
        } else {
            children(list).into_any()
        }
    };
    view! { <Loaded value rows retry let:list>{shown(list)}</Loaded> }
}

/// `Loaded`'s `retry` for what `resource` read: read it again.
pub fn refetch<T: 'static>(resource: LocalResource<T>) -> Callback<()> {
    Callback::new(move |_| resource.refetch())
}

/// A page the viewer's roles do not open: said plainly, with where to go instead.
#[component]
pub fn NotForYourRole(
    /// What the page is, e.g. "The audit trail".
    what: &'static str,
    /// Who it is for, e.g. "auditors and admins".
    who: &'static str,
) -> impl IntoView {
    view! {
        <section class="page narrow" data-testid="not-for-your-role">
            <h1>{what}</h1>
            <div class="empty">
                <p class="empty-title">"Not for your role"</p>
                <div class="empty-body">
                    {format!("This page is for {who}. If you need it, ask an admin for the role. ")}
                    <a href=Page::Dashboard.path()>"Back to the dashboard"</a>
                </div>
            </div>
        </section>
    }
}

/// Shows its page only to holders of one of `roles`; anyone else reads why not.
#[component]
pub fn RoleGate(
    roles: &'static [Role],
    what: &'static str,
    who: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let auth = use_auth();
    // A memo, so the page is not rebuilt each time the session is re-read.
    let allowed = Memo::new(move |_| roles.iter().any(|r| auth.has(*r)));
    move || {
        if allowed.get() {
            children().into_any()
        } else {
            view! { <NotForYourRole what who/> }.into_any()
        }
    }
}
