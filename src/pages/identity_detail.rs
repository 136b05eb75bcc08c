//! One identity: who answers for it and until when, its live access, and every declaration
//! ever made for it. Owners renew or step down here; anyone takes over an orphan here.

use crate::api;
use crate::app::use_auth;
use crate::components::badges::OwnershipBadge;
use crate::components::connection::steady;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem, Refusal};
use crate::components::identity_federation::IdentityFederation;
use crate::components::identity_form::IdentityEditor;
use crate::components::identity_tokens::IdentityTokens;
use crate::components::live::on_live;
use crate::components::standing::StandingCard;
use crate::components::states::Loaded;
use crate::components::time::{DateWithin, RelativeTime};
use crate::components::toast::use_toasts;
use crate::components::usage_signals::UsageSignalsView;
use crate::lazy_pages::{self, lazy_part};
use crate::pages::{load_by_route_id, route_id};
use crate::time::day;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use stint_core::Role;
use stint_core::api::{DeclarationView, DeclareBody, IdentityDetail};
use stint_core::machine;
use stint_core::ownership::{self, DeclarationEnd, OwnershipStatus};

#[component]
pub fn IdentityDetailPage() -> impl IntoView {
    let detail = load_by_route_id("identity", api::identity);
    let id = route_id();
    on_live(
        move |e| e.identity_id.is_some() && e.identity_id == id(),
        move || detail.refetch(),
    );
    let reload = Callback::new(move |_| detail.refetch());
    view! {
        <section class="page">
            <Loaded value=steady(detail) rows=8 retry=reload let:d>
                <Identity detail=d reload/>
            </Loaded>
        </section>
    }
}

#[component]
fn Identity(detail: IdentityDetail, reload: Callback<()>) -> impl IntoView {
    let auth = use_auth();
    let i = detail.identity.clone();
    let editing = RwSignal::new(false);
    let orphaned = i.status == OwnershipStatus::Orphaned;
    let owners = i
        .owners
        .iter()
        .map(|o| o.user.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <header class="page-head">
            <div>
                <p class="eyebrow">
                    {i.kind.label()}
                    {(!i.environment.is_empty()).then(|| format!(" · {}", i.environment))}
                </p>
                <h1>{i.name.clone()}</h1>
            </div>
            <OwnershipBadge status=i.status/>
        </header>
        <div class="detail-grid">
            <div class="detail-main">
                {orphaned.then(|| view! {
                    <div class="warning" role="status" data-testid="orphaned-warning">
                        <p>
                            <strong>"Nobody answers for this identity."</strong>
                            " New requests and break-glass for it are refused until someone declares accountability below."
                            {(i.active_grants > 0).then(|| format!(
                                " Its {} active grant(s) stay until they expire or an admin revokes them.",
                                i.active_grants
                            ))}
                        </p>
                    </div>
                })}
                <dl class="facts card">
                    <dt>"What it does"</dt>
                    <dd class="prose">{if i.description.is_empty() { "—".to_string() } else { i.description.clone() }}</dd>
                    <dt>"Owners"</dt>
                    <dd data-testid="owners">
                        {if i.owners.is_empty() {
                            view! { <span class="muted">"nobody"</span> }.into_any()
                        } else {
                            view! {
                                <ul class="plain">
                                    {i.owners.iter().map(|o| view! {
                                        <li>
                                            <strong>{o.user.name.clone()}</strong>
                                            " · re-attest by " <DateWithin at=o.attest_until/>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    </dd>
                    <dt>"Active grants"</dt>
                    <dd>{i.active_grants}</dd>
                    {(i.unjustified_break_glass > 0).then(|| view! {
                        <dt>"Unjustified break-glass"</dt>
                        <dd><span class="badge red">{i.unjustified_break_glass}</span></dd>
                    })}
                </dl>

                {if i.owned_by_me || orphaned {
                    let my_until = auth
                        .user()
                        .and_then(|m| i.owners.iter().find(|o| o.user.id == m.user.id))
                        .map(|o| o.attest_until);
                    view! {
                        <Declare
                            identity_id=i.id
                            renewal=i.owned_by_me
                            my_until
                            latest=detail.latest_attest_until
                            reload
                        />
                    }.into_any()
                } else {
                    view! {
                        <p class="help card">
                            {format!(
                                "Owned by {owners}. Owners renew their own declarations; anyone may take this identity over once it is orphaned."
                            )}
                        </p>
                    }.into_any()
                }}
                {detail
                    .declarations
                    .iter()
                    .find(|d| d.awaiting_confirmation)
                    .cloned()
                    .map(|d| view! { <TakeoverNotice identity_id=i.id declaration=d reload/> })}
                {i.owned_by_me.then(|| {
                    let refusal = ownership::step_down_refusal(
                        i.owners.len().saturating_sub(1),
                        i.active_grants as usize,
                    );
                    match refusal {
                        // Offered only when it would be allowed; otherwise, why not.
                        Some(why) => view! {
                            <p class="help card" data-testid="step-down-refused">
                                {format!("You cannot step down now: {why}.")}
                            </p>
                        }.into_any(),
                        None => view! { <StepDown identity_id=i.id name=i.name.clone() reload/> }.into_any(),
                    }
                })}

                <section aria-labelledby="grants-title">
                    <h2 id="grants-title">"Active grants"</h2>
                    {if detail.live_grants.is_empty() {
                        view! { <p class="muted">"No live access."</p> }.into_any()
                    } else {
                        let grants = detail.live_grants.clone();
                        lazy_part(move || lazy_pages::grant_cards(grants.clone(), reload)).into_any()
                    }}
                </section>

                {detail.usage.clone().map(|usage| view! { <UsageSignalsView usage subject="identity"/> })}

                {
                    let roles = auth.user().map(|m| m.user.roles).unwrap_or_default();
                    machine::may_see_tokens(i.owned_by_me, &roles).then(|| view! {
                        <IdentityTokens
                            identity_id=i.id
                            identity_name=i.name.clone()
                            may_manage=machine::may_manage_tokens(i.owned_by_me, &roles)
                        />
                        <IdentityFederation identity_id=i.id/>
                    })
                }

                <section aria-labelledby="standing-title">
                    <h2 id="standing-title">"Standing credentials"</h2>
                    {if detail.standing.is_empty() {
                        view! { <p class="muted">"No known static secret gives this identity access outside Stint."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="queue" data-testid="identity-standing">
                                {detail.standing.iter().cloned().map(|item| view! {
                                    <StandingCard item catalog=None on_change=reload/>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </section>

                <Show when=move || auth.has(Role::Admin)>
                    <button
                        class="button subtle"
                        aria-expanded=move || editing.get().to_string()
                        on:click=move |_| editing.update(|e| *e = !*e)
                        data-testid="edit-identity"
                    >
                        "Edit identity"
                    </button>
                </Show>
                {
                    let existing = detail.identity.clone();
                    move || editing.get().then(|| view! {
                        <IdentityEditor
                            existing=Some(existing.clone())
                            on_saved=Callback::new(move |_| {
                                editing.set(false);
                                reload.run(());
                            })
                        />
                    })
                }
            </div>
            <aside class="detail-side" aria-labelledby="history-title">
                <h2 id="history-title">"Declarations"</h2>
                <History declarations=detail.declarations.clone()/>
            </aside>
        </div>
    }
}

/// Whether the identity's recent grants were needed: how many ended unused, and how much
/// of their time passed before their last use.
/// The form of a declaration: the statement and the date to re-attest by.
#[component]
fn Declare(
    identity_id: i64,
    renewal: bool,
    /// Until when the viewer's own declaration holds, for a renewal.
    my_until: Option<DateTime<Utc>>,
    latest: DateTime<Utc>,
    reload: Callback<()>,
) -> impl IntoView {
    // A renewal far from due is one click away, not a form in the way.
    let due_soon = my_until
        .is_none_or(|until| until - Utc::now() <= chrono::Duration::days(ownership::DUE_SOON_DAYS));
    let open = RwSignal::new(!renewal || due_soon);
    view! {
        {move || if open.get() {
            view! { <DeclareForm identity_id renewal latest reload/> }.into_any()
        } else {
            view! {
                <div class="card declare-later" data-testid="renew-later">
                    <p>
                        "You answer for this identity until "
                        {my_until.map(|at| view! { <DateWithin at/> })}
                        {format!(
                            ". From {} days before, it is marked due and this page asks you to re-attest.",
                            ownership::DUE_SOON_DAYS
                        )}
                    </p>
                    <button class="button subtle" on:click=move |_| open.set(true) data-testid="renew-now">
                        "Re-attest now"
                    </button>
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn DeclareForm(
    identity_id: i64,
    renewal: bool,
    latest: DateTime<Utc>,
    reload: Callback<()>,
) -> impl IntoView {
    let auth = use_auth();
    let toasts = use_toasts();
    let statement = RwSignal::new(String::new());
    let latest_date = latest.date_naive();
    let date = RwSignal::new(latest_date.to_string());
    let declare = FormAction::new(
        move |body: DeclareBody| api::declare(identity_id, body),
        move |d| {
            toasts.show(if renewal {
                format!("Declaration for {} renewed", d.identity.name)
            } else {
                format!("You now answer for {}", d.identity.name)
            });
            // What the viewer owns decides what the nav offers (New request, Break-glass).
            auth.refresh();
            reload.run(());
        },
    );
    // The date picked, at the current time of day: the latest date then stays within
    // the broker's maximum, which it counts from the moment it receives the declaration.
    let attest_until = move || {
        stint_core::moments::parse_date(&date.get())
            .map(|d| d.and_time(Utc::now().time()).and_utc())
    };
    let chars = move || statement.get().trim().chars().count();
    let problem = Signal::derive(move || {
        if attest_until().is_none() {
            return Some(Problem {
                field: Some("attest_until".into()),
                message: "pick the date you will re-attest by".into(),
            });
        }
        declare.failure().map(Problem::from)
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(until) = attest_until()
            && chars() >= ownership::STATEMENT_MIN_CHARS
        {
            declare.send(DeclareBody {
                statement: statement.get_untracked(),
                attest_until: until,
            });
        }
    };
    view! {
        <form class="form card" on:submit=on_submit novalidate=true aria-labelledby="declare-title" data-testid="declare-form">
            <h2 id="declare-title">{if renewal { "Re-attest your accountability" } else { "Take over accountability" }}</h2>
            <p class="help">
                {if renewal {
                    "Say again what this identity does and why you answer for it; your current declaration is replaced and kept in the history."
                } else {
                    "Declaring makes you answerable for what this identity does and lets you ask for access for it."
                }}
            </p>
            <div class="field">
                <label for="statement">"What it does and why you answer for it"</label>
                <textarea
                    id="statement"
                    rows="3"
                    aria-describedby="statement-help"
                    prop:value=move || statement.get()
                    on:input=move |ev| statement.set(event_target_value(&ev))
                    data-testid="statement"
                ></textarea>
                <p id="statement-help" class="help">
                    {move || format!("{} / at least {} characters", chars(), ownership::STATEMENT_MIN_CHARS)}
                </p>
                <FieldProblem problem field="statement"/>
            </div>
            <div class="field">
                <label for="attest-until">"Re-attest by"</label>
                <input
                    id="attest-until"
                    type="date"
                    min=Utc::now().date_naive().succ_opt().map(|d| d.to_string())
                    max=latest_date.to_string()
                    prop:value=move || date.get()
                    on:input=move |ev| date.set(event_target_value(&ev))
                    data-testid="attest-until"
                />
                <p class="help">{format!("At the latest {}; you will be asked again then.", day(latest))}</p>
                <FieldProblem problem field="attest_until"/>
            </div>
            <FormProblem problem fields=&["statement", "attest_until"]/>
            <div class="form-actions">
                <button
                    type="submit"
                    class="button primary"
                    disabled=move || chars() < ownership::STATEMENT_MIN_CHARS || declare.pending().get()
                    data-testid="declare"
                >
                    {move || match (declare.pending().get(), renewal) {
                        (true, _) => "Recording…",
                        (false, true) => "Renew declaration",
                        (false, false) => "Declare accountability",
                    }}
                </button>
            </div>
        </form>
    }
}

/// A takeover of an orphaned identity that no admin has confirmed yet: its new owner is
/// told what waits, and another admin may confirm it here.
#[component]
fn TakeoverNotice(
    identity_id: i64,
    declaration: DeclarationView,
    reload: Callback<()>,
) -> impl IntoView {
    let auth = use_auth();
    let toasts = use_toasts();
    let me = auth.user().map(|m| m.user.id);
    let mine = me == Some(declaration.user.id);
    let may_confirm = auth.has(Role::Admin) && !mine;
    let owner = declaration.user.name.clone();
    let confirm = FormAction::new(
        move |()| api::confirm_takeover(identity_id, declaration.id),
        move |_| {
            toasts.show("Takeover confirmed".to_string());
            reload.run(());
        },
    );
    view! {
        <div class="warning" role="status" data-testid="takeover-pending">
            <p>
                {if mine {
                    "Your takeover awaits an admin's confirmation. You can file requests for this identity now; break-glass opens once an admin confirms.".to_string()
                } else {
                    format!("{owner} took this identity over from orphaned. Until an admin confirms the takeover, {owner} may file requests for it but not take break-glass.")
                }}
            </p>
            {may_confirm.then(|| view! {
                <button
                    class="button primary"
                    disabled=move || confirm.pending().get()
                    on:click=move |_| confirm.send(())
                    data-testid="confirm-takeover"
                >
                    {move || if confirm.pending().get() { "Confirming…" } else { "Confirm takeover" }}
                </button>
            })}
            <Refusal message=confirm.error()/>
        </div>
    }
}

#[component]
fn StepDown(identity_id: i64, name: String, reload: Callback<()>) -> impl IntoView {
    let auth = use_auth();
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let step_down = FormAction::new(
        move |reason: String| api::step_down(identity_id, reason),
        move |d| {
            open.set(false);
            toasts.show(format!("You no longer answer for {}", d.identity.name));
            auth.refresh();
            reload.run(());
        },
    );
    let error = step_down.error();
    view! {
        <div class="actions">
            <button class="button danger-outline" on:click=move |_| open.set(true) data-testid="step-down">
                "Step down as owner"
            </button>
        </div>
        <ConfirmDialog
            open
            title=format!("Step down as owner of {name}?")
            consequence=Signal::derive(move || {
                format!(
                    "You stop answering for {name} and can no longer ask for access for it. If you are its last owner it becomes orphaned."
                )
            })
            confirm_label="Step down"
            reason_label="Why you step down"
            pending=step_down.pending()
            error
            on_confirm=Callback::new(move |reason| step_down.send(reason))
            testid="step-down-dialog"
        />
    }
}

#[component]
fn History(declarations: Vec<DeclarationView>) -> impl IntoView {
    if declarations.is_empty() {
        return view! { <p class="muted">"Nobody has ever declared accountability for it."</p> }
            .into_any();
    }
    view! {
        <ol class="timeline" data-testid="declarations">
            {declarations
                .into_iter()
                .map(|d| {
                    let ended = match (d.end, d.ended_at) {
                        (Some(DeclarationEnd::Renewed), _) => "renewed".to_string(),
                        (Some(DeclarationEnd::SteppedDown), _) => "stepped down".to_string(),
                        (Some(DeclarationEnd::Lapsed), _) => "lapsed: not re-attested in time".to_string(),
                        (None, _) => "current".to_string(),
                    };
                    view! {
                        <li class="timeline-item" data-end=d.end.map(|e| e.as_str()).unwrap_or("current")>
                            <p>
                                <strong>{d.user.name.clone()}</strong>
                                " declared " <RelativeTime at=d.declared_at/>
                                " · " {ended}
                            </p>
                            <blockquote>{d.statement.clone()}</blockquote>
                            {d.end_reason.clone().map(|r| view! { <p class="muted">"Reason: " {r}</p> })}
                            {d.awaiting_confirmation.then(|| view! {
                                <p class="muted">"Takeover awaiting an admin's confirmation"</p>
                            })}
                            {d.confirmed_by.clone().map(|by| view! {
                                <p class="muted">"Takeover confirmed by " {by.name}</p>
                            })}
                            <p class="muted">"Re-attest by " <DateWithin at=d.attest_until/></p>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
    .into_any()
}
