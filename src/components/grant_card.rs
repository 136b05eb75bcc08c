//! A grant: what it gives, until when, and what its viewer may do with it.

use crate::api;
use crate::components::badges::{BreakGlassBadge, GrantBadge};
use crate::components::credential::{CredentialBox, use_issued_credentials};
use crate::components::dialog::ConfirmDialog;
use crate::components::extend_grant::ExtendGrant;
use crate::components::form::{FormAction, Refusal};
use crate::components::grant_access::GrantAccess;
use crate::components::time::{Countdown, RelativeTime};
use crate::components::toast::use_toasts;
use crate::page::Page;
use crate::time::window;
use leptos::prelude::*;
use stint_core::GrantState;
use stint_core::api::{GrantUsageView, GrantView};
use stint_core::format;

/// Grant cards side by side; a change made from any of them calls `on_change`.
#[component]
pub fn GrantCardList(grants: Vec<GrantView>, on_change: Callback<()>) -> impl IntoView {
    view! {
        <div class="cards">
            {grants.into_iter().map(|grant| view! { <GrantCard grant on_change/> }).collect_view()}
        </div>
    }
}

#[component]
pub fn GrantCard(
    grant: GrantView,
    /// Called after the grant changed (revoked), so the page reloads its data.
    on_change: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let auth = crate::app::use_auth();
    let auditor = auth.has_any(stint_core::visibility::READS_EVERYTHING);
    let id = grant.id;
    let issued = use_issued_credentials();
    let fetch = FormAction::new(
        move |()| api::credential(id),
        move |credential| issued.keep(id, credential),
    );
    let revoke_open = RwSignal::new(false);
    let revoke = FormAction::new(
        move |reason: String| api::revoke(id, reason),
        move |g| {
            revoke_open.set(false);
            toasts.show(format!(
                "Access of {} to {} revoked",
                g.identity.name, g.resource.name
            ));
            on_change.run(());
        },
    );
    let title = format!(
        "{} → {} ({})",
        grant.identity.name, grant.resource.name, grant.privilege
    );
    let consequence = if grant.state == GrantState::Scheduled {
        format!(
            "The scheduled {} access of {} to {} is called off: it will not start.",
            grant.privilege, grant.identity.name, grant.resource.name
        )
    } else {
        format!(
            "{} loses {} access to {} now. Credentials already issued stop being accepted at once.",
            grant.identity.name, grant.privilege, grant.resource.name
        )
    };
    let live = grant.state == GrantState::Active;
    let scheduled = grant.state == GrantState::Scheduled;
    let extensions = match grant.extensions {
        0 => None,
        1 => Some("extended once".to_string()),
        n => Some(format!("extended {n} times")),
    };
    view! {
        <article
            class=match (grant.break_glass, grant.identity_orphaned) {
                (_, true) => "card grant orphaned-card",
                (true, false) => "card grant break-glass-card",
                (false, false) => "card grant",
            }
            data-testid="grant"
            data-grant-id=id
        >
            <header class="card-head">
                <h3><a href=Page::Request(grant.request_id).path()>{title}</a></h3>
                <div class="badges">
                    {grant.break_glass.then(|| view! { <BreakGlassBadge/> })}
                    {grant.identity_orphaned.then(|| view! {
                        <a class="badge red" href=Page::Identity(grant.identity.id).path() data-testid="orphaned-grant">
                            <span aria-hidden="true">"⚠"</span>
                            "no owner"
                        </a>
                    })}
                    <GrantBadge state=grant.state/>
                </div>
            </header>
            // Two grants of the same access differ by what they are for.
            <p class="grant-task" data-testid="grant-task">
                <a href=Page::Request(grant.request_id).path()>{format!("Request #{}", grant.request_id)}</a>
                " · "
                <span class="clip">{grant.task.clone()}</span>
            </p>
            {if scheduled {
                view! {
                    <p class="muted" data-testid="grant-window">
                        "For " {grant.holder.name.clone()} " · scheduled: "
                        <strong>{window(grant.starts_at, grant.expires_at)}</strong>
                        " · starts " <RelativeTime at=grant.starts_at/>
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <p class="muted">
                        "For " {grant.holder.name.clone()} " · started "
                        <RelativeTime at=grant.starts_at/>
                        " · "
                        {if live {
                            view! { <Countdown from=grant.starts_at until=grant.expires_at/> }.into_any()
                        } else {
                            view! { "ended " <RelativeTime at=grant.ended_at.unwrap_or(grant.expires_at)/> }
                                .into_any()
                        }}
                        {extensions.map(|e| view! { " · " <span data-testid="grant-extensions">{e}</span> })}
                    </p>
                }
                .into_any()
            }}
            {(!scheduled).then(|| view! { <GrantUsage usage=grant.usage.clone()/> })}
            {grant.revoke_reason.clone().map(|r| view! { <p>"Revoked: " {r}</p> })}
            {grant.access.clone().map(|access| if scheduled {
                view! {
                    <p class="muted" data-testid="grant-access">
                        {format!("Made in {} when it starts.", access.connector)}
                    </p>
                }
                .into_any()
            } else {
                view! { <GrantAccess access/> }.into_any()
            })}
            <div class="actions">
                <Show when=move || grant.can_fetch_credential>
                    <button
                        class="button primary"
                        on:click=move |_| fetch.send(())
                        disabled=move || fetch.pending().get()
                        data-testid="fetch-credential"
                    >
                        {move || if fetch.pending().get() { "Issuing…" } else { "Get credential" }}
                    </button>
                </Show>
                <ExtendGrant grant=grant.clone() on_change/>
                <Show when=move || auditor>
                    <a class="button subtle" href=Page::GrantStory(id).path() data-testid="grant-story">
                        "Audit story"
                    </a>
                </Show>
                <Show when=move || grant.can_revoke>
                    <button class="button danger-outline" on:click=move |_| revoke_open.set(true) data-testid="revoke">
                        "Revoke…"
                    </button>
                </Show>
            </div>
            {move || issued.of(id).map(|credential| view! {
                <CredentialBox credential on_dismiss=Callback::new(move |_| issued.dismiss(id))/>
            })}
            <Refusal message=fetch.error()/>
            // In the page only while open: lists hold many cards, and ids must not repeat.
            {move || revoke_open.get().then(|| view! {
                <ConfirmDialog
                    open=revoke_open
                    title="Revoke this access?"
                    consequence=consequence.clone()
                    confirm_label="Revoke now"
                    reason_label="Why does access end early?"
                    pending=revoke.pending()
                    error=revoke.error()
                    on_confirm=Callback::new(move |reason: String| revoke.send(reason))
                    testid="revoke-dialog"
                />
            })}
        </article>
    }
}

/// How the grant was used: "used 14 times, last 3 min ago", or "never used" — evidence of
/// whether the access was needed at all.
#[component]
fn GrantUsage(usage: Option<GrantUsageView>) -> impl IntoView {
    match usage.filter(|u| u.uses() > 0) {
        None => view! {
            <p class="muted" data-testid="grant-usage">"Never used"</p>
        }
        .into_any(),
        Some(u) => {
            let summary = format::times_used(u.uses());
            let detail = format::uses_detail(u.introspections, u.credential_fetches);
            let from = u
                .last_address
                .map(|address| format!(" from {address}"))
                .unwrap_or_default();
            view! {
                <p class="muted" data-testid="grant-usage">
                    {format!("{} ({detail}), last", format::sentence(&summary))}
                    " " <RelativeTime at=u.last_used_at/> {from}
                </p>
            }
            .into_any()
        }
    }
}
