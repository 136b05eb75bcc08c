//! The review queue: every break-glass access, overdue first, searched by what it was for
//! (task words, ticket, state, resource), the search in the URL.

use crate::api;
use crate::components::badges::ReviewBadge;
use crate::components::connection::steady;
use crate::components::form::{FilterSelect, ResourceFilter};
use crate::components::live::on_live;
use crate::components::states::{Empty, LoadedList, RoleGate, refetch};
use crate::components::time::RelativeTime;
use crate::components::url_search::{fields_follow_url, url_lookup, url_of};
use crate::page::Page;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use stint_core::ReviewStatus;
use stint_core::api::ReviewView;
use stint_core::query::ReviewQuery;

/// Reviews as a table; overdue rows are marked red.
#[component]
pub fn ReviewTable(reviews: Vec<ReviewView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="review-table">
                <thead>
                    <tr>
                        <th scope="col">"Taken by"</th>
                        <th scope="col">"Access"</th>
                        <th scope="col">"Why"</th>
                        <th scope="col">"Taken"</th>
                        <th scope="col">"Review"</th>
                        <th scope="col">"Due"</th>
                    </tr>
                </thead>
                <tbody>
                    {reviews
                        .into_iter()
                        .map(|r| {
                            let href = Page::Review(r.id).path();
                            let overdue = r.status == ReviewStatus::Overdue;
                            view! {
                                <tr class=if overdue { "overdue" } else { "" } data-review-id=r.id>
                                    <td>{r.taker.name.clone()}</td>
                                    <td>
                                        <a href=href>
                                            {format!("{} → {} ({})", r.identity.name, r.resource.name, r.privilege)}
                                        </a>
                                    </td>
                                    <td class="clip">{r.justification.task.clone()}</td>
                                    <td><RelativeTime at=r.started_at/></td>
                                    <td><ReviewBadge status=r.status outcome=r.outcome/></td>
                                    <td>
                                        {match r.decided_at {
                                            Some(at) => view! { "decided " <RelativeTime at/> }.into_any(),
                                            None => view! { <RelativeTime at=r.due_at/> }.into_any(),
                                        }}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn Reviews() -> impl IntoView {
    view! {
        <RoleGate roles=stint_core::visibility::WORKS_REVIEWS what="Break-glass reviews" who="reviewers, auditors and admins">
            <ReviewsPage/>
        </RoleGate>
    }
}

/// The search form's fields, as the URL holds them.
const KEYS: [&str; 4] = ["q", "ticket", "state", "resource_id"];

#[component]
fn ReviewsPage() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    // The search lives in the URL: a search is a link, and Back returns to it. It is read
    // as the API reads it, so a bad value in an edited link is refused naming it.
    let search = move || ReviewQuery::parse(&url_lookup(query));
    let list = LocalResource::new(move || {
        let asked = search();
        async move { api::reviews(&asked?).await }
    });
    on_live(|e| e.review_id.is_some(), move || list.refetch());
    // A refresh that fails keeps the list as read; the banner says the broker is away.
    let list_now = steady(list);
    let counts = move || {
        list_now.get().and_then(|r| r.ok()).map(|all| {
            let overdue = all
                .iter()
                .filter(|r| r.status == ReviewStatus::Overdue)
                .count();
            let open = all
                .iter()
                .filter(|r| r.status == ReviewStatus::Open)
                .count();
            (overdue, open)
        })
    };
    let values: [RwSignal<String>; 4] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let fields: Vec<(&'static str, RwSignal<String>)> = KEYS.into_iter().zip(values).collect();
    fields_follow_url(query, fields.clone());
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        navigate(&url_of(Page::Reviews, &fields), Default::default());
    };
    let [q, ticket, state, resource] = values;
    let states = [
        ("overdue", "Overdue"),
        ("open", "Open"),
        ("decided", "Decided"),
    ]
    .map(|(v, l)| (v.to_string(), l.to_string()))
    .to_vec();
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Reviews"</h1>
                <p class="muted" aria-live="polite">
                    {move || counts().map(|(overdue, open)| format!("{overdue} overdue · {open} open"))}
                </p>
            </header>
            <form class="filters card audit-filters" role="search" aria-label="Search reviews" on:submit=apply>
                <div class="field">
                    <label for="review-q">"Search"</label>
                    <input id="review-q" type="search" data-testid="review-q" placeholder="words in the task or ticket"
                        prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="review-ticket">"Ticket"</label>
                    <input id="review-ticket" data-testid="review-ticket" placeholder="e.g. INC-1234"
                        prop:value=move || ticket.get() on:input=move |ev| ticket.set(event_target_value(&ev))/>
                </div>
                <FilterSelect id="review-filter" label="Show" value=state all="All" options=states/>
                <ResourceFilter id="review-resource_id" value=resource/>
                <button type="submit" class="button primary" data-testid="review-search">"Search"</button>
                <a class="button subtle" href=Page::Reviews.path()>"Clear"</a>
            </form>
            <LoadedList value=list_now rows=4 retry=refetch(list)
                empty=|| view! { <Empty title="Nothing to review">"No break-glass access matches."</Empty> }
                let:reviews>
                <ReviewTable reviews/>
            </LoadedList>
        </section>
    }
}
