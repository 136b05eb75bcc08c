//! The requests the viewer may see, searched by task words, ticket, state, identity and
//! resource (the search in the URL), newest first, a page at a time.

use crate::api;
use crate::components::badges::{BreakGlassBadge, RequestBadge};
use crate::components::connection::steady;
use crate::components::form::{FilterSelect, ResourceFilter};
use crate::components::live::on_live;
use crate::components::states::{Empty, Loaded, refetch};
use crate::components::time::RelativeTime;
use crate::components::url_search::{fields_follow_url, url_lookup, url_of};
use crate::page::Page;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use stint_core::RequestState;
use stint_core::api::RequestView;
use stint_core::format;
use stint_core::query::RequestQuery;

/// A dense table of requests, each linking to its detail.
#[component]
pub fn RequestTable(requests: Vec<RequestView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="request-table">
                <thead>
                    <tr>
                        <th scope="col">"#"</th>
                        <th scope="col">"Identity"</th>
                        <th scope="col">"Access"</th>
                        <th scope="col">"For"</th>
                        <th scope="col">"Requested by"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Filed"</th>
                    </tr>
                </thead>
                <tbody>
                    {requests
                        .into_iter()
                        .map(|r| {
                            let href = Page::Request(r.id).path();
                            view! {
                                <tr data-request-id=r.id>
                                    <td class="num"><a href=href.clone()>{r.id}</a></td>
                                    <td>
                                        <a href=href>{r.identity.name.clone()}</a>
                                        <div class="muted small">{r.justification.task.clone()}</div>
                                    </td>
                                    <td>{format!("{} · {}", r.resource.name, r.privilege)}</td>
                                    <td class="num">{format::duration(r.duration_secs)}</td>
                                    <td>{r.requester.name.clone()}</td>
                                    <td>
                                        {r.break_glass.then(|| view! { <BreakGlassBadge/> " " })}
                                        <RequestBadge state=r.state/>
                                        {(r.state == RequestState::Pending && r.approvals_required > 1)
                                            .then(|| format!(" {} of {}", r.approvals.len(), r.approvals_required))}
                                        {r.cannot_pass().then(|| view! {
                                            " "
                                            <span class="badge red" title="Too few approvers may still decide it" data-testid="cannot-pass">
                                                "cannot pass"
                                            </span>
                                        })}
                                    </td>
                                    <td><RelativeTime at=r.created_at/></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The search form's fields, as the URL holds them.
const KEYS: [&str; 6] = ["q", "ticket", "state", "identity_id", "resource_id", "mine"];

#[component]
pub fn Requests() -> impl IntoView {
    let auth = crate::app::use_auth();
    let query = use_query_map();
    let navigate = use_navigate();
    // The search lives in the URL: a search is a link, and Back returns to it. It is read
    // as the API reads it, so a bad value in an edited link is refused naming it.
    let search = move || RequestQuery::parse(&url_lookup(query));
    let list = LocalResource::new(move || {
        let asked = search();
        async move { api::requests(&asked?).await }
    });
    on_live(|e| e.request_id.is_some(), move || list.refetch());
    // A refresh that fails keeps the list as read; the banner says the broker is away.
    let list_now = steady(list);
    // Further pages, for the search they were loaded for: a live refresh of the first page
    // keeps them; a new search drops them, and a page that arrives after the search
    // changed is not added to the new one's.
    let more = RwSignal::new(Vec::<RequestView>::new());
    let cursor = RwSignal::new(None::<i64>);
    let loaded_for = StoredValue::new(None::<RequestQuery>);
    Effect::new(move |_| {
        if let Some(Ok(page)) = list_now.get() {
            let now_searching = untrack(search).ok();
            if loaded_for.get_value() != now_searching {
                loaded_for.set_value(now_searching);
                more.set(Vec::new());
                cursor.set(page.next_cursor);
            } else if more.with_untracked(Vec::is_empty) {
                cursor.set(page.next_cursor);
            }
        }
    });
    let load_more = Action::new_local(move |(searched, c): &(RequestQuery, i64)| {
        let page_after = RequestQuery {
            cursor: Some(*c),
            ..searched.clone()
        };
        let searched = searched.clone();
        async move { (searched, api::requests(&page_after).await) }
    });
    Effect::new(move |_| {
        if let Some((searched, Ok(page))) = load_more.value().get()
            && untrack(search).is_ok_and(|now| now == searched)
        {
            more.update(|m| m.extend(page.items));
            cursor.set(page.next_cursor);
        }
    });

    let identities = LocalResource::new(api::identities);
    let values: [RwSignal<String>; 6] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let fields: Vec<(&'static str, RwSignal<String>)> = KEYS.into_iter().zip(values).collect();
    fields_follow_url(query, fields.clone());
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        navigate(&url_of(Page::Requests, &fields), Default::default());
    };
    let [q, ticket, state, identity, resource, mine] = values;
    view! {
        <section class="page wide" data-testid="requests-page">
            <header class="page-head">
                <h1>"Requests"</h1>
                <Show when=move || auth.owns_identities()>
                    <a class="button primary" href=Page::NewRequest.path()>"New request"</a>
                </Show>
            </header>
            <form class="filters card audit-filters" role="search" aria-label="Search requests" on:submit=apply>
                <div class="field">
                    <label for="search-q">"Search"</label>
                    <input id="search-q" type="search" data-testid="search-q" placeholder="words in the task or ticket"
                        prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="search-ticket">"Ticket"</label>
                    <input id="search-ticket" data-testid="search-ticket" placeholder="e.g. OPS-1234"
                        prop:value=move || ticket.get() on:input=move |ev| ticket.set(event_target_value(&ev))/>
                </div>
                <FilterSelect id="search-state" label="State" value=state all="All states"
                    options=RequestState::ALL.iter().map(|s| (s.as_str().to_string(), s.as_str().to_string())).collect()/>
                {move || {
                    let options = identities.get().and_then(Result::ok).unwrap_or_default()
                        .into_iter().map(|i| (i.id.to_string(), i.name)).collect();
                    view! { <FilterSelect id="search-identity_id" label="Identity" value=identity options all="All identities"/> }
                }}
                <ResourceFilter id="search-resource_id" value=resource/>
                <label class="check">
                    <input type="checkbox" prop:checked=move || matches!(mine.get().as_str(), "true" | "1")
                        on:change=move |ev| mine.set(if event_target_checked(&ev) { "true".into() } else { String::new() })/>
                    "Only requests I filed"
                </label>
                <button type="submit" class="button primary" data-testid="search-apply">"Search"</button>
                <a class="button subtle" href=Page::Requests.path()>"Clear"</a>
            </form>
            <Loaded value=list_now rows=5 retry=refetch(list) let:page>
                {if page.items.is_empty() {
                    view! {
                        <Empty title="No requests match">
                            "Change the search, or "
                            <a href=Page::NewRequest.path()>"file a new request"</a>
                            "."
                        </Empty>
                    }
                        .into_any()
                } else {
                    let mut requests = page.items;
                    // A page loaded before a refresh may repeat a request the first page
                    // now holds.
                    requests.extend(more.get().into_iter().filter(|r| !requests.iter().any(|x| x.id == r.id)).collect::<Vec<_>>());
                    let shown = requests.len();
                    let further = if cursor.get().is_some() { ", more below" } else { "" };
                    view! {
                        <p class="muted" aria-live="polite">{format!("{shown} shown{further}")}</p>
                        <RequestTable requests/>
                    }
                        .into_any()
                }}
            </Loaded>
            <Show when=move || cursor.get().is_some()>
                <div class="actions">
                    <button type="button" class="button" data-testid="load-more"
                        disabled=move || load_more.pending().get()
                        on:click=move |_| if let (Some(c), Ok(searched)) = (cursor.get_untracked(), untrack(search)) { load_more.dispatch((searched, c)); }>
                        {move || if load_more.pending().get() { "Loading…" } else { "Load more" }}
                    </button>
                </div>
            </Show>
        </section>
    }
}
