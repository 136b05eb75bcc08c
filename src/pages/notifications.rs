//! Notifications: the sinks the broker tells of the events people must act on (a Slack
//! channel, a signed webhook), and how each one's deliveries went. Admins add and remove
//! sinks; auditors read.

use crate::api;
use crate::app::use_auth;
use crate::components::connection::steady;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem};
use crate::components::states::{Empty, LoadedList, RoleGate};
use crate::components::time::RelativeTime;
use crate::components::toast::use_toasts;
use leptos::prelude::*;
use stint_core::api::ResourceView;
use stint_core::notify::{
    self, DeliveryStatus, DeliveryView, NOTIFY_EVENTS, NewSinkBody, SinkKind, SinkView,
};
use stint_core::{Role, visibility};

#[component]
pub fn Notifications() -> impl IntoView {
    view! {
        <RoleGate roles=visibility::READS_EVERYTHING what="Notifications" who="admins and auditors">
            <NotificationsPage/>
        </RoleGate>
    }
}

#[component]
fn NotificationsPage() -> impl IntoView {
    let auth = use_auth();
    let sinks = LocalResource::new(api::sinks);
    let adding = RwSignal::new(false);
    let reload = Callback::new(move |_| sinks.refetch());
    view! {
        <section class="page" data-testid="notifications-page">
            <header class="page-head">
                <div>
                    <h1>"Notifications"</h1>
                    <p class="muted">
                        "Where Stint tells people what waits for them — a request to approve, break-glass to review, a grant about to end — as it happens."
                    </p>
                </div>
                <Show when=move || auth.has(Role::Admin)>
                    <button
                        class="button"
                        aria-expanded=move || adding.get().to_string()
                        on:click=move |_| adding.update(|a| *a = !*a)
                        data-testid="new-sink"
                    >
                        "Add a sink"
                    </button>
                </Show>
            </header>
            <Show when=move || adding.get()>
                <NewSink on_saved=Callback::new(move |_| {
                    adding.set(false);
                    sinks.refetch();
                })/>
            </Show>
            <LoadedList value=steady(sinks) rows=4 retry=reload
                empty=|| view! {
                    <Empty title="No sinks yet">
                        <p>"Add a Slack incoming webhook or any HTTPS endpoint, and choose the events it hears: approvers then learn of a request the moment it is filed."</p>
                    </Empty>
                }
                let:list>
                <div class="cards" data-testid="sinks">
                    {list.into_iter().map(|sink| view! { <SinkCard sink on_removed=reload/> }).collect_view()}
                </div>
            </LoadedList>
        </section>
    }
}

/// The words for an event, from the same list the broker checks sinks against.
fn event_label(action: &str) -> String {
    notify::notify_event(action).map_or_else(|| action.to_string(), |e| e.label.to_string())
}

#[component]
fn SinkCard(sink: SinkView, on_removed: Callback<()>) -> impl IntoView {
    let auth = use_auth();
    let showing = RwSignal::new(false);
    let id = sink.id;
    let name = sink.name.clone();
    let kind = match sink.kind {
        SinkKind::Slack => "Slack",
        SinkKind::Webhook => "Webhook",
    };
    let health = if sink.failing {
        view! {
            <span class="badge red" data-testid="sink-failing">
                {format!("Failing — {} attempts in a row", sink.failures_in_a_row)}
            </span>
        }
        .into_any()
    } else if sink.failures_in_a_row > 0 {
        view! { <span class="badge amber">"Retrying"</span> }.into_any()
    } else {
        view! { <span class="badge green">"Healthy"</span> }.into_any()
    };
    let resources = match &sink.resources {
        None => "All resources".to_string(),
        Some(list) => list
            .iter()
            .map(|r| r.name.clone())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let deliveries_id = format!("sink-{id}-deliveries");
    view! {
        <article class="card" data-sink=sink.name.clone()>
            <header class="card-head">
                <h2>{sink.name.clone()}</h2>
                <span class="badges">
                    <span class="badge blue">{kind}</span>
                    {health}
                </span>
            </header>
            <dl class="facts">
                <dt>"Posts to"</dt>
                <dd><code>{sink.target.clone()}</code></dd>
                {sink.secret_env.clone().map(|var| view! {
                    <dt>"Signed with"</dt>
                    <dd><code>{format!("${var}")}</code></dd>
                })}
                <dt>"Hears"</dt>
                <dd>
                    <ul class="plain">
                        {sink.events.iter().map(|e| view! {
                            <li>{event_label(e)} " " <code class="muted">{e.clone()}</code></li>
                        }).collect_view()}
                    </ul>
                </dd>
                <dt>"Of"</dt>
                <dd>{resources}</dd>
                <dt>"Delivered"</dt>
                <dd>
                    {match sink.last_delivered_at {
                        Some(at) => view! { "last " <RelativeTime at/> }.into_any(),
                        None => view! { "nothing yet" }.into_any(),
                    }}
                    {(sink.pending > 0).then(|| format!(" · {} waiting", sink.pending))}
                </dd>
                <dt>"Added"</dt>
                <dd>"by " {sink.created_by.name.clone()} " " <RelativeTime at=sink.created_at/></dd>
            </dl>
            <div class="actions">
                <button
                    class="button subtle"
                    aria-expanded=move || showing.get().to_string()
                    aria-controls=deliveries_id.clone()
                    on:click=move |_| showing.update(|s| *s = !*s)
                    data-testid="show-deliveries"
                >
                    {move || if showing.get() { "Hide deliveries" } else { "Show deliveries" }}
                </button>
                <Show when=move || auth.has(Role::Admin)>
                    <RemoveSink id name=name.clone() on_removed/>
                </Show>
            </div>
            <div id=deliveries_id>
                <Show when=move || showing.get()>
                    <Deliveries sink_id=id/>
                </Show>
            </div>
        </article>
    }
}

#[component]
fn RemoveSink(id: i64, name: String, on_removed: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let removed_name = name.clone();
    let remove = FormAction::new(
        move |()| api::remove_sink(id),
        move |()| {
            open.set(false);
            toasts.show(format!("Removed {removed_name}."));
            on_removed.run(());
        },
    );
    let error = remove.error();
    view! {
        <button class="button danger-outline" on:click=move |_| open.set(true) data-testid="remove-sink">
            "Remove"
        </button>
        <ConfirmDialog
            open
            title=format!("Remove {name}?")
            consequence="It hears nothing from now on, and what it has not delivered yet is given up. Adding and removing it stay in the audit trail."
            confirm_label="Remove"
            pending=remove.pending()
            error
            on_confirm=Callback::new(move |_| remove.send(()))
            testid="remove-sink-dialog"
        />
    }
}

#[component]
fn Deliveries(sink_id: i64) -> impl IntoView {
    let deliveries = LocalResource::new(move || api::deliveries(sink_id));
    let reload = Callback::new(move |_| deliveries.refetch());
    view! {
        <section class="deliveries" aria-label="Deliveries">
            <div class="card-head">
                <h3>"Deliveries"</h3>
                <button class="button subtle" on:click=move |_| deliveries.refetch() data-testid="refresh-deliveries">
                    "Refresh"
                </button>
            </div>
            <LoadedList value=steady(deliveries) rows=3 retry=reload
                empty=|| view! {
                    <p class="muted">"Nothing sent yet: the sink hears of events from when it was added."</p>
                }
                let:list>
                <div class="table-wrap">
                    <table class="table" data-testid="deliveries">
                        <thead>
                            <tr>
                                <th scope="col">"Event"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Attempts"</th>
                                <th scope="col">"Next try"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|d| view! { <DeliveryRow delivery=d/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </LoadedList>
        </section>
    }
}

#[component]
fn DeliveryRow(delivery: DeliveryView) -> impl IntoView {
    let (class, label) = match delivery.status {
        DeliveryStatus::Queued => ("badge grey", "queued"),
        DeliveryStatus::Retrying => ("badge amber", "retrying"),
        DeliveryStatus::Delivered => ("badge green", "delivered"),
        DeliveryStatus::GaveUp => ("badge red", "gave up"),
    };
    view! {
        <tr data-status=delivery.status.as_str()>
            <td>
                {event_label(&delivery.event)}
                <br/>
                <span class="muted">"queued " <RelativeTime at=delivery.queued_at/></span>
            </td>
            <td><span class=class>{label}</span></td>
            <td>
                <ol class="plain attempts">
                    {delivery.attempts.into_iter().map(|a| {
                        let outcome = match (a.response_code, a.error) {
                            (Some(code), None) => format!("answered {code}"),
                            (_, Some(error)) => error,
                            (None, None) => "sent".to_string(),
                        };
                        view! { <li><RelativeTime at=a.at/> " — " {outcome}</li> }
                    }).collect_view()}
                </ol>
            </td>
            <td>
                {match delivery.next_attempt_at {
                    Some(at) => view! { <RelativeTime at/> }.into_any(),
                    None => view! { <span class="muted">"—"</span> }.into_any(),
                }}
            </td>
        </tr>
    }
}

/// Adds `item` to `list`, or takes it out if it is there.
fn toggle(list: &mut Vec<String>, item: &str) {
    match list.iter().position(|x| x == item) {
        Some(i) => {
            list.remove(i);
        }
        None => list.push(item.to_string()),
    }
}

const FIELDS: &[&str] = &[
    "name",
    "kind",
    "url_env",
    "url",
    "secret_env",
    "events",
    "resources",
];

#[component]
fn NewSink(on_saved: Callback<()>) -> impl IntoView {
    let resources = LocalResource::new(api::resources);
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new(SinkKind::Slack);
    // The URL from a variable every replica has (a Slack webhook URL is itself a secret),
    // or typed here and stored.
    let from_variable = RwSignal::new(true);
    let url_env = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let secret_env = RwSignal::new(String::new());
    let events = RwSignal::new(vec!["request.filed".to_string()]);
    let only = RwSignal::new(None::<Vec<String>>);
    let touched = RwSignal::new(false);
    let save = FormAction::new(api::add_sink, move |_| on_saved.run(()));
    let text = |value: RwSignal<String>| {
        let value = value.get();
        (!value.trim().is_empty()).then(|| value.trim().to_string())
    };
    let body = move || NewSinkBody {
        name: name.get(),
        kind: kind.get().as_str().to_string(),
        url_env: if from_variable.get() {
            text(url_env)
        } else {
            None
        },
        url: if from_variable.get() { None } else { text(url) },
        secret_env: (kind.get() == SinkKind::Webhook)
            .then(|| text(secret_env))
            .flatten(),
        events: events.get(),
        resources: only.get(),
    };
    // The broker's own check, previewed; then what the broker said.
    let preview = move || notify::check_sink(&body()).err().map(Problem::from);
    let problem = Signal::derive(move || {
        let preview = touched.get().then(preview).flatten();
        preview.or_else(|| save.failure().map(Problem::from))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if preview().is_none() {
            save.send(body());
        }
    };
    let input = |id: &'static str,
                 label: &'static str,
                 help: &'static str,
                 placeholder: &'static str,
                 value: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input
                    id=id
                    aria-describedby=format!("{id}-help")
                    placeholder=placeholder
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                    data-testid=id
                />
                <p id=format!("{id}-help") class="help">{help}</p>
            </div>
        }
    };
    view! {
        <form class="card form" on:submit=submit data-testid="sink-form">
            <h2>"Add a sink"</h2>
            {input("sink-name", "Name", "How people will refer to it, e.g. approvers-channel.", "", name)}
            <FieldProblem problem field="name"/>
            <fieldset class="field">
                <legend>"Kind"</legend>
                <label class="radio">
                    <input type="radio" name="sink-kind" prop:checked=move || kind.get() == SinkKind::Slack on:change=move |_| kind.set(SinkKind::Slack)/>
                    "Slack incoming webhook (Block Kit messages with a button to the request)"
                </label>
                <label class="radio">
                    <input type="radio" name="sink-kind" prop:checked=move || kind.get() == SinkKind::Webhook on:change=move |_| kind.set(SinkKind::Webhook) data-testid="sink-kind-webhook"/>
                    "Webhook (a JSON document, signed with Stint-Signature when it has a key)"
                </label>
                <FieldProblem problem field="kind"/>
            </fieldset>
            <fieldset class="field">
                <legend>"Where it posts"</legend>
                <label class="radio">
                    <input type="radio" name="sink-target" prop:checked=move || from_variable.get() on:change=move |_| from_variable.set(true)/>
                    "The URL in an environment variable of every broker (recommended: a webhook URL is a secret)"
                </label>
                <label class="radio">
                    <input type="radio" name="sink-target" prop:checked=move || !from_variable.get() on:change=move |_| from_variable.set(false) data-testid="sink-target-url"/>
                    "This URL, stored in the database"
                </label>
            </fieldset>
            <Show
                when=move || from_variable.get()
                fallback=move || view! {
                    {input("sink-url", "URL", "https://, or http:// to this machine only.", "https://hooks.slack.com/services/…", url)}
                    <FieldProblem problem field="url"/>
                    // "Give one of the two" is the broker's word for an empty URL too.
                    <FieldProblem problem field="url_env"/>
                }
            >
                {input("sink-url-env", "Variable holding the URL", "Its name, which starts STINT_NOTIFY_ (e.g. STINT_NOTIFY_SLACK_URL); set on every broker.", "STINT_NOTIFY_SLACK_URL", url_env)}
                <FieldProblem problem field="url_env"/>
            </Show>
            <Show when=move || kind.get() == SinkKind::Webhook>
                {input("sink-secret-env", "Variable holding the signing key (optional)", "Its name, which starts STINT_NOTIFY_; the receiver checks Stint-Signature with the same key.", "STINT_NOTIFY_HOOK_KEY", secret_env)}
                <FieldProblem problem field="secret_env"/>
            </Show>
            <fieldset class="field">
                <legend>"Events it hears"</legend>
                <div class="checks stacked" role="group" aria-label="Events">
                    {NOTIFY_EVENTS.iter().map(|e| {
                        let action = e.action.to_string();
                        let checked = action.clone();
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    prop:checked=move || events.get().contains(&checked)
                                    on:change=move |_| events.update(|l| toggle(l, &action))
                                    data-testid=format!("event-{}", e.action)
                                />
                                {e.label} " " <code class="muted">{e.action}</code>
                            </label>
                        }
                    }).collect_view()}
                </div>
                <FieldProblem problem field="events"/>
            </fieldset>
            <fieldset class="field">
                <legend>"Of which resources"</legend>
                <label class="radio">
                    <input type="radio" name="sink-resources" prop:checked=move || only.get().is_none() on:change=move |_| only.set(None)/>
                    "All resources"
                </label>
                <label class="radio">
                    <input type="radio" name="sink-resources" prop:checked=move || only.get().is_some() on:change=move |_| only.set(Some(Vec::new())) data-testid="sink-some-resources"/>
                    "Only these:"
                </label>
                <div class="checks" role="group" aria-label="Resources">
                    {move || resources.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|r: ResourceView| {
                        let name = r.name.clone();
                        let checked = r.name.clone();
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    disabled=move || only.get().is_none()
                                    prop:checked=move || only.get().is_some_and(|l| l.contains(&checked))
                                    on:change=move |_| only.update(|l| {
                                        if let Some(l) = l {
                                            toggle(l, &name);
                                        }
                                    })
                                    data-testid=format!("resource-{}", r.name)
                                />
                                {r.name.clone()}
                            </label>
                        }
                    }).collect_view()}
                </div>
                <FieldProblem problem field="resources"/>
            </fieldset>
            <FormProblem problem fields=FIELDS/>
            <button class="button primary" type="submit" disabled=move || save.pending().get() data-testid="save-sink">
                {move || if save.pending().get() { "Adding…" } else { "Add sink" }}
            </button>
        </form>
    }
}
