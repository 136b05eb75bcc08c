//! Workload federation: the outside issuers whose jobs may exchange their tokens for access,
//! the rules mapping a token to an identity, and the last exchanges and refusals. Admins
//! register issuers; auditors read.

use crate::api;
use crate::app::use_auth;
use crate::components::connection::steady;
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem};
use crate::components::states::{Empty, LoadedList, RoleGate, refetch};
use crate::components::time::RelativeTime;
use leptos::prelude::*;
use std::collections::BTreeMap;
use stint_core::api::{AuditEventView, IdentityView};
use stint_core::federation::{self, IssuerBody, IssuerView, RuleBody};
use stint_core::query::AuditQuery;
use stint_core::{Role, visibility};

#[component]
pub fn AdminFederation() -> impl IntoView {
    view! {
        <RoleGate roles=visibility::READS_EVERYTHING what="Workload federation" who="admins and auditors">
            <FederationPage/>
        </RoleGate>
    }
}

#[component]
fn FederationPage() -> impl IntoView {
    let auth = use_auth();
    let issuers = LocalResource::new(api::issuers);
    let adding = RwSignal::new(false);
    view! {
        <section class="page">
            <header class="page-head">
                <div>
                    <h1>"Federation"</h1>
                    <p class="muted">
                        "Platforms whose jobs ask for access with the token the platform gives them (GitHub Actions, GitLab CI, Kubernetes, SPIFFE): no stored secret."
                    </p>
                </div>
                <Show when=move || auth.has(Role::Admin)>
                    <button
                        class="button"
                        aria-expanded=move || adding.get().to_string()
                        on:click=move |_| adding.update(|a| *a = !*a)
                        data-testid="new-issuer"
                    >
                        "Add an issuer"
                    </button>
                </Show>
            </header>
            <Show when=move || adding.get()>
                <NewIssuer on_saved=Callback::new(move |_| {
                    adding.set(false);
                    issuers.refetch();
                })/>
            </Show>
            <LoadedList value=steady(issuers) rows=4 retry=refetch(issuers)
                empty=|| view! {
                    <Empty title="No trusted issuers yet">
                        <p>"Register a platform's token issuer and rules naming which of its jobs act as which identity; those jobs then exchange their tokens at /api/v1/token (stint request --oidc-token)."</p>
                    </Empty>
                }
                let:list>
                <div class="cards" data-testid="issuers">
                    {list.into_iter().map(|issuer| view! { <IssuerCard issuer/> }).collect_view()}
                </div>
            </LoadedList>
            <Activity/>
        </section>
    }
}

#[component]
fn IssuerCard(issuer: IssuerView) -> impl IntoView {
    view! {
        <article class="card" data-issuer=issuer.name.clone()>
            <h2>{issuer.name.clone()}</h2>
            <dl class="facts">
                <dt>"Issuer (iss)"</dt>
                <dd><code>{issuer.issuer.clone()}</code></dd>
                <dt>"Audience (aud)"</dt>
                <dd><code>{issuer.audience.clone()}</code></dd>
                <dt>"Keys"</dt>
                <dd>
                    {match issuer.jwks_url.clone() {
                        Some(url) => view! { "fetched from " <code>{url}</code> }.into_any(),
                        None => view! { "given inline" }.into_any(),
                    }}
                </dd>
                <dt>"Registered"</dt>
                <dd>"by " {issuer.created_by.name.clone()} " " <RelativeTime at=issuer.created_at/></dd>
            </dl>
            <h3>"Rules"</h3>
            <ul class="plain rules" data-testid="issuer-rules">
                {issuer.rules.into_iter().map(|rule| view! {
                    <li>
                        {rule.claims.iter().map(|(claim, value)| view! {
                            <code>{format!("{claim} = {value}")}</code> " "
                        }).collect_view()}
                        "→ " <strong>{rule.identity.name.clone()}</strong>
                    </li>
                }).collect_view()}
            </ul>
        </article>
    }
}

/// The last exchanges and refusals, newest first, from the audit trail.
#[component]
fn Activity() -> impl IntoView {
    let events = LocalResource::new(|| async {
        let mut all = api::audit(&AuditQuery::latest("federation.exchanged", 10))
            .await?
            .items;
        all.extend(
            api::audit(&AuditQuery::latest("federation.refused", 10))
                .await?
                .items,
        );
        all.sort_by_key(|e| std::cmp::Reverse(e.seq));
        Ok::<_, api::ApiError>(all)
    });
    view! {
        <section aria-labelledby="activity-title">
            <h2 id="activity-title">"Last exchanges and refusals"</h2>
            <LoadedList value=steady(events) rows=3 retry=refetch(events)
                empty=|| view! { <p class="muted">"No token has been exchanged yet."</p> }
                let:list>
                <div class="table-wrap">
                    <table class="table" data-testid="federation-activity">
                        <thead>
                            <tr>
                                <th scope="col">"When"</th>
                                <th scope="col">"Issuer"</th>
                                <th scope="col">"Outcome"</th>
                                <th scope="col">"Subject"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|e| view! { <ActivityRow event=e/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </LoadedList>
        </section>
    }
}

#[component]
fn ActivityRow(event: AuditEventView) -> impl IntoView {
    let text = |key: &str| event.details[key].as_str().unwrap_or("").to_string();
    let refused = event.action == "federation.refused";
    let outcome = if refused {
        view! { <span class="badge red">"refused"</span> " " {text("message")} }.into_any()
    } else {
        let identity = event
            .actor
            .strip_prefix("identity:")
            .unwrap_or(&event.actor)
            .to_string();
        view! { <span class="badge green">"exchanged"</span> " as " <strong>{identity}</strong> }
            .into_any()
    };
    view! {
        <tr>
            <td><RelativeTime at=event.at/></td>
            <td>{text("issuer")}</td>
            <td>{outcome}</td>
            <td><code>{text("sub")}</code></td>
        </tr>
    }
}

/// One rule as typed: `claim = value` lines, and the identity they make a token.
#[derive(Clone)]
struct RuleDraft {
    claims: RwSignal<String>,
    identity_id: RwSignal<Option<i64>>,
}

impl RuleDraft {
    fn new() -> Self {
        RuleDraft {
            claims: RwSignal::new(String::new()),
            identity_id: RwSignal::new(None),
        }
    }

    fn body(&self) -> RuleBody {
        let claims: BTreeMap<String, String> = self
            .claims
            .get()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(claim, value)| (claim.trim().to_string(), value.trim().to_string()))
            .collect();
        RuleBody {
            claims,
            identity_id: self.identity_id.get().unwrap_or_default(),
        }
    }
}

const FIELDS: &[&str] = &[
    "name",
    "issuer",
    "audience",
    "jwks_url",
    "rules",
    "rules.claims",
    "rules.identity_id",
];

#[component]
fn NewIssuer(on_saved: Callback<()>) -> impl IntoView {
    let identities = LocalResource::new(api::identities);
    let name = RwSignal::new(String::new());
    let issuer = RwSignal::new(String::new());
    let audience = RwSignal::new(
        web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default(),
    );
    let jwks_url = RwSignal::new(String::new());
    let rules = RwSignal::new(vec![RuleDraft::new()]);
    let touched = RwSignal::new(false);
    let save = FormAction::new(api::register_issuer, move |_| on_saved.run(()));
    let body = move || IssuerBody {
        name: name.get(),
        issuer: issuer.get(),
        audience: audience.get(),
        jwks_url: Some(jwks_url.get()),
        jwks: None,
        rules: rules.get().iter().map(RuleDraft::body).collect(),
    };
    // The broker's own check, previewed; then what the broker said.
    let preview = move || {
        if rules.get().iter().any(|r| r.identity_id.get().is_none()) {
            return Some(Problem {
                field: Some("rules.identity_id".into()),
                message: "Choose the identity each rule makes a matching token.".into(),
            });
        }
        federation::check_issuer(&body()).err().map(Problem::from)
    };
    let problem = Signal::derive(move || {
        let preview = touched.get().then(preview).flatten();
        preview.or_else(|| save.failure().map(Problem::from))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if preview().is_none() {
            save.send(body());
        }
    };
    let input =
        |id: &'static str, label: &'static str, help: &'static str, value: RwSignal<String>| {
            view! {
                <div class="field">
                    <label for=id>{label}</label>
                    <input
                        id=id
                        aria-describedby=format!("{id}-help")
                        prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev))
                        data-testid=id
                    />
                    <p id=format!("{id}-help") class="help">{help}</p>
                </div>
            }
        };
    view! {
        <form class="card form" on:submit=submit data-testid="issuer-form">
            <h2>"Add an issuer"</h2>
            {input("issuer-name", "Name", "How people will refer to it, e.g. github-actions.", name)}
            <FieldProblem problem field="name"/>
            {input("issuer-iss", "Issuer", "The tokens' iss, exactly, e.g. https://token.actions.githubusercontent.com.", issuer)}
            <FieldProblem problem field="issuer"/>
            {input("issuer-aud", "Audience", "The aud the tokens carry for Stint (the job asks its platform for it).", audience)}
            <FieldProblem problem field="audience"/>
            {input("issuer-jwks", "Keys URL", "Where the issuer publishes its JWK Set, e.g. https://token.actions.githubusercontent.com/.well-known/jwks.", jwks_url)}
            <FieldProblem problem field="jwks_url"/>
            <fieldset>
                <legend>"Rules"</legend>
                <p class="help">"One claim per line as claim = value; * matches any run of characters. A token must match exactly one rule."</p>
                {move || rules.get().into_iter().enumerate().map(|(i, rule)| {
                    let claims_id = format!("rule-{i}-claims");
                    let identity_id = format!("rule-{i}-identity");
                    view! {
                        <div class="rule-draft">
                            <label for=claims_id.clone()>{format!("Rule {} claims", i + 1)}</label>
                            <textarea
                                id=claims_id
                                rows="3"
                                placeholder="repository = acme/payments\nref = refs/heads/main"
                                prop:value=move || rule.claims.get()
                                on:input=move |ev| rule.claims.set(event_target_value(&ev))
                                data-testid=format!("rule-{i}-claims")
                            ></textarea>
                            <label for=identity_id.clone()>"acts as"</label>
                            <select
                                id=identity_id
                                on:change=move |ev| rule.identity_id.set(event_target_value(&ev).parse().ok())
                                data-testid=format!("rule-{i}-identity")
                            >
                                <option value="">"Choose an identity"</option>
                                {move || identities.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|identity: IdentityView| view! {
                                    <option value=identity.id.to_string()>{identity.name.clone()}</option>
                                }).collect_view()}
                            </select>
                        </div>
                    }
                }).collect_view()}
                <button type="button" class="button subtle" on:click=move |_| rules.update(|r| r.push(RuleDraft::new()))>
                    "Add a rule"
                </button>
                <FieldProblem problem field="rules"/>
                <FieldProblem problem field="rules.claims"/>
                <FieldProblem problem field="rules.identity_id"/>
            </fieldset>
            <FormProblem problem fields=FIELDS/>
            <button class="button primary" type="submit" disabled=move || save.pending().get() data-testid="save-issuer">
                {move || if save.pending().get() { "Registering…" } else { "Register issuer" }}
            </button>
        </form>
    }
}
