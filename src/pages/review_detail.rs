//! One break-glass access, its whole story, and the reviewer's judgement.

use crate::api;
use crate::app::use_auth;
use crate::components::badges::{BreakGlassBadge, GrantBadge, ReviewBadge};
use crate::components::connection::steady;
use crate::components::form::{FormAction, Refusal};
use crate::components::live::on_live;
use crate::components::states::Loaded;
use crate::components::time::RelativeTime;
use crate::components::timeline::Timeline;
use crate::components::toast::use_toasts;
use crate::page::Page;
use crate::pages::{load_by_route_id, route_id};
use leptos::prelude::*;
use stint_core::ReviewOutcome;
use stint_core::api::{ReviewBody, ReviewDetail};

#[component]
pub fn ReviewDetailPage() -> impl IntoView {
    let detail = load_by_route_id("review", api::review);
    let id = route_id();
    on_live(
        move |e| e.review_id.is_some() && e.review_id == id(),
        move || detail.refetch(),
    );
    let reload = Callback::new(move |_| detail.refetch());
    view! {
        <section class="page">
            <Loaded value=steady(detail) rows=8 retry=reload let:d>
                <Review detail=d reload/>
            </Loaded>
        </section>
    }
}

#[component]
fn Review(detail: ReviewDetail, reload: Callback<()>) -> impl IntoView {
    let r = detail.review.clone();
    view! {
        <header class="page-head">
            <div>
                <p class="eyebrow">{format!("Review #{}", r.id)} " · " <BreakGlassBadge/></p>
                <h1>{format!("{} took {} on {} for {}", r.taker.name, r.privilege, r.resource.name, r.identity.name)}</h1>
            </div>
            <ReviewBadge status=r.status outcome=r.outcome/>
        </header>
        <div class="detail-grid">
            <div class="detail-main">
                <dl class="facts card break-glass-card">
                    <dt>"Taken by"</dt>
                    <dd data-testid="taker">{r.taker.name.clone()}</dd>
                    <dt>"Why"</dt>
                    <dd class="prose" data-testid="review-justification">{r.justification.task.clone()}</dd>
                    <dt>"Ticket"</dt>
                    <dd>{r.justification.ticket.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Access"</dt>
                    <dd>
                        <GrantBadge state=r.grant_state/>
                        " from " <RelativeTime at=r.started_at/> " until " <RelativeTime at=r.ends_at/>
                        " · " <a href=Page::Request(r.request_id).path()>"grant details"</a>
                    </dd>
                    <dt>"Review due"</dt>
                    <dd><RelativeTime at=r.due_at/></dd>
                    <dt>"Credentials issued"</dt>
                    <dd data-testid="issued-credentials">
                        {if detail.credentials.is_empty() {
                            view! { <span class="muted">"none"</span> }.into_any()
                        } else {
                            view! {
                                <ul class="plain">
                                    {detail
                                        .credentials
                                        .iter()
                                        .map(|c| {
                                            view! {
                                                <li>
                                                    <code>{c.jti.clone()}</code>
                                                    {format!(" to {} · ", c.issued_to.name)}
                                                    <RelativeTime at=c.issued_at/>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }}
                    </dd>
                    {r.reviewer.clone().map(|reviewer| view! {
                        <dt>"Judged by"</dt>
                        <dd>{reviewer.name}</dd>
                    })}
                    {r.notes.clone().map(|notes| view! {
                        <dt>"Reviewer's notes"</dt>
                        <dd class="prose" data-testid="review-notes">{notes}</dd>
                    })}
                </dl>
                {r.can_review.then(|| view! {
                    <Judge review_id=r.id live=r.grant_state == stint_core::GrantState::Active reload/>
                })}
            </div>
            <aside class="detail-side" aria-labelledby="timeline-title">
                <h2 id="timeline-title">"Timeline"</h2>
                <Timeline events=detail.timeline.clone()/>
            </aside>
        </div>
    }
}

#[component]
fn Judge(review_id: i64, live: bool, reload: Callback<()>) -> impl IntoView {
    let auth = use_auth();
    let toasts = use_toasts();
    let outcome = RwSignal::new(None::<ReviewOutcome>);
    let notes = RwSignal::new(String::new());
    // An unjustified verdict ends the access in the same step unless the reviewer says not.
    let end_access = RwSignal::new(true);
    let unjustified = move || outcome.get() == Some(ReviewOutcome::Unjustified);
    let decide = FormAction::new(
        move |body: ReviewBody| api::decide_review(review_id, body),
        move |d| {
            toasts.show(format!(
                "Review #{review_id} decided: {}",
                d.review.outcome.map(|o| o.as_str()).unwrap_or_default()
            ));
            auth.refresh();
            reload.run(());
        },
    );
    let notes_needed =
        move || outcome.get() == Some(ReviewOutcome::Unjustified) && notes.get().trim().is_empty();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(o) = outcome.get_untracked()
            && !notes_needed()
        {
            decide.send(ReviewBody {
                outcome: o,
                notes: notes.get_untracked(),
                end_access: o == ReviewOutcome::Unjustified && live && end_access.get_untracked(),
            });
        }
    };
    let choice = move |value: ReviewOutcome, label: &'static str, testid: &'static str| {
        view! {
            <label class="radio">
                <input
                    type="radio"
                    name="outcome"
                    on:change=move |_| outcome.set(Some(value))
                    data-testid=testid
                />
                {label}
            </label>
        }
    };
    view! {
        <form class="card decide" on:submit=on_submit aria-labelledby="judge-title" data-testid="judge">
            <h2 id="judge-title">"Your judgement"</h2>
            <fieldset class="field">
                <legend>"Was taking this access justified?"</legend>
                {choice(ReviewOutcome::Justified, "Justified: it could not wait for an approver", "outcome-justified")}
                {choice(ReviewOutcome::Unjustified, "Unjustified: it should have been a request, or not happened", "outcome-unjustified")}
            </fieldset>
            <div class="field">
                <label for="review-notes">
                    {move || if outcome.get() == Some(ReviewOutcome::Unjustified) { "Notes (required)" } else { "Notes (optional)" }}
                </label>
                <textarea
                    id="review-notes"
                    rows="3"
                    prop:value=move || notes.get()
                    on:input=move |ev| notes.set(event_target_value(&ev))
                    data-testid="review-notes-input"
                ></textarea>
            </div>
            {move || (unjustified() && live).then(|| view! {
                <label class="checkbox">
                    <input
                        type="checkbox"
                        prop:checked=move || end_access.get()
                        on:change=move |ev| end_access.set(event_target_checked(&ev))
                        data-testid="end-access"
                    />
                    "End the access now: revoke the grant, and every credential issued for it stops working"
                </label>
            })}
            <Refusal message=decide.error()/>
            <div class="actions">
                <button
                    type="submit"
                    class="button primary"
                    disabled=move || outcome.get().is_none() || notes_needed() || decide.pending().get()
                    data-testid="submit-review"
                >
                    {move || match (decide.pending().get(), unjustified() && live && end_access.get()) {
                        (true, _) => "Recording…",
                        (false, true) => "Judge unjustified and end the access now",
                        (false, false) => "Record judgement",
                    }}
                </button>
            </div>
        </form>
    }
}
