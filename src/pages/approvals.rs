//! The approvals queue, keyboard first: j/k move, a approves, d denies, Enter opens.
//!
//! The selection is a request, not a position: a request arriving above it never takes
//! it, and the approve and deny dialogs name the request they act on, captured when
//! they opened.

use crate::api;
use crate::app::use_auth;
use crate::components::approver_context::QueueContext;
use crate::components::connection::steady;
use crate::components::deny::DenyDialog;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::FormAction;
use crate::components::live::on_live;
use crate::components::standing::StandingWarning;
use crate::components::states::{Empty, Loaded, refetch};
use crate::components::time::RelativeTime;
use crate::components::toast::use_toasts;
use crate::page::Page;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use stint_core::api::{ApproveBody, RequestDetail, RequestView};
use stint_core::format;
use stint_core::query::RequestQuery;

#[component]
pub fn Approvals() -> impl IntoView {
    let auth = use_auth();
    let toasts = use_toasts();
    let queue = LocalResource::new(|| async { api::requests(&RequestQuery::awaiting_me()).await });
    // A request filed, decided or withdrawn anywhere changes the queue.
    on_live(|e| e.kind.starts_with("request."), move || queue.refetch());
    // A refresh that fails keeps the queue as it was read (the banner says so).
    let queue_now = steady(queue);
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
        if matches!(queue.get(), Some(Ok(_))) {
            crate::marks::mark(crate::marks::APPROVALS_RENDERED);
        }
    });
    // The selected request's id, and where it stood, to select its neighbour if it goes.
    let selected = RwSignal::new(None::<i64>);
    let last_index = StoredValue::new(0_usize);
    Effect::new(move |_| {
        let Some(Ok(page)) = queue.get() else { return };
        let ids: Vec<i64> = page.items.iter().map(|r| r.id).collect();
        match selected.get_untracked() {
            Some(id) if ids.contains(&id) => {}
            // First load, or the selected request was decided: the one now in its place.
            previous => {
                let index = if previous.is_none() {
                    0
                } else {
                    last_index.get_value()
                };
                selected.set(ids.get(index.min(ids.len().saturating_sub(1))).copied());
            }
        }
    });
    Effect::new(move |_| {
        if let (Some(id), Some(Ok(page))) = (selected.get(), queue.get())
            && let Some(index) = page.items.iter().position(|r| r.id == id)
        {
            last_index.set_value(index);
        }
    });
    let help_open = RwSignal::new(false);

    let approve_target = RwSignal::new(None::<RequestView>);
    let approve_open = RwSignal::new(false);
    let deny_target = RwSignal::new(None::<i64>);
    let deny_title = RwSignal::new(String::new());
    let deny_open = RwSignal::new(false);
    let after = move |message: String| {
        toasts.show(message);
        queue.refetch();
        auth.refresh();
    };
    // An error is shown in the dialog, which stays open.
    let approve = FormAction::new(
        |id: i64| api::approve(id, ApproveBody::default()),
        move |d| {
            approve_open.set(false);
            after(format!("Request #{} approved", d.request.id));
        },
    );
    let open_approve = move |r: RequestView| {
        approve_target.set(Some(r));
        approve_open.set(true);
    };
    let open_deny = move |r: &RequestView| {
        deny_target.set(Some(r.id));
        deny_title.set(format!("Deny {}?", name_of(r)));
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
            || approve_open.get_untracked()
            || ev.ctrl_key()
            || ev.meta_key()
            || ev.alt_key()
        {
            return;
        }
        let list = items();
        let index = selected
            .get_untracked()
            .and_then(|id| list.iter().position(|r| r.id == id));
        let current = index.and_then(|i| list.get(i)).cloned();
        let select_at = |i: usize| selected.set(list.get(i).map(|r| r.id));
        match ev.key().as_str() {
            "j" | "ArrowDown" => {
                select_at(index.map_or(0, |i| (i + 1).min(list.len().saturating_sub(1))))
            }
            "k" | "ArrowUp" => select_at(index.map_or(0, |i| i.saturating_sub(1))),
            "a" => {
                if let Some(r) = current {
                    ev.prevent_default();
                    open_approve(r);
                }
            }
            "d" => {
                if let Some(r) = current {
                    ev.prevent_default();
                    open_deny(&r);
                }
            }
            "Enter" => {
                if let Some(r) = current {
                    navigate(&Page::Request(r.id).path(), Default::default());
                }
            }
            "?" => help_open.update(|o| *o = !*o),
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());

    view! {
        <section class="page" data-testid="approvals-page">
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
            <Loaded value=queue_now rows=4 retry=refetch(queue) let:page>
                {if page.items.is_empty() {
                    view! { <Empty title="All caught up">"No request waits for your decision."</Empty> }.into_any()
                } else {
                    view! {
                        <ul class="queue" data-testid="approval-queue">
                            {page
                                .items
                                .into_iter()
                                .map(|r| {
                                    let id = r.id;
                                    let for_approve = r.clone();
                                    let for_deny = r.clone();
                                    view! {
                                        <li
                                            class="card queue-item"
                                            aria-current=move || (selected.get() == Some(id)).then_some("true")
                                            data-request-id=id
                                        >
                                            <div class="queue-head">
                                                <a href=Page::Request(id).path()>
                                                    {format!("#{id} {} → {} ({})", r.identity.name, r.resource.name, r.privilege)}
                                                </a>
                                                <span class="muted">
                                                    {r.extends_grant_id.map(|g| format!("extends grant #{g} by "))}
                                                    {format!("{} · by {} · ", format::duration(r.duration_secs), r.requester.name)}
                                                    {r.starts_at.map(|at| format!(
                                                        "window {} · ",
                                                        crate::time::window(at, at + chrono::Duration::seconds(r.duration_secs))
                                                    ))}
                                                    <RelativeTime at=r.created_at/>
                                                </span>
                                            </div>
                                            <StandingWarning count=r.standing_paths identity=r.identity.name.clone() resource=r.resource.name.clone()/>
                                            <p class="prose">{r.justification.task.clone()}</p>
                                            {move || (selected.get() == Some(id)).then(|| view! { <QueueContext id/> })}
                                            <p class="muted">
                                                {r.justification.ticket.clone().map(|t| format!("Ticket {t} · ")).unwrap_or_default()}
                                                {format!("{} of {} approvals", r.approvals.len(), r.approvals_required)}
                                            </p>
                                            <div class="actions">
                                                <button class="button primary" on:click=move |_| open_approve(for_approve.clone()) disabled=move || approve.pending().get()>
                                                    "Approve…"
                                                </button>
                                                <button class="button danger-outline" on:click=move |_| open_deny(&for_deny)>
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
                }}
            </Loaded>
            // The request is captured when the dialog opens: whatever moves in the queue
            // meanwhile, confirming acts on the one named here.
            {move || approve_open.get().then(|| {
                let r = approve_target.get_untracked();
                let title = r.as_ref().map(|r| format!("Approve {}?", name_of(r))).unwrap_or_default();
                let consequence = r
                    .as_ref()
                    .map(|r| format!(
                        "{} gets {} access to {} for {}, asked for by {}: {}",
                        r.identity.name,
                        r.privilege,
                        r.resource.name,
                        format::duration(r.duration_secs),
                        r.requester.name,
                        r.justification.task
                    ))
                    .unwrap_or_default();
                let id = r.map(|r| r.id);
                view! {
                    <ConfirmDialog
                        open=approve_open
                        title
                        consequence
                        confirm_label="Approve"
                        pending=approve.pending()
                        error=approve.error()
                        on_confirm=Callback::new(move |_| {
                            if let Some(id) = id {
                                approve.send(id);
                            }
                        })
                        testid="queue-approve-dialog"
                    />
                }
            })}
            <DenyDialog
                open=deny_open
                title=deny_title
                target=deny_target.into()
                on_denied=Callback::new(move |d: RequestDetail| after(format!("Request #{} denied", d.request.id)))
                testid="queue-deny-dialog"
            />
        </section>
    }
}

/// "#6 billing-agent → prod-cluster (admin)": how dialogs name the request they act on.
fn name_of(r: &RequestView) -> String {
    format!(
        "#{} {} → {} ({})",
        r.id, r.identity.name, r.resource.name, r.privilege
    )
}
