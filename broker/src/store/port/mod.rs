//! The storage port: what a use case in `crate::service` reads and writes inside one
//! transaction, as small per-domain traits over backend-neutral records. Each backend
//! implements them on its own connection type (`sqlite/`, and PostgreSQL next), so the
//! security-critical sequence of a use case — read, decide with `stint_core`, write, append
//! the audit event — is written once, in the service, for every backend.
//!
//! Each backend's SQL is the one module `sql/` (compiled for SQLite and for PostgreSQL);
//! the read views behind the `Store` façade live there too, beside these rows.

mod campaigns;
mod lifecycle;
mod notifications;
mod oidc;
mod oversight;
mod proposals;

pub use campaigns::*;
pub use lifecycle::*;
pub use notifications::*;
pub use oidc::*;
pub use oversight::*;
pub use proposals::*;

use super::audit::SealedEvent;
use super::{NewSigningKey, StoreResult};
use crate::scan_report::Finding;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::ops::DerefMut;
use stint_core::api::{
    AuditCheckpoint, GrantUsageView, IdentityBody, IdentityTokenView, NamedRef, ResourceBody,
    ResourceView, UserView,
};
use stint_core::federation::{IdentityRuleView, IssuerView};
use stint_core::live::Notice;
use stint_core::rules::{Approval, Decidable, Justification};
use stint_core::standing::{MappingRuleBody, NewStandingBody, SecretSource, StandingStatus};
use stint_core::{Approvers, GrantState, IdentityKind, RequestState, ReviewOutcome, Role};

/// A backend: it opens the transactions use cases run in.
#[async_trait]
pub trait Database: Send + Sync {
    /// A transaction that writes. The backend serialises it against other writers as it
    /// must, so what the use case read still holds when it writes.
    async fn write(&self) -> StoreResult<Box<dyn Tx>>;
    /// A transaction that only reads: it never waits for writers (and is rolled back when
    /// dropped).
    async fn read(&self) -> StoreResult<Box<dyn Tx>>;
    /// A connection outside any transaction, for a use case that reads with one statement
    /// (a statement sees one snapshot): it saves the transaction's own round trips.
    /// Committing it does nothing.
    async fn lookup(&self) -> StoreResult<Box<dyn Tx>>;
    /// A session and its user: the read every signed-in call starts with, so a backend
    /// may answer it without taking a connection from its pool (SQLite reads it on the
    /// calling thread).
    async fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, UserRecord)>>;
    /// What a connector made for a grant (`ConnectorRows::grant_access`), outside any
    /// transaction: every credential fetch asks it before its write, so a backend may
    /// answer it as it answers `session`.
    async fn grant_access(&self, grant_id: i64) -> StoreResult<Option<GrantAccessRecord>>;
}

/// An open transaction: its rows through `Deref`, and its end.
#[async_trait]
pub trait Tx: Send + DerefMut<Target = dyn Rows> {
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// Everything a transaction offers, domain by domain.
pub trait Rows:
    AuditLog
    + AuditTrail
    + AdminRows
    + CatalogRows
    + RequestRows
    + GrantRows
    + ReviewRows
    + OwnershipRows
    + StandingRows
    + SessionRows
    + KeyRows
    + ImportRows
    + TokenRows
    + FederationRows
    + ConnectorRows
    + NoticeRows
    + NotificationRows
    + OidcRows
    + LifecycleRows
    + CampaignRows
    + OversightRows
    + ProposalRows
    + Send
{
}
impl<T> Rows for T where
    T: AuditLog
        + AuditTrail
        + AdminRows
        + CatalogRows
        + RequestRows
        + GrantRows
        + ReviewRows
        + OwnershipRows
        + StandingRows
        + SessionRows
        + KeyRows
        + ImportRows
        + TokenRows
        + FederationRows
        + ConnectorRows
        + NoticeRows
        + NotificationRows
        + OidcRows
        + LifecycleRows
        + CampaignRows
        + OversightRows
        + ProposalRows
        + Send
        + ?Sized
{
}

/// The audit trail's end, where every change's event is appended in the change's
/// transaction. The hash chain itself is computed in `audit`, the same for every backend.
#[async_trait]
pub trait AuditLog {
    /// The last event's sequence number and hash (0 and the genesis hash when empty),
    /// held so that no other transaction appends after it until this one ends.
    async fn audit_head(&mut self) -> StoreResult<(i64, String)>;
    async fn insert_event(&mut self, event: &SealedEvent) -> StoreResult<()>;
    /// Stores a signed checkpoint of the chain's head unless one of that head or a later
    /// one is stored already; whether it was.
    async fn insert_checkpoint(&mut self, checkpoint: &AuditCheckpoint) -> StoreResult<bool>;
}

/// Reading the trail back, as verifying it needs it.
#[async_trait]
pub trait AuditTrail {
    /// Up to `limit` events from `from` on, in order, as one JSON array of arrays (seq, at,
    /// actor_id, actor_name, action, target_kind, target_id, request_id, grant_id, details,
    /// prev_hash, hash, source_ip, user_agent): the database encodes the batch, so one row
    /// crosses into Rust per batch instead of one per event.
    async fn audit_batch(&mut self, from: i64, limit: i64) -> StoreResult<String>;
    /// The stored hash of event `seq`.
    async fn event_hash(&mut self, seq: i64) -> StoreResult<Option<String>>;
    /// Stored checkpoints, newest first.
    async fn checkpoints(&mut self, limit: u32) -> StoreResult<Vec<AuditCheckpoint>>;
}

/// What admins manage: users, and the catalog's identities and resources. A unique name
/// already taken is refused naming the field (`username`, `name`).
#[async_trait]
pub trait AdminRows {
    /// The user; `NotFound` when there is none.
    async fn user(&mut self, id: i64) -> StoreResult<UserRecord>;
    async fn insert_user(&mut self, new: &NewUserRecord<'_>) -> StoreResult<i64>;
    async fn update_user(
        &mut self,
        id: i64,
        display_name: &str,
        roles: &[Role],
        disabled: bool,
    ) -> StoreResult<()>;
    /// Ends every session of the user; how many there were.
    async fn end_sessions_of(&mut self, user_id: i64) -> StoreResult<u64>;
    /// The enabled users holding the approver role, by name: who a policy may name.
    async fn approver_role_holders(&mut self) -> StoreResult<Vec<NamedRef>>;
    /// The enabled users holding `role`, by name.
    async fn role_holders(&mut self, role: Role) -> StoreResult<Vec<NamedRef>>;
    /// Whether an account (a person's or an identity's) has `username`.
    async fn username_taken(&mut self, username: &str) -> StoreResult<bool>;
    /// Whether a resource is named `name`.
    async fn resource_name_taken(&mut self, name: &str) -> StoreResult<bool>;
    async fn identity_body(&mut self, id: i64) -> StoreResult<Option<IdentityBody>>;
    async fn insert_identity(&mut self, body: &IdentityBody, at: DateTime<Utc>)
    -> StoreResult<i64>;
    async fn update_identity(&mut self, id: i64, body: &IdentityBody) -> StoreResult<()>;
    async fn resource(&mut self, id: i64) -> StoreResult<Option<ResourceView>>;
    async fn insert_resource(&mut self, body: &ResourceBody, at: DateTime<Utc>)
    -> StoreResult<i64>;
    async fn update_resource(&mut self, id: i64, body: &ResourceBody) -> StoreResult<()>;
    /// Replaces a resource's introspection secret (its hash); the resource's name, `None`
    /// when there is no such resource.
    async fn set_introspection_secret(
        &mut self,
        resource_id: i64,
        secret_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<String>>;
}

/// A user as administering them needs it.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
    /// An admin reset their password: only changing it is allowed.
    pub must_change_password: bool,
}

impl UserRecord {
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            roles: self.roles.clone(),
            identity_id: None,
            via: None,
            vouched_by: None,
        }
    }
}

/// Identities' principals and API tokens (only their hashes).
#[async_trait]
pub trait TokenRows {
    /// The user row an identity acts as, created (`identity:NAME`, no password, no role)
    /// the first time it is needed.
    async fn identity_principal(
        &mut self,
        identity: &NamedRef,
        at: DateTime<Utc>,
    ) -> StoreResult<i64>;
    async fn insert_identity_token(&mut self, token: &NewIdentityToken<'_>) -> StoreResult<i64>;
    /// An identity's tokens, live ones first, newest first.
    async fn identity_tokens(&mut self, identity_id: i64) -> StoreResult<Vec<IdentityTokenView>>;
    /// Revokes a token of `identity_id` not revoked yet; its name, `None` when there is no
    /// such token.
    async fn revoke_identity_token(
        &mut self,
        identity_id: i64,
        token_id: i64,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<String>>;
    /// Who a token lets in at `now`: not revoked, not expired, and its identity owned by
    /// someone right now (an orphaned identity's tokens stop working until it is owned).
    async fn token_caller(
        &mut self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TokenCaller>>;
    async fn touch_identity_token(&mut self, token_id: i64, at: DateTime<Utc>) -> StoreResult<()>;
}

/// A new identity token, as stored.
pub struct NewIdentityToken<'a> {
    pub identity_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The identity behind a live token.
#[derive(Debug, Clone)]
pub struct TokenCaller {
    /// The API token's id; `None` for an access token from an exchange (not tracked).
    pub token_id: Option<i64>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The identity's principal, acting for it alone.
    pub principal: UserView,
}

/// Trusted workload-token issuers, their rules, and the access tokens exchanges hand out.
#[async_trait]
pub trait FederationRows {
    /// A new issuer; a name or `iss` already registered is refused naming the field.
    async fn insert_issuer(&mut self, issuer: &NewIssuer<'_>) -> StoreResult<i64>;
    async fn insert_federation_rule(
        &mut self,
        issuer_id: i64,
        claims: &BTreeMap<String, String>,
        identity_id: i64,
    ) -> StoreResult<()>;
    /// The issuer registered for a token's `iss`, with its rules in order.
    async fn issuer_by_iss(&mut self, iss: &str) -> StoreResult<Option<IssuerRecord>>;
    async fn issuers(&mut self) -> StoreResult<Vec<IssuerView>>;
    /// The rules that make some issuer's tokens act as `identity_id`.
    async fn identity_rules(&mut self, identity_id: i64) -> StoreResult<Vec<IdentityRuleView>>;
    /// Stores an exchanged access token by its hash, forgetting those expired by `now`.
    async fn insert_exchanged_token(
        &mut self,
        token_hash: &str,
        identity_id: i64,
        issuer_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

pub struct NewIssuer<'a> {
    pub name: &'a str,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub jwks_url: Option<&'a str>,
    /// A JWK Set given inline, as JSON.
    pub jwks: Option<&'a str>,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

/// A registered issuer as an exchange needs it.
#[derive(Debug, Clone)]
pub struct IssuerRecord {
    pub id: i64,
    pub name: String,
    /// The admin who registered it: they vouch for its tokens.
    pub created_by: i64,
    pub issuer: String,
    pub audience: String,
    pub jwks_url: Option<String>,
    pub jwks: Option<String>,
    pub rules: Vec<FederationRule>,
}

#[derive(Debug, Clone)]
pub struct FederationRule {
    pub claims: BTreeMap<String, String>,
    pub identity: NamedRef,
}

/// The signing keys: public halves, and private halves only sealed (see `crate::keys`).
#[async_trait]
pub trait KeyRows {
    async fn any_signing_key(&mut self) -> StoreResult<bool>;
    /// Retires every key still signing, at `at`; their ids.
    async fn retire_signing_keys(&mut self, at: DateTime<Utc>) -> StoreResult<Vec<String>>;
    async fn insert_signing_key(
        &mut self,
        key: &NewSigningKey<'_>,
        created_at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// Sessions, passwords and the sign-in throttle.
#[async_trait]
pub trait SessionRows {
    /// The session with this token hash and its user, if that user is enabled (one query:
    /// every signed-in call starts with it).
    async fn session(
        &mut self,
        token_hash: &str,
    ) -> StoreResult<Option<(SessionRecord, UserRecord)>>;
    async fn insert_session(
        &mut self,
        token_hash: &str,
        user_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Ends the session; whose it was, if there was one.
    async fn delete_session(&mut self, token_hash: &str) -> StoreResult<Option<i64>>;
    async fn touch_session(&mut self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Ends every session of the user but `keep`; how many.
    async fn end_other_sessions(&mut self, user_id: i64, keep: &str) -> StoreResult<u64>;
    /// Sets the user's password hash; `must_change` makes them pick a new one at sign-in.
    /// Their username, `None` when there is no such user.
    async fn set_password(
        &mut self,
        user_id: i64,
        password_hash: &str,
        must_change: bool,
    ) -> StoreResult<Option<String>>;
    /// The failures counted under a throttle key: count, last at, locked until.
    async fn throttle(&mut self, key: &str) -> StoreResult<Option<ThrottleRecord>>;
    async fn put_throttle(&mut self, key: &str, entry: &ThrottleRecord) -> StoreResult<()>;
    /// Forgets a key's failures; how many there were.
    async fn forget_throttle(&mut self, key: &str) -> StoreResult<u32>;
}

/// A session as checking it needs it.
#[derive(Debug, Clone, Copy)]
pub struct SessionRecord {
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Wrong passwords counted under one key (an account, an address).
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRecord {
    pub failures: u32,
    pub last_failure_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// A user to insert, their password already hashed.
pub struct NewUserRecord<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub roles: &'a [Role],
    pub created_at: DateTime<Utc>,
    /// The admin who created the account (`None`: the broker's bootstrap).
    pub created_by: Option<i64>,
}

/// Identities and resources, and who answers for an identity.
#[async_trait]
pub trait CatalogRows {
    /// The identity and resource a request body names, and the identity's owners at
    /// `now`; unknown ids are refused naming the field (`identity_id`, `resource_id`).
    async fn request_target(
        &mut self,
        identity_id: i64,
        resource_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<RequestTarget>;
    /// Whether `user_id` has a current ownership declaration for the identity.
    async fn is_current_owner(
        &mut self,
        identity_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Whether anyone has one.
    async fn has_owner(&mut self, identity_id: i64, now: DateTime<Utc>) -> StoreResult<bool>;
    /// The identity, by name; `NotFound` when there is none.
    async fn identity(&mut self, id: i64) -> StoreResult<NamedRef>;
    /// Whether `user_id` took the identity over from orphaned and no admin has confirmed it,
    /// nor (when set) has `wait` passed since.
    async fn takeover_unconfirmed(
        &mut self,
        identity_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
        wait: Option<chrono::Duration>,
    ) -> StoreResult<bool>;
}

/// Requests and their approvals.
#[async_trait]
pub trait RequestRows {
    /// The request as it stands; `NotFound` when there is none.
    async fn request(&mut self, id: i64) -> StoreResult<RequestRecord>;
    /// Whether `viewer` may see the request at all: what they may not see does not exist
    /// for them.
    async fn may_see_request(&mut self, viewer: &UserView, id: i64) -> StoreResult<bool>;
    /// The request as it stands and its approvals, oldest first (read together: deciding
    /// a request needs both).
    async fn request_with_approvals(
        &mut self,
        id: i64,
    ) -> StoreResult<(RequestRecord, Vec<Approval>)>;
    async fn insert_request(&mut self, new: &NewRequestRecord<'_>) -> StoreResult<i64>;
    /// Up to `limit` pending requests whose time to be decided is up at `now`, claimed for
    /// this transaction: another broker sweeping at once skips them.
    async fn due_requests(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<RequestRecord>>;
    /// How many times `requester_id` took break-glass access for the identity since `since`.
    async fn break_glass_uses(
        &mut self,
        requester_id: i64,
        identity_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<u32>;
    async fn insert_approval(
        &mut self,
        request_id: i64,
        approval: &Approval,
        comment: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Moves the request out of `from`. A request no longer in `from` changed meanwhile:
    /// that is a conflict, never a silent second transition.
    async fn set_request_state(
        &mut self,
        id: i64,
        from: RequestState,
        next: RequestState,
        at: DateTime<Utc>,
        comment: Option<&str>,
    ) -> StoreResult<()>;
}

/// Grants and the credentials issued for them.
#[async_trait]
pub trait GrantRows {
    /// The grant as it stands; `NotFound` when there is none.
    async fn grant(&mut self, id: i64) -> StoreResult<GrantRecord>;
    /// Up to `limit` live grants whose expiry has passed at `now`, soonest first, claimed
    /// for this transaction: another broker sweeping at once skips them.
    async fn due_grants(&mut self, now: DateTime<Utc>, limit: u32)
    -> StoreResult<Vec<GrantRecord>>;
    /// Whether anything is due for the sweeper at `now`: a grant, a pending request, an
    /// ownership declaration or a timed notice.
    async fn anything_due(&mut self, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Ends the grant: from `from` (a grant no longer in it changed meanwhile, a conflict)
    /// to `next` at `ended_at`; an early end records its reason and who ended it. Queues
    /// the revocation of whatever a connector made for it.
    async fn end_grant(
        &mut self,
        id: i64,
        from: GrantState,
        next: GrantState,
        ended_at: DateTime<Utc>,
        early: Option<(&str, Option<i64>)>,
    ) -> StoreResult<()>;
    /// Records an issued credential by its hash, never the token, and the fingerprints a
    /// secrets scanner would report it under.
    async fn insert_credential(&mut self, credential: &NewCredential<'_>) -> StoreResult<()>;
    /// Adds uses counted since the last flush to each grant's usage (grant ids distinct).
    async fn add_usage(&mut self, tallies: &[(i64, GrantUsageView)]) -> StoreResult<()>;
    /// Inserts a grant, active or scheduled, from `starts_at` to `expires_at`; its id.
    /// Queues the making of its access, due at its start, when its resource is linked to
    /// a connector.
    async fn insert_grant(
        &mut self,
        grant: &NewGrant<'_>,
        state: GrantState,
        starts_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<i64>;
}

/// A timed notice that is due (`stint_core::live::Notice`), about a grant or a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueNotice {
    pub notice: Notice,
    /// The grant's or review's id.
    pub subject_id: i64,
    pub request_id: i64,
    pub grant_id: i64,
    /// What the notice warns of: the grant's expiry, the review's due time.
    pub deadline: DateTime<Utc>,
}

/// The timed notices of grants and reviews.
#[async_trait]
pub trait NoticeRows {
    /// Up to `limit` notices of each kind due at `now`, claimed for this transaction.
    async fn due_notices(&mut self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DueNotice>>;
    /// Marks the notice given, so it is given once.
    async fn notice_given(&mut self, due: &DueNotice) -> StoreResult<()>;
}

/// Ownership declarations.
#[async_trait]
pub trait OwnershipRows {
    /// The identity's current owners, by name.
    async fn current_owners(
        &mut self,
        identity_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<NamedRef>>;
    /// Its grants live at `now`.
    async fn live_grant_count(&mut self, identity_id: i64, now: DateTime<Utc>) -> StoreResult<u32>;
    /// Ends `user_id`'s current declarations for the identity as renewed at `now`; whether
    /// each was an unconfirmed takeover.
    async fn end_renewed_declarations(
        &mut self,
        identity_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>>;
    /// Ends `user_id`'s current declarations for the identity as stepped down.
    async fn end_stepped_down(
        &mut self,
        identity_id: i64,
        user_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn insert_declaration(&mut self, new: &NewDeclaration<'_>) -> StoreResult<i64>;
    /// A declaration of the identity, as confirming a takeover needs it.
    async fn declaration(
        &mut self,
        identity_id: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DeclarationRecord>>;
    async fn confirm_takeover(&mut self, id: i64, by: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Up to `limit` current declarations not re-attested by `now`, claimed for this
    /// transaction.
    async fn due_declarations(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DueDeclaration>>;
    /// Ends a declaration as lapsed, at its `attest_until`.
    async fn lapse_declaration(&mut self, id: i64) -> StoreResult<()>;
}

/// A declaration to record.
pub struct NewDeclaration<'a> {
    pub identity_id: i64,
    pub user_id: i64,
    pub statement: &'a str,
    pub declared_at: DateTime<Utc>,
    pub attest_until: DateTime<Utc>,
    /// A takeover of an orphaned identity, awaiting an admin's confirmation.
    pub takeover_pending: bool,
}

/// A declaration as confirming a takeover needs it.
#[derive(Debug, Clone)]
pub struct DeclarationRecord {
    pub owner: NamedRef,
    pub takeover_pending: bool,
    /// Neither ended nor lapsed.
    pub current: bool,
}

/// A declaration whose time to re-attest has passed.
#[derive(Debug, Clone)]
pub struct DueDeclaration {
    pub id: i64,
    pub identity: NamedRef,
    pub owner: NamedRef,
    pub attest_until: DateTime<Utc>,
}

/// Standing credentials (secrets that reach a resource outside the JIT path) and the
/// rules that map imported findings.
#[async_trait]
pub trait StandingRows {
    /// A finding as `viewer` may see it (`None`: not, or no such finding).
    async fn visible_standing(
        &mut self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StandingRecord>>;
    /// Records a standing credential made by hand, mapped at once; its id.
    async fn insert_manual_standing(
        &mut self,
        body: &NewStandingBody,
        owner_id: i64,
        created_by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Maps a finding still in `from` to what it reaches, by `by` (not by a rule).
    async fn map_standing(
        &mut self,
        id: i64,
        from: StandingStatus,
        to: &StandingMapping<'_>,
    ) -> StoreResult<()>;
    /// Resolves a finding still in `from` as `next` (false positive, rotated).
    async fn resolve_standing(
        &mut self,
        id: i64,
        from: StandingStatus,
        next: StandingStatus,
        reason: Option<&str>,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn insert_mapping_rule(
        &mut self,
        body: &MappingRuleBody,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Retires a rule in force; false when there is none with this id.
    async fn retire_mapping_rule(&mut self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    async fn user_exists(&mut self, id: i64) -> StoreResult<bool>;
}

/// Importing a scanner's report: findings are staged in short transactions under an
/// import key, then published set-wise in one.
#[async_trait]
pub trait ImportRows {
    /// The mapping rules in force, oldest first: the first that matches maps a finding.
    async fn active_mapping_rules(&mut self) -> StoreResult<Vec<MappingRule>>;
    /// Forgets what imports that never finished (a crash) staged before `before`.
    async fn purge_abandoned_staging(&mut self, before: DateTime<Utc>) -> StoreResult<()>;
    async fn stage_finding(&mut self, staged: &StagedFinding<'_>) -> StoreResult<()>;
    async fn discard_staged(&mut self, import_key: &str) -> StoreResult<()>;
    /// The indexes of staged findings that are credentials Stint issued, in order.
    async fn staged_leaks(&mut self, import_key: &str) -> StoreResult<Vec<usize>>;
    /// Staged findings (leaks aside) already known at their place: seen again now; how many.
    async fn publish_seen_again(&mut self, import: &Import<'_>) -> StoreResult<u32>;
    /// The other staged findings (leaks aside): recorded, mapped by the rule found at
    /// staging while it is still in force; each one's id and whether a rule mapped it.
    async fn publish_new(&mut self, import: &Import<'_>) -> StoreResult<Vec<(i64, bool)>>;
    /// A full scan's earlier findings it did not report: marked not seen; how many.
    async fn mark_not_seen(&mut self, import: &Import<'_>) -> StoreResult<u32>;
    /// The grant whose issued credential has this fingerprint, if Stint issued one.
    async fn issued_grant(&mut self, fingerprint: &str) -> StoreResult<Option<GrantRecord>>;
    /// The finding already known at this place from this tool and source: its id.
    async fn known_finding(
        &mut self,
        import: &Import<'_>,
        finding: &Finding,
    ) -> StoreResult<Option<i64>>;
    async fn mark_seen(&mut self, id: i64, secret_type: &str, at: DateTime<Utc>)
    -> StoreResult<()>;
    /// Records a leaked Stint credential, resolved as such at once; its id.
    async fn insert_leak(
        &mut self,
        import: &Import<'_>,
        finding: &Finding,
        grant: &GrantRecord,
    ) -> StoreResult<i64>;
}

/// One import's facts, as its statements need them.
pub struct Import<'a> {
    pub key: &'a str,
    pub tool: SecretSource,
    pub source: &'a str,
    pub created_by: Option<i64>,
    pub at: DateTime<Utc>,
}

/// A finding staged under an import key, with the rule that matched it then.
pub struct StagedFinding<'a> {
    pub import_key: &'a str,
    pub idx: usize,
    pub finding: &'a Finding,
    pub rule_id: Option<i64>,
    pub at: DateTime<Utc>,
}

/// A mapping rule as matching findings needs it.
#[derive(Debug, Clone)]
pub struct MappingRule {
    pub id: i64,
    pub tool: Option<SecretSource>,
    pub secret_type: Option<String>,
    pub path_pattern: String,
}

impl MappingRule {
    /// Whether this rule maps `finding`, reported by `tool`: the tool (if named), one of
    /// the finding's types (if named, any case) and the path glob all match.
    pub fn matches(&self, tool: SecretSource, finding: &Finding) -> bool {
        let tool_matches = self.tool.is_none_or(|t| t == tool);
        let type_matches = self.secret_type.as_deref().is_none_or(|wanted| {
            finding
                .secret_type
                .split(", ")
                .any(|t| t.eq_ignore_ascii_case(wanted))
        });
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: false,
            require_literal_leading_dot: false,
        };
        let path_matches = glob::Pattern::new(&self.path_pattern)
            .is_ok_and(|p| p.matches_with(&finding.path, options));
        tool_matches && type_matches && path_matches
    }
}

/// A finding as triaging it needs it.
#[derive(Debug, Clone)]
pub struct StandingRecord {
    pub id: i64,
    pub status: StandingStatus,
    pub tool: String,
    pub source: String,
    pub location: String,
    /// The viewer owns the identity it is mapped to now.
    pub viewer_owns: bool,
    /// The viewer mapped it by hand.
    pub viewer_mapped: bool,
}

/// Where a finding is mapped to.
pub struct StandingMapping<'a> {
    pub next: StandingStatus,
    pub identity_id: i64,
    pub resource_id: i64,
    pub privilege: Option<&'a str>,
    pub by: i64,
    pub at: DateTime<Utc>,
}

/// Break-glass reviews.
#[async_trait]
pub trait ReviewRows {
    /// The review as it stands; `NotFound` when there is none.
    async fn review(&mut self, id: i64) -> StoreResult<ReviewRecord>;
    /// Records the verdict; a review decided meanwhile is a conflict.
    async fn decide_review(
        &mut self,
        id: i64,
        outcome: ReviewOutcome,
        notes: Option<&str>,
        reviewer_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Opens the review of a break-glass grant, due at `due_at`; its id.
    async fn insert_review(
        &mut self,
        grant_id: i64,
        request_id: i64,
        taker_id: i64,
        opened_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> StoreResult<i64>;
}

/// A break-glass review as judging it needs it.
#[derive(Debug, Clone)]
pub struct ReviewRecord {
    pub id: i64,
    pub outcome: Option<ReviewOutcome>,
    pub taker: NamedRef,
    pub identity: NamedRef,
    pub request_id: i64,
    pub grant_id: i64,
    pub due_at: DateTime<Utc>,
}

/// What a request names, as a new request needs it.
#[derive(Debug, Clone)]
pub struct RequestTarget {
    pub identity: NamedRef,
    pub identity_kind: IdentityKind,
    /// With its policy as it is now, and its approver pool.
    pub resource: ResourceView,
    /// The users with a current ownership declaration for the identity.
    pub current_owners: Vec<i64>,
}

impl RequestTarget {
    pub fn has_owner(&self) -> bool {
        !self.current_owners.is_empty()
    }

    pub fn owned_by(&self, user_id: i64) -> bool {
        self.current_owners.contains(&user_id)
    }
}

/// How a request came to be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// Decided by approvers.
    Standard,
    /// Approved by the broker under the resource's auto-approval rule.
    AutoApproved,
    /// Taken by break-glass: granted at once, reviewed afterwards.
    BreakGlass,
}

impl RequestKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestKind::Standard => "standard",
            RequestKind::AutoApproved => "auto_approved",
            RequestKind::BreakGlass => "break_glass",
        }
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        [
            RequestKind::Standard,
            RequestKind::AutoApproved,
            RequestKind::BreakGlass,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A request as a decision about it needs it, with the policy it was filed under.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub id: i64,
    pub state: RequestState,
    pub kind: RequestKind,
    pub identity: NamedRef,
    pub resource: NamedRef,
    pub privilege: String,
    pub duration_secs: i64,
    pub requester_id: i64,
    /// The admin who created the requester's account: they may not decide its requests.
    pub requester_created_by: Option<i64>,
    pub approvals_required: u32,
    pub approvers: Approvers,
    /// The identity's owners whose declarations have not ended.
    pub owners: Vec<i64>,
    pub pending_expires_at: DateTime<Utc>,
    /// The start of the change window asked for; `None`: on approval.
    pub starts_at: Option<DateTime<Utc>>,
    /// The grant it asks to extend, if it does.
    pub extends_grant_id: Option<i64>,
}

impl RequestRecord {
    /// The facts `stint_core::rules` decides on, as of `now`.
    pub fn decidable<'a>(&'a self, approvals: &'a [Approval], now: DateTime<Utc>) -> Decidable<'a> {
        Decidable {
            state: self.state,
            requester_id: self.requester_id,
            duration_secs: self.duration_secs,
            approvals_required: self.approvals_required,
            approvers: &self.approvers,
            approvals,
            owners: &self.owners,
            requester_created_by: self.requester_created_by,
            pending_expires_at: self.pending_expires_at,
            now,
        }
    }
}

/// A request to insert: pending, or (break-glass) born approved by nobody.
pub struct NewRequestRecord<'a> {
    pub state: RequestState,
    pub decided_at: Option<DateTime<Utc>>,
    pub identity_id: i64,
    pub resource_id: i64,
    pub privilege: &'a str,
    pub duration_secs: i64,
    pub justification: &'a Justification,
    pub requester_id: i64,
    /// For an identity filing itself, who vouched for its credential.
    pub vouched_by: Option<i64>,
    pub kind: RequestKind,
    /// The policy as it was when filed: later changes do not apply to it.
    pub approvals_required: u32,
    pub max_duration_secs: i64,
    pub approvers: &'a Approvers,
    pub created_at: DateTime<Utc>,
    pub pending_expires_at: DateTime<Utc>,
    pub starts_at: Option<DateTime<Utc>>,
    pub extends_grant_id: Option<i64>,
}

/// A grant as deciding about it needs it.
#[derive(Debug, Clone)]
pub struct GrantRecord {
    pub id: i64,
    pub request_id: i64,
    pub state: GrantState,
    /// `Standard` or `BreakGlass`.
    pub kind: RequestKind,
    pub identity: NamedRef,
    pub resource: NamedRef,
    pub privilege: String,
    pub holder_id: i64,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How it was used, as far as was counted.
    pub usage: Option<GrantUsageView>,
}

impl GrantRecord {
    /// The grant as asking `policy` to extend it needs to see it.
    pub fn extendable(
        &self,
        actor_is_holder: bool,
        pending_extension: Option<i64>,
        policy: &stint_core::Policy,
    ) -> stint_core::lifecycle::Extendable {
        stint_core::lifecycle::Extendable {
            state: self.state,
            starts_at: self.starts_at,
            expires_at: self.expires_at,
            break_glass: self.kind == RequestKind::BreakGlass,
            actor_is_holder,
            pending_extension,
            max_duration_secs: policy.max_duration_secs,
            total_limit_secs: stint_core::lifecycle::total_limit(
                policy.max_duration_secs,
                policy.max_total_secs,
            ),
        }
    }

    /// What its events say about it.
    pub fn details(&self) -> serde_json::Value {
        serde_json::json!({
            "identity": self.identity.name,
            "resource": self.resource.name,
            "privilege": self.privilege,
            "expires_at": self.expires_at,
        })
    }

    /// What the event of its end says: its facts and how it was used (`null`: never, as
    /// far as was counted by then — each broker writes its counts every second). Not the
    /// caller's address: a chained event can never be redacted for those it is not for.
    pub fn end_details(&self) -> serde_json::Value {
        let mut details = self.details();
        let usage = self.usage.clone().map(|mut usage| {
            usage.last_address = None;
            usage
        });
        details["usage"] = serde_json::json!(usage);
        details
    }
}

/// A credential issued for a grant, as stored.
pub struct NewCredential<'a> {
    pub jti: &'a str,
    pub grant_id: i64,
    pub token_hash: &'a str,
    pub fingerprints: &'a [String],
    pub issued_to: i64,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub kid: &'a str,
}

/// What a new grant gives, and to whom.
pub struct NewGrant<'a> {
    pub request_id: i64,
    pub identity_id: i64,
    pub resource_id: i64,
    pub privilege: &'a str,
    pub holder_id: i64,
    /// `Standard` (also for auto-approved requests) or `BreakGlass`.
    pub kind: RequestKind,
}
/// The connectors' outbox (see `crate::connectors`): what a connector made for a grant
/// and the steps still to do. A step is queued with the grant's own change:
/// `GrantRows::insert_grant` queues provisioning when the resource is linked to a
/// connector, `GrantRows::end_grant` the revocation of whatever was made.
#[async_trait]
pub trait ConnectorRows {
    /// Up to `limit` steps due by `due_by` and not under way at `now`, oldest first,
    /// leased to this caller until `lease_until` under `claim`, which only its holder
    /// records outcomes with. A revocation waits for its grant's
    /// provisioning to finish; a provisioning whose grant ended meanwhile is dropped
    /// (its revocation cleans up).
    async fn claim_connector_jobs(
        &mut self,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim: &str,
        limit: u32,
    ) -> StoreResult<Vec<ConnectorJob>>;
    /// Makes every open step due at `now` (not one under way).
    async fn retry_open_steps_now(&mut self, now: DateTime<Utc>) -> StoreResult<()>;
    /// Names the downstream account of a grant, unless it has one.
    async fn name_account(&mut self, grant_id: i64, account: &str) -> StoreResult<()>;
    /// The step succeeded: done, and its fact recorded (a revocation's ended sessions).
    /// False, and nothing written, when the step is no longer the job's claim to record
    /// (its lease ran out and another took it, or it was superseded).
    async fn finish_connector_job(
        &mut self,
        job: &ConnectorJob,
        now: DateTime<Utc>,
        sessions_ended: Option<i64>,
    ) -> StoreResult<bool>;
    /// The step failed with `error`: tried again at `next_attempt_at`; flagged at
    /// `flag_at` when given (and not flagged before). False as `finish_connector_job`.
    async fn fail_connector_job(
        &mut self,
        job: &ConnectorJob,
        error: &str,
        next_attempt_at: DateTime<Utc>,
        flag_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool>;
    /// When the next step falls due (or its lease runs out), if any is open.
    async fn next_connector_job_at(&mut self) -> StoreResult<Option<DateTime<Utc>>>;
    /// The connectors named by a resource or by an unfinished step.
    async fn connectors_in_use(&mut self) -> StoreResult<Vec<String>>;
    /// What a connector made for the grant, if it has one.
    async fn grant_access(&mut self, grant_id: i64) -> StoreResult<Option<GrantAccessRecord>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    Provision,
    /// Move the end of what was made to the grant's new expiry.
    Extend,
    Revoke,
}

impl JobAction {
    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Provision => "provision",
            JobAction::Extend => "extend",
            JobAction::Revoke => "revoke",
        }
    }
}

/// A step of the outbox, with what its connector is told about the grant.
#[derive(Debug, Clone)]
pub struct ConnectorJob {
    pub id: i64,
    /// The lease this attempt holds; outcomes are recorded only under it.
    pub claim: String,
    pub grant_id: i64,
    pub request_id: i64,
    pub action: JobAction,
    /// Failed attempts so far.
    pub attempts: i64,
    /// `grant.revocation_failing` was recorded.
    pub flagged: bool,
    pub connector: String,
    pub account: Option<String>,
    pub identity: String,
    pub resource: String,
    pub privilege: String,
    pub holder: String,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl ConnectorJob {
    /// What its events say about it.
    pub fn details(&self) -> serde_json::Value {
        serde_json::json!({
            "connector": self.connector,
            "account": self.account,
            "identity": self.identity,
            "resource": self.resource,
            "privilege": self.privilege,
        })
    }
}

/// What a connector made for a grant, as a credential fetch needs it.
#[derive(Debug, Clone)]
pub struct GrantAccessRecord {
    pub connector: String,
    pub account: Option<String>,
    pub provisioned: bool,
    pub revoked: bool,
    /// Why the step under way last failed.
    pub last_error: Option<String>,
}
