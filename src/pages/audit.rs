//! The audit trail for auditors: a filterable log, the chain's status, and from any grant
//! its whole story. User text is shown as text, never as markup.

use crate::api;
use crate::components::states::{Empty, ErrorState, RoleGate, Skeleton};
use crate::components::time::LocalTime;
use crate::components::url_search::url_lookup;
use crate::page::Page;
use crate::time::{exact, from_local_input, to_local_input, zone_name};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use stint_core::api::{AuditEventView, Page as Listed};
use stint_core::query::AuditQuery;
use stint_core::{format, visibility};

/// The filters, in the order the form shows them: (query key, label, help). `since` and
/// `until` are moments: picked in the viewer's zone, sent (and kept in the URL) as UTC.
const FILTERS: [(&str, &str, &str); 9] = [
    ("grant_id", "Grant", "a grant's whole story"),
    ("request_id", "Request", ""),
    ("identity", "Identity", "e.g. ci-deployer"),
    ("resource", "Resource", "e.g. payments-db"),
    ("actor", "Actor", "a username, or stint"),
    ("action", "Action", "e.g. grant, request.denied"),
    ("q", "Text", "anywhere in actor, action or details"),
    ("since", "From", ""),
    ("until", "Until", ""),
];

fn is_moment(key: &str) -> bool {
    matches!(key, "since" | "until")
}

#[component]
pub fn Audit() -> impl IntoView {
    view! {
        <RoleGate roles=visibility::READS_EVERYTHING what="The audit trail" who="auditors and admins">
            <AuditTrail/>
        </RoleGate>
    }
}

#[component]
fn AuditTrail() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    // The filters live in the URL, so a grant's story is a link. They are read as the API
    // reads them, so a bad value in an edited link is refused naming it; the page does its
    // own paging (newest first, a cursor from the page before), whatever the link said.
    let filters = move || {
        AuditQuery::parse(&url_lookup(query)).map(|asked| AuditQuery {
            cursor: None,
            after_seq: None,
            limit: None,
            ..asked
        })
    };
    let pages = RwSignal::new(Vec::<AuditEventView>::new());
    let cursor = RwSignal::new(None::<i64>);
    let first = LocalResource::new(move || {
        let asked = filters();
        async move { api::audit(&asked?).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(page)) = first.get() {
            pages.set(page.items);
            cursor.set(page.next_cursor);
        }
    });
    let more = Action::new_local(move |c: &i64| {
        let page_after = filters().map(|asked| AuditQuery {
            cursor: Some(*c),
            ..asked
        });
        async move { api::audit(&page_after?).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(Listed { items, next_cursor })) = more.value().get() {
            pages.update(|p| p.extend(items));
            cursor.set(next_cursor);
        }
    });
    let chain = LocalResource::new(api::verify_audit);

    // What each input shows: moments in the viewer's zone, as a datetime-local input does.
    let values: Vec<RwSignal<String>> = FILTERS
        .iter()
        .map(|(key, _, _)| {
            let raw = query.read_untracked().get(key).unwrap_or_default();
            let shown = if is_moment(key) {
                raw.parse::<DateTime<Utc>>()
                    .map(to_local_input)
                    .unwrap_or_default()
            } else {
                raw
            };
            RwSignal::new(shown)
        })
        .collect();
    let apply = {
        let values = values.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let q: Vec<String> = FILTERS
                .iter()
                .zip(&values)
                .filter_map(|((key, _, _), v)| {
                    let typed = v.get_untracked().trim().to_string();
                    let value = if is_moment(key) {
                        from_local_input(&typed).map(|t| t.to_rfc3339())?
                    } else {
                        typed
                    };
                    (!value.is_empty()).then(|| format!("{key}={}", api::encode_query(&value)))
                })
                .collect();
            navigate(&Page::Audit.with_query(&q.join("&")), Default::default());
        }
    };
    // Exports carry each time in the viewer's zone too, beside UTC.
    let zone = zone_name()
        .map(|z| format!("&tz={}", api::encode_query(&z)))
        .unwrap_or_default();
    // None while the filters are refused: the links then export nothing rather than all.
    let export_href = move |format: &str| {
        let asked = filters().ok()?;
        Some(format!(
            "/api/v1/audit/export?format={format}{zone}&{}",
            asked.to_query()
        ))
    };

    view! {
        <section class="page wide">
            <header class="page-head">
                <h1>"Audit trail"</h1>
                <div data-testid="chain-status">
                    {move || match chain.get() {
                        None => view! { <span class="badge grey">"checking the chain…"</span> }.into_any(),
                        Some(Err(e)) => view! { <span class="badge red">{e.to_string()}</span> }.into_any(),
                        Some(Ok(v)) if v.ok => {
                            view! {
                                <span class="badge green" title=format!("head {}", v.head_hash)>
                                    <span aria-hidden="true">"✓"</span>
                                    {format!("chain verified: {} events", v.count)}
                                </span>
                            }
                                .into_any()
                        }
                        Some(Ok(v)) => {
                            view! {
                                <span class="badge red">
                                    <span aria-hidden="true">"✕"</span>
                                    {format!(
                                        "chain broken at event {}: {}",
                                        v.first_bad_seq.unwrap_or_default(),
                                        v.reason.unwrap_or_default(),
                                    )}
                                </span>
                            }
                                .into_any()
                        }
                    }}
                </div>
            </header>
            <form class="filters card audit-filters" on:submit=apply aria-label="Filter the trail">
                {FILTERS
                    .iter()
                    .zip(values)
                    .map(|((key, label, help), value)| {
                        let id = format!("audit-{key}");
                        view! {
                            <div class="field">
                                <label for=id.clone()>{*label}</label>
                                <input
                                    id=id
                                    type=if is_moment(key) { "datetime-local" } else { "text" }
                                    prop:value=move || value.get()
                                    on:input=move |ev| value.set(event_target_value(&ev))
                                    placeholder=*help
                                    data-testid=format!("audit-filter-{key}")
                                />
                            </div>
                        }
                    })
                    .collect_view()}
                <button type="submit" class="button primary" data-testid="audit-apply">"Filter"</button>
                <a class="button subtle" href=Page::Audit.path()>"Clear"</a>
                <span class="exports">
                    "Export what matches: "
                    <a class="button" download="" href={
                        let export_href = export_href.clone();
                        move || export_href("csv")
                    }>
                        "CSV"
                    </a>
                    <a class="button" download="" href=move || export_href("ndjson")>
                        "NDJSON"
                    </a>
                </span>
            </form>
            {move || match first.get() {
                None => view! { <Skeleton rows=8/> }.into_any(),
                Some(Err(error)) => {
                    view! { <ErrorState error retry=Callback::new(move |_| first.refetch())/> }.into_any()
                }
                Some(Ok(_)) if pages.with(Vec::is_empty) => {
                    view! { <Empty title="No events match">"Loosen the filters, or clear them."</Empty> }.into_any()
                }
                Some(Ok(_)) => view! { <EventTable events=pages/> }.into_any(),
            }}
            <Show when=move || cursor.get().is_some()>
                <button
                    class="button"
                    disabled=move || more.pending().get()
                    on:click=move |_| {
                        if let Some(c) = cursor.get_untracked() {
                            more.dispatch(c);
                        }
                    }
                >
                    {move || if more.pending().get() { "Loading…" } else { "Load older events" }}
                </button>
            </Show>
        </section>
    }
}

/// "expires_at" → "Expires at".
fn label(key: &str) -> String {
    let words = key.strip_suffix("_secs").unwrap_or(key).replace('_', " ");
    format::sentence(&words)
}

/// A detail's value as a person reads it: moments in the viewer's zone, durations in
/// words, lists joined; always text, never markup.
fn value_text(key: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) => match s.parse::<DateTime<Utc>>() {
            Ok(at) => exact(at),
            Err(_) => s.clone(),
        },
        Value::Number(n) if key.ends_with("_secs") => n
            .as_i64()
            .map(format::duration)
            .unwrap_or_else(|| n.to_string()),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|v| value_text(key, v))
            .collect::<Vec<_>>()
            .join(", "),
        // A reference to a user or record reads as its name; a policy's approvers as who.
        Value::Object(map) if map.get("name").is_some_and(Value::is_string) => {
            map["name"].as_str().unwrap_or_default().to_string()
        }
        Value::Object(map) if map.get("kind").and_then(Value::as_str) == Some("role") => {
            "everyone with the approver role".to_string()
        }
        Value::Object(map) if map.get("kind").and_then(Value::as_str) == Some("users") => map
            .get("users")
            .map(|u| value_text("users", u))
            .unwrap_or_default(),
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{}: {}", label(k), value_text(k, v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// An event's details as labelled fields.
#[component]
fn Details(details: serde_json::Value) -> impl IntoView {
    let fields: Vec<(String, String)> = match details.as_object() {
        Some(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (label(k), value_text(k, v)))
            .collect(),
        None if details.is_null() => Vec::new(),
        None => vec![("Details".into(), value_text("", &details))],
    };
    view! {
        <dl class="details-list">
            {fields
                .into_iter()
                .map(|(k, v)| view! { <div><dt>{k}</dt><dd>{v}</dd></div> })
                .collect_view()}
        </dl>
    }
}

/// Where the portal shows an event's target ("request 4" → its page), if anywhere.
fn target_href(target: &str) -> Option<String> {
    let (kind, id) = target.split_once(' ')?;
    let id: i64 = id.parse().ok()?;
    Some(match kind {
        "request" => Page::Request(id).path(),
        "grant" => Page::GrantStory(id).path(),
        "identity" => Page::Identity(id).path(),
        "review" => Page::Review(id).path(),
        "standing_credential" => Page::Secrets.path(),
        _ => return None,
    })
}

#[component]
fn EventTable(events: RwSignal<Vec<AuditEventView>>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="audit-table">
                <thead>
                    <tr>
                        <th scope="col">"#"</th>
                        <th scope="col">"When"</th>
                        <th scope="col">"Actor"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || events.get()
                        key=|e| e.seq
                        children=|e| {
                            view! {
                                <tr data-action=e.action.clone()>
                                    <td class="num">{e.seq}</td>
                                    <td><LocalTime at=e.at/></td>
                                    <td title=e.user_agent.clone().unwrap_or_default()>
                                        {e.actor.clone()}
                                        {e.source_ip.clone().map(|ip| view! { <div class="muted">{ip}</div> })}
                                    </td>
                                    <td><code>{e.action.clone()}</code></td>
                                    <td>
                                        {match target_href(&e.target) {
                                            Some(href) => view! { <a href=href>{e.target.clone()}</a> }.into_any(),
                                            None => e.target.clone().into_any(),
                                        }}
                                    </td>
                                    <td class="details"><Details details=e.details.clone()/></td>
                                </tr>
                            }
                        }
                    />
                </tbody>
            </table>
        </div>
    }
}
