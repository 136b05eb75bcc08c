//! What the broker reads from its records for one period: plain rows, so every figure of
//! the report is computed here, in pure code, one way.

use crate::api::{AuditCheckpoint, AuditVerification};
use crate::standing::CoveragePoint;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Facts {
    /// The report's moment (the period ends at it at the latest).
    pub now: DateTime<Utc>,
    /// Coverage at the period's start.
    pub coverage_start: CoveragePoint,
    /// Coverage at the end of each day of the period, the last point at its end.
    pub coverage: Vec<CoveragePoint>,
    /// Resources with standing paths at the period's end, and how many each.
    pub exposed: Vec<Exposed>,
    /// Requests of the core loop filed in the period (extensions too; not break-glass).
    pub requests: Vec<RequestFact>,
    /// Grants whose window starts in the period.
    pub grants: Vec<GrantFact>,
    /// Grants giving access at the period's end, whenever they began.
    pub live_at_end: u32,
    /// Credentials fetched in the period.
    pub credentials_issued: u32,
    /// Break-glass accesses taken in the period, each with its review.
    pub break_glass: Vec<BreakGlassFact>,
    /// Every identity that existed before the period's end, with its declarations.
    pub identities: Vec<IdentityFact>,
    /// Findings seen by the period's end that were not resolved before it began.
    pub standing: Vec<StandingFact>,
    /// Access review campaigns started in the period.
    pub campaigns: Vec<CampaignFact>,
    /// Downstream revocations queued in the period.
    pub revocations: Vec<RevocationFact>,
    /// Events the trail holds for the period.
    pub events: u32,
    /// The chain's verification, and the newest checkpoint it holds (`None`: none stored).
    pub verification: AuditVerification,
    pub checkpoint: Option<AuditCheckpoint>,
}

#[derive(Debug, Clone)]
pub struct Exposed {
    pub resource_id: i64,
    pub resource: String,
    pub standing_paths: u32,
}

#[derive(Debug, Clone)]
pub struct RequestFact {
    pub id: i64,
    pub filed_at: DateTime<Utc>,
    pub with_ticket: bool,
    /// `pending`, `approved`, `denied`, `cancelled`, `expired`.
    pub state: String,
    pub decided_at: Option<DateTime<Utc>>,
    /// Approved by a rule of the resource's policy, not by people.
    pub auto_approved: bool,
}

#[derive(Debug, Clone)]
pub struct GrantFact {
    pub id: i64,
    pub request_id: i64,
    pub break_glass: bool,
    pub identity: String,
    pub resource: String,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `scheduled`, `active`, `expired`, `revoked`, `released`.
    pub state: String,
}

#[derive(Debug, Clone)]
pub struct BreakGlassFact {
    pub request_id: i64,
    pub review_id: i64,
    pub taker: String,
    pub identity: String,
    pub resource: String,
    pub taken_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// `justified` or `unjustified`, once decided.
    pub outcome: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct IdentityFact {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Each declaration's span: declared, and when it stopped being current (the earlier
    /// of its attestation date and its end).
    pub declarations: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

#[derive(Debug, Clone)]
pub struct StandingFact {
    pub id: i64,
    pub tool: String,
    pub source: String,
    pub location: String,
    pub first_seen: DateTime<Utc>,
    pub mapped_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The status now: `unmapped`, `mapped`, `false_positive`, `rotated`, or
    /// `leaked_stint_credential`.
    pub status: String,
    /// For a leaked Stint credential: its grant, and whether finding it ended the grant.
    pub leaked_grant: Option<LeakedGrant>,
}

#[derive(Debug, Clone)]
pub struct LeakedGrant {
    pub grant_id: i64,
    pub identity: String,
    pub resource: String,
    pub revoked_by_finding: bool,
}

#[derive(Debug, Clone)]
pub struct CampaignFact {
    pub id: i64,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub items: u32,
    pub decided: u32,
    /// Decided to revoke: access Stint ended because of the review.
    pub revoked: u32,
    pub changed: u32,
}

#[derive(Debug, Clone)]
pub struct RevocationFact {
    pub grant_id: i64,
    pub identity: String,
    pub resource: String,
    pub queued_at: DateTime<Utc>,
    pub attempts: u32,
    /// When the downstream confirmed (or the step was superseded).
    pub done_at: Option<DateTime<Utc>>,
    /// When it was flagged as failing (`grant.revocation_failing`).
    pub flagged_at: Option<DateTime<Utc>>,
}
