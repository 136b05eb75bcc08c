//! Access reviews: the campaigns a viewer takes part in, and for admins and auditors the
//! form that starts one over what gives access now.

use crate::api;
use crate::components::connection::steady;
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem};
use crate::components::live::on_live;
use crate::components::states::{Empty, Loaded, LoadedList, refetch};
use crate::components::time::RelativeTime;
use crate::page::Page;
use crate::time::{from_local_input, to_local_input};
use chrono::{Duration, Utc};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use stint_core::IdentityKind;
use stint_core::campaigns::{CampaignScope, CampaignView, NewCampaignBody};
use stint_core::visibility;

#[component]
pub fn Campaigns() -> impl IntoView {
    let auth = crate::app::use_auth();
    let list = LocalResource::new(api::campaigns);
    on_live(|e| e.kind.starts_with("campaign."), move || list.refetch());
    let overseer = move || auth.has_any(visibility::READS_EVERYTHING);
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Access reviews"</h1>
                <p class="muted">
                    "Periodic reviews of everything that gives access: each item is put to the person who answers for it."
                </p>
            </header>
            <Show when=overseer>
                <StartCampaign/>
            </Show>
            <LoadedList value=steady(list) rows=3 retry=refetch(list)
                empty=|| view! {
                    <Empty title="No access review yet">
                        "When an admin or auditor starts one, the items you must answer appear here."
                    </Empty>
                }
                let:campaigns>
                <CampaignTable campaigns/>
            </LoadedList>
        </section>
    }
}

#[component]
fn CampaignTable(campaigns: Vec<CampaignView>) -> impl IntoView {
    let now = Utc::now();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="campaign-table">
                <thead>
                    <tr>
                        <th scope="col">"Campaign"</th>
                        <th scope="col">"Progress"</th>
                        <th scope="col">"For you"</th>
                        <th scope="col">"Due"</th>
                    </tr>
                </thead>
                <tbody>
                    {campaigns
                        .into_iter()
                        .map(|c| {
                            let percent = c.progress_percent();
                            let overdue = c.overdue(now);
                            view! {
                                <tr data-campaign-id=c.id>
                                    <td><a href=Page::Campaign(c.id).path()>{c.name.clone()}</a></td>
                                    <td>
                                        <progress max="100" value=percent aria-label=format!("{percent} % decided")></progress>
                                        {format!(" {} of {}", c.decided, c.items)}
                                    </td>
                                    <td>
                                        {match c.mine_open {
                                            0 => view! { <span class="muted">"nothing"</span> }.into_any(),
                                            n => view! { <span class="badge amber">{format!("{n} to answer")}</span> }.into_any(),
                                        }}
                                    </td>
                                    <td>
                                        {match c.closed_at {
                                            Some(_) => view! { <span class="badge grey">"closed"</span> }.into_any(),
                                            None if overdue => view! {
                                                <span class="badge red">"overdue"</span> " " <RelativeTime at=c.due_at/>
                                            }.into_any(),
                                            None => view! { <RelativeTime at=c.due_at/> }.into_any(),
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

/// The form an admin or auditor starts a campaign with: a name, a due time, and which
/// resources and kinds of identity it covers (none chosen: all).
#[component]
fn StartCampaign() -> impl IntoView {
    let navigate = use_navigate();
    let resources = LocalResource::new(api::resources);
    let name = RwSignal::new(String::new());
    let due = RwSignal::new(to_local_input(Utc::now() + Duration::days(14)));
    let chosen_resources = RwSignal::new(Vec::<i64>::new());
    let chosen_kinds = RwSignal::new(Vec::<IdentityKind>::new());
    // The form's own check (a due date picked) first, then the broker's word.
    let unpicked = RwSignal::new(None::<Problem>);
    let start = FormAction::new(api::start_campaign, move |detail| {
        navigate(
            &Page::Campaign(detail.campaign.id).path(),
            Default::default(),
        )
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(due_at) = from_local_input(&due.get_untracked()) else {
            unpicked.set(Some(Problem {
                field: Some("due_at".into()),
                message: "Pick when it is due.".into(),
            }));
            return;
        };
        unpicked.set(None);
        start.send(NewCampaignBody {
            name: name.get_untracked(),
            scope: CampaignScope {
                resource_ids: chosen_resources.get_untracked(),
                identity_kinds: chosen_kinds.get_untracked(),
            },
            due_at,
        });
    };
    let problem = Signal::derive(move || {
        unpicked
            .get()
            .or_else(|| start.failure().map(Problem::from))
    });
    view! {
        <details class="card start-campaign" data-testid="start-campaign">
            <summary>"Start an access review"</summary>
            <form on:submit=submit aria-label="Start an access review">
                <div class="field">
                    <label for="campaign-name">"Name"</label>
                    <input id="campaign-name" required data-testid="campaign-name" placeholder="e.g. Q4 2026 access review"
                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <FieldProblem problem field="name"/>
                </div>
                <div class="field">
                    <label for="campaign-due">"Due"</label>
                    <input id="campaign-due" type="datetime-local" data-testid="campaign-due"
                        prop:value=move || due.get() on:input=move |ev| due.set(event_target_value(&ev))/>
                    <FieldProblem problem field="due_at"/>
                </div>
                <fieldset class="field">
                    <legend>"Resources (none ticked: all)"</legend>
                    <Loaded value=steady(resources) rows=2 retry=refetch(resources) let:list>
                        {list.into_iter().map(|r| {
                            let id = r.id;
                            view! {
                                <label class="checkbox">
                                    <input type="checkbox" on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen_resources.update(|c| if on { c.push(id) } else { c.retain(|x| *x != id) });
                                    }/>
                                    {r.name}
                                </label>
                            }
                        }).collect_view()}
                    </Loaded>
                    <FieldProblem problem field="scope.resource_ids"/>
                </fieldset>
                <fieldset class="field">
                    <legend>"Kinds of identity (none ticked: all)"</legend>
                    {IdentityKind::ALL.into_iter().map(|kind| view! {
                        <label class="checkbox">
                            <input type="checkbox" on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                chosen_kinds.update(|c| if on { c.push(kind) } else { c.retain(|x| *x != kind) });
                            }/>
                            {kind.label()}
                        </label>
                    }).collect_view()}
                </fieldset>
                <FormProblem problem fields=&["name", "due_at", "scope.resource_ids"]/>
                <div class="actions">
                    <button type="submit" class="button primary" data-testid="campaign-start" disabled=move || start.pending().get()>
                        {move || if start.pending().get() { "Starting…" } else { "Start the review" }}
                    </button>
                </div>
            </form>
        </details>
    }
}
