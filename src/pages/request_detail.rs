//! One request: its facts, its decisions, its grant and everything that happened to it.

use crate::api;
use crate::app::use_auth;
use crate::components::approver_context::ApproverContextPanel;
use crate::components::badges::{BreakGlassBadge, GrantBadge, RequestBadge};
use crate::components::connection::steady;
use crate::components::deny::DenyDialog;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormAction, Refusal};
use crate::components::live::on_live;
use crate::components::standing::StandingWarning;
use crate::components::states::Loaded;
use crate::components::time::RelativeTime;
use crate::components::timeline::Timeline;
use crate::components::toast::use_toasts;
use crate::early::EarlyRequest;
use crate::lazy_pages::{self, lazy_part};
use crate::page::Page;
use crate::pages::{load_by_route_id, route_id};
use leptos::prelude::*;
use stint_core::api::{ApproveBody, RequestDetail};
use stint_core::format;
use stint_core::{Approvers, RequestState};

#[component]
pub fn RequestDetailPage() -> impl IntoView {
    // The first time, what the portal began reading at boot if it opened on this link.
    let early = use_context::<EarlyRequest>();
    let detail = load_by_route_id("request", move |id| crate::early::request(early, id));
    // Follow what happens to it elsewhere (an approver, the sweeper, a connector).
    let id = route_id();
    on_live(
        move |e| e.request_id.is_some() && e.request_id == id(),
        move || detail.refetch(),
    );
    // A refresh that fails keeps the page as it was read (the banner says so).
    let detail_now = steady(detail);
    let reload = Callback::new(move |_| detail.refetch());
    view! {
        <section class="page">
            <Loaded value=detail_now rows=8 retry=reload let:d>
                <Detail detail=d reload/>
            </Loaded>
        </section>
    }
}

#[component]
fn Detail(detail: RequestDetail, reload: Callback<()>) -> impl IntoView {
    let auth = use_auth();
    let r = detail.request.clone();
    let me = auth.user().map(|m| m.user.id);
    let mine_and_pending = Some(r.requester.id) == me && r.state == RequestState::Pending;
    // A task that recurs is asked for again from its last request, not retyped; an
    // extension belongs to its grant.
    let again = Some(r.requester.id) == me
        && r.state != RequestState::Pending
        && r.extends_grant_id.is_none();
    // Who may still approve, by name: the policy it was filed under, less the requester,
    // the identity's owners and whoever already approved (the broker works it out).
    let pending = r.state == RequestState::Pending;
    let from = if pending {
        r.eligible_approvers
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        match &r.approvers {
            Approvers::Role => "any approver".to_string(),
            Approvers::Users { users } => users
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    };
    let missing = r.approvals_missing();
    let stuck = r.cannot_pass();
    let progress = if r.break_glass {
        String::new()
    } else if r.auto_approved {
        "Approved at once by the resource's auto-approval rule".to_string()
    } else {
        format!(
            "{} of {} approvals{}",
            r.approvals.len(),
            r.approvals_required,
            if from.is_empty() {
                String::new()
            } else {
                format!(", from: {from}")
            }
        )
    };
    view! {
        <header class="page-head">
            <div>
                <p class="eyebrow">{format!("Request #{}", r.id)}</p>
                <h1>{format!("{} → {} ({})", r.identity.name, r.resource.name, r.privilege)}</h1>
            </div>
            // Break-glass was never approved; a grant shows its own state (revoked, expired).
            <div class="badges">
                {r.break_glass.then(|| view! { <BreakGlassBadge/> })}
                {(!r.break_glass).then(|| view! { <RequestBadge state=r.state/> })}
                {detail.grant.as_ref().map(|g| view! { <GrantBadge state=g.state/> })}
            </div>
        </header>

        <div class="detail-grid">
            <div class="detail-main">
                {stuck.then(|| view! {
                    <div class="warning" role="alert" data-testid="unsatisfiable">
                        <p>
                            <strong>"This request cannot be approved as the policy stands."</strong>
                            {format!(
                                " It needs {missing} more approval(s), and only {} approver(s) may still give one: the requester and the identity's owners may not decide it. An admin must widen the policy of {}, or the request expires undecided.",
                                r.eligible_approvers.len(),
                                r.resource.name
                            )}
                        </p>
                    </div>
                })}
                {(r.state == RequestState::Pending).then(|| view! {
                    <StandingWarning count=r.standing_paths identity=r.identity.name.clone() resource=r.resource.name.clone()/>
                })}
                <dl class=if r.break_glass { "facts card break-glass-card" } else { "facts card" }>
                    <dt>"Requested by"</dt>
                    <dd data-testid="requester">{r.requester.name.clone()}</dd>
                    <dt>{if r.extends_grant_id.is_some() { "Extension" } else { "Duration" }}</dt>
                    <dd>{format::duration(r.duration_secs)}</dd>
                    {r.extends_grant_id.map(|grant| view! {
                        <dt>"Extends"</dt>
                        <dd data-testid="extends-grant">
                            {format!("grant #{grant}: it ends at its current expiry unless this is approved before then")}
                        </dd>
                    })}
                    {r.starts_at.map(|at| view! {
                        <dt>"Window"</dt>
                        <dd data-testid="request-window">
                            {crate::time::window(at, at + chrono::Duration::seconds(r.duration_secs))}
                            " (starts " <RelativeTime at/> ")"
                        </dd>
                    })}
                    <dt>"Task"</dt>
                    <dd class="prose" data-testid="task-text">{r.justification.task.clone()}</dd>
                    <dt>"Ticket"</dt>
                    <dd>{r.justification.ticket.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Filed"</dt>
                    <dd><RelativeTime at=r.created_at/></dd>
                    <dt>{if r.break_glass { "Review" } else { "Approvals" }}</dt>
                    <dd>
                        {detail.grant.as_ref().and_then(|g| g.review_id).map(|id| view! {
                            <a href=Page::Review(id).path() data-testid="review-link">"Taken without approval: see its review"</a>
                        })}
                        <span data-testid="approval-progress">{progress}</span>
                        {r.approvals
                            .iter()
                            .map(|a| {
                                let comment = a.comment.clone().map(|c| format!(": “{c}”")).unwrap_or_default();
                                view! {
                                    <div class="muted">
                                        {format!("{} approved for {}{}", a.approver.name, format::duration(a.duration_secs), comment)}
                                    </div>
                                }
                            })
                            .collect_view()}
                    </dd>
                    {(r.state == RequestState::Pending)
                        .then(|| view! {
                            <dt>"Expires undecided"</dt>
                            <dd><RelativeTime at=r.pending_expires_at/></dd>
                        })}
                    {r.decision_comment
                        .clone()
                        .map(|c| view! {
                            <dt>"Decision comment"</dt>
                            <dd class="prose" data-testid="decision-comment">{c}</dd>
                        })}
                </dl>

                {detail.context.clone().map(|context| view! {
                    <ApproverContextPanel context identity=r.identity.name.clone()/>
                })}
                {r.can_decide.then(|| view! {
                    <Decide
                        request_id=r.id
                        name=format!("#{} {} → {} ({})", r.id, r.identity.name, r.resource.name, r.privilege)
                        requested_secs=r.duration_secs
                        reload
                    />
                })}
                {mine_and_pending.then(|| view! { <CancelRequest request_id=r.id reload/> })}
                {again.then(|| view! {
                    <div class="actions">
                        <a class="button" href=Page::RequestAgain(r.id).path() data-testid="request-again">
                            "Request again"
                        </a>
                    </div>
                })}
                {detail.grant.clone().map(|grant| view! {
                    <section aria-labelledby="grant-title">
                        <h2 id="grant-title">"Grant"</h2>
                        {lazy_part(move || lazy_pages::grant_card(grant.clone(), reload))}
                    </section>
                })}
            </div>
            <aside class="detail-side" aria-labelledby="timeline-title">
                <h2 id="timeline-title">"Timeline"</h2>
                <Timeline events=detail.timeline.clone()/>
            </aside>
        </div>
    }
}

/// Approve (optionally for less time) or deny with a comment.
#[component]
fn Decide(
    request_id: i64,
    name: String,
    requested_secs: i64,
    reload: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let duration = RwSignal::new(requested_secs);
    let comment = RwSignal::new(String::new());
    let approve = FormAction::new(
        move |body: ApproveBody| api::approve(request_id, body),
        move |d| {
            toasts.show(if d.request.state == RequestState::Approved {
                format!("Request #{request_id} approved: access is live")
            } else {
                format!("Approval recorded on request #{request_id}")
            });
            reload.run(());
        },
    );
    let deny_open = RwSignal::new(false);
    // Effects run once the view is on the page: the button is there, and usable.
    Effect::new(|_| crate::marks::mark(crate::marks::APPROVE_READY));
    let options: Vec<i64> = [15 * 60, 3600, 2 * 3600]
        .into_iter()
        .filter(|d| *d < requested_secs)
        .chain([requested_secs])
        .collect();
    let on_approve = move |_| {
        let comment = comment.get_untracked();
        approve.send(ApproveBody {
            comment: (!comment.trim().is_empty()).then_some(comment),
            duration_secs: (duration.get_untracked() != requested_secs)
                .then(|| duration.get_untracked()),
        });
    };
    view! {
        <section class="card decide" aria-labelledby="decide-title" data-testid="decide">
            <h2 id="decide-title">"Your decision"</h2>
            <div class="field">
                <label for="approve-duration">"Grant for"</label>
                <select
                    id="approve-duration"
                    on:change=move |ev| duration.set(event_target_value(&ev).parse().unwrap_or(requested_secs))
                    data-testid="approve-duration"
                >
                    {options
                        .into_iter()
                        .map(|secs| {
                            let label = if secs == requested_secs {
                                format!("{} (as requested)", format::duration(secs))
                            } else {
                                format!("{} (shorter)", format::duration(secs))
                            };
                            view! { <option value=secs selected=secs == requested_secs>{label}</option> }
                        })
                        .collect_view()}
                </select>
                <p class="help">"You may shorten the access, never lengthen it."</p>
            </div>
            <div class="field">
                <label for="approve-comment">"Comment (optional)"</label>
                <input
                    id="approve-comment"
                    prop:value=move || comment.get()
                    on:input=move |ev| comment.set(event_target_value(&ev))
                />
            </div>
            <Refusal message=approve.error() testid="decide-error"/>
            <div class="actions">
                <button
                    class="button primary"
                    on:click=on_approve
                    disabled=move || approve.pending().get()
                    data-testid="approve"
                >
                    {move || if approve.pending().get() { "Approving…" } else { "Approve" }}
                </button>
                <button class="button danger-outline" on:click=move |_| deny_open.set(true) data-testid="deny">
                    "Deny…"
                </button>
            </div>
            <DenyDialog
                open=deny_open
                title=format!("Deny {name}?")
                target=Signal::derive(move || Some(request_id))
                on_denied=Callback::new(move |_| {
                    toasts.show(format!("Request #{request_id} denied"));
                    reload.run(());
                })
                testid="deny-dialog"
            />
        </section>
    }
}

#[component]
fn CancelRequest(request_id: i64, reload: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let cancel = FormAction::new(
        move |()| api::cancel(request_id),
        move |_| {
            open.set(false);
            toasts.show(format!("Request #{request_id} cancelled"));
            reload.run(());
        },
    );
    view! {
        <div class="actions">
            <button class="button danger-outline" on:click=move |_| open.set(true) data-testid="cancel-request">
                "Cancel request…"
            </button>
        </div>
        <ConfirmDialog
            open
            title="Cancel this request?"
            consequence="Approvers will no longer see it and it cannot be approved. File a new one if you need access later."
            confirm_label="Cancel request"
            pending=cancel.pending()
            error=cancel.error()
            on_confirm=Callback::new(move |_| cancel.send(()))
            testid="cancel-dialog"
        />
    }
}
