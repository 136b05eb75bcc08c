//! The form that asks for access: a request for approvers, or break-glass taken at once.
//! It previews the resource's policy with `stint_core` (maximum duration, approvals or
//! review deadline); the broker decides.

use crate::api::{self, ApiError};
use crate::components::connection::steady;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem, Refusal};
use crate::components::start_field::{StartChoice, StartField};
use crate::components::states::{Empty, Loaded, refetch};
use crate::components::time::Countdown;
use crate::components::toast::use_toasts;
use crate::page::Page;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use stint_core::api::{
    BreakGlassBody, GrantView, IdentityView, NewRequestBody, RequestDetail, ResourceView,
};
use stint_core::query::GrantQuery;
use stint_core::rules::{self, Justification};
use stint_core::{GrantState, Policy, RuleError, break_glass, format};

/// What the form sends.
#[derive(Clone)]
enum Submission {
    Request(NewRequestBody),
    BreakGlass(BreakGlassBody),
}

async fn send(submission: Submission) -> Result<RequestDetail, ApiError> {
    match submission {
        Submission::Request(body) => api::file_request(body).await,
        Submission::BreakGlass(body) => api::break_glass(body).await,
    }
}

/// Fields the broker may blame, each shown under its input.
const FIELDS: [&str; 7] = [
    "identity_id",
    "duration_secs",
    "starts_at",
    "privilege",
    "justification.task",
    "justification.ticket",
    "password",
];

/// What "Request again" fills the form with: a past request's access and task, for the
/// requester to adjust before filing.
#[derive(Clone)]
struct Prefill {
    identity_id: i64,
    resource_id: i64,
    privilege: String,
    duration_secs: i64,
    justification: Justification,
}

/// Loads what the viewer may ask access for (and, with `again`, the past request to copy),
/// then shows the form (or why there is none).
#[component]
pub fn AccessForm(
    break_glass: bool,
    /// A past request whose access and task fill the form.
    #[prop(default = None)]
    again: Option<i64>,
) -> impl IntoView {
    let catalog = LocalResource::new(move || async move {
        let identities = api::identities().await?;
        let resources = api::resources().await?;
        // What the viewer's identities hold now, to warn before asking for it again.
        let live = api::grants(&GrantQuery::mine(GrantState::Active)).await?;
        let prefill = match again {
            Some(id) => {
                let past = api::request(id).await?.request;
                Some(Prefill {
                    identity_id: past.identity.id,
                    resource_id: past.resource.id,
                    privilege: past.privilege,
                    duration_secs: past.duration_secs,
                    justification: past.justification,
                })
            }
            None => None,
        };
        Ok::<_, ApiError>((identities, resources, live, prefill))
    });
    view! {
        <Loaded value=steady(catalog) rows=6 retry=refetch(catalog) let:loaded>
            {
                let (identities, resources, live, prefill) = loaded;
                let owned: Vec<IdentityView> =
                    identities.into_iter().filter(|i| i.owned_by_me).collect();
                if owned.is_empty() {
                    view! {
                        <Empty title="You own no identity yet">
                            "Only an accountable owner may ask for access for an identity. "
                            <a href=Page::Identities.path()>"Declare accountability"</a>
                            " for an orphaned identity you run, or ask one of its owners."
                        </Empty>
                    }
                    .into_any()
                } else {
                    view! { <RequestForm identities=owned resources live break_glass prefill/> }
                        .into_any()
                }
            }
        </Loaded>
    }
}

#[component]
fn RequestForm(
    identities: Vec<IdentityView>,
    resources: Vec<ResourceView>,
    live: Vec<GrantView>,
    break_glass: bool,
    prefill: Option<Prefill>,
) -> impl IntoView {
    let toasts = use_toasts();
    let navigate = use_navigate();
    let resources: Vec<ResourceView> = resources
        .into_iter()
        .filter(|r| !break_glass || r.policy.break_glass.is_some())
        .collect();
    if resources.is_empty() {
        return view! {
            <p class="empty" data-testid="empty">"No resource allows break-glass access."</p>
        }
        .into_any();
    }
    let resources = StoredValue::new(resources);
    // Nobody is asked for by accident: with several identities, the user picks one (or
    // the past request being copied names one they still own).
    let identity_id = RwSignal::new(
        prefill
            .as_ref()
            .map(|p| p.identity_id)
            .filter(|id| identities.iter().any(|i| i.id == *id))
            .or_else(|| (identities.len() == 1).then(|| identities[0].id)),
    );
    let resource_id = RwSignal::new(
        prefill
            .as_ref()
            .map(|p| p.resource_id)
            .filter(|id| resources.with_value(|all| all.iter().any(|r| r.id == *id)))
            .unwrap_or_else(|| resources.with_value(|r| r[0].id)),
    );
    let resource = Memo::new(move |_| {
        resources.with_value(|all| all.iter().find(|r| r.id == resource_id.get()).cloned())
    });
    // The limits this form works within: break-glass has its own, shorter cap.
    let policy = Memo::new(move |_| {
        resource.get().and_then(|r| {
            if break_glass {
                break_glass::form_policy(&r.policy)
            } else {
                Some(r.policy)
            }
        })
    });
    let privilege = RwSignal::new(
        prefill
            .as_ref()
            .map(|p| p.privilege.clone())
            .unwrap_or_default(),
    );
    let duration = RwSignal::new(prefill.as_ref().map_or(3600_i64, |p| p.duration_secs));
    let start = StartChoice::new();
    let now = crate::time::use_now();
    let task = RwSignal::new(
        prefill
            .as_ref()
            .map(|p| p.justification.task.clone())
            .unwrap_or_default(),
    );
    let ticket = RwSignal::new(
        prefill
            .and_then(|p| p.justification.ticket)
            .unwrap_or_default(),
    );
    let password = RwSignal::new(String::new());
    let confirm_open = RwSignal::new(false);
    // Set by a submit: from then on, what is still missing is shown under its field.
    let attempted = RwSignal::new(false);
    let task_min = if break_glass {
        break_glass::TASK_MIN_CHARS
    } else {
        rules::TASK_MIN_CHARS
    };

    // A new resource brings its own privileges and maximum.
    Effect::new(move |_| {
        if let (Some(r), Some(p)) = (resource.get(), policy.get()) {
            // The privilege chosen stays if the resource has it (as a copied request's does).
            if !r.privileges.contains(&privilege.get_untracked()) {
                privilege.set(r.privileges.first().cloned().unwrap_or_default());
            }
            duration.set(duration.get_untracked().min(p.max_duration_secs).max(1));
        }
    });

    let submit = FormAction::new(send, move |detail: RequestDetail| {
        confirm_open.set(false);
        // One numbering: the review by its own number (its page says "Review #N").
        let review = detail.grant.as_ref().and_then(|g| g.review_id);
        toasts.show(match (break_glass, review) {
            (true, Some(review)) => format!(
                "Break-glass access taken (request #{}); review #{review} is open",
                detail.request.id
            ),
            (true, None) => {
                format!("Break-glass access taken (request #{})", detail.request.id)
            }
            (false, _) => format!("Request #{} filed", detail.request.id),
        });
        navigate(&Page::Request(detail.request.id).path(), Default::default());
    });
    let error = move || submit.failure();
    // An error about one field is shown under it, so the confirmation steps aside.
    Effect::new(move |_| {
        if error().is_some_and(|e| e.field().is_some()) {
            confirm_open.set(false);
        }
    });
    // What the broker would refuse, previewed with its own rules once the user has tried.
    let preview = move || -> Option<RuleError> {
        if !attempted.get() {
            return None;
        }
        let p = policy.get()?;
        if identity_id.get().is_none() {
            return Some(RuleError::invalid(
                "identity_id",
                "choose the identity that needs the access",
            ));
        }
        if let Err(e) = rules::check_duration(duration.get(), &p) {
            return Some(e);
        }
        if let Some(e) = start.problem(&p, now.get_untracked()) {
            return Some(e);
        }
        let typed = Justification {
            task: task.get(),
            ticket: Some(ticket.get()),
        };
        let checked = if break_glass {
            break_glass::check_reason(&typed, &p)
        } else {
            rules::check_justification(&typed, &p)
        };
        if let Err(e) = checked {
            return Some(e);
        }
        (break_glass && password.get().is_empty())
            .then(|| RuleError::invalid("password", "enter your password to confirm it is you"))
    };
    let broker_error = move |field: &'static str| {
        preview()
            .filter(|e| e.field() == Some(field))
            .map(|e| format::sentence(&e.to_string()))
            .or_else(|| {
                error()
                    .filter(|e| e.field() == Some(field))
                    .map(|e| e.to_string())
            })
    };
    // What the form shows under a field, or above the buttons: the preview of the broker's
    // rule while typing, else the broker's answer.
    let problem = Signal::derive(move || {
        preview()
            .map(Problem::from)
            .or_else(|| error().map(Problem::from))
    });
    let general_error = move || error().filter(|e| !e.field().is_some_and(|f| FIELDS.contains(&f)));
    // The same rule the broker applies, previewed while typing.
    let duration_error = move || {
        policy
            .get()
            .and_then(|p: Policy| rules::check_duration(duration.get(), &p).err())
            .map(|e| format::sentence(&e.to_string()))
            .or_else(|| broker_error("duration_secs"))
    };
    let justification = move || {
        let ticket = ticket.get_untracked();
        Justification {
            task: task.get_untracked(),
            ticket: (!ticket.trim().is_empty()).then_some(ticket),
        }
    };
    let dispatch = move || {
        let Some(identity_id) = identity_id.get_untracked() else {
            return;
        };
        let submission = if break_glass {
            Submission::BreakGlass(BreakGlassBody {
                identity_id,
                resource_id: resource_id.get_untracked(),
                privilege: privilege.get_untracked(),
                duration_secs: duration.get_untracked(),
                justification: justification(),
                password: password.get_untracked(),
            })
        } else {
            Submission::Request(NewRequestBody {
                identity_id,
                resource_id: resource_id.get_untracked(),
                privilege: privilege.get_untracked(),
                duration_secs: duration.get_untracked(),
                justification: justification(),
                starts_at: start.starts_at(),
            })
        };
        submit.send(submission);
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if let Some(problem) = preview() {
            // Take the user to what is missing, where its message is.
            focus_field(problem.field());
            return;
        }
        if submit.pending().get_untracked() {
            return;
        }
        if break_glass {
            confirm_open.set(true);
        } else {
            dispatch();
        }
    };
    let identity_names: Vec<(i64, String)> =
        identities.iter().map(|i| (i.id, i.name.clone())).collect();
    let identity_name = move || {
        let id = identity_id.get();
        identity_names
            .iter()
            .find(|(i, _)| Some(*i) == id)
            .map(|(_, n)| n.clone())
    };
    // Access the identity already holds on this resource, live now.
    let live = StoredValue::new(live);
    let already_live = move || -> Vec<GrantView> {
        let (Some(identity), resource) = (identity_id.get(), resource_id.get()) else {
            return Vec::new();
        };
        live.with_value(|all| {
            all.iter()
                .filter(|g| g.identity.id == identity && g.resource.id == resource)
                .cloned()
                .collect()
        })
    };
    let consequence = move || {
        let identity = identity_name();
        format!(
            "{} gets {} access to {} now, for {}, without approval. Every reviewer sees it in \
             their Reviews queue, and one must judge it within {}.",
            identity.unwrap_or_default(),
            privilege.get(),
            resource.get().map(|r| r.name).unwrap_or_default(),
            format::duration(duration.get()),
            resource
                .get()
                .and_then(|r| r.policy.break_glass)
                .map(|b| format::duration(b.review_within_secs))
                .unwrap_or_default(),
        )
    };
    let identity_options = identities
        .iter()
        .map(|i| {
            view! {
                <option value=i.id selected=Some(i.id) == identity_id.get_untracked()>
                    {format!("{} ({})", i.name, i.kind.label())}
                </option>
            }
        })
        .collect_view();
    let choose_prompt = (identities.len() > 1).then(|| {
        view! { <option value="" selected=true disabled=true>"Choose an identity…"</option> }
    });

    view! {
        <form
            class=if break_glass { "form card break-glass-form" } else { "form card" }
            on:submit=on_submit
            novalidate=true
            data-testid="request-form"
        >
            <div class="field">
                <label for="identity">"Identity"</label>
                <select
                    id="identity"
                    on:change=move |ev| identity_id.set(event_target_value(&ev).parse().ok())
                    aria-invalid=move || broker_error("identity_id").is_some().to_string()
                    data-testid="identity"
                >
                    {choose_prompt}
                    {identity_options}
                </select>
                <p class="help">"Only identities you are an accountable owner of."</p>
                <FieldProblem problem field="identity_id"/>
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
                    {move || {
                        resource.get().map(|r| match (break_glass, r.policy.break_glass) {
                            (true, Some(bounds)) => break_glass::describe(&bounds),
                            _ => rules::describe_policy(&r.policy, &r.approver_pool),
                        })
                    }}
                </p>
            </div>

            {move || {
                let held = already_live();
                (!held.is_empty()).then(|| view! { <LiveAccessWarning held break_glass/> })
            }}

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
                <FieldProblem problem field="privilege"/>
            </div>

            <fieldset class="field">
                <legend>"Duration"</legend>
                <div class="presets" role="group" aria-label="Duration presets">
                    {move || {
                        policy
                            .get()
                            .map(|p| {
                                let max = p.max_duration_secs;
                                rules::duration_presets(&p)
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
                    max=move || policy.get().map(|p| (p.max_duration_secs / 60).to_string())
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
                        policy
                            .get()
                            .map(|p| {
                                format!(
                                    "{} requested; at most {} here.",
                                    format::duration(duration.get()),
                                    format::duration(p.max_duration_secs),
                                )
                            })
                    }}
                </p>
                <Refusal message=Signal::derive(duration_error)/>
            </fieldset>

            {(!break_glass).then(|| view! {
                <StartField
                    choice=start
                    policy
                    duration
                    error=Signal::derive(move || broker_error("starts_at"))
                />
            })}

            <div class="field">
                <label for="task">{if break_glass { "What is broken, and why it cannot wait" } else { "Task" }}</label>
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
                    {format!("At least {task_min} characters; reviewers and auditors read this.")}
                </p>
                <FieldProblem problem field="justification.task"/>
            </div>

            <div class="field">
                <label for="ticket">
                    "Ticket or incident reference"
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
                <FieldProblem problem field="justification.ticket"/>
            </div>

            {break_glass
                .then(|| {
                    view! {
                        <div class="field">
                            <label for="bg-password">"Your password, to confirm it is you"</label>
                            <input
                                id="bg-password"
                                type="password"
                                autocomplete="current-password"
                                prop:value=move || password.get()
                                on:input=move |ev| password.set(event_target_value(&ev))
                                data-testid="password"
                            />
                            <FieldProblem problem field="password"/>
                        </div>
                    }
                })}

            <FormProblem problem fields=&FIELDS/>
            <div class="form-actions">
                <button
                    type="submit"
                    class=if break_glass { "button danger" } else { "button primary" }
                    disabled=move || submit.pending().get()
                    data-testid="submit-request"
                >
                    {move || match (submit.pending().get(), break_glass) {
                        (true, _) => "Working…",
                        (false, true) => "Take break-glass access…",
                        (false, false) => "File request",
                    }}
                </button>
            </div>
            {break_glass
                .then(|| {
                    view! {
                        <ConfirmDialog
                            open=confirm_open
                            title="Take break-glass access now?"
                            consequence=Signal::derive(consequence)
                            confirm_label="Take access now"
                            pending=submit.pending()
                            error=Signal::derive(move || general_error().map(|e| e.to_string()))
                            on_confirm=Callback::new(move |_| dispatch())
                            testid="break-glass-dialog"
                        />
                    }
                })}
        </form>
    }
    .into_any()
}

/// Focuses the input the broker's field name belongs to.
fn focus_field(field: Option<&str>) {
    let id = match field {
        Some("identity_id") => "identity",
        Some("duration_secs") => "minutes",
        Some("starts_at") => "starts-at",
        Some("justification.task") => "task",
        Some("justification.ticket") => "ticket",
        Some("password") => "bg-password",
        _ => return,
    };
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

/// The identity already holds access here: break-glass is for access it does not have,
/// and a second request is usually a mistake.
#[component]
fn LiveAccessWarning(held: Vec<GrantView>, break_glass: bool) -> impl IntoView {
    let advice = if break_glass {
        "Break-glass is for access it does not have: use the live grant, or revoke it first."
    } else {
        "A new request adds a second grant beside it."
    };
    view! {
        <div class="warning" role="note" data-testid="already-live">
            <p>
                <strong>{format!("{} already holds live access here.", held[0].identity.name)}</strong>
                " " {advice}
            </p>
            <ul class="plain">
                {held
                    .into_iter()
                    .map(|g| view! {
                        <li>
                            <a href=Page::Request(g.request_id).path()>
                                {format!("{} access, request #{}", g.privilege, g.request_id)}
                            </a>
                            " · "
                            <Countdown from=g.starts_at until=g.expires_at/>
                        </li>
                    })
                    .collect_view()}
            </ul>
        </div>
    }
}
