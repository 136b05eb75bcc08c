//! State shown as colour, word and icon together, never colour alone.

use leptos::prelude::*;
use stint_core::ownership::OwnershipStatus;
use stint_core::standing::{ResourceCoverage, StandingStatus};
use stint_core::{GrantState, RequestState, ReviewOutcome, ReviewStatus};

#[component]
pub fn RequestBadge(state: RequestState) -> impl IntoView {
    let (icon, tone) = match state {
        RequestState::Pending => ("◷", "amber"),
        RequestState::Approved => ("✓", "green"),
        RequestState::Denied => ("✕", "grey struck"),
        RequestState::Cancelled => ("–", "grey struck"),
        RequestState::Expired => ("⌛", "grey"),
    };
    view! {
        <span class=format!("badge {tone}") data-testid="request-state" data-state=state.as_str()>
            <span aria-hidden="true">{icon}</span>
            {state.as_str()}
        </span>
    }
}

#[component]
pub fn GrantBadge(state: GrantState) -> impl IntoView {
    let (icon, tone, word) = match state {
        GrantState::Scheduled => ("◷", "blue", "scheduled"),
        GrantState::Active => ("●", "green", "active"),
        GrantState::Expired => ("⌛", "grey", "expired"),
        GrantState::Revoked => ("⊘", "purple", "revoked"),
    };
    view! {
        <span class=format!("badge {tone}") data-testid="grant-state" data-state=state.as_str()>
            <span aria-hidden="true">{icon}</span>
            {word}
        </span>
    }
}

/// Marks access taken without approval, everywhere it appears.
#[component]
pub fn BreakGlassBadge() -> impl IntoView {
    view! {
        <span class="badge break-glass" data-testid="break-glass-badge">
            <span aria-hidden="true">"⚠"</span>
            "break-glass"
        </span>
    }
}

#[component]
pub fn ReviewBadge(status: ReviewStatus, outcome: Option<ReviewOutcome>) -> impl IntoView {
    let (icon, tone, word) = match (status, outcome) {
        (ReviewStatus::Overdue, _) => ("⏰", "red", "overdue"),
        (ReviewStatus::Open, _) => ("◷", "amber", "open"),
        (_, Some(ReviewOutcome::Unjustified)) => ("✕", "red", "unjustified"),
        (_, _) => ("✓", "green", "justified"),
    };
    view! {
        <span class=format!("badge {tone}") data-testid="review-status" data-status=word>
            <span aria-hidden="true">{icon}</span>
            {word}
        </span>
    }
}

/// Whether anybody answers for an identity.
#[component]
pub fn OwnershipBadge(status: OwnershipStatus) -> impl IntoView {
    let (icon, tone) = match status {
        OwnershipStatus::Owned => ("✓", "green"),
        OwnershipStatus::AttestationDueSoon => ("◷", "amber"),
        OwnershipStatus::Orphaned => ("⚠", "red"),
    };
    view! {
        <span class=format!("badge {tone}") data-testid="ownership-status" data-status=status.as_str()>
            <span aria-hidden="true">{icon}</span>
            {status.label()}
        </span>
    }
}

/// Where a standing credential stands in triage.
#[component]
pub fn StandingBadge(status: StandingStatus) -> impl IntoView {
    let (icon, tone) = match status {
        StandingStatus::Unmapped => ("?", "amber"),
        StandingStatus::Mapped => ("⚠", "red"),
        StandingStatus::FalsePositive => ("✕", "grey struck"),
        StandingStatus::Rotated => ("✓", "green"),
        StandingStatus::LeakedStintCredential => ("⊘", "purple"),
    };
    view! {
        <span class=format!("badge {tone}") data-testid="standing-status" data-status=status.as_str()>
            <span aria-hidden="true">{icon}</span>
            {status.label()}
        </span>
    }
}

/// `JIT only`, or how many standing paths reach a resource besides Stint.
#[component]
pub fn CoverageBadge(coverage: ResourceCoverage) -> impl IntoView {
    let (icon, tone) = if coverage.jit_only() {
        ("✓", "green")
    } else {
        ("⚠", "red")
    };
    view! {
        <span class=format!("badge {tone}") data-testid="coverage" data-jit-only=coverage.jit_only().to_string()>
            <span aria-hidden="true">{icon}</span>
            {coverage.label()}
        </span>
    }
}
