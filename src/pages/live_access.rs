//! Live access, for an incident: every grant live now, narrowed by a filter kept in the
//! URL, and for admins the means to end several, or all that match, for one reason.

use crate::api;
use crate::components::badges::GrantBadge;
use crate::components::connection::steady;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FilterSelect, FormAction, ResourceFilter};
use crate::components::live::on_live;
use crate::components::states::{Empty, Loaded, RoleGate, refetch};
use crate::components::time::Countdown;
use crate::components::toast::use_toasts;
use crate::page::Page;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use stint_core::api::NamedRef;
use stint_core::oversight::{
    BulkRevokeBody, GrantKind, LiveAccessFilter, LiveAccessView, standing_paths_of,
};
use stint_core::{Role, visibility};

/// The "ends within" choices: (seconds, label).
const WINDOWS: [(i64, &str); 4] = [
    (15 * 60, "15 minutes"),
    (3600, "1 hour"),
    (4 * 3600, "4 hours"),
    (24 * 3600, "24 hours"),
];

#[component]
pub fn LiveAccess() -> impl IntoView {
    view! {
        <RoleGate roles=visibility::SEES_LIVE_ACCESS what="Live access" who="admins and auditors">
            <LiveAccessPage/>
        </RoleGate>
    }
}

/// The filter the URL holds (unknown or malformed values are left out, not guessed).
fn filter_from_url(q: &leptos_router::params::ParamsMap) -> LiveAccessFilter {
    let id = |key: &str| q.get(key).and_then(|v| v.parse::<i64>().ok());
    LiveAccessFilter {
        resource_id: id("resource_id"),
        identity_id: id("identity_id"),
        kind: q.get("kind").and_then(|k| GrantKind::parse(&k)),
        privilege: q.get("privilege").filter(|p| !p.trim().is_empty()),
        holder_id: id("holder_id"),
        ends_within_secs: id("ends_within_secs").filter(|s| *s > 0),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SortBy {
    Ends,
    Identity,
    Resource,
    Holder,
}

#[component]
fn LiveAccessPage() -> impl IntoView {
    let auth = crate::app::use_auth();
    let query = use_query_map();
    let filter = Memo::new(move |_| filter_from_url(&query.read()));
    let live = LocalResource::new(move || {
        let f = filter.get();
        async move { api::live_access(&f).await }
    });
    on_live(|e| e.kind.starts_with("grant."), move || live.refetch());
    // A refresh that fails keeps the list as read; the banner says the broker is away.
    let live_now = steady(live);
    let selected = RwSignal::new(Vec::<i64>::new());
    // Above the list, so a refresh (each grant event) keeps a sort, a dialog half
    // filled in, and a bulk revocation under way.
    let sort = RwSignal::new(SortBy::Ends);
    let matching = Signal::derive(move || {
        live_now
            .get()
            .and_then(Result::ok)
            .map_or(0, |view| (view.matching as usize).max(view.grants.len()))
    });
    // What is selected stays within what is shown.
    Effect::new(move |_| {
        if let Some(Ok(view)) = live_now.get() {
            selected.update(|s| s.retain(|id| view.grants.iter().any(|g| g.id == *id)));
        }
    });
    let admin = move || auth.has(Role::Admin);
    // Who holds what matches (listed or not): the holders the filter can narrow to.
    let holders = Signal::derive(move || {
        live_now
            .get()
            .and_then(Result::ok)
            .map(|view| view.holders)
            .unwrap_or_default()
    });
    view! {
        <section class="page wide">
            <header class="page-head">
                <h1>"Live access"</h1>
                <p class="muted">
                    "Every grant live now or scheduled to start. Narrow it down, then end what must end."
                </p>
            </header>
            <Filters filter holders/>
            <Show when=admin>
                <RevokeBar filter matching selected done=Callback::new(move |_| live.refetch())/>
            </Show>
            <Loaded value=live_now rows=5 retry=refetch(live) let:view>
                {if view.grants.is_empty() {
                    view! {
                        <Empty title="No live access matches">
                            "Nothing live matches this filter: no grant gives access here right now."
                        </Empty>
                    }
                        .into_any()
                } else {
                    view! {
                        <Counts view=view.clone()/>
                        <LiveTable view selected sort selectable=admin()/>
                    }
                        .into_any()
                }}
            </Loaded>
        </section>
    }
}

/// The filter form; applying it puts it in the URL, so a filtered view is a link.
#[component]
fn Filters(filter: Memo<LiveAccessFilter>, holders: Signal<Vec<NamedRef>>) -> impl IntoView {
    let navigate = use_navigate();
    let identities = LocalResource::new(api::identities);
    let resource = RwSignal::new(String::new());
    let identity = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let privilege = RwSignal::new(String::new());
    let holder = RwSignal::new(String::new());
    let within = RwSignal::new(String::new());
    // The fields show the URL's filter, also when the URL changes under the page (Clear,
    // Back, a link).
    Effect::new(move |_| {
        let f = filter.get();
        let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        resource.set(id(f.resource_id));
        identity.set(id(f.identity_id));
        kind.set(f.kind.map(|k| k.as_str().to_string()).unwrap_or_default());
        privilege.set(f.privilege.unwrap_or_default());
        holder.set(id(f.holder_id));
        within.set(id(f.ends_within_secs));
    });
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed =
            |value: RwSignal<String>| Some(value.get_untracked()).filter(|v| !v.trim().is_empty());
        let id = |value: RwSignal<String>| typed(value).and_then(|v| v.trim().parse::<i64>().ok());
        let chosen = LiveAccessFilter {
            resource_id: id(resource),
            identity_id: id(identity),
            kind: typed(kind).and_then(|k| GrantKind::parse(&k)),
            privilege: typed(privilege).map(|p| p.trim().to_string()),
            holder_id: id(holder),
            ends_within_secs: id(within),
        };
        navigate(
            &Page::LiveAccess.with_query(&api::live_access_query(&chosen)),
            Default::default(),
        );
    };
    view! {
        <form class="filters card live-filters" on:submit=apply aria-label="Filter live access" data-testid="live-filters">
            <ResourceFilter id="live-resource" value=resource/>
            {move || {
                let options = identities.get().and_then(Result::ok).unwrap_or_default()
                    .into_iter().map(|i| (i.id.to_string(), i.name)).collect();
                view! { <FilterSelect id="live-identity" label="Identity" value=identity options all="All identities"/> }
            }}
            <FilterSelect id="live-kind" label="Kind" value=kind all="Both kinds" options=vec![
                ("standard".into(), "Approved".into()),
                ("break_glass".into(), "Break-glass".into()),
            ]/>
            <div class="field">
                <label for="live-privilege">"Privilege"</label>
                <input id="live-privilege" data-testid="live-privilege" placeholder="e.g. write"
                    prop:value=move || privilege.get() on:input=move |ev| privilege.set(event_target_value(&ev))/>
            </div>
            {move || {
                let options = holders.get().into_iter().map(|h| (h.id.to_string(), h.name)).collect();
                view! { <FilterSelect id="live-holder" label="Holder" value=holder options all="All holders"/> }
            }}
            <FilterSelect id="live-within" label="Ends within" value=within all="Any time"
                options=WINDOWS.iter().map(|(s, l)| (s.to_string(), l.to_string())).collect()/>
            <div class="actions">
                <button type="submit" class="button primary" data-testid="live-apply">"Filter"</button>
                <a class="button subtle" href=Page::LiveAccess.path()>"Clear"</a>
            </div>
        </form>
    }
}

#[component]
fn Counts(view: LiveAccessView) -> impl IntoView {
    let total = view.matching.max(view.grants.len() as u32);
    let shown = view.grants.len() as u32;
    view! {
        <p class="counts" data-testid="live-counts" aria-live="polite">
            <strong>{format!("{total} live grant{}", if total == 1 { "" } else { "s" })}</strong>
            {format!(
                " · {} active · {} scheduled · {} break-glass · {} identit{}",
                view.active,
                view.scheduled,
                view.break_glass,
                view.identities,
                if view.identities == 1 { "y" } else { "ies" },
            )}
        </p>
        {(shown < total).then(|| view! {
            <p class="notice" role="note" data-testid="live-cut-short">
                {format!("Listing the {shown} that end soonest. Narrow the filter to see the rest; ending all that match ends all {total}.")}
            </p>
        })}
    }
}

/// What an admin ends: the grants ticked, or every live grant the filter matches.
#[derive(Clone)]
enum Target {
    Selected(Vec<i64>),
    AllMatching(LiveAccessFilter, usize),
}

impl Target {
    fn count(&self) -> usize {
        match self {
            Target::Selected(ids) => ids.len(),
            Target::AllMatching(_, n) => *n,
        }
    }
}

#[component]
fn RevokeBar(
    filter: Memo<LiveAccessFilter>,
    /// How many the list showed when last read.
    matching: Signal<usize>,
    selected: RwSignal<Vec<i64>>,
    done: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let target = RwSignal::new(None::<Target>);
    let revoke = FormAction::new(api::bulk_revoke, move |outcome| {
        open.set(false);
        selected.set(Vec::new());
        let ended = outcome.revoked.len();
        toasts.show(match outcome.failed.len() {
            0 => format!("Ended {ended} grant{}.", if ended == 1 { "" } else { "s" }),
            n => format!("Ended {ended}; {n} could not be ended (they had ended already or are not yours to end)."),
        });
        done.run(());
    });
    let error = revoke.error();
    let ask = move |t: Target| {
        target.set(Some(t));
        open.set(true);
    };
    let consequence = Signal::derive(move || {
        let ends = match target.get() {
            Some(Target::AllMatching(_, n)) => format!(
                "every live grant that matches the filter ({n} when the list was read, and \
                 any granted since)"
            ),
            Some(Target::Selected(ids)) => {
                let n = ids.len();
                format!("{n} grant{}", if n == 1 { "" } else { "s" })
            }
            None => String::new(),
        };
        format!(
            "This ends {ends} now: each holder loses the access at once, its credentials stop \
             working, and each revocation is recorded with your reason."
        )
    });
    view! {
        <div class="bulk-bar" role="group" aria-label="End access">
            <button type="button" class="button danger" data-testid="revoke-selected"
                disabled=move || selected.read().is_empty()
                on:click=move |_| ask(Target::Selected(selected.get_untracked()))>
                {move || format!("Revoke selected ({})", selected.read().len())}
            </button>
            // Everything at once is no filter: whoever means it selects every grant.
            <Show when=move || { !filter.get().is_everything() && matching.get() > 0 }>
                <button type="button" class="button danger-outline" data-testid="revoke-all-matching"
                    on:click=move |_| ask(Target::AllMatching(filter.get_untracked(), matching.get_untracked()))>
                    {move || format!("Revoke all {} matching", matching.get())}
                </button>
            </Show>
        </div>
        <ConfirmDialog
            open
            title=Signal::derive(move || match target.get() {
                Some(Target::AllMatching(..)) => "End all matching grants?".to_string(),
                other => format!("End {} grants?", other.map_or(0, |t| t.count())),
            })
            consequence
            confirm_label="End access"
            reason_label="Reason (recorded with each revocation)"
            pending=revoke.pending()
            error
            on_confirm=Callback::new(move |reason: String| {
                let body = match target.get_untracked() {
                    Some(Target::Selected(ids)) => BulkRevokeBody { ids: Some(ids), filter: None, reason },
                    Some(Target::AllMatching(filter, _)) => BulkRevokeBody { ids: None, filter: Some(filter), reason },
                    None => return,
                };
                revoke.send(body);
            })
            testid="bulk-revoke-dialog"
        />
    }
}

#[component]
fn LiveTable(
    view: LiveAccessView,
    selected: RwSignal<Vec<i64>>,
    sort: RwSignal<SortBy>,
    selectable: bool,
) -> impl IntoView {
    let standing = StoredValue::new(view.standing_paths.clone());
    let grants = view.grants;
    let all_ids: Vec<i64> = grants.iter().map(|g| g.id).collect();
    let grants = StoredValue::new(grants);
    let sorted = move || {
        let mut list = grants.get_value();
        match sort.get() {
            SortBy::Ends => {}
            SortBy::Identity => list.sort_by(|a, b| a.identity.name.cmp(&b.identity.name)),
            SortBy::Resource => list.sort_by(|a, b| a.resource.name.cmp(&b.resource.name)),
            SortBy::Holder => list.sort_by(|a, b| a.holder.name.cmp(&b.holder.name)),
        }
        list
    };
    let header = move |label: &'static str, by: SortBy| {
        view! {
            <th scope="col" aria-sort=move || if sort.get() == by { "ascending" } else { "none" }>
                <button type="button" class="sort" on:click=move |_| sort.set(by)>{label}</button>
            </th>
        }
    };
    let every = all_ids.clone();
    let all_ticked =
        move || !every.is_empty() && every.iter().all(|id| selected.read().contains(id));
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="live-table">
                <thead>
                    <tr>
                        {selectable.then(|| view! {
                            <th scope="col">
                                <input type="checkbox" aria-label="Select every grant shown" data-testid="select-all"
                                    prop:checked=all_ticked
                                    on:change=move |ev| selected.set(if event_target_checked(&ev) { all_ids.clone() } else { Vec::new() })/>
                            </th>
                        })}
                        {header("Identity", SortBy::Identity)}
                        {header("Resource", SortBy::Resource)}
                        <th scope="col">"Privilege"</th>
                        {header("Holder", SortBy::Holder)}
                        <th scope="col">"State"</th>
                        {header("Ends", SortBy::Ends)}
                        <th scope="col">"Standing paths"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || sorted().into_iter().map(|g| {
                        let id = g.id;
                        view! {
                            <tr data-grant-id=id>
                                {selectable.then(|| view! {
                                    <td>
                                        <input type="checkbox" aria-label=format!("Select grant {id}")
                                            prop:checked=move || selected.read().contains(&id)
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                selected.update(|s| if on { s.push(id) } else { s.retain(|x| *x != id) });
                                            }/>
                                    </td>
                                })}
                                <td>
                                    <a href=Page::Identity(g.identity.id).path()>{g.identity.name.clone()}</a>
                                    <div class="muted small">{g.task.clone()}</div>
                                </td>
                                <td>{g.resource.name.clone()}</td>
                                <td>{g.privilege.clone()}</td>
                                <td>{g.holder.name.clone()}</td>
                                <td>
                                    <GrantBadge state=g.state/>
                                    {g.break_glass.then(|| view! { " " <span class="badge red">"break-glass"</span> })}
                                </td>
                                <td><a href=Page::Request(g.request_id).path()><Countdown from=g.starts_at until=g.expires_at/></a></td>
                                <td>
                                    {match standing.with_value(|paths| standing_paths_of(paths, g.identity.id)) {
                                        0 => view! { <span class="muted">"none"</span> }.into_any(),
                                        n => view! {
                                            <a href=Page::Secrets.path() class="badge amber" title="Standing credentials that bypass JIT: revoking grants does not end them">
                                                {format!("{n} standing")}
                                            </a>
                                        }.into_any(),
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
