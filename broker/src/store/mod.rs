//! Storage: one trait the HTTP layer and the sweeper talk to, and its two backends —
//! SQLite (embedded, the default) and PostgreSQL (several replicas) — chosen by the URL's
//! scheme. Both compile the same SQL (`sql/`).
//!
//! Architecture Invariant: every method that changes state runs in one transaction that
//! also appends the audit event; the rule deciding the change comes from `stint_core`,
//! evaluated on rows read inside that same transaction.

pub mod audit;
pub mod port;
pub mod postgres;
pub mod sqlite;

use crate::connectors::{Connectors, Revoked};
use crate::credential::{Keyring, TrustedKeys};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use port::ConnectorJob;
use std::collections::BTreeMap;
use stint_core::api::{
    ApproveBody, AuditCheckpoint, AuditEventView, AuditVerification, BreakGlassBody,
    CredentialView, DeclareBody, ExtendBody, GrantView, IdentityBody, IdentityDetail,
    IdentityTokenView, IdentityView, IntrospectView, IssuedIdentityToken, NewIdentityTokenBody,
    NewRequestBody, ReleaseBody, RequestDetail, RequestView, ResourceBody, ResourceView,
    ReviewBody, ReviewDetail, ReviewView, UserAdminView, UserUpdateBody, UserView,
};
use stint_core::connectors::{AccessFilter, ConnectorView, RetryPolicy};
use stint_core::federation::{ExchangedToken, IdentityRuleView, IssuerBody, IssuerView, Refusal};
use stint_core::live::{LiveEvent, LiveScope};
use stint_core::notify::{DeliveryView, MutesBody, NewSinkBody, NotificationChoice, SinkView};
use stint_core::standing::{
    CoverageView, ImportSummary, MappingRuleBody, MappingRuleView, NewStandingBody, StandingStatus,
    StandingView, TriageBody,
};
use stint_core::usage::UsageSignals;
use stint_core::{GrantState, RequestState, ReviewOutcome, ReviewStatus, Role, RuleError};
use zeroize::Zeroizing;

pub use postgres::PgStore;
pub use sqlite::{SqliteStore, sqlite_file};
use std::sync::Arc;

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of `url`, by its scheme (`sqlite:`, `postgres:` or `postgresql:`).
    pub fn of(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::Config(format!(
                "the database URL must start with sqlite: or postgres: (not `{scheme}:`)"
            ))),
        }
    }
}

/// Opens (creating an SQLite file if missing) the database at `url` and migrates it.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    Ok(match Backend::of(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open(url).await?),
        Backend::Postgres => Arc::new(PgStore::open(url).await?),
    })
}

/// Opens an existing, migrated database to read only: nothing is created or changed.
pub async fn open_read_only(url: &str) -> StoreResult<Arc<dyn Store>> {
    Ok(match Backend::of(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open_read_only(url).await?),
        Backend::Postgres => Arc::new(PgStore::open_read_only(url).await?),
    })
}

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
    #[error("{0}")]
    Config(String),
    /// A downstream system (a connector's) cannot do its part now; nothing was changed.
    #[error("{0}")]
    Unavailable(String),
    /// A connector is still making the access downstream: ask again shortly.
    #[error("{0}")]
    Provisioning(String),
    /// The commit that held this write failed or was abandoned: nothing of it was kept.
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A user as the login check needs it.
pub struct LoginCandidate {
    pub user: UserView,
    pub password_hash: String,
    pub must_change_password: bool,
}

/// The user behind a live session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: UserView,
    /// An admin reset their password: only changing it is allowed.
    pub must_change_password: bool,
}

/// A resource server's introspection: who asked, what it learns, and the grant it used
/// (a live token of its own), which counts as a use of that grant.
#[derive(Debug)]
pub struct Introspected {
    pub caller: IntrospectionCaller,
    pub view: IntrospectView,
    pub used: Option<i64>,
}

/// Who asks to introspect a token.
#[derive(Debug, Clone)]
pub enum IntrospectionCaller {
    /// A resource server, by its client credentials.
    Resource { id: i64, name: String },
    /// A signed-in person.
    Person(UserView),
}

impl IntrospectionCaller {
    /// The key its calls are rate-limited under.
    pub fn rate_key(&self) -> String {
        match self {
            IntrospectionCaller::Resource { id, .. } => format!("resource:{id}"),
            IntrospectionCaller::Person(user) => format!("user:{}", user.id),
        }
    }
}

/// A wrong password, at sign-in or re-entered for break-glass.
pub struct FailedPassword<'a> {
    /// `session.login_failed` or `break_glass.password_failed`.
    pub action: &'static str,
    pub actor: audit::Actor<'a>,
    /// The account the password was for, when one has the name given.
    pub target_user: Option<i64>,
    pub account_key: String,
    pub address_key: Option<String>,
    pub details: serde_json::Value,
}

/// The throttle key of an account.
pub fn account_key(username: &str) -> String {
    format!("account:{}", username.to_lowercase())
}

/// The throttle key of a client address.
pub fn address_key(ip: &str) -> String {
    format!("address:{ip}")
}

/// How long a session lives.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Ends a session nobody used for this long.
    pub idle: Duration,
    /// Ends every session this long after login, used or not.
    pub absolute: Duration,
}

/// What a search of requests, or of the grants they made, narrows to (every field set must
/// hold), as the list's query asked it.
pub use stint_core::query::Search;

/// Which grants a list shows.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub state: Option<GrantState>,
    /// Where their access downstream stands.
    pub access: Option<AccessFilter>,
    /// Only what the viewer would see without a role that sees all access.
    pub mine: bool,
    pub search: Search,
    /// At most this many, soonest to end first.
    pub limit: u32,
    /// The next page: only grants after this place in that order (the end, in ms, and the
    /// id of the last grant of the page before).
    pub after: Option<(i64, i64)>,
}

/// Which requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub state: Option<RequestState>,
    /// Only requests the viewer filed.
    pub mine: bool,
    /// Only requests the viewer may decide now.
    pub awaiting_me: bool,
    pub search: Search,
    /// Only requests with an id below this (pagination, newest first).
    pub before_id: Option<i64>,
    pub limit: u32,
    /// The moment the list is read at (whether the viewer may still decide depends on it).
    pub now: DateTime<Utc>,
}

/// How often one user may take break-glass access for one identity, and how soon after
/// taking an orphaned identity over.
/// Whether a change that widens access waits for a second admin (`Required`, the default)
/// or applies at once because the installation has one admin (`--single-admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FourEyes {
    #[default]
    Required,
    Waived,
}

/// What became of an admin's change: applied (the record's id), or proposed and waiting
/// for a second admin (the proposal).
#[derive(Debug, Clone, PartialEq)]
pub enum Saved {
    Applied(i64),
    Proposed(Box<stint_core::four_eyes::ProposalView>),
}

impl Saved {
    /// The id of what was applied; `None` while it waits as a proposal.
    pub fn applied(&self) -> Option<i64> {
        match self {
            Saved::Applied(id) => Some(*id),
            Saved::Proposed(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct BreakGlassLimit {
    pub max_uses: u32,
    pub window: Duration,
    /// A takeover allows break-glass once an admin confirms it, or, when set, once this
    /// long has passed since it.
    pub takeover_wait: Option<Duration>,
}

/// What taking break-glass created, all in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakGlassTaken {
    pub request_id: i64,
    pub grant_id: i64,
    pub review_id: i64,
}

/// The shared state an operator watches, read at each metrics scrape (`crate::metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsFacts {
    pub grants_active: i64,
    /// Live grants that end within 10 minutes.
    pub grants_expiring: i64,
    pub requests_pending: i64,
    pub reviews_overdue: i64,
    /// The expiry of the oldest grant still active past it: how far the sweep lags.
    pub oldest_unended_expiry: Option<DateTime<Utc>>,
    pub connector_steps_open: i64,
    pub deliveries_open: i64,
    /// The audit trail's length (its head's sequence number).
    pub audit_events: i64,
}

/// Which reviews a list shows.
#[derive(Debug, Clone, Default)]
pub struct ReviewFilter {
    pub status: Option<ReviewStatus>,
    pub outcome: Option<ReviewOutcome>,
    /// The break-glass request each review is of: its task, ticket, identity, resource,
    /// taker (as requester) and when it was taken.
    pub search: Search,
    /// At most this many, overdue first (0: the default, 200).
    pub limit: u32,
}

/// Which audit events a page shows: what was asked (newest first below its `cursor`, or,
/// to follow the trail, oldest first above its `after_seq`; an action matches its family,
/// `grant` matching `grant.revoked`; `q` is searched in the actor, action and details), and
/// whose events the reader may see.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub asked: stint_core::query::AuditQuery,
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
    /// Scheduled grants whose start came.
    pub grants_started: u32,
    pub grants_expired: u32,
    pub requests_expired: u32,
    pub ownerships_lapsed: u32,
    /// Timed notices recorded (`stint_core::live::Notice`).
    pub notices_given: u32,
}

/// Changes for the live feed (`Store::live_events`).
#[derive(Debug, Clone, Default)]
pub struct LiveBatch {
    /// Each change and who may hear of it, oldest first.
    pub events: Vec<(LiveEvent, LiveScope)>,
    /// The last sequence number read, streamed or not: where the next read starts.
    pub read_to: i64,
    /// Whether the read stopped short of the trail's head.
    pub more: bool,
}

/// Whatever holds a backend's bootstrap lock; the lock ends when it is dropped.
pub struct BootstrapLock(#[allow(dead_code)] Box<dyn Send + Sync>);

impl BootstrapLock {
    pub fn new(holder: impl Send + Sync + 'static) -> BootstrapLock {
        BootstrapLock(Box::new(holder))
    }
}

/// A signing key as the database holds it: the private half only sealed.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// When a newer key took over signing.
    pub retired_at: Option<DateTime<Utc>>,
    /// In the JWKS: not retired, or a credential it signed has not expired yet.
    pub published: bool,
}

/// A signing key to store.
pub struct NewSigningKey<'a> {
    pub kid: &'a str,
    pub public_key: &'a [u8],
    pub sealed_private_key: &'a [u8],
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
    /// The latest time one of `keys` (`account_key`, `address_key`) is locked until, if
    /// any is locked at `now`.
    async fn login_locked_until(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// Counts a wrong password against its account and address and records it; returns
    /// the lock it set, if any.
    async fn record_failed_password(
        &self,
        attempt: &FailedPassword<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>>;
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
    ) -> StoreResult<Option<SessionUser>>;
    /// The user behind a session, if it is still within its limits, without touching it
    /// (the live feed checks its reader's session this way).
    async fn session_user_untouched(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        limits: SessionLimits,
    ) -> StoreResult<Option<SessionUser>>;
    /// A user sets a new password (the current one was checked by the caller); their
    /// other sessions end, `keep_session` goes on. Returns how many ended.
    async fn change_password(
        &self,
        user: &UserView,
        password_hash: &str,
        keep_session: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// An admin sets a temporary password for someone else, to be changed at next
    /// sign-in; all their sessions end. Another admin's only where `four_eyes` is waived.
    async fn reset_password(
        &self,
        actor: &UserView,
        user_id: i64,
        password_hash: &str,
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Ends a session; the identity provider its user signs in through, if any.
    async fn close_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>>;
    /// Adds grants' counted uses (`service::usage::add`).
    async fn add_usage(
        &self,
        tallies: &[(i64, stint_core::api::GrantUsageView)],
    ) -> StoreResult<()>;
    /// The identity provider a user signs in through, if any.
    async fn sso_provider_of(&self, user_id: i64) -> StoreResult<Option<String>>;
    /// Records a sign-in started at an identity provider (`service::oidc::start`).
    async fn start_sso(
        &self,
        flow_hash: &str,
        started: &crate::store::port::StartedSignIn,
    ) -> StoreResult<()>;
    /// Whether a sign-in is under way under `flow_hash` (`service::oidc::under_way`).
    async fn sso_under_way(
        &self,
        flow_hash: &str,
        provider: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Finishes a sign-in with the provider's answer (`service::oidc::finish`).
    async fn finish_sso(
        &self,
        flow_hash: &str,
        provider: &str,
        answer: &crate::service::oidc::Answer<'_>,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<crate::service::oidc::SignIn>;
    async fn record_sso_refusal(
        &self,
        provider: &str,
        refusal: &crate::service::oidc::Refusal<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

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
    /// How the resource's grants that ended in the last 90 days were used.
    async fn resource_usage(&self, id: i64, now: DateTime<Utc>) -> StoreResult<UsageSignals>;

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
    /// An admin confirms someone else's takeover of an orphaned identity.
    async fn confirm_takeover(
        &self,
        actor: &UserView,
        identity_id: i64,
        declaration_id: i64,
        now: DateTime<Utc>,
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
    /// Roles beyond asking wait for a second admin unless `four_eyes` is waived.
    async fn create_user(
        &self,
        actor: Option<&UserView>,
        user: &NewUser<'_>,
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<Saved>;
    /// Disabling a user ends their sessions; granting a role beyond asking, or enabling
    /// them, waits for a second admin unless `four_eyes` is waived.
    async fn update_user(
        &self,
        actor: &UserView,
        id: i64,
        body: &UserUpdateBody,
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<Saved>;
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
    /// `connectors` are those the broker loaded, which a resource may be linked to.
    /// Break-glass or auto-approval waits for a second admin unless `four_eyes` is waived.
    async fn create_resource(
        &self,
        actor: Option<&UserView>,
        body: &ResourceBody,
        connectors: &[ConnectorView],
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<Saved>;
    /// Takes effect for new requests only; a change that widens access waits for a second
    /// admin unless `four_eyes` is waived.
    async fn update_resource(
        &self,
        actor: &UserView,
        id: i64,
        body: &ResourceBody,
        connectors: &[ConnectorView],
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<Saved>;

    // --- four eyes (admins and auditors read; admins decide) ---
    async fn proposals(
        &self,
        viewer: &UserView,
        state: Option<stint_core::four_eyes::ProposalState>,
    ) -> StoreResult<Vec<stint_core::four_eyes::ProposalView>>;
    async fn proposal(
        &self,
        viewer: &UserView,
        id: i64,
    ) -> StoreResult<stint_core::four_eyes::ProposalView>;
    /// Pending proposals `viewer` could approve now (0 for anyone but an admin).
    async fn proposals_awaiting(&self, viewer: &UserView) -> StoreResult<u32>;
    async fn approve_proposal(
        &self,
        actor: &UserView,
        id: i64,
        connectors: &[ConnectorView],
        now: DateTime<Utc>,
    ) -> StoreResult<stint_core::four_eyes::ProposalView>;
    /// Rejected by another admin; withdrawn by its proposer.
    async fn reject_proposal(
        &self,
        actor: &UserView,
        id: i64,
        body: &stint_core::four_eyes::RejectBody,
        now: DateTime<Utc>,
    ) -> StoreResult<stint_core::four_eyes::ProposalView>;

    // --- requests ---
    async fn file_request(
        &self,
        actor: &UserView,
        body: &NewRequestBody,
        now: DateTime<Utc>,
        pending_ttl: Duration,
    ) -> StoreResult<i64>;
    /// The holder asks to extend a live grant (`service::extensions::request`); the new
    /// request's id.
    async fn request_extension(
        &self,
        actor: &UserView,
        grant_id: i64,
        body: &ExtendBody,
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
    /// Identities the viewer is an accountable owner of now.
    async fn identities_owned(&self, viewer: &UserView, now: DateTime<Utc>) -> StoreResult<u32>;

    // --- grants and credentials ---
    /// Soonest to end first, at most `filter.limit`.
    async fn grants(
        &self,
        viewer: &UserView,
        filter: &GrantFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<GrantView>>;
    async fn grant(&self, viewer: &UserView, id: i64, now: DateTime<Utc>)
    -> StoreResult<GrantView>;
    /// With a connector's login details when the grant's resource has one (`connectors`
    /// sets them).
    async fn issue_credential(
        &self,
        actor: &UserView,
        grant_id: i64,
        now: DateTime<Utc>,
        keyring: &Keyring,
        connectors: &Connectors,
    ) -> StoreResult<CredentialView>;
    async fn revoke(
        &self,
        actor: &UserView,
        grant_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The holder ends their live grant: the task is over.
    async fn release(
        &self,
        actor: &UserView,
        grant_id: i64,
        body: &ReleaseBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    // --- identities speaking for themselves ---
    /// Mints an API token for an identity (its owners or an admin); shown once.
    async fn mint_identity_token(
        &self,
        actor: &UserView,
        identity_id: i64,
        body: &NewIdentityTokenBody,
        now: DateTime<Utc>,
    ) -> StoreResult<IssuedIdentityToken>;
    async fn identity_tokens(
        &self,
        viewer: &UserView,
        identity_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<IdentityTokenView>>;
    async fn revoke_identity_token(
        &self,
        actor: &UserView,
        identity_id: i64,
        token_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The identity a Bearer token lets in at `now`, as its principal.
    async fn token_caller(&self, token: &str, now: DateTime<Utc>) -> StoreResult<Option<UserView>>;

    // --- workload federation ---
    async fn register_issuer(
        &self,
        actor: &UserView,
        body: &IssuerBody,
        now: DateTime<Utc>,
    ) -> StoreResult<IssuerView>;
    async fn issuers(&self, viewer: &UserView) -> StoreResult<Vec<IssuerView>>;
    async fn identity_federation_rules(
        &self,
        viewer: &UserView,
        identity_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<IdentityRuleView>>;
    /// The issuer registered for a token's `iss`.
    async fn federation_issuer(&self, iss: &str) -> StoreResult<Option<port::IssuerRecord>>;
    /// Exchanges a verified token's claims for an access token (`service::federation`).
    async fn exchange_token(
        &self,
        issuer: &port::IssuerRecord,
        claims: &BTreeMap<String, String>,
        lifetime_secs: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<ExchangedToken, Refusal>>;
    async fn record_federation_refusal(
        &self,
        issuer: &port::IssuerRecord,
        refusal: &Refusal,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// RFC 7662 for a signed-in person: they learn only of grants they may see; anything
    /// else is just inactive.
    async fn introspect(
        &self,
        viewer: &UserView,
        token_hash: &str,
        now: DateTime<Utc>,
        issuer: &str,
    ) -> StoreResult<IntrospectView>;
    /// RFC 7662 for the resource server whose introspection secret hashes to `secret_hash`:
    /// it learns only of tokens for itself. It and the token are found in one query
    /// (introspection is on the path of every downstream call); `None` when no resource
    /// has that secret.
    async fn introspect_as_resource(
        &self,
        secret_hash: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        issuer: &str,
    ) -> StoreResult<Option<Introspected>>;
    /// Gives a resource new introspection credentials (the old secret stops working).
    async fn set_introspection_secret(
        &self,
        actor: &UserView,
        resource_id: i64,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<String>;

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

    // --- oversight of live access ---
    /// Every grant live now that `filter` matches (admins and auditors).
    /// Lists at most `shown` grants (the soonest to end); the counts cover all.
    async fn live_access(
        &self,
        viewer: &UserView,
        filter: &stint_core::oversight::LiveAccessFilter,
        shown: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<stint_core::oversight::LiveAccessView>;
    /// Ends the grants `body` names or its filter matches (`service::oversight`).
    async fn bulk_revoke(
        &self,
        actor: &UserView,
        body: &stint_core::oversight::BulkRevokeBody,
        now: DateTime<Utc>,
    ) -> StoreResult<stint_core::oversight::BulkRevokeOutcome>;

    // --- access review campaigns ---
    async fn start_campaign(
        &self,
        actor: &UserView,
        body: &stint_core::campaigns::NewCampaignBody,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Newest first: every campaign for admins and auditors, those with an item of theirs
    /// for anyone else.
    async fn campaigns(
        &self,
        viewer: &UserView,
    ) -> StoreResult<Vec<stint_core::campaigns::CampaignView>>;
    async fn campaign(
        &self,
        viewer: &UserView,
        id: i64,
    ) -> StoreResult<stint_core::campaigns::CampaignDetail>;
    async fn decide_campaign_item(
        &self,
        actor: &UserView,
        campaign_id: i64,
        item_id: i64,
        body: &stint_core::campaigns::DecisionBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn close_campaign(
        &self,
        actor: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    // --- the audit trail ---
    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEventView>>;
    /// Walks the chain, then holds it against every stored checkpoint and every copy of
    /// one kept `outside` the database, whose signatures one of `trusted` must have made.
    async fn verify_audit(
        &self,
        trusted: &TrustedKeys,
        outside: &[AuditCheckpoint],
    ) -> StoreResult<AuditVerification>;
    /// The evidence report's facts for `[since, until)`, in one snapshot with the chain's
    /// verification against `trusted` keys.
    async fn evidence_facts(
        &self,
        trusted: &TrustedKeys,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<stint_core::evidence::facts::Facts>;
    /// The last event's sequence number and hash (0 and the genesis hash when empty).
    async fn audit_head(&self) -> StoreResult<(i64, String)>;
    /// Stores the checkpoint unless one of this head or a later one is already stored
    /// (replicas checkpoint the one chain): whether it was.
    async fn append_checkpoint(&self, checkpoint: &AuditCheckpoint) -> StoreResult<bool>;
    /// Newest first.
    async fn checkpoints(&self, limit: u32) -> StoreResult<Vec<AuditCheckpoint>>;
    /// Up to `limit` changes the live feed streams after `after_seq`, oldest first, each
    /// with who may hear of it at `now`, and how far the trail was read.
    async fn live_events(
        &self,
        after_seq: i64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<LiveBatch>;

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
    /// When the first active grant expires or scheduled grant starts, if any: the sweeper
    /// wakes for it.
    async fn next_grant_change(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Leases up to `limit` connector steps due by `due_by` until `now + lease`
    /// (`service::connectors::claim`).
    async fn claim_connector_jobs(
        &self,
        connectors: &Connectors,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ConnectorJob>>;
    async fn connector_step_succeeded(
        &self,
        job: &ConnectorJob,
        revoked: Option<&Revoked>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// When the step is tried again.
    async fn connector_step_failed(
        &self,
        job: &ConnectorJob,
        error: &str,
        policy: &RetryPolicy,
        jitter: f64,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>>;
    /// Makes every open connector step due at `now`, whatever its backoff: a broker
    /// starting retries them all before it serves.
    async fn retry_connector_steps_now(&self, now: DateTime<Utc>) -> StoreResult<()>;
    /// When the next connector step falls due, if one is open.
    async fn next_connector_step_at(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// The connectors named by a resource or an unfinished step: a broker must load them.
    async fn connectors_in_use(&self) -> StoreResult<Vec<String>>;

    // --- notifications (`crate::notify`) ---
    /// Adds a sink (admins only; its variables checked in this broker's environment).
    async fn add_notification_sink(
        &self,
        actor: &UserView,
        body: &NewSinkBody,
        variables: &crate::config::Variables,
        alert_after: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<SinkView>;
    async fn remove_notification_sink(
        &self,
        actor: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The sinks, by name (admins and auditors).
    async fn notification_sinks(
        &self,
        viewer: &UserView,
        alert_after: i64,
    ) -> StoreResult<Vec<SinkView>>;
    /// A sink's newest deliveries with their attempts.
    async fn notification_deliveries(
        &self,
        viewer: &UserView,
        sink_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryView>>;
    /// Whether events wait to be fanned out to sinks.
    async fn notifications_to_fan_out(&self) -> StoreResult<bool>;
    /// Fans out up to `limit` events (`service::notifications::fan_out`).
    async fn fan_out_notifications(
        &self,
        public_url: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<(u32, bool)>;
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<port::DeliveryJob>>;
    async fn delivery_attempted(
        &self,
        job: &port::DeliveryJob,
        result: Result<u16, crate::outbound::PostError>,
        policy: &RetryPolicy,
        jitter: f64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// When the next delivery falls due, if one is open.
    async fn next_delivery_at(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// What `/metrics` reports of the shared state at `now`, in one statement.
    async fn ops_facts(&self, now: DateTime<Utc>) -> StoreResult<OpsFacts>;
    /// The events `viewer` may be named in, and which they want.
    async fn notification_choices(&self, viewer: &UserView)
    -> StoreResult<Vec<NotificationChoice>>;
    async fn set_notification_choices(
        &self,
        actor: &UserView,
        body: &MutesBody,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<NotificationChoice>>;
    /// Every signing key, newest first; `published` as of `now`.
    async fn signing_keys(&self, now: DateTime<Utc>) -> StoreResult<Vec<StoredKey>>;
    /// Adds a key. With `rotate` it takes over signing and the others retire; without, it
    /// is added only if there is no key yet (false: another process added one first).
    async fn add_signing_key(
        &self,
        key: &NewSigningKey<'_>,
        rotate: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Keys a broker before key custody stored in the clear: id, PKCS#8 DER, created at.
    async fn legacy_signing_keys(
        &self,
    ) -> StoreResult<Vec<(String, Zeroizing<Vec<u8>>, DateTime<Utc>)>>;
    /// Stores a legacy key in its sealed form and erases the clear one.
    async fn seal_legacy_key(
        &self,
        key: &NewSigningKey<'_>,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Whether nothing was ever created (the demo seeds only an empty database).
    async fn is_empty(&self) -> StoreResult<bool>;
    /// Held while a broker checks for and seeds an empty database, so that replicas
    /// starting together on one database seed it once. Dropping it lets the next one in.
    async fn bootstrap_lock(&self) -> StoreResult<BootstrapLock>;

    /// The runtime a whole state-changing call is best run on, if the backend has one
    /// (SQLite's pinned writer thread); `None` to run it where it arrived.
    fn write_runtime(&self) -> Option<tokio::runtime::Handle>;

    /// Writes a consistent copy of the whole database, as of one moment, to the new file
    /// `path` while brokers go on using it (SQLite's `VACUUM INTO`). PostgreSQL has its
    /// own tools (`pg_dump`): there it is a configuration error saying so.
    async fn backup_into(&self, path: &std::path::Path) -> StoreResult<()>;
}
