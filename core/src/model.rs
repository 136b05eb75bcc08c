//! The nouns of the domain: roles, identity kinds and access policies.

use crate::api::NamedRef;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a person may do in Stint. A user may hold several roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Requester,
    Approver,
    Reviewer,
    Admin,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Requester,
        Role::Approver,
        Role::Reviewer,
        Role::Admin,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Approver => "approver",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of non-human identity access is granted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    ServiceAccount,
    Workload,
    CiPipeline,
    AiAgent,
    Other,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 5] = [
        IdentityKind::ServiceAccount,
        IdentityKind::Workload,
        IdentityKind::CiPipeline,
        IdentityKind::AiAgent,
        IdentityKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::ServiceAccount => "service_account",
            IdentityKind::Workload => "workload",
            IdentityKind::CiPipeline => "ci_pipeline",
            IdentityKind::AiAgent => "ai_agent",
            IdentityKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<IdentityKind> {
        IdentityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How a person would say it.
    pub fn label(self) -> &'static str {
        match self {
            IdentityKind::ServiceAccount => "Service account",
            IdentityKind::Workload => "Workload",
            IdentityKind::CiPipeline => "CI pipeline",
            IdentityKind::AiAgent => "AI agent",
            IdentityKind::Other => "Other",
        }
    }
}

/// The approval policy of a resource: what a request for it needs before access is granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    /// How many distinct approvers must approve (at least 1).
    pub approvals_required: u32,
    /// The longest access a single grant may give, in seconds.
    pub max_duration_secs: i64,
    /// Whether a request must carry a ticket reference.
    pub ticket_required: bool,
    /// Whether owners may take access at once, reviewed afterwards; `None` forbids it.
    #[serde(default)]
    pub break_glass: Option<BreakGlassPolicy>,
    /// Who may approve requests.
    #[serde(default)]
    pub approvers: Approvers,
    /// A pattern the whole ticket reference must match (e.g. `OPS-[0-9]+`).
    #[serde(default)]
    pub ticket_pattern: Option<String>,
    /// Requests within this rule are approved by the broker at once.
    #[serde(default)]
    pub auto_approve: Option<AutoApprove>,
    /// How far ahead a request may schedule its start (never beyond 30 days, the default).
    #[serde(default)]
    pub max_start_ahead_secs: Option<i64>,
    /// How long one grant may run in all, extensions included; `None`: twice
    /// `max_duration_secs`.
    #[serde(default)]
    pub max_total_secs: Option<i64>,
}

/// Who may approve requests for a resource. Deciding always needs the approver role; a
/// list of named users narrows it to them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Approvers {
    /// Everyone holding the approver role.
    #[default]
    Role,
    /// Only these users.
    Users { users: Vec<NamedRef> },
}

impl Approvers {
    /// Whether `user_id` is among the named approvers (always, for `Role`).
    pub fn includes(&self, user_id: i64) -> bool {
        match self {
            Approvers::Role => true,
            Approvers::Users { users } => users.iter().any(|u| u.id == user_id),
        }
    }
}

/// Machine-to-machine requests the broker approves without a person: identities of these
/// kinds, asking for one of these privileges, for at most this long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutoApprove {
    pub identity_kinds: Vec<IdentityKind>,
    pub privileges: Vec<String>,
    pub max_duration_secs: i64,
}

impl AutoApprove {
    pub fn covers(&self, kind: IdentityKind, privilege: &str, duration_secs: i64) -> bool {
        self.identity_kinds.contains(&kind)
            && self.privileges.iter().any(|p| p == privilege)
            && duration_secs <= self.max_duration_secs
    }
}

/// How break-glass access to a resource is bounded and governed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakGlassPolicy {
    /// The longest break-glass access, in seconds (short: an hour by default).
    pub max_duration_secs: i64,
    /// How soon after it is taken a reviewer must judge it, in seconds.
    pub review_within_secs: i64,
}

impl Default for BreakGlassPolicy {
    fn default() -> Self {
        BreakGlassPolicy {
            max_duration_secs: 3600,
            review_within_secs: 24 * 3600,
        }
    }
}

/// A reviewer's judgement of a break-glass access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    Justified,
    Unjustified,
}

impl ReviewOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewOutcome::Justified => "justified",
            ReviewOutcome::Unjustified => "unjustified",
        }
    }

    pub fn parse(s: &str) -> Option<ReviewOutcome> {
        [ReviewOutcome::Justified, ReviewOutcome::Unjustified]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// Where a review stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Open,
    /// Open past its due time.
    Overdue,
    Decided,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Overdue => "overdue",
            ReviewStatus::Decided => "decided",
        }
    }

    pub fn parse(s: &str) -> Option<ReviewStatus> {
        [
            ReviewStatus::Open,
            ReviewStatus::Overdue,
            ReviewStatus::Decided,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}
