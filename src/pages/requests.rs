//! All requests the viewer may see, filtered by state.

use crate::api;
use crate::components::badges::{BreakGlassBadge, RequestBadge};
use crate::components::connection::steady;
use crate::components::live::on_live;
use crate::components::states::{Empty, ErrorState, Skeleton};
use crate::components::time::RelativeTime;
use leptos::prelude::*;
use stint_core::RequestState;
use stint_core::api::RequestView;
use stint_core::format;

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
                            let href = format!("/requests/{}", r.id);
                            view! {
                                <tr data-request-id=r.id>
                                    <td class="num"><a href=href.clone()>{r.id}</a></td>
                                    <td><a href=href>{r.identity.name.clone()}</a></td>
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

#[component]
pub fn Requests() -> impl IntoView {
    let auth = crate::app::use_auth();
    let state = RwSignal::new(String::new());
    let mine = RwSignal::new(false);
    let list = LocalResource::new(move || {
        let query = format!("state={}&mine={}", state.get(), mine.get());
        async move { api::requests(&query).await }
    });
    on_live(|e| e.request_id.is_some(), move || list.refetch());
    // A refresh that fails keeps the list as read; the banner says the broker is away.
    let list_now = steady(list);
    view! {
        <section class="page" data-testid="requests-page">
            <header class="page-head">
                <h1>"Requests"</h1>
                <Show when=move || auth.owns_identities()>
                    <a class="button primary" href="/requests/new">"New request"</a>
                </Show>
            </header>
            <div class="filters">
                <label for="state-filter">"State"</label>
                <select
                    id="state-filter"
                    on:change=move |ev| state.set(event_target_value(&ev))
                    data-testid="state-filter"
                >
                    <option value="">"All"</option>
                    {RequestState::ALL
                        .iter()
                        .map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> })
                        .collect_view()}
                </select>
                <label class="check">
                    <input type="checkbox" on:change=move |ev| mine.set(event_target_checked(&ev))/>
                    "Only requests I filed"
                </label>
            </div>
            {move || match list_now.get() {
                None => view! { <Skeleton rows=5/> }.into_any(),
                Some(Err(error)) => {
                    view! { <ErrorState error retry=Callback::new(move |_| list.refetch())/> }.into_any()
                }
                Some(Ok(page)) if page.items.is_empty() => {
                    view! {
                        <Empty title="No requests match">
                            "Change the filter, or "
                            <a href="/requests/new">"file a new request"</a>
                            "."
                        </Empty>
                    }
                        .into_any()
                }
                Some(Ok(page)) => view! { <RequestTable requests=page.items/> }.into_any(),
            }}
        </section>
    }
}
