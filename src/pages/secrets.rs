//! Secrets: the static credentials that still reach resources outside the JIT path, how
//! much of the estate is JIT only, triage of scanners' findings, and the mapping rules.

use crate::api::{self, ApiError};
use crate::app::use_auth;
use crate::components::badges::CoverageBadge;
use crate::components::connection::steady;
use crate::components::coverage_chart::CoverageChart;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem};
use crate::components::live::on_live;
use crate::components::standing::{Catalog, StandingCard, Target, TargetFields};
use crate::components::states::{Empty, Loaded};
use crate::components::time::RelativeTime;
use crate::components::toast::use_toasts;
use crate::page::Page;
use leptos::html;
use leptos::prelude::*;
use stint_core::Role;
use stint_core::standing::{
    CoverageView, ImportSummary, MappingRuleBody, MappingRuleView, NewStandingBody, SecretSource,
    StandingStatus, StandingView, share_percent, waiting_for_triage,
};

#[derive(Clone)]
struct Loaded {
    coverage: CoverageView,
    standing: Vec<StandingView>,
    catalog: Catalog,
    rules: Vec<MappingRuleView>,
}

async fn load(admin: bool) -> Result<Loaded, ApiError> {
    let coverage = api::coverage().await?;
    let standing = api::standing().await?;
    let identities = api::identities().await?;
    let resources = api::resources().await?;
    let rules = if admin {
        api::mapping_rules().await?
    } else {
        Vec::new()
    };
    Ok(Loaded {
        coverage,
        standing,
        catalog: Catalog {
            identities: identities
                .into_iter()
                .filter(|i| admin || i.owned_by_me)
                .collect(),
            resources,
        },
        rules,
    })
}

#[component]
pub fn Secrets() -> impl IntoView {
    let auth = use_auth();
    let admin = auth.has(Role::Admin);
    let data = LocalResource::new(move || load(admin));
    let reload = Callback::new(move |_| data.refetch());
    on_live(|e| e.kind.starts_with("standing."), move || data.refetch());
    let importing = RwSignal::new(false);
    let recording = RwSignal::new(false);
    // Owners record their identities' secrets, admins any: nobody else is offered it.
    let may_record = move || admin || auth.owns_identities();
    view! {
        <section class="page wide">
            <header class="page-head">
                <div>
                    <p class="eyebrow">"Standing credentials"</p>
                    <h1>"Secrets"</h1>
                </div>
                <div class="actions">
                    <Show when=may_record>
                        <button
                            class="button"
                            aria-expanded=move || recording.get().to_string()
                            on:click=move |_| recording.update(|r| *r = !*r)
                            data-testid="record-standing"
                        >
                            "Record by hand"
                        </button>
                    </Show>
                    {admin.then(|| view! {
                        <button
                            class="button primary"
                            aria-expanded=move || importing.get().to_string()
                            on:click=move |_| importing.update(|i| *i = !*i)
                            data-testid="import-report"
                        >
                            "Import report"
                        </button>
                    })}
                </div>
            </header>
            <p class="help page-intro">
                "Just-in-time access removes standing access only where it is the only live path. "
                "Static secrets found by scanners, or recorded by hand, show where another path remains."
            </p>
            {move || importing.get().then(|| view! {
                <ImportForm on_imported=Callback::new(move |_| reload.run(()))/>
            })}
            <Loaded value=steady(data) rows=8 retry=reload let:loaded>
                <Body loaded admin recording reload/>
            </Loaded>
        </section>
    }
}

#[component]
fn Body(
    loaded: Loaded,
    admin: bool,
    recording: RwSignal<bool>,
    reload: Callback<()>,
) -> impl IntoView {
    let catalog = StoredValue::new(loaded.catalog);
    let (mut unmapped, mut mapped, mut resolved) = (Vec::new(), Vec::new(), Vec::new());
    for item in loaded.standing {
        match item.status {
            StandingStatus::Unmapped => unmapped.push(item),
            StandingStatus::Mapped => mapped.push(item),
            _ => resolved.push(item),
        }
    }
    let resolved_count = resolved.len();
    // The coverage figures count every mapped path; the list shows those the viewer may see.
    let counted: u32 = loaded
        .coverage
        .resources
        .iter()
        .map(|r| r.standing_paths)
        .sum();
    let unseen = (counted as usize).saturating_sub(mapped.len());
    let list = move |items: Vec<StandingView>, testid: &'static str| {
        view! {
            <ul class="queue" data-testid=testid>
                {items.into_iter().map(|item| view! {
                    <StandingCard item catalog=Some(catalog) on_change=reload/>
                }).collect_view()}
            </ul>
        }
    };
    view! {
        <Coverage coverage=loaded.coverage/>
        {move || recording.get().then(|| view! {
            <RecordForm catalog on_recorded=Callback::new(move |_| {
                recording.set(false);
                reload.run(());
            })/>
        })}
        <section aria-labelledby="triage-title">
            <h2 id="triage-title">"Waiting for triage"</h2>
            {if unmapped.is_empty() {
                view! {
                    <Empty title="Nothing to triage">
                        "Every finding is mapped or resolved. "
                        {if admin { "Import a scanner's report to look for more." } else { "Admins import scanners' reports to look for more." }}
                    </Empty>
                }.into_any()
            } else {
                list(unmapped, "triage-queue").into_any()
            }}
        </section>
        <section aria-labelledby="paths-title">
            <h2 id="paths-title">"Standing paths"</h2>
            {if mapped.is_empty() && unseen == 0 {
                view! {
                    <Empty title="No known standing path">
                        "No mapped secret reaches a resource outside Stint."
                    </Empty>
                }.into_any()
            } else {
                list(mapped, "standing-paths").into_any()
            }}
            {(unseen > 0).then(|| view! {
                <p class="help" data-testid="unseen-paths">
                    {format!(
                        "{unseen} more standing path{} counted above belong{} to identities you do not own; their owners and admins see {}.",
                        if unseen == 1 { "" } else { "s" },
                        if unseen == 1 { "s" } else { "" },
                        if unseen == 1 { "it" } else { "them" },
                    )}
                </p>
            })}
        </section>
        {(resolved_count > 0).then(|| view! {
            <details class="resolved">
                <summary>{format!("Resolved ({resolved_count})")}</summary>
                {list(resolved, "resolved")}
            </details>
        })}
        {admin.then(|| view! { <Rules rules=loaded.rules catalog reload/> })}
    }
}

#[component]
fn Coverage(coverage: CoverageView) -> impl IntoView {
    let total = coverage.resources.len() as u32;
    let jit_only = coverage.jit_only();
    let share = share_percent(jit_only, total);
    view! {
        <section class="card coverage" aria-labelledby="coverage-title">
            <h2 id="coverage-title">"Coverage"</h2>
            <div class="coverage-grid">
                <div>
                    <p class="stat" data-testid="coverage-share">
                        <span class="num">{format!("{share}%")}</span>
                        {format!(" of resources are JIT only ({jit_only} of {total})")}
                    </p>
                    <p class="muted" data-testid="unmapped-count">
                        {waiting_for_triage(coverage.unmapped)}
                    </p>
                    // Named for what it is: a finding to triage, or a mapped path still open.
                    {coverage.oldest_unresolved.clone().map(|o| view! {
                        <p data-testid="oldest-unresolved">
                            {if o.status == StandingStatus::Unmapped {
                                "Oldest finding waiting for triage: "
                            } else {
                                "Oldest standing path still open: "
                            }}
                            <code>{o.location.clone()}</code>
                            ", first seen " <RelativeTime at=o.first_seen/>
                        </p>
                    })}
                </div>
                <CoverageChart history=coverage.history.clone()/>
            </div>
            <div class="table-wrap">
                <table class="table" data-testid="coverage-table">
                    <thead><tr><th scope="col">"Resource"</th><th scope="col">"Paths to it"</th></tr></thead>
                    <tbody>
                        {coverage.resources.into_iter().map(|r| {
                            let (name, label) = (r.resource.name.clone(), r.resource.name.clone());
                            view! {
                            <tr data-resource=name>
                                <td>{label}</td>
                                <td><CoverageBadge coverage=r/></td>
                            </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// A scanner's report, read in the browser and sent as it is; the broker keeps only
/// fingerprints of what it contains.
#[component]
fn ImportForm(on_imported: Callback<()>) -> impl IntoView {
    let file_input = NodeRef::<html::Input>::new();
    let source = RwSignal::new(String::new());
    let format = RwSignal::new(String::new());
    let partial = RwSignal::new(false);
    let local_problem = RwSignal::new(None::<Problem>);
    // The summary stays in the form (announced there), so no toast repeats it.
    let import = FormAction::new(
        |(query, report): (String, String)| async move { api::import_report(&query, report).await },
        move |_| on_imported.run(()),
    );
    let reading = RwSignal::new(false);
    let problem = Signal::derive(move || {
        local_problem
            .get()
            .or_else(|| import.failure().map(Problem::from))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if import.pending().get_untracked() || reading.get_untracked() {
            return;
        }
        let file = file_input
            .get_untracked()
            .and_then(|input| input.files())
            .and_then(|files| files.get(0));
        let Some(file) = file else {
            local_problem.set(Some(Problem {
                field: Some("report".into()),
                message: "choose the report file".into(),
            }));
            return;
        };
        local_problem.set(None);
        let mut query = format!(
            "source={}",
            api::encode_query(source.get_untracked().trim())
        );
        let chosen_format = format.get_untracked();
        if !chosen_format.is_empty() {
            query.push_str(&format!("&format={chosen_format}"));
        }
        if partial.get_untracked() {
            query.push_str("&partial=true");
        }
        reading.set(true);
        leptos::task::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
            reading.set(false);
            match text.ok().and_then(|t| t.as_string()) {
                Some(report) => {
                    import.send((query, report));
                }
                None => local_problem.set(Some(Problem {
                    field: Some("report".into()),
                    message: "the file could not be read as text".into(),
                })),
            }
        });
    };
    let busy = move || import.pending().get() || reading.get();
    view! {
        <form class="form card" on:submit=submit novalidate=true aria-labelledby="import-title" data-testid="import-form">
            <h2 id="import-title">"Import a scanner's report"</h2>
            <p class="help">
                "A detect-secrets baseline, a gitleaks JSON report or trufflehog JSON lines. "
                "Stint stores where each secret is and a fingerprint of it, never the secret. "
                "A credential Stint issued found in the report has its grant revoked at once."
            </p>
            <div class="field">
                <label for="report-file">"Report file"</label>
                <input id="report-file" type="file" accept=".json,.jsonl,.ndjson,application/json" node_ref=file_input data-testid="report-file"/>
                <FieldProblem problem field="report"/>
            </div>
            <div class="field">
                <label for="report-source">"What was scanned"</label>
                <input
                    id="report-source"
                    placeholder="acme/payments"
                    aria-describedby="report-source-help"
                    prop:value=move || source.get()
                    on:input=move |ev| source.set(event_target_value(&ev))
                    data-testid="report-source"
                />
                <p id="report-source-help" class="help">"A repository or CI system. Re-importing a newer full scan of the same source marks findings it no longer reports."</p>
                <FieldProblem problem field="source"/>
            </div>
            <div class="field">
                <label for="report-format">"Format"</label>
                <select id="report-format" on:change=move |ev| format.set(event_target_value(&ev)) data-testid="report-format">
                    <option value="">"recognise it"</option>
                    {[SecretSource::DetectSecrets, SecretSource::Gitleaks, SecretSource::Trufflehog]
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> })
                        .collect_view()}
                </select>
                <FieldProblem problem field="format"/>
            </div>
            <label class="check">
                <input type="checkbox" prop:checked=move || partial.get() on:change=move |ev| partial.set(event_target_checked(&ev))/>
                "Partial scan: do not mark missing findings as no longer seen"
            </label>
            <FormProblem problem fields=&["report", "source", "format"]/>
            {move || import.done().get().map(|s| view! {
                <div class="import-result" role="status" data-testid="import-result">
                    <p>{describe(&s)}</p>
                    {(!s.revoked_grants.is_empty()).then(|| view! {
                        <p>
                            "Revoked, their Stint credential being in the report: "
                            {s.revoked_grants.iter().map(|id| view! {
                                <a href=Page::GrantStory(*id).path()>{format!("grant #{id}")}</a>
                                " "
                            }).collect_view()}
                        </p>
                    })}
                </div>
            })}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=busy data-testid="import-submit">
                    {move || if busy() { "Importing…" } else { "Import" }}
                </button>
            </div>
        </form>
    }
}

fn describe(s: &ImportSummary) -> String {
    let mut text = format!(
        "{} findings from {}: {} new, {} seen again, {} no longer seen, {} mapped by rules.",
        s.findings, s.source, s.new, s.seen_again, s.not_seen, s.mapped_by_rule
    );
    match s.revoked_grants.len() {
        0 => {}
        1 => text.push_str(" 1 grant revoked."),
        n => text.push_str(&format!(" {n} grants revoked.")),
    }
    text
}

/// A standing credential nobody scanned for, recorded where it lives.
#[component]
fn RecordForm(catalog: StoredValue<Catalog>, on_recorded: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    if catalog.with_value(|c| c.identities.is_empty()) {
        return view! {
            <p class="help card">"You own no identity. Owners record the standing credentials of their identities; admins record any."</p>
        }
        .into_any();
    }
    let target = Target::first_of(catalog);
    let location = RwSignal::new(String::new());
    let secret_type = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let record = FormAction::new(api::record_standing, move |item| {
        toasts.show(format!("Recorded {}", item.location));
        on_recorded.run(());
    });
    let problem = record.problem();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (identity_id, resource_id, privilege) = target.chosen();
        record.send(NewStandingBody {
            identity_id,
            resource_id,
            privilege,
            location: location.get_untracked(),
            secret_type: secret_type.get_untracked(),
            description: description.get_untracked(),
            owner_id: None,
        });
    };
    let text_field = move |id: &'static str,
                           label: &'static str,
                           help: &'static str,
                           value: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) data-testid=id/>
                <p class="help">{help}</p>
            </div>
        }
    };
    view! {
        <form class="form card" on:submit=submit novalidate=true aria-labelledby="record-title" data-testid="record-form">
            <h2 id="record-title">"Record a standing credential"</h2>
            <p class="help">"Say where it lives and what it reaches; never paste the secret itself. You are recorded as the one who answers for it."</p>
            <TargetFields catalog target prefix="record" problem/>
            {text_field("record-location", "Where it lives", "e.g. the CI variable PAYMENTS_DB_PASSWORD of acme/payments", location)}
            <FieldProblem problem field="location"/>
            {text_field("record-type", "What kind of secret", "e.g. vendor connector key, database password", secret_type)}
            <FieldProblem problem field="secret_type"/>
            {text_field("record-description", "Notes", "Why it exists and who holds it (optional)", description)}
            <FormProblem problem fields=&["identity_id", "resource_id", "privilege", "location", "secret_type"]/>
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || record.pending().get() data-testid="record-submit">
                    {move || if record.pending().get() { "Recording…" } else { "Record" }}
                </button>
            </div>
        </form>
    }
    .into_any()
}

/// Admins' rules that map findings as they are imported.
#[component]
fn Rules(
    rules: Vec<MappingRuleView>,
    catalog: StoredValue<Catalog>,
    reload: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let retire_target = RwSignal::new(None::<MappingRuleView>);
    let confirm_open = RwSignal::new(false);
    let retire = FormAction::new(api::retire_mapping_rule, move |()| {
        confirm_open.set(false);
        toasts.show("Mapping rule retired".to_string());
        reload.run(());
    });
    view! {
        <section aria-labelledby="rules-title">
            <h2 id="rules-title">"Mapping rules"</h2>
            <p class="help">"Applied to new findings on import, oldest rule first; the first that matches maps the finding."</p>
            {if rules.is_empty() {
                view! { <p class="muted">"No rule yet: every imported finding waits for triage."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="table" data-testid="rules-table">
                            <thead><tr>
                                <th scope="col">"Path"</th><th scope="col">"Tool"</th><th scope="col">"Type"</th>
                                <th scope="col">"Maps to"</th><th scope="col">"By"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                {rules.into_iter().map(|r| {
                                    let target = r.clone();
                                    view! {
                                        <tr>
                                            <td><code>{r.path_pattern.clone()}</code></td>
                                            <td>{r.tool.map(|t| t.as_str()).unwrap_or("any")}</td>
                                            <td>{r.secret_type.clone().unwrap_or_else(|| "any".into())}</td>
                                            <td>{format!("{} → {}{}", r.identity.name, r.resource.name, r.privilege.as_ref().map(|p| format!(" ({p})")).unwrap_or_default())}</td>
                                            <td>{r.created_by.name.clone()}</td>
                                            <td>
                                                <button class="button subtle" on:click=move |_| {
                                                    retire_target.set(Some(target.clone()));
                                                    confirm_open.set(true);
                                                }>"Retire…"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <RuleForm catalog on_created=reload/>
            <ConfirmDialog
                open=confirm_open
                title="Retire this mapping rule?"
                consequence=Signal::derive(move || retire_target.get().map(|r| format!(
                    "New findings under {} stop being mapped to {} → {}. Findings it already mapped stay as they are.",
                    r.path_pattern, r.identity.name, r.resource.name
                )).unwrap_or_default())
                confirm_label="Retire rule"
                pending=retire.pending()
                error=retire.error()
                on_confirm=Callback::new(move |_| {
                    if let Some(r) = retire_target.get_untracked() {
                        retire.send(r.id);
                    }
                })
                testid="retire-rule-dialog"
            />
        </section>
    }
}

#[component]
fn RuleForm(catalog: StoredValue<Catalog>, on_created: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let target = Target::first_of(catalog);
    let pattern = RwSignal::new(String::new());
    let tool = RwSignal::new(String::new());
    let secret_type = RwSignal::new(String::new());
    let create = FormAction::new(api::create_mapping_rule, move |rule| {
        toasts.show(format!("Rule for {} added", rule.path_pattern));
        on_created.run(());
    });
    let problem = create.problem();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let secret_type = secret_type.get_untracked();
        let (identity_id, resource_id, privilege) = target.chosen();
        create.send(MappingRuleBody {
            tool: SecretSource::parse(&tool.get_untracked()),
            secret_type: (!secret_type.trim().is_empty()).then_some(secret_type),
            path_pattern: pattern.get_untracked(),
            identity_id,
            resource_id,
            privilege,
        });
    };
    view! {
        <form class="form card" on:submit=submit novalidate=true aria-labelledby="rule-title" data-testid="rule-form">
            <h3 id="rule-title">"Add a rule"</h3>
            <div class="field">
                <label for="rule-pattern">"File path pattern"</label>
                <input id="rule-pattern" placeholder="deploy/**/*.env" prop:value=move || pattern.get() on:input=move |ev| pattern.set(event_target_value(&ev)) data-testid="rule-pattern"/>
                <p class="help">"A glob: * matches any characters, ? one."</p>
                <FieldProblem problem field="path_pattern"/>
            </div>
            <div class="field">
                <label for="rule-tool">"Reported by"</label>
                <select id="rule-tool" on:change=move |ev| tool.set(event_target_value(&ev))>
                    <option value="">"any tool"</option>
                    {[SecretSource::DetectSecrets, SecretSource::Gitleaks, SecretSource::Trufflehog]
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="rule-type">"Secret type (optional)"</label>
                <input id="rule-type" placeholder="AWS Access Key" prop:value=move || secret_type.get() on:input=move |ev| secret_type.set(event_target_value(&ev))/>
            </div>
            <TargetFields catalog target prefix="rule" problem/>
            <FormProblem problem fields=&["path_pattern", "identity_id", "resource_id", "privilege"]/>
            <div class="form-actions">
                <button type="submit" class="button" disabled=move || create.pending().get() data-testid="rule-submit">
                    {move || if create.pending().get() { "Adding…" } else { "Add rule" }}
                </button>
            </div>
        </form>
    }
}
