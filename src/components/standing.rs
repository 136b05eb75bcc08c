//! Standing credentials in the portal: the approver's warning, one finding with its triage
//! controls, and the identity / resource / privilege picker that triage, records made by
//! hand and mapping rules share.

use crate::api;
use crate::components::badges::StandingBadge;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem};
use crate::components::time::RelativeTime;
use crate::components::toast::use_toasts;
use crate::page::Page;
use leptos::prelude::*;
use stint_core::api::{IdentityView, ResourceView};
use stint_core::standing::{StandingStatus, StandingView, TriageBody};

/// Tells an approver that static secrets already reach the same resource as the same
/// identity, outside Stint: granting adds a path rather than replacing one.
#[component]
pub fn StandingWarning(count: u32, identity: String, resource: String) -> impl IntoView {
    (count > 0).then(|| {
        let secrets = if count == 1 {
            "1 standing credential outside Stint already gives".to_string()
        } else {
            format!("{count} standing credentials outside Stint already give")
        };
        view! {
            <div class="warning" role="note" data-testid="standing-warning">
                <p>
                    <strong>"Standing access already exists. "</strong>
                    {format!("{secrets} {identity} access to {resource}.")}
                    " Approving adds a path; it does not remove one. "
                    <a href=Page::Secrets.path()>"See the secrets"</a>
                </p>
            </div>
        }
    })
}

/// What triage and the forms pick from.
#[derive(Clone)]
pub struct Catalog {
    /// The identities the viewer may map to (all for admins, their own otherwise).
    pub identities: Vec<IdentityView>,
    pub resources: Vec<ResourceView>,
}

/// What a standing credential reaches, as a form edits it. An empty privilege means "not
/// known".
#[derive(Clone, Copy)]
pub struct Target {
    pub identity_id: RwSignal<i64>,
    pub resource_id: RwSignal<i64>,
    pub privilege: RwSignal<String>,
}

impl Target {
    /// The catalog's first identity and resource, the privilege not known.
    pub fn first_of(catalog: StoredValue<Catalog>) -> Target {
        catalog.with_value(|c| Target {
            identity_id: RwSignal::new(c.identities.first().map_or(0, |i| i.id)),
            resource_id: RwSignal::new(c.resources.first().map_or(0, |r| r.id)),
            privilege: RwSignal::new(String::new()),
        })
    }

    /// The chosen (identity id, resource id, privilege if known).
    pub fn chosen(&self) -> (i64, i64, Option<String>) {
        let privilege = self.privilege.get_untracked();
        (
            self.identity_id.get_untracked(),
            self.resource_id.get_untracked(),
            (!privilege.is_empty()).then_some(privilege),
        )
    }
}

/// Identity, resource and (optional) privilege selects.
#[component]
pub fn TargetFields(
    catalog: StoredValue<Catalog>,
    target: Target,
    /// Prefixes the fields' ids, so several forms can share a page.
    prefix: &'static str,
    problem: Signal<Option<Problem>>,
) -> impl IntoView {
    let Target {
        identity_id,
        resource_id,
        privilege,
    } = target;
    let privileges = Memo::new(move |_| {
        catalog.with_value(|c| {
            c.resources
                .iter()
                .find(|r| r.id == resource_id.get())
                .map(|r| r.privileges.clone())
                .unwrap_or_default()
        })
    });
    let id = move |field: &str| format!("{prefix}-{field}");
    view! {
        <div class="field">
            <label for=id("identity")>"Identity it gives access as"</label>
            <select
                id=id("identity")
                prop:value=move || identity_id.get().to_string()
                on:change=move |ev| identity_id.set(event_target_value(&ev).parse().unwrap_or_default())
                data-testid=id("identity")
            >
                {catalog.with_value(|c| c.identities.iter().map(|i| view! {
                    <option value=i.id>{i.name.clone()}</option>
                }).collect_view())}
            </select>
            <FieldProblem problem field="identity_id"/>
        </div>
        <div class="field">
            <label for=id("resource")>"Resource it reaches"</label>
            <select
                id=id("resource")
                prop:value=move || resource_id.get().to_string()
                on:change=move |ev| {
                    resource_id.set(event_target_value(&ev).parse().unwrap_or_default());
                    privilege.set(String::new());
                }
                data-testid=id("resource")
            >
                {catalog.with_value(|c| c.resources.iter().map(|r| view! {
                    <option value=r.id>{r.name.clone()}</option>
                }).collect_view())}
            </select>
            <FieldProblem problem field="resource_id"/>
        </div>
        <div class="field">
            <label for=id("privilege")>"Privilege"</label>
            <select
                id=id("privilege")
                prop:value=move || privilege.get()
                on:change=move |ev| privilege.set(event_target_value(&ev))
                data-testid=id("privilege")
            >
                <option value="">"not known"</option>
                {move || privileges.get().into_iter().map(|p| view! {
                    <option value=p.clone()>{p.clone()}</option>
                }).collect_view()}
            </select>
            <FieldProblem problem field="privilege"/>
        </div>
    }
}

/// One finding: where it is, what it is, where triage left it, and (when the viewer may)
/// the controls to map or resolve it.
#[component]
pub fn StandingCard(
    item: StandingView,
    /// What mapping picks from; without it the card offers no mapping.
    catalog: Option<StoredValue<Catalog>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let id = item.id;
    let reaches = match (&item.identity, &item.resource) {
        (Some(i), Some(r)) => Some(format!(
            "{} → {}{}",
            i.name,
            r.name,
            item.privilege
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        )),
        _ => None,
    };
    let can_map = item.can_triage && catalog.is_some();
    // Unmapped findings are resolved by admins only: no owner answers for them yet.
    let admin = crate::app::use_auth().has(stint_core::Role::Admin);
    let can_resolve = item.can_triage && (item.status == StandingStatus::Mapped || admin);
    view! {
        <li class="card standing-item" data-testid="standing-item" data-standing-id=id data-status=item.status.as_str()>
            <div class="queue-head">
                <code class="location" data-testid="standing-location">{item.location.clone()}</code>
                <StandingBadge status=item.status/>
            </div>
            <p>
                <strong>{item.secret_type.clone()}</strong>
                <span class="muted">{format!(" · {} · {}", item.tool.as_str(), item.source)}</span>
            </p>
            {(!item.description.is_empty()).then(|| view! { <p class="prose">{item.description.clone()}</p> })}
            {reaches.map(|r| view! { <p data-testid="standing-reaches">"Reaches " <strong>{r}</strong></p> })}
            <p class="muted small">
                "First seen " <RelativeTime at=item.first_seen/>
                " · last seen " <RelativeTime at=item.last_seen/>
                {item.not_seen_since.map(|t| view! {
                    " · " <span class="badge grey">"not seen since " <RelativeTime at=t/></span>
                })}
                {item.fingerprint.clone().map(|f| view! {
                    " · " <span class="clip" title=f.clone()>{short_fingerprint(&f)}</span>
                })}
            </p>
            {item.owner.clone().map(|o| view! { <p class="muted small">"Owner of the secret: " {o.name}</p> })}
            {item.resolution_reason.clone().map(|reason| view! {
                <p class="muted small">
                    {item.resolved_by.clone().map(|b| format!("{}: ", b.name)).unwrap_or_default()}
                    {reason}
                </p>
            })}
            {item.grant_id.map(|g| view! {
                <p class="small"><a href=Page::GrantStory(g).path()>{format!("Grant #{g} was revoked")}</a></p>
            })}
            {(can_map || can_resolve).then(|| view! {
                <Triage id status=item.status catalog can_resolve on_change/>
            })}
        </li>
    }
}

/// `sha256:3f2a9c…` — enough to tell two apart at a glance.
fn short_fingerprint(fingerprint: &str) -> String {
    let cut = fingerprint
        .char_indices()
        .nth(18)
        .map_or(fingerprint.len(), |(i, _)| i);
    format!("{}…", &fingerprint[..cut])
}

/// How a finding is resolved, as the dialog asks it.
#[derive(Clone, Copy, PartialEq)]
enum Resolution {
    Rotated,
    FalsePositive,
}

impl Resolution {
    fn title(self) -> &'static str {
        match self {
            Resolution::Rotated => "Mark as rotated?",
            Resolution::FalsePositive => "Mark as a false positive?",
        }
    }

    fn consequence(self) -> &'static str {
        match self {
            Resolution::Rotated => {
                "The secret no longer works where it was used: it stops counting as a standing path. This is recorded with your reason."
            }
            Resolution::FalsePositive => {
                "This finding was never a working secret: it stops counting as a standing path. This is recorded with your reason."
            }
        }
    }

    fn body(self, reason: String) -> TriageBody {
        match self {
            Resolution::Rotated => TriageBody::Rotated { reason },
            Resolution::FalsePositive => TriageBody::FalsePositive { reason },
        }
    }
}

#[component]
fn Triage(
    id: i64,
    status: StandingStatus,
    catalog: Option<StoredValue<Catalog>>,
    can_resolve: bool,
    on_change: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let mapping = RwSignal::new(false);
    let resolving = RwSignal::new(Resolution::Rotated);
    let dialog_open = RwSignal::new(false);
    let triage = FormAction::new(
        move |body: TriageBody| api::triage_standing(id, body),
        move |item| {
            dialog_open.set(false);
            mapping.set(false);
            toasts.show(match (&item.identity, &item.resource, item.status) {
                (Some(i), Some(r), StandingStatus::Mapped) => {
                    format!("{} mapped to {} → {}", item.location, i.name, r.name)
                }
                _ => format!("{} marked {}", item.location, item.status.label()),
            });
            on_change.run(());
        },
    );
    let problem = triage.problem();
    let resolve = move |kind: Resolution| {
        resolving.set(kind);
        dialog_open.set(true);
    };
    view! {
        <div class="actions">
            {catalog.is_some().then(|| view! {
                <button
                    class="button"
                    aria-expanded=move || mapping.get().to_string()
                    on:click=move |_| mapping.update(|m| *m = !*m)
                    data-testid="map-finding"
                >
                    {if status == StandingStatus::Mapped { "Map elsewhere…" } else { "Map…" }}
                </button>
            })}
            {can_resolve.then(|| view! {
                <button class="button subtle" on:click=move |_| resolve(Resolution::Rotated) data-testid="mark-rotated">"Rotated…"</button>
                <button class="button subtle" on:click=move |_| resolve(Resolution::FalsePositive) data-testid="mark-false-positive">"False positive…"</button>
            })}
        </div>
        {move || (mapping.get()).then(|| catalog.map(|catalog| view! {
            <MapForm catalog triage problem/>
        }))}
        // In the page only while open: every card has one, and their ids must not repeat.
        {move || dialog_open.get().then(|| view! {
            <ConfirmDialog
                open=dialog_open
                title=Signal::derive(move || resolving.get().title().to_string())
                consequence=Signal::derive(move || resolving.get().consequence().to_string())
                confirm_label="Resolve"
                reason_label="Why (at least 10 characters)"
                pending=triage.pending()
                error=Signal::derive(move || problem.get().map(|p| p.message))
                on_confirm=Callback::new(move |reason: String| {
                    triage.send(resolving.get_untracked().body(reason));
                })
                testid="resolve-dialog"
            />
        })}
    }
}

#[component]
fn MapForm(
    catalog: StoredValue<Catalog>,
    triage: FormAction<TriageBody, StandingView>,
    problem: Signal<Option<Problem>>,
) -> impl IntoView {
    if catalog.with_value(|c| c.identities.is_empty()) {
        return view! {
            <p class="help">"You own no identity to map it to. An admin, or an owner of the identity it belongs to, can map it."</p>
        }
        .into_any();
    }
    let target = Target::first_of(catalog);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (identity_id, resource_id, privilege) = target.chosen();
        triage.send(TriageBody::Map {
            identity_id,
            resource_id,
            privilege,
        });
    };
    view! {
        <form class="form inline-form" on:submit=submit data-testid="map-form">
            <TargetFields catalog target prefix="map" problem/>
            <FormProblem problem fields=&["identity_id", "resource_id", "privilege"]/>
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || triage.pending().get() data-testid="map-submit">
                    {move || if triage.pending().get() { "Mapping…" } else { "Map finding" }}
                </button>
            </div>
        </form>
    }
    .into_any()
}
