//! Filing a request. The form previews the resource's policy with `stint_core` (maximum
//! duration, approvals needed); the broker decides.

use crate::api::{self, ApiError};
use crate::components::states::{Empty, ErrorState, Skeleton};
use crate::components::toast::use_toasts;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use stint_core::api::{IdentityView, NewRequestBody, ResourceView};
use stint_core::format;
use stint_core::rules::{self, Justification};

#[component]
pub fn NewRequest() -> impl IntoView {
    let catalog = LocalResource::new(|| async {
        let identities = api::identities().await?;
        let resources = api::resources().await?;
        Ok::<_, ApiError>((identities, resources))
    });
    view! {
        <section class="page narrow">
            <header class="page-head">
                <h1>"New request"</h1>
            </header>
            {move || match catalog.get() {
                None => view! { <Skeleton rows=6/> }.into_any(),
                Some(Err(error)) => {
                    view! { <ErrorState error retry=Callback::new(move |_| catalog.refetch())/> }.into_any()
                }
                Some(Ok((identities, resources))) => {
                    let owned: Vec<IdentityView> = identities.into_iter().filter(|i| i.owned_by_me).collect();
                    if owned.is_empty() {
                        view! {
                            <Empty title="You own no identity yet">
                                "Only an accountable owner may request access for an identity. Ask an admin to record you as the owner of the identity you run."
                            </Empty>
                        }
                            .into_any()
                    } else {
                        view! { <RequestForm identities=owned resources/> }.into_any()
                    }
                }
            }}
        </section>
    }
}

#[component]
fn RequestForm(identities: Vec<IdentityView>, resources: Vec<ResourceView>) -> impl IntoView {
    let toasts = use_toasts();
    let navigate = use_navigate();
    let resources = StoredValue::new(resources);
    let identity_id = RwSignal::new(identities[0].id);
    let resource_id = RwSignal::new(resources.with_value(|r| r.first().map(|r| r.id).unwrap_or(0)));
    let resource = Memo::new(move |_| {
        resources.with_value(|all| all.iter().find(|r| r.id == resource_id.get()).cloned())
    });
    let privilege = RwSignal::new(String::new());
    let duration = RwSignal::new(3600_i64);
    let task = RwSignal::new(String::new());
    let ticket = RwSignal::new(String::new());

    // A new resource brings its own privileges and maximum.
    Effect::new(move |_| {
        if let Some(r) = resource.get() {
            privilege.set(r.privileges.first().cloned().unwrap_or_default());
            duration.set(
                duration
                    .get_untracked()
                    .min(r.policy.max_duration_secs)
                    .max(1),
            );
        }
    });

    let submit = Action::new_local(move |body: &NewRequestBody| api::file_request(body.clone()));
    Effect::new(move |_| {
        if let Some(Ok(detail)) = submit.value().get() {
            toasts.show(format!("Request #{} filed", detail.request.id));
            navigate(
                &format!("/requests/{}", detail.request.id),
                Default::default(),
            );
        }
    });
    let broker_error = move |field: &'static str| {
        submit
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field() == Some(field))
            .map(|e| e.to_string())
    };
    let general_error = move || {
        submit.value().get().and_then(|r| r.err()).filter(|e| {
            !matches!(
                e.field(),
                Some("duration_secs" | "privilege" | "justification.task" | "justification.ticket")
            )
        })
    };
    // The same rule the broker applies, previewed while typing.
    let duration_error = move || {
        resource
            .get()
            .and_then(|r| rules::check_duration(duration.get(), &r.policy).err())
            .map(|e| e.to_string())
            .or_else(|| broker_error("duration_secs"))
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if submit.pending().get_untracked() || duration_error().is_some() {
            return;
        }
        let ticket = ticket.get_untracked();
        submit.dispatch(NewRequestBody {
            identity_id: identity_id.get_untracked(),
            resource_id: resource_id.get_untracked(),
            privilege: privilege.get_untracked(),
            duration_secs: duration.get_untracked(),
            justification: Justification {
                task: task.get_untracked(),
                ticket: (!ticket.trim().is_empty()).then_some(ticket),
            },
        });
    };

    view! {
        <form class="form card" on:submit=on_submit novalidate=true data-testid="request-form">
            <div class="field">
                <label for="identity">"Identity"</label>
                <select
                    id="identity"
                    on:change=move |ev| identity_id.set(event_target_value(&ev).parse().unwrap_or_default())
                    data-testid="identity"
                >
                    {identities
                        .iter()
                        .map(|i| {
                            view! {
                                <option value=i.id selected=i.id == identity_id.get_untracked()>
                                    {format!("{} ({})", i.name, i.kind.label())}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <p class="help">"Only identities you are an accountable owner of."</p>
            </div>

            <div class="field">
                <label for="resource">"Resource"</label>
                <select
                    id="resource"
                    on:change=move |ev| resource_id.set(event_target_value(&ev).parse().unwrap_or_default())
                    data-testid="resource"
                >
                    {resources
                        .get_value()
                        .into_iter()
                        .map(|r| view! { <option value=r.id>{r.name.clone()}</option> })
                        .collect_view()}
                </select>
                <p class="help policy" data-testid="policy-summary">
                    {move || resource.get().map(|r| rules::describe_policy(&r.policy))}
                </p>
            </div>

            <div class="field">
                <label for="privilege">"Privilege"</label>
                <select
                    id="privilege"
                    on:change=move |ev| privilege.set(event_target_value(&ev))
                    prop:value=move || privilege.get()
                    data-testid="privilege"
                >
                    {move || {
                        resource
                            .get()
                            .map(|r| {
                                r.privileges
                                    .into_iter()
                                    .map(|p| view! { <option value=p.clone()>{p.clone()}</option> })
                                    .collect_view()
                            })
                    }}
                </select>
                {move || broker_error("privilege").map(|e| view! { <p class="field-error">{e}</p> })}
            </div>

            <fieldset class="field">
                <legend>"Duration"</legend>
                <div class="presets" role="group" aria-label="Duration presets">
                    {move || {
                        resource
                            .get()
                            .map(|r| {
                                let max = r.policy.max_duration_secs;
                                rules::duration_presets(&r.policy)
                                    .into_iter()
                                    .map(|secs| {
                                        let label = if secs == max {
                                            format!("max ({})", format::duration(secs))
                                        } else {
                                            format::duration(secs)
                                        };
                                        view! {
                                            <button
                                                type="button"
                                                class="chip"
                                                aria-pressed=move || (duration.get() == secs).to_string()
                                                on:click=move |_| duration.set(secs)
                                            >
                                                {label}
                                            </button>
                                        }
                                    })
                                    .collect_view()
                            })
                    }}
                </div>
                <label for="minutes">"Custom, in minutes"</label>
                <input
                    id="minutes"
                    type="number"
                    min="1"
                    max=move || resource.get().map(|r| (r.policy.max_duration_secs / 60).to_string())
                    inputmode="numeric"
                    prop:value=move || (duration.get() / 60).max(0).to_string()
                    on:input=move |ev| {
                        if let Ok(minutes) = event_target_value(&ev).parse::<i64>() {
                            duration.set(minutes.saturating_mul(60));
                        }
                    }
                    aria-describedby="duration-help"
                    data-testid="duration-minutes"
                />
                <p class="help" id="duration-help">
                    {move || {
                        resource
                            .get()
                            .map(|r| {
                                format!(
                                    "{} requested; this resource allows at most {}.",
                                    format::duration(duration.get()),
                                    format::duration(r.policy.max_duration_secs),
                                )
                            })
                    }}
                </p>
                {move || duration_error().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            </fieldset>

            <div class="field">
                <label for="task">"Task"</label>
                <textarea
                    id="task"
                    rows="3"
                    required=true
                    prop:value=move || task.get()
                    on:input=move |ev| task.set(event_target_value(&ev))
                    aria-describedby="task-help"
                    data-testid="task"
                ></textarea>
                <p class="help" id="task-help">
                    {format!("What will this access be used for? At least {} characters.", rules::TASK_MIN_CHARS)}
                </p>
                {move || broker_error("justification.task").map(|e| view! { <p class="field-error">{e}</p> })}
            </div>

            <div class="field">
                <label for="ticket">
                    "Ticket reference"
                    {move || {
                        if resource.get().is_some_and(|r| r.policy.ticket_required) { " (required)" } else { " (optional)" }
                    }}
                </label>
                <input
                    id="ticket"
                    prop:value=move || ticket.get()
                    on:input=move |ev| ticket.set(event_target_value(&ev))
                    placeholder="OPS-1234"
                    data-testid="ticket"
                />
                {move || broker_error("justification.ticket").map(|e| view! { <p class="field-error">{e}</p> })}
            </div>

            {move || general_error().map(|e| view! { <p class="field-error" role="alert">{e.to_string()}</p> })}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || submit.pending().get() data-testid="submit-request">
                    {move || if submit.pending().get() { "Filing…" } else { "File request" }}
                </button>
            </div>
        </form>
    }
}
