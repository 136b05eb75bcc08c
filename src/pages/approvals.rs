//! The approvals queue, keyboard first: j/k move, a approves, d denies, Enter opens.

use crate::api;
use crate::app::use_auth;
use crate::components::deny::DenyDialog;
use crate::components::standing::StandingWarning;
use crate::components::states::{Empty, ErrorState, Skeleton};
use crate::components::time::RelativeTime;
use crate::components::toast::use_toasts;
use crate::pages::poll;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use std::time::Duration;
use stint_core::api::{ApproveBody, RequestDetail};
use stint_core::format;

#[component]
pub fn Approvals() -> impl IntoView {
    let auth = use_auth();
    let toasts = use_toasts();
    let queue = LocalResource::new(|| api::requests("awaiting_me=true"));
    poll(Duration::from_secs(5), move || queue.refetch());
    // Read by the key handler, outside any reactive scope.
    let items = move || {
        queue
            .get_untracked()
            .and_then(|r| r.ok())
            .map(|p| p.items)
            .unwrap_or_default()
    };
    // Marks the moment the queue is on the page, for the Performance API: `cargo xtask
    // bench` reads it, and so can real-user monitoring.
    Effect::new(move |_| {
        if matches!(queue.get(), Some(Ok(_)))
            && let Some(performance) = window().performance()
        {
            let _ = performance.mark("stint:approvals-rendered");
        }
    });
    let selected = RwSignal::new(0_usize);
    let help_open = RwSignal::new(false);

    let approve = Action::new_local(|id: &i64| api::approve(*id, ApproveBody::default()));
    let deny_target = RwSignal::new(None::<i64>);
    let deny_open = RwSignal::new(false);
    let after = move |message: String| {
        toasts.show(message);
        queue.refetch();
        auth.refresh();
    };
    Effect::new(move |_| match approve.value().get() {
        Some(Ok(d)) => after(format!("Request #{} approved", d.request.id)),
        Some(Err(e)) => toasts.show(e.to_string()),
        None => {}
    });
    let open_deny = move |id: i64| {
        deny_target.set(Some(id));
        deny_open.set(true);
    };

    let navigate = use_navigate();
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let tag = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok())
            .map(|el| el.tag_name())
            .unwrap_or_default();
        let typing = matches!(tag.as_str(), "INPUT" | "TEXTAREA" | "SELECT");
        // Enter on a focused link or button is theirs.
        let pressing = ev.key() == "Enter" && matches!(tag.as_str(), "A" | "BUTTON");
        if typing
            || pressing
            || deny_open.get_untracked()
            || ev.ctrl_key()
            || ev.meta_key()
            || ev.alt_key()
        {
            return;
        }
        let list = items();
        let current = list.get(selected.get_untracked()).cloned();
        match ev.key().as_str() {
            "j" | "ArrowDown" => {
                selected.update(|i| *i = (*i + 1).min(list.len().saturating_sub(1)))
            }
            "k" | "ArrowUp" => selected.update(|i| *i = i.saturating_sub(1)),
            "a" => {
                if let Some(r) = current {
                    approve.dispatch(r.id);
                }
            }
            "d" => {
                if let Some(r) = current {
                    ev.prevent_default();
                    open_deny(r.id);
                }
            }
            "Enter" => {
                if let Some(r) = current {
                    navigate(&format!("/requests/{}", r.id), Default::default());
                }
            }
            "?" => help_open.update(|o| *o = !*o),
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());

    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Approvals"</h1>
                <button class="button subtle" on:click=move |_| help_open.update(|o| *o = !*o) aria-expanded=move || help_open.get().to_string()>
                    "Keyboard shortcuts (?)"
                </button>
            </header>
            <Show when=move || help_open.get()>
                <dl class="shortcuts card">
                    <dt><kbd>"j"</kbd> " / " <kbd>"k"</kbd></dt><dd>"next / previous request"</dd>
                    <dt><kbd>"a"</kbd></dt><dd>"approve as requested"</dd>
                    <dt><kbd>"d"</kbd></dt><dd>"deny (asks for a comment)"</dd>
                    <dt><kbd>"Enter"</kbd></dt><dd>"open the request"</dd>
                </dl>
            </Show>
            {move || match queue.get() {
                None => view! { <Skeleton rows=4/> }.into_any(),
                Some(Err(error)) => {
                    view! { <ErrorState error retry=Callback::new(move |_| queue.refetch())/> }.into_any()
                }
                Some(Ok(page)) if page.items.is_empty() => {
                    view! { <Empty title="All caught up">"No request waits for your decision."</Empty> }.into_any()
                }
                Some(Ok(page)) => {
                    view! {
                        <ul class="queue" data-testid="approval-queue">
                            {page
                                .items
                                .into_iter()
                                .enumerate()
                                .map(|(index, r)| {
                                    let id = r.id;
                                    view! {
                                        <li
                                            class="card queue-item"
                                            aria-current=move || (selected.get() == index).then_some("true")
                                            data-request-id=id
                                        >
                                            <div class="queue-head">
                                                <a href=format!("/requests/{id}")>
                                                    {format!("#{id} {} → {} ({})", r.identity.name, r.resource.name, r.privilege)}
                                                </a>
                                                <span class="muted">
                                                    {format!("{} · by {} · ", format::duration(r.duration_secs), r.requester.name)}
                                                    <RelativeTime at=r.created_at/>
                                                </span>
                                            </div>
                                            <StandingWarning count=r.standing_paths identity=r.identity.name.clone() resource=r.resource.name.clone()/>
                                            <p class="prose">{r.justification.task.clone()}</p>
                                            <p class="muted">
                                                {r.justification.ticket.clone().map(|t| format!("Ticket {t} · ")).unwrap_or_default()}
                                                {format!("{} of {} approvals", r.approvals.len(), r.approvals_required)}
                                            </p>
                                            <div class="actions">
                                                <button class="button primary" on:click=move |_| { approve.dispatch(id); } disabled=move || approve.pending().get()>
                                                    "Approve"
                                                </button>
                                                <button class="button danger-outline" on:click=move |_| open_deny(id)>
                                                    "Deny…"
                                                </button>
                                            </div>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            }}
            <DenyDialog
                open=deny_open
                target=deny_target.into()
                on_denied=Callback::new(move |d: RequestDetail| after(format!("Request #{} denied", d.request.id)))
                testid="queue-deny-dialog"
            />
        </section>
    }
}
