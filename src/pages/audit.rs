//! The audit trail for auditors: a filterable log, the chain's status, and from any grant
//! its whole story. User text is shown as text, never as markup.

use crate::api;
use crate::components::states::{Empty, ErrorState, Skeleton};
use crate::components::time::RelativeTime;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use stint_core::api::{AuditEventView, Page};

/// The filters, in the order the form shows them: (query key, label, help).
const FILTERS: [(&str, &str, &str); 9] = [
    ("grant_id", "Grant", "a grant's whole story"),
    ("request_id", "Request", ""),
    ("identity", "Identity", "e.g. ci-deployer"),
    ("resource", "Resource", "e.g. payments-db"),
    ("actor", "Actor", "a username, or stint"),
    ("action", "Action", "e.g. grant, request.denied"),
    ("q", "Text", "anywhere in actor, action or details"),
    ("since", "Since (UTC)", "2026-11-22T00:00:00Z"),
    ("until", "Until (UTC)", "2026-11-23T00:00:00Z"),
];

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn Audit() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    // The filters live in the URL, so a grant's story is a link.
    let filters = move || {
        let q = query.read();
        FILTERS
            .iter()
            .filter_map(|(key, _, _)| {
                q.get(key)
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{key}={}", encode(&v)))
            })
            .collect::<Vec<_>>()
            .join("&")
    };
    let pages = RwSignal::new(Vec::<AuditEventView>::new());
    let cursor = RwSignal::new(None::<i64>);
    let first = LocalResource::new(move || {
        let f = filters();
        async move { api::audit(&f).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(page)) = first.get() {
            pages.set(page.items);
            cursor.set(page.next_cursor);
        }
    });
    let more = Action::new_local(move |c: &i64| {
        let query = format!("{}&cursor={c}", filters());
        async move { api::audit(&query).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(Page { items, next_cursor })) = more.value().get() {
            pages.update(|p| p.extend(items));
            cursor.set(next_cursor);
        }
    });
    let chain = LocalResource::new(api::verify_audit);

    let values: Vec<RwSignal<String>> = FILTERS
        .iter()
        .map(|(key, _, _)| RwSignal::new(query.read_untracked().get(key).unwrap_or_default()))
        .collect();
    let apply = {
        let values = values.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let q: Vec<String> = FILTERS
                .iter()
                .zip(&values)
                .filter(|(_, v)| !v.get_untracked().trim().is_empty())
                .map(|((key, _, _), v)| format!("{key}={}", encode(v.get_untracked().trim())))
                .collect();
            navigate(&format!("/audit?{}", q.join("&")), Default::default());
        }
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
                <a class="button subtle" href="/audit">"Clear"</a>
                <span class="exports">
                    "Export what matches: "
                    <a class="button" download="" href=move || format!("/api/v1/audit/export?format=csv&{}", filters())>
                        "CSV"
                    </a>
                    <a class="button" download="" href=move || format!("/api/v1/audit/export?format=ndjson&{}", filters())>
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

/// `key: value` pairs of an event's details, as plain text.
fn details_text(details: &serde_json::Value) -> String {
    match details.as_object() {
        Some(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v.as_str() {
                Some(s) => format!("{k}: {s}"),
                None => format!("{k}: {v}"),
            })
            .collect::<Vec<_>>()
            .join(" · "),
        None => details.to_string(),
    }
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
                                    <td><RelativeTime at=e.at/></td>
                                    <td title=e.user_agent.clone().unwrap_or_default()>
                                        {e.actor.clone()}
                                        {e.source_ip.clone().map(|ip| view! { <div class="muted">{ip}</div> })}
                                    </td>
                                    <td><code>{e.action.clone()}</code></td>
                                    <td>{e.target.clone()}</td>
                                    <td class="details">{details_text(&e.details)}</td>
                                </tr>
                            }
                        }
                    />
                </tbody>
            </table>
        </div>
    }
}
