//! Storage: one trait the HTTP layer and the sweeper talk to, and its implementations.
//!
//! Architecture Invariant: every method that changes state runs in one transaction that
//! also appends the audit event; the rule deciding the change comes from `stint_core`,
//! evaluated on rows read inside that same transaction.

pub mod audit;
pub mod sqlite;

use crate::credential::Signer;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use stint_core::api::{
    ApproveBody, AuditCheckpoint, AuditEventView, AuditVerification, BreakGlassBody,
    CredentialView, DeclareBody, GrantView, IdentityBody, IdentityDetail, IdentityView,
    IntrospectView, NewRequestBody, RequestDetail, RequestView, ResourceBody, ResourceView,
    ReviewBody, ReviewDetail, ReviewView, UserAdminView, UserUpdateBody, UserView,
};
use stint_core::standing::{
    CoverageView, ImportSummary, MappingRuleBody, MappingRuleView, NewStandingBody, StandingStatus,
    StandingView, TriageBody,
};
use stint_core::{GrantState, RequestState, ReviewOutcome, ReviewStatus, Role, RuleError};

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database holds unexpected data: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A user as the login check needs it.
pub struct LoginCandidate {
    pub user: UserView,
    pub password_hash: String,
}

/// How long a session lives.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Ends a session nobody used for this long.
    pub idle: Duration,
    /// Ends every session this long after login, used or not.
    pub absolute: Duration,
}

/// Which requests a list shows.
#[derive(Debug, Clone)]
pub struct RequestFilter {
    pub state: Option<RequestState>,
    /// Only requests the viewer filed.
    pub mine: bool,
    /// Only requests the viewer may decide now.
    pub awaiting_me: bool,
    /// Only requests with an id below this (pagination, newest first).
    pub before_id: Option<i64>,
    pub limit: u32,
    /// The moment the list is read at (whether the viewer may still decide depends on it).
    pub now: DateTime<Utc>,
}

/// How often one user may take break-glass access for one identity.
#[derive(Debug, Clone, Copy)]
pub struct BreakGlassLimit {
    pub max_uses: u32,
    pub window: Duration,
}

/// What taking break-glass created, all in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakGlassTaken {
    pub request_id: i64,
    pub grant_id: i64,
    pub review_id: i64,
}

/// Which reviews a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewFilter {
    pub status: Option<ReviewStatus>,
    pub outcome: Option<ReviewOutcome>,
}

/// Which audit events a page shows: newest first below `before_seq`, or, to follow the
/// trail, oldest first above `after_seq`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// An action, or a family of them (`grant` matches `grant.revoked`).
    pub action: Option<String>,
    pub request_id: Option<i64>,
    /// A grant's whole story: its events and those of the request it came from.
    pub grant_id: Option<i64>,
    /// Events about requests for this identity, or on this resource (by name).
    pub identity: Option<String>,
    pub resource: Option<String>,
    /// Free text searched in the actor, action and details.
    pub text: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub before_seq: Option<i64>,
    pub after_seq: Option<i64>,
    /// Only events about requests for identities this user owns or owned (for owners who
    /// are not auditors).
    pub owner: Option<i64>,
    pub limit: u32,
}

/// Which standing credentials a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandingFilter {
    pub status: Option<StandingStatus>,
    pub identity_id: Option<i64>,
}

/// What one sweep changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub grants_expired: u32,
    pub requests_expired: u32,
    pub ownerships_lapsed: u32,
}

/// A user to create, their password already hashed.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub roles: &'a [Role],
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- people and sessions ---
    async fn login_candidate(&self, username: &str) -> StoreResult<Option<LoginCandidate>>;
    /// Opens a session for a verified login, ending the one it replaces (rotation).
    async fn open_session(
        &self,
        user: &UserView,
        token_hash: &str,
        replaces: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn record_failed_login(&self, username: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// Records that `actor` was refused `method path`, and why.
    async fn record_refusal(
        &self,
        actor: &UserView,
        method: &str,
        path: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The user behind a session, if it is still within its limits; touches it.
    async fn session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        limits: SessionLimits,
    ) -> StoreResult<Option<UserView>>;
    async fn close_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()>;

    // --- catalog ---
    async fn identities(
        &self,
        viewer: &UserView,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<IdentityView>>;
    async fn identity(
        &self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<IdentityView>;
    async fn resources(&self) -> StoreResult<Vec<ResourceView>>;
    async fn resource(&self, id: i64) -> StoreResult<ResourceView>;

    // --- ownership ---
    async fn identity_detail(
        &self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
        max_attestation_days: i64,
    ) -> StoreResult<IdentityDetail>;
    /// A current owner renews their declaration, or a user takes over an orphaned identity.
    async fn declare_ownership(
        &self,
        actor: &UserView,
        identity_id: i64,
        body: &DeclareBody,
        now: DateTime<Utc>,
        max_attestation_days: i64,
    ) -> StoreResult<()>;
    async fn step_down(
        &self,
        actor: &UserView,
        identity_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records a declaration made outside Stint (demo data, an import), unchecked: the
    /// only way to give an owned identity a co-owner, recorded as the broker's doing.
    async fn seed_ownership(
        &self,
        identity_id: i64,
        user: &UserView,
        statement: &str,
        attest_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    // --- administration (`actor` `None`: the broker's own bootstrap) ---
    async fn users(&self) -> StoreResult<Vec<UserAdminView>>;
    async fn create_user(
        &self,
        actor: Option<&UserView>,
        user: &NewUser<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Disabling a user ends their sessions.
    async fn update_user(
        &self,
        actor: &UserView,
        id: i64,
        body: &UserUpdateBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn create_identity(
        &self,
        actor: Option<&UserView>,
        body: &IdentityBody,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    async fn update_identity(
        &self,
        actor: &UserView,
        id: i64,
        body: &IdentityBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn create_resource(
        &self,
        actor: Option<&UserView>,
        body: &ResourceBody,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Takes effect for new requests only.
    async fn update_resource(
        &self,
        actor: &UserView,
        id: i64,
        body: &ResourceBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    // --- requests ---
    async fn file_request(
        &self,
        actor: &UserView,
        body: &NewRequestBody,
        now: DateTime<Utc>,
        pending_ttl: Duration,
    ) -> StoreResult<i64>;
    async fn approve(
        &self,
        actor: &UserView,
        request_id: i64,
        body: &ApproveBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn deny(
        &self,
        actor: &UserView,
        request_id: i64,
        comment: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn cancel(
        &self,
        actor: &UserView,
        request_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn requests(
        &self,
        viewer: &UserView,
        filter: &RequestFilter,
    ) -> StoreResult<Vec<RequestView>>;
    async fn request_detail(
        &self,
        viewer: &UserView,
        request_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<RequestDetail>;
    async fn approvals_waiting(&self, viewer: &UserView) -> StoreResult<u32>;

    // --- grants and credentials ---
    async fn grants(
        &self,
        viewer: &UserView,
        state: Option<GrantState>,
        mine: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<GrantView>>;
    async fn grant(&self, viewer: &UserView, id: i64, now: DateTime<Utc>)
    -> StoreResult<GrantView>;
    async fn issue_credential(
        &self,
        actor: &UserView,
        grant_id: i64,
        now: DateTime<Utc>,
        signer: &Signer,
    ) -> StoreResult<CredentialView>;
    async fn revoke(
        &self,
        actor: &UserView,
        grant_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn introspect(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        issuer: &str,
    ) -> StoreResult<IntrospectView>;

    // --- break-glass and its reviews ---
    /// Grants access at once and opens its review; the password was verified by the caller.
    async fn take_break_glass(
        &self,
        actor: &UserView,
        body: &BreakGlassBody,
        now: DateTime<Utc>,
        limit: BreakGlassLimit,
    ) -> StoreResult<BreakGlassTaken>;
    /// Overdue first, then open by due time, then decided (newest first).
    async fn reviews(
        &self,
        viewer: &UserView,
        filter: ReviewFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ReviewView>>;
    async fn review(
        &self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewDetail>;
    /// Undecided reviews `viewer` may judge: (all of them, the overdue ones).
    async fn reviews_waiting(
        &self,
        viewer: &UserView,
        now: DateTime<Utc>,
    ) -> StoreResult<(u32, u32)>;
    async fn decide_review(
        &self,
        actor: &UserView,
        id: i64,
        body: &ReviewBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    // --- the audit trail ---
    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEventView>>;
    /// Walks the chain, then holds it against every stored checkpoint, whose signatures
    /// `signer`'s key must have made.
    async fn verify_audit(&self, signer: &Signer) -> StoreResult<AuditVerification>;
    /// The last event's sequence number and hash (0 and the genesis hash when empty).
    async fn audit_head(&self) -> StoreResult<(i64, String)>;
    async fn append_checkpoint(&self, checkpoint: &AuditCheckpoint) -> StoreResult<()>;
    /// Newest first.
    async fn checkpoints(&self, limit: u32) -> StoreResult<Vec<AuditCheckpoint>>;

    // --- standing credentials (`actor` `None`: the command line, as the broker) ---
    /// Imports a scanner's report in one transaction: findings recorded or seen again,
    /// mapping rules applied, grants of leaked Stint credentials revoked.
    async fn import_report(
        &self,
        actor: Option<&UserView>,
        report: &crate::scan_report::Report,
        source: &str,
        full_scan: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<ImportSummary>;
    /// Unmapped first, then mapped, then resolved; oldest first within each.
    async fn standing(
        &self,
        viewer: &UserView,
        filter: StandingFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<StandingView>>;
    async fn standing_one(
        &self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<StandingView>;
    async fn record_standing(
        &self,
        actor: &UserView,
        body: &NewStandingBody,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    async fn triage_standing(
        &self,
        actor: &UserView,
        id: i64,
        body: &TriageBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn mapping_rules(&self) -> StoreResult<Vec<MappingRuleView>>;
    async fn create_mapping_rule(
        &self,
        actor: &UserView,
        body: &MappingRuleBody,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    async fn retire_mapping_rule(
        &self,
        actor: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn coverage(&self, viewer: &UserView, now: DateTime<Utc>) -> StoreResult<CoverageView>;

    // --- the broker's own work ---
    /// Expires every grant and pending request whose time is up, each with its event.
    async fn sweep(&self, now: DateTime<Utc>) -> StoreResult<SweepReport>;
    /// When the first active grant expires, if any does: the sweeper wakes for it.
    async fn next_grant_expiry(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// The signing key (PKCS#8 DER) and its id, if one was ever made.
    async fn existing_signing_key(&self) -> StoreResult<Option<(String, Vec<u8>)>>;
    /// The signing key (PKCS#8 DER) and its id, creating it with `generate` on first use.
    async fn signing_key(
        &self,
        now: DateTime<Utc>,
        generate: &(dyn Fn() -> (String, Vec<u8>) + Send + Sync),
    ) -> StoreResult<(String, Vec<u8>)>;

    /// Whether nothing was ever created (the demo seeds only an empty database).
    async fn is_empty(&self) -> StoreResult<bool>;
}
