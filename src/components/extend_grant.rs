//! Asking for more time on a live grant: the holder picks how much and says why; the
//! request goes to the approvers like any, and once approved the same grant ends later.

use crate::api;
use crate::components::form::{FieldProblem, FormAction, FormProblem};
use crate::components::toast::use_toasts;
use crate::page::Page;
use leptos::prelude::*;
use stint_core::api::{ExtendBody, GrantView};
use stint_core::format;
use stint_core::rules::{self, Justification};

/// Extensions offered as one click, each within what the grant may still get.
fn presets(longest: i64) -> Vec<i64> {
    let mut presets: Vec<i64> = [15 * 60, 3600, 4 * 3600]
        .into_iter()
        .filter(|d| *d < longest)
        .collect();
    presets.push(longest);
    presets
}

/// Moves keyboard focus to the element `id` once the view has drawn it.
fn focus(id: String) {
    request_animation_frame(move || {
        if let Some(element) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&id))
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
        {
            let _ = element.focus();
        }
    });
}

/// The grant's extension: the one waiting, or a button and form to ask for one.
#[component]
pub fn ExtendGrant(
    grant: GrantView,
    /// Called after an extension was asked for, so the page rereads the grant.
    on_change: Callback<()>,
) -> impl IntoView {
    if let Some(request) = grant.pending_extension_id {
        return view! {
            <p class="notice" data-testid="pending-extension">
                "An extension waits for approval: "
                <a href=Page::Request(request).path()>{format!("request #{request}")}</a>
                ". Until it is approved, the grant still ends at its current expiry."
            </p>
        }
        .into_any();
    }
    let longest = grant.extendable_secs;
    if longest <= 0 {
        return ().into_any();
    }
    let toasts = use_toasts();
    let id = grant.id;
    let open = RwSignal::new(false);
    let duration = RwSignal::new(presets(longest)[0]);
    let task = RwSignal::new(String::new());
    let ticket = RwSignal::new(String::new());
    // Focus follows the form: into it when it opens, back to its button when it closes.
    let button_id = StoredValue::new(format!("extend-{id}"));
    let task_id = StoredValue::new(format!("extend-task-{id}"));
    let form_id = StoredValue::new(format!("extend-form-{id}"));
    let show = move || {
        open.set(true);
        focus(task_id.get_value());
    };
    let hide = move || {
        open.set(false);
        focus(button_id.get_value());
    };
    let send = FormAction::new(
        move |body: ExtendBody| api::extend(id, body),
        move |detail| {
            open.set(false);
            toasts.show(if detail.request.auto_approved {
                format!(
                    "Extended by {}",
                    format::duration(detail.request.duration_secs)
                )
            } else {
                format!(
                    "Extension asked for (request #{}); until it is approved, the grant still \
                     ends at its current expiry",
                    detail.request.id
                )
            });
            on_change.run(());
        },
    );
    let problem = send.problem();
    let field_error =
        move |field: &'static str| problem.get().filter(|p| p.field.as_deref() == Some(field));
    let task_short = move || task.get().trim().chars().count() < rules::TASK_MIN_CHARS;
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if task_short() {
            return;
        }
        let ticket = ticket.get_untracked();
        send.send(ExtendBody {
            duration_secs: duration.get_untracked(),
            justification: Justification {
                task: task.get_untracked(),
                ticket: (!ticket.trim().is_empty()).then_some(ticket),
            },
        });
    };
    view! {
        <Show
            when=move || open.get()
            fallback=move || view! {
                <button
                    id=button_id.get_value()
                    class="button subtle"
                    aria-expanded="false"
                    aria-controls=form_id.get_value()
                    on:click=move |_| show()
                    data-testid="extend"
                >
                    "Extend…"
                </button>
            }
        >
            <form
                id=form_id.get_value()
                class="form extend-form"
                aria-label="Extend this grant"
                on:submit=on_submit
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        hide();
                    }
                }
                novalidate=true
                data-testid="extend-form"
            >
                <fieldset class="field">
                    <legend>"Extend by"</legend>
                    <div class="presets" role="group" aria-label="Extension presets">
                        {presets(longest).into_iter().map(|secs| view! {
                            <button
                                type="button"
                                class="chip"
                                aria-pressed=move || (duration.get() == secs).to_string()
                                on:click=move |_| duration.set(secs)
                            >
                                {format::duration(secs)}
                            </button>
                        }).collect_view()}
                    </div>
                    <p class="help">
                        {format!(
                            "At most {} more for this grant; after that, a new request.",
                            format::duration(longest)
                        )}
                    </p>
                    <FieldProblem problem field="duration_secs"/>
                </fieldset>
                <div class="field">
                    <label for=task_id.get_value()>"Why the work needs more time"</label>
                    <textarea
                        id=task_id.get_value()
                        rows="2"
                        prop:value=move || task.get()
                        on:input=move |ev| task.set(event_target_value(&ev))
                        aria-invalid=move || field_error("justification.task").is_some().to_string()
                        aria-describedby=format!("extend-task-help-{id} extend-task-error-{id}")
                        data-testid="extend-task"
                    ></textarea>
                    <p class="help" id=format!("extend-task-help-{id}")>
                        {format!("At least {} characters; approvers read this.", rules::TASK_MIN_CHARS)}
                    </p>
                    <FieldProblem problem field="justification.task" id=format!("extend-task-error-{id}")/>
                </div>
                <div class="field">
                    <label for=format!("extend-ticket-{id}")>"Ticket (if the resource asks for one)"</label>
                    <input
                        id=format!("extend-ticket-{id}")
                        prop:value=move || ticket.get()
                        on:input=move |ev| ticket.set(event_target_value(&ev))
                        aria-describedby=format!("extend-ticket-error-{id}")
                        data-testid="extend-ticket"
                    />
                    <FieldProblem problem field="justification.ticket" id=format!("extend-ticket-error-{id}")/>
                </div>
                <FormProblem problem fields=&["duration_secs", "justification.task", "justification.ticket"]/>
                <div class="form-actions">
                    <button type="button" class="button subtle" on:click=move |_| hide()>"Cancel"</button>
                    <button
                        type="submit"
                        class="button primary"
                        disabled=move || send.pending().get() || task_short()
                        data-testid="submit-extend"
                    >
                        {move || if send.pending().get() { "Asking…" } else { "Ask to extend" }}
                    </button>
                </div>
            </form>
        </Show>
    }
    .into_any()
}
