//! One access review: its progress, the items waiting for the viewer with a form to answer
//! each, what others decided, and for admins and auditors the confirmed close.

use crate::api;
use crate::app::use_auth;
use crate::components::connection::steady;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FieldProblem, FormAction, FormProblem};
use crate::components::live::on_live;
use crate::components::states::{Empty, Loaded};
use crate::components::time::RelativeTime;
use crate::components::toast::use_toasts;
use crate::pages::load_by_route_id;
use leptos::prelude::*;
use stint_core::campaigns::{Assignee, CampaignDetail, CampaignItemView, Decision, DecisionBody};
use stint_core::visibility;

#[component]
pub fn CampaignDetailPage() -> impl IntoView {
    let detail = load_by_route_id("access review", api::campaign);
    on_live(
        |e| e.kind.starts_with("campaign."),
        move || detail.refetch(),
    );
    let reload = Callback::new(move |_| detail.refetch());
    view! {
        <section class="page">
            <Loaded value=steady(detail) rows=6 retry=reload let:d>
                <Campaign detail=d reload/>
            </Loaded>
        </section>
    }
}

#[component]
fn Campaign(detail: CampaignDetail, reload: Callback<()>) -> impl IntoView {
    let auth = use_auth();
    let c = detail.campaign.clone();
    let (mine, others): (Vec<_>, Vec<_>) = detail.item_list.into_iter().partition(|i| i.can_decide);
    let percent = c.progress_percent();
    let overseer = auth.has_any(visibility::READS_EVERYTHING);
    let open = c.closed_at.is_none();
    view! {
        <header class="page-head">
            <h1 data-testid="campaign-name">{c.name.clone()}</h1>
            <p class="muted">
                {format!("Started by {} · ", c.created_by.name)}
                {match c.closed_at {
                    Some(at) => view! { "closed " <RelativeTime at/> }.into_any(),
                    None => view! { "due " <RelativeTime at=c.due_at/> }.into_any(),
                }}
            </p>
        </header>
        <div class="card campaign-progress" data-testid="campaign-progress">
            <progress max="100" value=percent aria-label=format!("{percent} % decided")></progress>
            {format!(" {} of {} items decided", c.decided, c.items)}
            {(!open).then(|| view! { " " <span class="badge grey">"closed: every decision is final"</span> })}
            {(open && overseer).then(|| view! { <CloseCampaign id=c.id undecided=c.items - c.decided reload/> })}
        </div>
        <h2>"Waiting for you"</h2>
        {if mine.is_empty() {
            let why = if open {
                "Nothing in this review waits for your answer."
            } else {
                "The review is closed: what was not answered stays unanswered."
            };
            view! { <Empty title="Nothing waits for you">{why}</Empty> }.into_any()
        } else {
            view! {
                <ul class="campaign-items" data-testid="my-items">
                    {mine.into_iter().map(|item| view! { <li><AnswerItem item reload/></li> }).collect_view()}
                </ul>
            }.into_any()
        }}
        {(!others.is_empty()).then(|| view! {
            <h2>{if overseer { "All other items" } else { "Your answered items" }}</h2>
            <div class="table-wrap">
                <table class="table" data-testid="campaign-items">
                    <thead><tr>
                        <th scope="col">"Item"</th><th scope="col">"For"</th><th scope="col">"Decision"</th>
                    </tr></thead>
                    <tbody>
                        {others.into_iter().map(|item| view! { <ItemRow item/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        })}
    }
}

fn assignee_name(a: &Assignee) -> String {
    match a {
        Assignee::User { user } => user.name.clone(),
        Assignee::Admins => "admins".into(),
    }
}

#[component]
fn ItemRow(item: CampaignItemView) -> impl IntoView {
    view! {
        <tr data-item-id=item.id>
            <td>
                <span class="badge blue">{item.kind.label()}</span> " " {item.subject.clone()}
                <div class="muted small">{item.detail.clone()}</div>
            </td>
            <td>{assignee_name(&item.assignee)}</td>
            <td>
                {match item.decision {
                    None => view! { <span class="muted">"not yet"</span> }.into_any(),
                    Some(d) => view! {
                        <span class=match d { Decision::Revoke => "badge red", Decision::Change => "badge amber", Decision::Keep => "badge green" }>
                            {d.as_str()}
                        </span>
                        {item.decided_by.map(|by| format!(" by {}", by.name))}
                        {item.decided_at.map(|at| view! { " " <RelativeTime at/> })}
                        {item.comment.filter(|c| !c.is_empty()).map(|c| view! { <div class="small">{c}</div> })}
                        {item.link.map(|l| view! { <div class="small"><a href=l.clone() rel="noopener noreferrer" target="_blank">{l.clone()}</a></div> })}
                    }.into_any(),
                }}
            </td>
        </tr>
    }
}

/// The reviewer's answer to one item: keep, change (with the change's link) or revoke
/// (the button says what revoking does).
#[component]
fn AnswerItem(item: CampaignItemView, reload: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let auth = use_auth();
    let (campaign, id, kind) = (item.campaign_id, item.id, item.kind);
    let decision = RwSignal::new(None::<Decision>);
    let comment = RwSignal::new(String::new());
    let link = RwSignal::new(String::new());
    let answer = FormAction::new(
        move |body: DecisionBody| api::decide_campaign_item(campaign, id, body),
        move |_| {
            toasts.show("Decision recorded".to_string());
            auth.refresh();
            reload.run(());
        },
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(d) = decision.get_untracked() {
            answer.send(DecisionBody {
                decision: d,
                comment: comment.get_untracked(),
                link: Some(link.get_untracked()).filter(|l| !l.trim().is_empty()),
            });
        }
    };
    let name = format!("decision-{id}");
    let problem = answer.problem();
    let choice = move |value: Decision, label: String| {
        let name = name.clone();
        view! {
            <label class="radio">
                <input type="radio" name=name on:change=move |_| decision.set(Some(value))
                    data-testid=format!("decide-{}-{}", id, value.as_str())/>
                {label}
            </label>
        }
    };
    view! {
        <form class="card campaign-item" on:submit=submit data-testid=format!("item-{id}") aria-label=item.subject.clone()>
            <p><span class="badge blue">{kind.label()}</span> " " <strong>{item.subject.clone()}</strong></p>
            <p class="muted small">{item.detail.clone()}</p>
            <fieldset class="field">
                <legend>"Your decision"</legend>
                {kind.decisions().iter().map(|d| {
                    let label = match d {
                        Decision::Keep => "Keep: it is right as it is".to_string(),
                        Decision::Change => "Change: it must change (link the change)".to_string(),
                        Decision::Revoke => format!("Revoke: {}", kind.revoke_means().unwrap_or("end it now")),
                    };
                    choice(*d, label)
                }).collect_view()}
                <FieldProblem problem field="decision"/>
            </fieldset>
            <div class="field">
                <label for=format!("comment-{id}")>
                    {move || if decision.get().is_some_and(|d| d != Decision::Keep) { "Why (required)" } else { "Comment (optional)" }}
                </label>
                <textarea id=format!("comment-{id}") rows="2" data-testid=format!("comment-{id}")
                    prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                <FieldProblem problem field="comment"/>
            </div>
            <Show when=move || decision.get() == Some(Decision::Change)>
                <div class="field">
                    <label for=format!("link-{id}")>"Link to the change"</label>
                    <input id=format!("link-{id}") type="url" placeholder="https://…"
                        prop:value=move || link.get() on:input=move |ev| link.set(event_target_value(&ev))/>
                    <FieldProblem problem field="link"/>
                </div>
            </Show>
            <FormProblem problem fields=&["decision", "comment", "link"]/>
            <div class="actions">
                <button type="submit" class=move || if decision.get() == Some(Decision::Revoke) { "button danger" } else { "button primary" }
                    disabled=move || decision.get().is_none() || answer.pending().get()
                    data-testid=format!("answer-{id}")>
                    {move || match (answer.pending().get(), decision.get()) {
                        (true, _) => "Recording…".to_string(),
                        (false, Some(Decision::Revoke)) => format!("Record and {}", kind.revoke_means().unwrap_or("revoke")),
                        _ => "Record decision".to_string(),
                    }}
                </button>
            </div>
        </form>
    }
}

/// Closing is final: the dialog says so, and how many items stay unanswered.
#[component]
fn CloseCampaign(id: i64, undecided: u32, reload: Callback<()>) -> impl IntoView {
    let open = RwSignal::new(false);
    let close = FormAction::new(
        move |()| api::close_campaign(id),
        move |_| {
            open.set(false);
            reload.run(());
        },
    );
    let consequence = match undecided {
        0 => "Every decision becomes final; nothing in this review can change afterwards."
            .to_string(),
        n => format!(
            "{n} items are still unanswered and stay so. Every decision becomes final; nothing in this review can change afterwards."
        ),
    };
    view! {
        <button type="button" class="button subtle" on:click=move |_| open.set(true) data-testid="close-campaign">"Close the review…"</button>
        <ConfirmDialog
            open
            title="Close this access review?".to_string()
            consequence=consequence
            confirm_label="Close it for good"
            pending=close.pending()
            error=close.error()
            on_confirm=Callback::new(move |_| close.send(()))
            testid="close-campaign-dialog"
        />
    }
}
