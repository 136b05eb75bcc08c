//! The admin's form for a resource and its policy. It checks the policy with the same
//! `stint_core::admin::check_resource` the broker runs and shows the policy as requesters
//! will read it, before anything is saved.

use crate::api::{self, Saved};
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem};
use crate::components::four_eyes::{WideningNote, proposed_message};
use crate::components::toast::use_toasts;
use crate::components::usage_signals::ResourceUsage;
use leptos::prelude::*;
use stint_core::api::{NamedRef, ResourceBody, ResourceView};
use stint_core::connectors::ConnectorView;
use stint_core::{
    Approvers, AutoApprove, BreakGlassPolicy, IdentityKind, Policy, admin, break_glass, format,
    four_eyes, lifecycle, rules,
};

const FIELDS: &[&str] = &[
    "name",
    "description",
    "privileges",
    "policy.approvals_required",
    "policy.approvers",
    "policy.max_duration_secs",
    "policy.max_total_secs",
    "policy.max_start_ahead_secs",
    "policy.ticket_pattern",
    "policy.break_glass.max_duration_secs",
    "policy.break_glass.review_within_secs",
    "policy.auto_approve.identity_kinds",
    "policy.auto_approve.privileges",
    "policy.auto_approve.max_duration_secs",
];

/// A number typed into a field; anything unreadable is 0, which the rules refuse by name.
fn number(text: &str) -> i64 {
    text.trim().parse().unwrap_or(0)
}

#[component]
fn NumberField(
    id: &'static str,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    problem: Signal<Option<Problem>>,
    field: &'static str,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                type="number"
                min="0"
                inputmode="numeric"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                data-testid=id
            />
            <FieldProblem problem field/>
        </div>
    }
}

/// A length of time typed as a number and a unit, so every duration in the form reads alike.
#[derive(Clone, Copy)]
struct DurationInput {
    amount: RwSignal<String>,
    unit_secs: RwSignal<i64>,
}

const UNITS: [(i64, &str); 3] = [(60, "minutes"), (3_600, "hours"), (86_400, "days")];

impl DurationInput {
    /// Shown in the largest unit that states it exactly ("2 hours", not "120 minutes").
    fn new(secs: i64) -> Self {
        let unit = UNITS
            .iter()
            .rev()
            .map(|(u, _)| *u)
            .find(|u| secs > 0 && secs % u == 0)
            .unwrap_or(60);
        DurationInput {
            amount: RwSignal::new((secs / unit).to_string()),
            unit_secs: RwSignal::new(unit),
        }
    }

    /// A bound that may be left to the broker's default: blank when it is.
    fn optional(secs: Option<i64>, blank_unit_secs: i64) -> Self {
        match secs {
            Some(secs) => DurationInput::new(secs),
            None => DurationInput {
                amount: RwSignal::new(String::new()),
                unit_secs: RwSignal::new(blank_unit_secs),
            },
        }
    }

    fn secs(&self) -> i64 {
        number(&self.amount.get()).saturating_mul(self.unit_secs.get())
    }

    /// `None` while blank: the broker's default applies.
    fn optional_secs(&self) -> Option<i64> {
        (!self.amount.get().trim().is_empty()).then(|| self.secs())
    }
}

#[component]
fn DurationField(
    id: &'static str,
    label: &'static str,
    input: DurationInput,
    problem: Signal<Option<Problem>>,
    field: &'static str,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <div class="duration-input">
                <input
                    id=id
                    type="number"
                    min="1"
                    inputmode="numeric"
                    prop:value=move || input.amount.get()
                    on:input=move |ev| input.amount.set(event_target_value(&ev))
                    data-testid=id
                />
                <select
                    aria-label=format!("{label}: unit")
                    on:change=move |ev| input.unit_secs.set(event_target_value(&ev).parse().unwrap_or(60))
                    data-testid=format!("{id}-unit")
                >
                    {UNITS.map(|(secs, name)| view! {
                        <option value=secs.to_string() selected=move || input.unit_secs.get() == secs>{name}</option>
                    })}
                </select>
            </div>
            <FieldProblem problem field/>
        </div>
    }
}

#[component]
pub fn ResourceEditor(
    existing: Option<ResourceView>,
    /// Enabled users holding the approver role: who may be named, and the pool size.
    approver_role_holders: Vec<NamedRef>,
    /// The connectors the broker loaded, which the resource may be linked to.
    connectors: Vec<ConnectorView>,
    /// Saved, or proposed for a second admin's approval.
    on_saved: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let id = existing.as_ref().map(|r| r.id);
    // What the change is compared with to tell whether it widens access.
    let before = StoredValue::new(existing.as_ref().map(|r| ResourceBody {
        name: r.name.clone(),
        description: r.description.clone(),
        privileges: r.privileges.clone(),
        policy: r.policy.clone(),
        connector: r.connector.clone(),
    }));
    let policy = existing
        .as_ref()
        .map(|r| r.policy.clone())
        .unwrap_or(Policy {
            approvals_required: 1,
            max_duration_secs: 3600,
            ticket_required: false,
            break_glass: None,
            approvers: Approvers::Role,
            ticket_pattern: None,
            auto_approve: None,
            max_start_ahead_secs: None,
            max_total_secs: None,
        });
    let text = |s: String| RwSignal::new(s);
    let name = text(
        existing
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
    );
    let description = text(
        existing
            .as_ref()
            .map(|r| r.description.clone())
            .unwrap_or_default(),
    );
    let privileges = text(
        existing
            .as_ref()
            .map(|r| r.privileges.join(", "))
            .unwrap_or_default(),
    );
    let approvals = text(policy.approvals_required.to_string());
    let max_duration = DurationInput::new(policy.max_duration_secs);
    let max_total = DurationInput::optional(policy.max_total_secs, 3_600);
    let max_start_ahead = DurationInput::optional(policy.max_start_ahead_secs, 86_400);
    let ticket_required = RwSignal::new(policy.ticket_required);
    let ticket_pattern = text(policy.ticket_pattern.clone().unwrap_or_default());
    let named: RwSignal<Option<Vec<i64>>> = RwSignal::new(match &policy.approvers {
        Approvers::Role => None,
        Approvers::Users { users } => Some(users.iter().map(|u| u.id).collect()),
    });
    let bg = policy.break_glass;
    let bg_allowed = RwSignal::new(bg.is_some());
    let bg_defaults = bg.unwrap_or_default();
    let bg_max_duration = DurationInput::new(bg_defaults.max_duration_secs);
    let bg_review_within = DurationInput::new(bg_defaults.review_within_secs);
    let auto = policy.auto_approve.clone();
    let auto_on = RwSignal::new(auto.is_some());
    let auto_kinds = RwSignal::new(
        auto.as_ref()
            .map(|a| a.identity_kinds.clone())
            .unwrap_or_default(),
    );
    let auto_privileges = text(
        auto.as_ref()
            .map(|a| a.privileges.join(", "))
            .unwrap_or_default(),
    );
    let auto_max_duration =
        DurationInput::new(auto.as_ref().map_or(15 * 60, |a| a.max_duration_secs));
    let holders = StoredValue::new(approver_role_holders);
    let connector = RwSignal::new(existing.as_ref().and_then(|r| r.connector.clone()));
    let loaded = StoredValue::new(connectors);

    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let body = move || ResourceBody {
        name: name.get(),
        description: description.get(),
        privileges: list(&privileges.get()),
        policy: Policy {
            approvals_required: number(&approvals.get()).clamp(0, u32::MAX as i64) as u32,
            max_duration_secs: max_duration.secs(),
            ticket_required: ticket_required.get(),
            ticket_pattern: Some(ticket_pattern.get()).filter(|p| !p.trim().is_empty()),
            approvers: match named.get() {
                None => Approvers::Role,
                Some(ids) => Approvers::Users {
                    users: ids.into_iter().map(|id| NamedRef::new(id, "")).collect(),
                },
            },
            break_glass: bg_allowed.get().then(|| BreakGlassPolicy {
                max_duration_secs: bg_max_duration.secs(),
                review_within_secs: bg_review_within.secs(),
            }),
            auto_approve: auto_on.get().then(|| AutoApprove {
                identity_kinds: auto_kinds.get(),
                privileges: list(&auto_privileges.get()),
                max_duration_secs: auto_max_duration.secs(),
            }),
            max_total_secs: max_total.optional_secs(),
            max_start_ahead_secs: max_start_ahead.optional_secs(),
        },
        connector: connector.get(),
    };
    let checked = Memo::new(move |_| {
        holders.with_value(|h| loaded.with_value(|c| admin::check_resource(&body(), h, c)))
    });
    let save = FormAction::new(
        move |body: ResourceBody| api::save_resource(id, body),
        move |saved| {
            toasts.show(match saved {
                Saved::Applied(resource) => {
                    format!("{} saved; new requests follow its policy", resource.name)
                }
                Saved::Proposed(proposal) => proposed_message(&proposal),
            });
            on_saved.run(());
        },
    );
    let touched = RwSignal::new(false);
    let problem = Signal::derive(move || {
        let preview = touched
            .get()
            .then(|| checked.get().err().map(Problem::from))
            .flatten();
        preview.or_else(|| save.failure().map(Problem::from))
    });
    let widenings = Signal::derive(move || {
        checked.get().ok().map_or_else(Vec::new, |after| {
            before.with_value(|b| four_eyes::resource_widenings(b.as_ref(), &after))
        })
    });
    let pool_of = move |policy: &Policy| -> Vec<NamedRef> {
        holders.with_value(|h| {
            h.iter()
                .filter(|u| policy.approvers.includes(u.id))
                .cloned()
                .collect()
        })
    };
    let summary = move || {
        checked.get().ok().map(|r| {
            let mut parts = vec![rules::describe_policy(&r.policy, &pool_of(&r.policy))];
            if let Some(b) = &r.policy.break_glass {
                parts.push(break_glass::describe(b));
            }
            parts.join(" · ")
        })
    };
    // Valid, and still a trap: say so before it is saved.
    let warning = move || {
        checked
            .get()
            .ok()
            .and_then(|r| admin::policy_warning(&r.policy, pool_of(&r.policy).len()))
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if let Ok(valid) = checked.get_untracked() {
            save.send(valid);
        }
    };
    let toggle_named = move |user: i64| {
        named.update(|n| {
            if let Some(ids) = n {
                if let Some(pos) = ids.iter().position(|i| *i == user) {
                    ids.remove(pos);
                } else {
                    ids.push(user);
                }
            }
        })
    };
    view! {
        <form class="form card" on:submit=on_submit novalidate=true data-testid="resource-editor">
            <h2>{existing.as_ref().map_or("New resource".to_string(), |r| format!("Edit {}", r.name))}</h2>
            {id.is_some().then(|| view! {
                <p class="help">"Changes apply to requests filed from now on; pending requests keep the policy they were filed under."</p>
            })}
            {id.map(|id| view! { <ResourceUsage id/> })}
            <div class="field">
                <label for="resource-name">"Name"</label>
                <input id="resource-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) data-testid="resource-name"/>
                <FieldProblem problem field="name"/>
            </div>
            <div class="field">
                <label for="resource-description">"Description"</label>
                <input id="resource-description" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))/>
                <FieldProblem problem field="description"/>
            </div>
            <div class="field">
                <label for="resource-privileges">"Privileges, comma-separated"</label>
                <input id="resource-privileges" placeholder="read, write" prop:value=move || privileges.get() on:input=move |ev| privileges.set(event_target_value(&ev)) data-testid="resource-privileges"/>
                <FieldProblem problem field="privileges"/>
            </div>
            <div class="field">
                <label for="resource-connector">"Connector"</label>
                <select
                    id="resource-connector"
                    aria-describedby="resource-connector-help"
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        connector.set(Some(value).filter(|v| !v.is_empty()));
                    }
                    data-testid="resource-connector"
                >
                    <option value="" selected=move || connector.get().is_none()>"None: grants give a signed credential only"</option>
                    {loaded.get_value().into_iter().map(|c| {
                        let name = c.name.clone();
                        let label = format!("{} ({})", c.name, c.kind);
                        view! { <option value=name.clone() selected=move || connector.get().as_deref() == Some(name.as_str())>{label}</option> }
                    }).collect_view()}
                </select>
                <p class="help" id="resource-connector-help">{move || if loaded.with_value(Vec::is_empty) {
                    "The broker was started without a connectors file, so access is not made in any other system.".to_string()
                } else {
                    "The broker makes each grant's access in this system when it starts, and takes it away when it ends.".to_string()
                }}</p>
                <FieldProblem problem field="connector"/>
            </div>

            <fieldset class="field">
                <legend>"Who approves"</legend>
                <label class="radio">
                    <input type="radio" name="approvers" prop:checked=move || named.get().is_none() on:change=move |_| named.set(None)/>
                    "Everyone with the approver role"
                </label>
                <label class="radio">
                    <input type="radio" name="approvers" prop:checked=move || named.get().is_some() on:change=move |_| named.set(Some(Vec::new())) data-testid="approvers-named"/>
                    "Only these approvers:"
                </label>
                <div class="checks" role="group" aria-label="Named approvers">
                    {holders.get_value().into_iter().map(|u| {
                        let uid = u.id;
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    disabled=move || named.get().is_none()
                                    prop:checked=move || named.get().is_some_and(|n| n.contains(&uid))
                                    on:change=move |_| toggle_named(uid)
                                    data-testid=format!("approver-{}", u.name)
                                />
                                {u.name.clone()}
                            </label>
                        }
                    }).collect_view()}
                </div>
                <FieldProblem problem field="policy.approvers"/>
            </fieldset>
            <NumberField id="approvals-required" label="Approvals required" value=approvals problem field="policy.approvals_required"/>
            <DurationField id="max-duration" label="Longest access" input=max_duration problem field="policy.max_duration_secs"/>
            <DurationField id="max-total" label="Longest in all, with extensions" input=max_total problem field="policy.max_total_secs"/>
            <p class="help">
                {move || format!(
                    "Blank: twice the longest access ({}). Past it, the holder files a new request.",
                    format::duration(lifecycle::total_limit(max_duration.secs(), None))
                )}
            </p>
            <DurationField id="max-start-ahead" label="Starts scheduled at most this far ahead" input=max_start_ahead problem field="policy.max_start_ahead_secs"/>
            <p class="help">"Blank: 30 days, the most any resource allows."</p>

            <fieldset class="field">
                <legend>"Ticket"</legend>
                <label class="check">
                    <input type="checkbox" prop:checked=move || ticket_required.get() on:change=move |ev| ticket_required.set(event_target_checked(&ev))/>
                    "Requests must cite a ticket"
                </label>
                <label for="ticket-pattern">"Ticket format (a pattern the whole reference must match, e.g. OPS-[0-9]+)"</label>
                <input id="ticket-pattern" prop:value=move || ticket_pattern.get() on:input=move |ev| ticket_pattern.set(event_target_value(&ev))/>
                <FieldProblem problem field="policy.ticket_pattern"/>
            </fieldset>

            <fieldset class="field">
                <legend>"Break-glass"</legend>
                <label class="check">
                    <input type="checkbox" prop:checked=move || bg_allowed.get() on:change=move |ev| bg_allowed.set(event_target_checked(&ev))/>
                    "Owners may take access at once, reviewed afterwards"
                </label>
                <Show when=move || bg_allowed.get()>
                    <DurationField id="bg-max-duration" label="Longest break-glass access" input=bg_max_duration problem field="policy.break_glass.max_duration_secs"/>
                    <DurationField id="bg-review-within" label="Reviewed within" input=bg_review_within problem field="policy.break_glass.review_within_secs"/>
                </Show>
            </fieldset>

            <fieldset class="field">
                <legend>"Auto-approval"</legend>
                <label class="check">
                    <input type="checkbox" prop:checked=move || auto_on.get() on:change=move |ev| auto_on.set(event_target_checked(&ev))/>
                    "The broker approves machine-to-machine requests within a rule"
                </label>
                <Show when=move || auto_on.get()>
                    <div class="checks" role="group" aria-label="Identity kinds approved automatically">
                        {IdentityKind::ALL.into_iter().map(|k| view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    prop:checked=move || auto_kinds.get().contains(&k)
                                    on:change=move |_| auto_kinds.update(|ks| {
                                        if let Some(p) = ks.iter().position(|x| *x == k) { ks.remove(p); } else { ks.push(k); }
                                    })
                                />
                                {k.label()}
                            </label>
                        }).collect_view()}
                    </div>
                    <FieldProblem problem field="policy.auto_approve.identity_kinds"/>
                    <div class="field">
                        <label for="auto-privileges">"Privileges, comma-separated"</label>
                        <input id="auto-privileges" prop:value=move || auto_privileges.get() on:input=move |ev| auto_privileges.set(event_target_value(&ev))/>
                        <FieldProblem problem field="policy.auto_approve.privileges"/>
                    </div>
                    <DurationField id="auto-max-duration" label="Up to" input=auto_max_duration problem field="policy.auto_approve.max_duration_secs"/>
                </Show>
            </fieldset>

            <p class="help policy" aria-live="polite" data-testid="policy-preview">
                {move || summary().map(|s| format!("Requesters will read: {s}"))}
            </p>
            <div aria-live="polite">
                {move || warning().map(|w| view! { <p class="warning" data-testid="policy-warning">{w}</p> })}
            </div>
            <WideningNote widenings/>
            <FormProblem problem fields=FIELDS/>
            <div class="form-actions">
                <button type="button" class="button subtle" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                <button type="submit" class="button primary" disabled=move || save.pending().get() data-testid="save-resource">
                    {move || if save.pending().get() { "Saving…" } else { "Save resource" }}
                </button>
            </div>
        </form>
    }
}
