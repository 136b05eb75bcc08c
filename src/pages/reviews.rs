//! The review queue: every break-glass access, overdue first.

use crate::api;
use crate::components::badges::ReviewBadge;
use crate::components::connection::steady;
use crate::components::live::on_live;
use crate::components::states::{Empty, ErrorState, RoleGate, Skeleton};
use crate::components::time::RelativeTime;
use leptos::prelude::*;
use stint_core::ReviewStatus;
use stint_core::api::ReviewView;

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
                            let href = format!("/reviews/{}", r.id);
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

#[component]
fn ReviewsPage() -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let list = LocalResource::new(move || {
        let query = format!("state={}", filter.get());
        async move { api::reviews(&query).await }
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
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Reviews"</h1>
                <p class="muted" aria-live="polite">
                    {move || counts().map(|(overdue, open)| format!("{overdue} overdue · {open} open"))}
                </p>
            </header>
            <div class="filters">
                <label for="review-filter">"Show"</label>
                <select id="review-filter" on:change=move |ev| filter.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    <option value="overdue">"Overdue"</option>
                    <option value="open">"Open"</option>
                    <option value="decided">"Decided"</option>
                </select>
            </div>
            {move || match list_now.get() {
                None => view! { <Skeleton rows=4/> }.into_any(),
                Some(Err(error)) => {
                    view! { <ErrorState error retry=Callback::new(move |_| list.refetch())/> }.into_any()
                }
                Some(Ok(reviews)) if reviews.is_empty() => {
                    view! { <Empty title="Nothing to review">"No break-glass access matches."</Empty> }.into_any()
                }
                Some(Ok(reviews)) => view! { <ReviewTable reviews/> }.into_any(),
            }}
        </section>
    }
}
