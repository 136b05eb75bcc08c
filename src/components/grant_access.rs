//! Where a grant's access in the downstream system stands: being made, usable, being taken
//! away (with the failing attempts), or gone — what the broker's connector did, in words.

use crate::components::time::RelativeTime;
use leptos::prelude::*;
use stint_core::connectors::{AccessPhase, GrantAccessView};

#[component]
pub fn GrantAccess(access: GrantAccessView) -> impl IntoView {
    // A role's name where the connector makes accounts; else the access itself.
    let account = access
        .account
        .clone()
        .map(|a| format!("role {a}"))
        .unwrap_or_else(|| "the access".to_string());
    let connector = access.connector.clone();
    let retry = (access.attempts > 0 && access.last_error.is_some()).then(|| {
        view! {
            <span data-testid="access-retry">
                {format!(
                    " · attempt {} failed: {}",
                    access.attempts,
                    access.last_error.clone().unwrap_or_default()
                )}
                {access.next_attempt_at.map(|at| view! { " · next try " <RelativeTime at/> })}
            </span>
        }
    });
    let (class, body) = match access.phase {
        AccessPhase::Provisioning => (
            "access pending",
            view! { {format!("Making {account} in {connector}…")} {retry} }.into_any(),
        ),
        AccessPhase::Ready => (
            "access ready",
            view! {
                {format!("{} made in {connector} ", capitalised(&account))}
                {access.provisioned_at.map(|at| view! { <RelativeTime at/> })}
                // A later step (moving its end after an extension) that keeps failing.
                {retry}
            }
            .into_any(),
        ),
        AccessPhase::Revoking => (
            if access.failing { "access failing" } else { "access pending" },
            view! {
                {format!("Taking {account} away in {connector}")}
                {access.failing.then_some(" — failing, admins are alerted")}
                {retry}
            }
            .into_any(),
        ),
        AccessPhase::Revoked => (
            "access ended",
            view! {
                {format!("{} taken away in {connector} ", capitalised(&account))}
                {access.revoked_at.map(|at| view! { <RelativeTime at/> })}
                {access.sessions_ended.filter(|n| *n > 0).map(|n| format!(" · sessions ended: {n}"))}
            }
            .into_any(),
        ),
    };
    view! {
        <p class=class data-testid="grant-access" data-phase=access.phase.as_str()>
            {body}
        </p>
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
