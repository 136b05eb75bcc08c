//! Four eyes: changes that widen access, proposed by one admin, waiting for a second. Admins
//! approve or reject others' proposals and withdraw their own; auditors read them. Whether
//! this admin may approve is previewed with `stint_core::four_eyes::check_approver`; the
//! broker decides.

use crate::api::{self, ApiError};
use crate::app::use_auth;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::FormAction;
use crate::components::live::on_live;
use crate::components::states::{Empty, ErrorState, RoleGate, Skeleton};
use crate::components::time::RelativeTime;
use crate::components::toast::use_toasts;
use leptos::prelude::*;
use stint_core::Role;
use stint_core::four_eyes::{self, ProposalState, ProposalView};

/// How many decided proposals the page lists under the waiting ones.
const DECIDED_SHOWN: usize = 20;

#[component]
pub fn Proposals() -> impl IntoView {
    view! {
        <RoleGate roles=&[Role::Admin, Role::Auditor] what="Proposed changes" who="admins and auditors">
            <ProposalsPage/>
        </RoleGate>
    }
}

/// What the list of waiting proposals is at: the page's frame changes only with this.
#[derive(Clone, PartialEq)]
enum Shown {
    Loading,
    Failed(ApiError),
    Nothing,
    Waiting,
}

#[component]
fn ProposalsPage() -> impl IntoView {
    // Those waiting apart from the rest, so that none is crowded out by decided ones.
    let pending = LocalResource::new(|| api::proposals(Some(ProposalState::Pending)));
    let all = LocalResource::new(|| api::proposals(None));
    let reload = Callback::new(move |_| {
        pending.refetch();
        all.refetch();
    });
    on_live(|e| e.kind.starts_with("proposal."), move || reload.run(()));
    let decided = move || {
        all.get()
            .and_then(Result::ok)
            .map_or_else(Vec::new, |list| {
                list.into_iter()
                    .filter(|p| p.state != ProposalState::Pending)
                    .take(DECIDED_SHOWN)
                    .collect::<Vec<_>>()
            })
    };
    // What the page shows changes only with these; the cards themselves are keyed below,
    // so a reread keeps those (and a dialog open in one) that did not change.
    let shown = Memo::new(move |_| match pending.get() {
        None => Shown::Loading,
        Some(Err(error)) => Shown::Failed(error),
        Some(Ok(list)) if list.is_empty() => Shown::Nothing,
        Some(Ok(_)) => Shown::Waiting,
    });
    let any_decided = Memo::new(move |_| !decided().is_empty());
    view! {
        <section class="page">
            <header class="page-head">
                <div>
                    <h1>"Proposed changes"</h1>
                    <p class="muted">
                        "Changes that widen access — more privileges, fewer approvals, longer access, break-glass, auto-approval, another approver or connector, a role — wait here until a second admin approves them."
                    </p>
                </div>
            </header>
            {move || match shown.get() {
                Shown::Loading => view! { <Skeleton rows=4/> }.into_any(),
                Shown::Failed(error) => view! { <ErrorState error retry=reload/> }.into_any(),
                Shown::Nothing => view! {
                    <Empty title="Nothing waits for a second admin">
                        "When an admin saves a change that widens access, it waits here."
                    </Empty>
                }
                    .into_any(),
                Shown::Waiting => view! {
                    <ul class="cards proposals" data-testid="pending-proposals">
                        <For
                            each=move || pending.get().and_then(Result::ok).unwrap_or_default()
                            key=|p| (p.id, p.state)
                            children=move |p| view! { <ProposalCard proposal=p reload/> }
                        />
                    </ul>
                }
                    .into_any(),
            }}
            {move || any_decided.get().then(|| view! {
                <h2>"Decided lately"</h2>
                <ul class="cards proposals" data-testid="decided-proposals">
                    <For
                        each=decided
                        key=|p| (p.id, p.state)
                        children=move |p| view! { <ProposalCard proposal=p reload/> }
                    />
                </ul>
            })}
        </section>
    }
}

fn state_badge(state: ProposalState) -> (&'static str, &'static str) {
    match state {
        ProposalState::Pending => ("badge amber", "waiting for a second admin"),
        ProposalState::Approved => ("badge green", "approved"),
        ProposalState::Rejected => ("badge grey", "rejected"),
        ProposalState::Withdrawn => ("badge grey", "withdrawn"),
    }
}

#[component]
fn ProposalCard(proposal: ProposalView, reload: Callback<()>) -> impl IntoView {
    let (badge_class, badge_text) = state_badge(proposal.state);
    let differences = proposal.change.differences();
    let decided = proposal.decided_by.clone().zip(proposal.decided_at);
    view! {
        <li class="card proposal" data-testid="proposal" data-proposal=proposal.id>
            <header class="card-head">
                <h3>{format!("Change to {}", proposal.change.subject())}</h3>
                <span class=badge_class>{badge_text}</span>
            </header>
            <p class="muted">
                "Proposed by " <strong>{proposal.proposed_by.name.clone()}</strong> " "
                <RelativeTime at=proposal.proposed_at/>
                {decided.map(|(by, at)| view! {
                    " · " {proposal.state.as_str().to_string()} " by " <strong>{by.name}</strong> " "
                    <RelativeTime at/>
                })}
            </p>
            {proposal.reason.clone().map(|r| view! { <p>"Reason: " {r}</p> })}
            <p><strong>"Why it needs four eyes:"</strong></p>
            <ul data-testid="proposal-widenings">
                {proposal.widenings.iter().map(|w| view! { <li>{w.description.clone()}</li> }).collect_view()}
            </ul>
            <div class="table-wrap diff">
                <table class="table">
                    <caption class="visually-hidden">"What the change sets"</caption>
                    <thead>
                        <tr><th scope="col">"Field"</th><th scope="col">"Before"</th><th scope="col">"Proposed"</th></tr>
                    </thead>
                    <tbody>
                        {differences.into_iter().map(|d| view! {
                            <tr>
                                <th scope="row"><code>{d.field}</code></th>
                                <td>{d.before.unwrap_or_else(|| "—".into())}</td>
                                <td>{d.after.unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {(proposal.state == ProposalState::Pending).then(|| view! { <Decide proposal=proposal.clone() reload/> })}
        </li>
    }
}

/// Approve, reject or withdraw, for an admin; for an auditor nothing.
#[component]
fn Decide(proposal: ProposalView, reload: Callback<()>) -> impl IntoView {
    let auth = use_auth();
    let toasts = use_toasts();
    let Some(me) = auth.user().filter(|m| m.user.has(Role::Admin)) else {
        return ().into_any();
    };
    let id = proposal.id;
    let own = proposal.proposed_by.id == me.user.id;
    let may_approve = four_eyes::check_approver(&proposal, me.user.id, &me.user.roles);
    let approving = RwSignal::new(false);
    let rejecting = RwSignal::new(false);
    let approve = FormAction::new(
        move |()| api::approve_proposal(id),
        move |p| {
            approving.set(false);
            toasts.show(format!(
                "Approved: the change to {} applies now",
                p.change.subject()
            ));
            auth.refresh();
            reload.run(());
        },
    );
    let reject = FormAction::new(
        move |reason: String| api::reject_proposal(id, reason),
        move |_| {
            rejecting.set(false);
            toasts.show(format!(
                "{}: nothing changes",
                if own { "Withdrawn" } else { "Rejected" }
            ));
            auth.refresh();
            reload.run(());
        },
    );
    let subject = proposal.change.subject();
    let widened = proposal
        .widenings
        .iter()
        .map(|w| w.description.clone())
        .collect::<Vec<_>>()
        .join("; ");
    view! {
        <div class="actions">
            {match may_approve {
                Ok(()) => view! {
                    <button class="button primary" on:click=move |_| approving.set(true) data-testid="approve-proposal">
                        "Approve"
                    </button>
                }.into_any(),
                Err(why) => view! { <p class="notice" data-testid="cannot-approve">{stint_core::format::sentence(&why.to_string())}</p> }.into_any(),
            }}
            <button class="button danger-outline" on:click=move |_| rejecting.set(true) data-testid="reject-proposal">
                {if own { "Withdraw" } else { "Reject" }}
            </button>
        </div>
        <ConfirmDialog
            open=approving
            title=format!("Approve the change to {subject}?")
            consequence=format!("It applies at once and widens access: {widened}. You are recorded as its second pair of eyes.")
            confirm_label="Approve"
            pending=approve.pending()
            error=approve.error()
            on_confirm=Callback::new(move |_| approve.send(()))
            testid="approve-dialog"
        />
        <ConfirmDialog
            open=rejecting
            title=if own { format!("Withdraw your change to {subject}?") } else { format!("Reject the change to {subject}?") }
            consequence="Nothing changes; the proposal is kept, with your reason, in the audit trail."
            confirm_label=if own { "Withdraw" } else { "Reject" }
            reason_label="Reason"
            pending=reject.pending()
            error=reject.error()
            on_confirm=Callback::new(move |reason: String| reject.send(reason))
            testid="reject-dialog"
        />
    }
    .into_any()
}
