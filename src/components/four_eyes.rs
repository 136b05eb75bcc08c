//! Four eyes in the portal: saying, before a save, that a change widens access and so waits
//! for a second admin (previewed with `stint_core::four_eyes`; the broker decides), and
//! that a single-admin installation applies such changes at once.

use crate::app::use_auth;
use leptos::prelude::*;
use stint_core::four_eyes::{ProposalView, Widening};

fn single_admin() -> impl Fn() -> bool + Copy {
    let auth = use_auth();
    move || auth.user().is_some_and(|m| m.single_admin)
}

/// Under a form: how the change being edited widens access, and what saving it will do.
#[component]
pub fn WideningNote(#[prop(into)] widenings: Signal<Vec<Widening>>) -> impl IntoView {
    let single_admin = single_admin();
    // The live region stays in the page, so that what appears in it is announced.
    view! {
        <div aria-live="polite">
            {move || {
                let widenings = widenings.get();
                (!widenings.is_empty()).then(|| {
                    let what = if single_admin() {
                        "This change widens access. This installation has one admin, so it applies at once:"
                    } else {
                        "This change widens access, so it waits for a second admin's approval:"
                    };
                    view! {
                        <div class="widening" role="note" data-testid="widening-note">
                            <p>{what}</p>
                            <ul>
                                {widenings.into_iter().map(|w| view! { <li>{w.description}</li> }).collect_view()}
                            </ul>
                        </div>
                    }
                })
            }}
        </div>
    }
}

/// What a save that became a proposal means, for its toast.
pub fn proposed_message(proposal: &ProposalView) -> String {
    format!(
        "Proposed: the change to {} waits for a second admin's approval (Proposals)",
        proposal.change.subject()
    )
}

/// On every admin page of a single-admin installation: nobody checks this admin's changes.
#[component]
pub fn SingleAdminNotice() -> impl IntoView {
    let single_admin = single_admin();
    move || {
        single_admin().then(|| view! {
            <p class="single-admin" role="note" data-testid="single-admin">
                "Single-admin installation (--single-admin): changes that widen access apply without a second admin's approval."
            </p>
        })
    }
}
