//! What the viewer holds, what they wait for, and what waits for them.

use crate::api;
use crate::app::use_auth;
use crate::components::connection::steady;
use crate::components::live::on_live;
use crate::components::states::{Empty, Loaded, LoadedList, refetch};
use crate::components::time::RelativeTime;
use crate::lazy_pages::{self, lazy_part};
use crate::page::Page;
use crate::pages::requests::RequestTable;
use crate::pages::reviews::ReviewTable;
use leptos::prelude::*;
use stint_core::api::{AuditEventView, GrantView};
use stint_core::connectors::AccessFilter;
use stint_core::query::{AuditQuery, GrantQuery, RequestQuery, ReviewQuery};
use stint_core::standing::{share_percent, waiting_for_triage};
use stint_core::{GrantState, RequestState, ReviewOutcome, ReviewStatus, Role, visibility};

#[component]
pub fn Dashboard() -> impl IntoView {
    let auth = use_auth();
    // Live access first, then what is scheduled to start (a change window ahead).
    let grants = LocalResource::new(|| async {
        let mut grants = api::grants(&GrantQuery::mine(GrantState::Active)).await?;
        grants.extend(api::grants(&GrantQuery::mine(GrantState::Scheduled)).await?);
        Ok::<_, api::ApiError>(grants)
    });
    // First pages only: the lists' own pages hold the rest.
    let pending = LocalResource::new(|| async {
        Ok::<_, api::ApiError>(
            api::requests(&RequestQuery::mine(RequestState::Pending))
                .await?
                .items,
        )
    });
    let waiting = LocalResource::new(|| async {
        Ok::<_, api::ApiError>(api::requests(&RequestQuery::awaiting_me()).await?.items)
    });
    let reviewer = move || auth.has(Role::Reviewer) || auth.has(Role::Admin);
    let overseer = move || auth.has_any(visibility::READS_EVERYTHING);
    // Undecided reviews, overdue first: the broker sorts them so.
    let due = LocalResource::new(move || async move {
        if reviewer() {
            let all = api::reviews(&ReviewQuery::default()).await?;
            Ok(all
                .into_iter()
                .filter(|r| r.status != ReviewStatus::Decided)
                .collect())
        } else {
            Ok(Vec::new())
        }
    });
    let unjustified = LocalResource::new(move || async move {
        if overseer() {
            api::reviews(&ReviewQuery::outcome(ReviewOutcome::Unjustified)).await
        } else {
            Ok(Vec::new())
        }
    });
    // Live access whose identity nobody answers for any more: an admin decides about it.
    let unowned = LocalResource::new(move || async move {
        if auth.has(Role::Admin) {
            let all = api::grants(&GrantQuery::in_state(GrantState::Active)).await?;
            Ok(all.into_iter().filter(|g| g.identity_orphaned).collect())
        } else {
            Ok(Vec::new())
        }
    });
    // Access that ended in Stint but that a downstream system keeps refusing to take away:
    // the broker goes on retrying; an admin should look at the system itself.
    let failing = LocalResource::new(move || async move {
        if auth.has(Role::Admin) {
            api::grants(&GrantQuery::access(AccessFilter::Failing)).await
        } else {
            Ok(Vec::new())
        }
    });
    // Who was given the power to grant access (or to change who may): admins watch it.
    let privileged = LocalResource::new(move || async move {
        if auth.has(Role::Admin) {
            api::audit(&AuditQuery::latest("user.privileged_role_granted", 10))
                .await
                .map(|page| page.items)
        } else {
            Ok(Vec::new())
        }
    });
    // What security measures: whether JIT is the only path, not how many grants it made.
    let coverage = LocalResource::new(move || async move {
        if overseer() {
            api::coverage().await.map(Some)
        } else {
            Ok(None)
        }
    });
    // Background refreshes that fail keep what was read (the banner says so).
    let grants_now = steady(grants);
    let pending_now = steady(pending);
    let waiting_now = steady(waiting);
    let due_now = steady(due);
    let unjustified_now = steady(unjustified);
    let unowned_now = steady(unowned);
    let failing_now = steady(failing);
    let privileged_now = steady(privileged);
    let coverage_now = steady(coverage);
    let refresh = move || {
        coverage.refetch();
        unowned.refetch();
        failing.refetch();
        privileged.refetch();
        grants.refetch();
        pending.refetch();
        waiting.refetch();
        due.refetch();
        unjustified.refetch();
    };
    // Every section sums up access: any change may move one.
    on_live(|_| true, refresh);
    let name = move || auth.user().map(|m| m.user.display_name).unwrap_or_default();
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Hello, " {name}</h1>
                <Show when=move || auth.owns_identities()>
                    <a class="button primary" href=Page::NewRequest.path()>"New request"</a>
                </Show>
            </header>

            // Shown only while an access review waits for this person's answers.
            {move || {
                let items = auth.user().map(|m| m.campaign_items_waiting).unwrap_or(0);
                (items > 0).then(|| view! {
                    <section aria-labelledby="access-review-title" data-testid="access-review-waiting">
                        <h2 id="access-review-title">"Access reviews " <span class="count">{items}</span></h2>
                        <div class="card">
                            <p>
                                {if items == 1 {
                                    "1 item of an access review waits for your answer.".to_string()
                                } else {
                                    format!("{items} items of access reviews wait for your answers.")
                                }}
                                " "
                                <a href=Page::Campaigns.path()>"Answer them"</a>
                            </p>
                        </div>
                    </section>
                })
            }}

            <Show when=reviewer>
                <section aria-labelledby="overdue-title" data-testid="overdue-reviews">
                    <h2 id="overdue-title">
                        "Break-glass reviews waiting "
                        {move || {
                            let (waiting, overdue) = auth
                                .user()
                                .map(|m| (m.reviews_waiting, m.reviews_overdue))
                                .unwrap_or_default();
                            let class = match (waiting, overdue) {
                                (_, 1..) => "count red",
                                (0, _) => "count zero",
                                _ => "count",
                            };
                            view! { <span class=class>{format!("{waiting} waiting · {overdue} overdue")}</span> }
                        }}
                    </h2>
                    <LoadedList value=due_now rows=1 retry=refetch(due)
                        empty=|| view! {
                            <Empty title="No review waits">
                                <a href=Page::Reviews.path()>"See all reviews"</a>
                            </Empty>
                        }
                        let:list>
                        <ReviewTable reviews=list/>
                    </LoadedList>
                </section>
            </Show>

            <Show when=overseer>
                <section aria-labelledby="coverage-title" data-testid="dashboard-coverage">
                    <h2 id="coverage-title">"JIT coverage"</h2>
                    <Loaded value=coverage_now rows=1 retry=refetch(coverage) let:c>
                        {c.map(|c| {
                            let total = c.resources.len() as u32;
                            let exposed: Vec<String> = c
                                .resources
                                .iter()
                                .filter(|r| !r.jit_only())
                                .map(|r| r.resource.name.clone())
                                .collect();
                            let share = share_percent(c.jit_only(), total);
                            view! {
                                <div class=if exposed.is_empty() { "card" } else { "card warning-card" }>
                                    <p class="stat">
                                        <span class="num">{format!("{share}%")}</span>
                                        {format!(" of resources are JIT only ({} of {total})", c.jit_only())}
                                    </p>
                                    {(!exposed.is_empty()).then(|| view! {
                                        <p>"Standing paths still reach: " <strong>{exposed.join(", ")}</strong></p>
                                    })}
                                    <p class="muted">
                                        {waiting_for_triage(c.unmapped)} " "
                                        <a href=Page::Secrets.path()>"Open Secrets"</a>
                                    </p>
                                </div>
                            }
                        })}
                    </Loaded>
                </section>
            </Show>

            // Shown only while there is something: most days there is not.
            {move || failing_now.get().and_then(Result::ok).filter(|list| !list.is_empty()).map(|list| view! {
                <section aria-labelledby="failing-title" data-testid="failing-revocations">
                    <h2 id="failing-title">
                        "Revocations failing "
                        <span class="count red">{list.len()}</span>
                    </h2>
                    // Not an alert: the section is redrawn at every refresh, and a screen
                    // reader would announce it again each time.
                    <p class="warning">
                        "These grants have ended, but the system their access was made in keeps refusing to take it away. The broker keeps retrying; check the system named on each card."
                    </p>
                    <GrantCards grants=list on_change=Callback::new(move |_| refresh())/>
                </section>
            })}

            <Show when=move || auth.has(Role::Admin)>
                <section aria-labelledby="unowned-title" data-testid="unowned-grants">
                    <h2 id="unowned-title">"Live access without an owner"</h2>
                    <LoadedList value=unowned_now rows=1 retry=refetch(unowned)
                        empty=|| view! { <Empty title="None">"Every live grant has an accountable owner."</Empty> }
                        let:list>
                        <p class="warning">"Nobody answers for these identities any more. Revoke the access, or ask someone to declare accountability."</p>
                        <GrantCards grants=list on_change=Callback::new(move |_| refresh())/>
                    </LoadedList>
                </section>
            </Show>

            <Show when=move || auth.has(Role::Admin)>
                <section aria-labelledby="privileged-title" data-testid="privileged-grants">
                    <h2 id="privileged-title">"Approver and admin roles given"</h2>
                    <LoadedList value=privileged_now rows=1 retry=refetch(privileged)
                        empty=|| view! { <Empty title="None">"Nobody has been given the approver or admin role."</Empty> }
                        let:list>
                        <PrivilegedGrants events=list/>
                    </LoadedList>
                </section>
            </Show>

            <Show when=overseer>
                <section aria-labelledby="unjustified-title" data-testid="unjustified-reviews">
                    <h2 id="unjustified-title">"Break-glass judged unjustified"</h2>
                    <LoadedList value=unjustified_now rows=1 retry=refetch(unjustified)
                        empty=|| view! { <Empty title="None">"No break-glass access has been judged unjustified."</Empty> }
                        let:list>
                        <ReviewTable reviews=list/>
                    </LoadedList>
                </section>
            </Show>

            // Reviewers and admins who own nothing need not be told they hold nothing.
            <section
                aria-labelledby="grants-title"
                data-testid="active-grants"
                hidden=move || !auth.owns_identities() && grants_now.get().is_some_and(|r| r.is_ok_and(|l| l.is_empty()))
            >
                <h2 id="grants-title">"Your access, live and scheduled"</h2>
                <LoadedList value=grants_now rows=2 retry=refetch(grants)
                    empty=|| view! {
                        <Empty title="No active access">
                            "Nothing is granted to your identities right now. Need access for a task? "
                            <a href=Page::NewRequest.path()>"Request it"</a>
                            "."
                        </Empty>
                    }
                    let:list>
                    <GrantCards grants=list on_change=Callback::new(move |_| refresh())/>
                </LoadedList>
            </section>

            <section
                aria-labelledby="pending-title"
                data-testid="my-pending"
                hidden=move || !auth.owns_identities() && pending_now.get().is_some_and(|r| r.is_ok_and(|l| l.is_empty()))
            >
                <h2 id="pending-title">"Your pending requests"</h2>
                <LoadedList value=pending_now rows=2 retry=refetch(pending)
                    empty=|| view! { <Empty title="Nothing pending">"Requests you file wait here for approval."</Empty> }
                    let:list>
                    <RequestTable requests=list/>
                </LoadedList>
            </section>

            <Show when=move || auth.has(Role::Approver)>
                <section aria-labelledby="waiting-title" data-testid="waiting-for-me">
                    <h2 id="waiting-title">"Waiting for your approval"</h2>
                    <LoadedList value=waiting_now rows=2 retry=refetch(waiting)
                        empty=|| view! { <Empty title="All caught up">"No request waits for your decision."</Empty> }
                        let:list>
                        <RequestTable requests=list/>
                        <p><a href=Page::Approvals.path()>"Open the approvals queue"</a></p>
                    </LoadedList>
                </section>
            </Show>
        </section>
    }
}

/// Grant cards side by side (their code a file of its own, `lazy_pages::grant_cards`); a
/// change made from any of them refreshes the dashboard.
#[component]
fn GrantCards(grants: Vec<GrantView>, on_change: Callback<()>) -> impl IntoView {
    lazy_part(move || lazy_pages::grant_cards(grants.clone(), on_change))
}

/// "dave gave frank the approver role · 3 min ago", newest first.
#[component]
fn PrivilegedGrants(events: Vec<AuditEventView>) -> impl IntoView {
    view! {
        <div class="card">
        <ul class="plain">
            {events
                .into_iter()
                .map(|e| {
                    let user = e.details["username"].as_str().unwrap_or("someone").to_string();
                    let roles = e.details["granted"]
                        .as_array()
                        .map(|r| r.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(" and "))
                        .unwrap_or_default();
                    view! {
                        <li>
                            <strong>{e.actor.clone()}</strong>
                            {format!(" gave {user} the {roles} role · ")}
                            <RelativeTime at=e.at/>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        </div>
    }
}
