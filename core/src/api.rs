//! The JSON shapes of the broker's HTTP API (v1), shared by the broker and the portal.

use crate::connectors::{GrantAccessView, PostgresAccess};
use crate::model::{Approvers, IdentityKind, Policy, ReviewOutcome, ReviewStatus, Role};
use crate::ownership::{DeclarationEnd, OwnershipStatus};
use crate::rules::{Justification, UserId};
use crate::state::{GrantState, RequestState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The header every state-changing browser call carries. Cross-site pages cannot set a
/// custom header without a CORS preflight, which the broker never grants.
pub const CSRF_HEADER: &str = "x-stint-csrf";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Set when the caller is a non-human identity speaking for itself (with its own
    /// token): it then holds no role and acts only for this identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<i64>,
    /// For an identity, what let it in: `token NAME` or `issuer NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// For an identity, who vouched for that credential (minted the token, registered the
    /// issuer): they may not decide what it asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vouched_by: Option<UserId>,
}

impl UserView {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether they hold one of `set` (see `crate::visibility`).
    pub fn has_any(&self, set: &[Role]) -> bool {
        crate::visibility::any_of(&self.roles, set)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub user: UserView,
    /// An admin reset the password: it must be changed before anything else.
    #[serde(default)]
    pub must_change_password: bool,
}

/// The signed-in user and what waits for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeView {
    pub user: UserView,
    /// An admin reset the password: nothing else works until the user picks a new one.
    #[serde(default)]
    pub must_change_password: bool,
    /// Pending requests this user may approve now.
    pub approvals_waiting: u32,
    /// Undecided break-glass reviews this user may judge, and how many of them are overdue.
    pub reviews_waiting: u32,
    pub reviews_overdue: u32,
    /// Identities this user is an accountable owner of now: only owners ask for access.
    #[serde(default)]
    pub identities_owned: u32,
    /// Items of open access reviews waiting for this user's answer.
    #[serde(default)]
    pub campaign_items_waiting: u32,
    /// Changes that widen access, proposed by another admin, this admin may approve.
    #[serde(default)]
    pub proposals_waiting: u32,
    /// The installation runs with one admin (`--single-admin`): changes that widen access
    /// apply without a second admin's approval.
    #[serde(default)]
    pub single_admin: bool,
    /// The identity provider this user signs in through, when not with a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signs_in_with: Option<crate::oidc::ProviderView>,
}

/// A reference to another record, with the name a person reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamedRef {
    pub id: i64,
    pub name: String,
}

impl NamedRef {
    pub fn new(id: i64, name: impl Into<String>) -> Self {
        NamedRef {
            id,
            name: name.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnerView {
    pub user: NamedRef,
    pub statement: String,
    pub attest_until: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Identity))]
pub struct IdentityView {
    pub id: i64,
    pub name: String,
    pub kind: IdentityKind,
    pub description: String,
    pub environment: String,
    pub owners: Vec<OwnerView>,
    /// Whether the signed-in user is a current owner (and so may request for it).
    pub owned_by_me: bool,
    /// Break-glass accesses for this identity that reviewers judged unjustified: a flag on
    /// its history.
    pub unjustified_break_glass: u32,
    pub status: OwnershipStatus,
    /// Its grants live now or scheduled to start.
    pub active_grants: u32,
}

/// An identity with its whole ownership history and its live access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityDetail {
    #[serde(flatten)]
    pub identity: IdentityView,
    /// Every declaration ever made, newest first.
    pub declarations: Vec<DeclarationView>,
    /// Its live grants, then those scheduled to start (their count is
    /// `identity.active_grants`).
    pub live_grants: Vec<GrantView>,
    /// The furthest re-attestation date a declaration made now may carry.
    pub latest_attest_until: DateTime<Utc>,
    /// Static secrets mapped to it: access outside the JIT path (unresolved first).
    pub standing: Vec<crate::standing::StandingView>,
    /// How its grants that ended lately were used.
    #[serde(default)]
    pub usage: Option<crate::usage::UsageSignals>,
}

/// One declaration of accountability, current or ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeclarationView {
    pub id: i64,
    pub user: NamedRef,
    pub statement: String,
    pub declared_at: DateTime<Utc>,
    pub attest_until: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end: Option<DeclarationEnd>,
    /// Why its owner stepped down.
    pub end_reason: Option<String>,
    /// A takeover of an orphaned identity that no admin has confirmed yet: its owner may
    /// file requests, not take break-glass.
    #[serde(default)]
    pub awaiting_confirmation: bool,
    /// The admin who confirmed this takeover.
    #[serde(default)]
    pub confirmed_by: Option<NamedRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeclareBody {
    pub statement: String,
    pub attest_until: DateTime<Utc>,
}

/// `PUT /api/v1/me/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChangeBody {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /api/v1/users/{id}/password`: a temporary password, to be changed at next sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetBody {
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepDownBody {
    pub reason: String,
}

/// An identity as an admin creates or edits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityBody {
    pub name: String,
    pub kind: IdentityKind,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub environment: String,
}

/// A resource and its policy as an admin creates or edits them. Named approvers are read
/// by id; their names are the broker's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceBody {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub privileges: Vec<String>,
    pub policy: Policy,
    /// The connector (from the broker's connectors file) that makes this resource's
    /// grants real in the downstream system, if any.
    #[serde(default)]
    pub connector: Option<String>,
}

/// A user as admins manage them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserAdminView {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUserBody {
    pub username: String,
    pub display_name: String,
    /// The first password; the user should change it.
    pub password: String,
    #[serde(default)]
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserUpdateBody {
    pub display_name: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Resource))]
pub struct ResourceView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub privileges: Vec<String>,
    pub policy: Policy,
    /// Who may approve a request for it now, by the policy and users' roles.
    pub approver_pool: Vec<NamedRef>,
    /// When its introspection credentials were last set, if ever.
    #[serde(default)]
    pub introspection_secret_at: Option<DateTime<Utc>>,
    /// The connector that makes its grants real downstream, if any.
    #[serde(default)]
    pub connector: Option<String>,
    /// How its grants that ended lately were used: in `GET /api/v1/resources/{id}`, for
    /// those who see all access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<crate::usage::UsageSignals>,
}

/// A resource's client credentials for `POST /api/v1/introspect` (HTTP Basic, RFC 7662
/// §2.1), shown once: only a hash of the secret is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntrospectionCredentialsView {
    pub client_id: String,
    pub client_secret: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "identity_id": 1,
    "resource_id": 1,
    "privilege": "read",
    "duration_secs": 3600,
    "justification": {"task": "Backfill last night's failed invoice run", "ticket": "OPS-1234"}
})))]
pub struct NewRequestBody {
    pub identity_id: i64,
    pub resource_id: i64,
    pub privilege: String,
    pub duration_secs: i64,
    pub justification: Justification,
    /// When the access should start (a change window), at most 30 days ahead; absent:
    /// when the request is approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/grants/{id}/extend`: the holder asks for more time on a live grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtendBody {
    pub duration_secs: i64,
    pub justification: Justification,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApproveBody {
    #[serde(default)]
    pub comment: Option<String>,
    /// A shorter duration than requested; never longer.
    #[serde(default)]
    pub duration_secs: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DenyBody {
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeBody {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalView {
    pub approver: NamedRef,
    pub duration_secs: i64,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestView {
    pub id: i64,
    pub state: RequestState,
    pub identity: NamedRef,
    pub resource: NamedRef,
    pub privilege: String,
    pub duration_secs: i64,
    pub justification: Justification,
    pub requester: NamedRef,
    pub created_at: DateTime<Utc>,
    /// When a still-pending request expires undecided.
    pub pending_expires_at: DateTime<Utc>,
    /// The policy's approval count and approvers when the request was filed.
    pub approvals_required: u32,
    pub approvers: Approvers,
    pub approvals: Vec<ApprovalView>,
    /// Who may still give one of the approvals it needs (pending requests only). Fewer
    /// than the approvals missing: it can never pass as the policy stands.
    #[serde(default)]
    pub eligible_approvers: Vec<NamedRef>,
    /// The comment of a denial.
    pub decision_comment: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub grant_id: Option<i64>,
    /// Taken by break-glass: granted at once, reviewed afterwards.
    pub break_glass: bool,
    /// Approved by the broker under the resource's auto-approval rule.
    pub auto_approved: bool,
    /// Whether the signed-in user may approve or deny it now.
    pub can_decide: bool,
    /// Mapped standing credentials that already give this identity access to this
    /// resource outside the JIT path: an approver should know before granting more.
    pub standing_paths: u32,
    /// The start of the change window asked for; `None`: access starts on approval.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// The live grant this request asks to extend (by `duration_secs`), if it does.
    #[serde(default)]
    pub extends_grant_id: Option<i64>,
}

impl RequestView {
    /// Approvals still missing before the request passes.
    pub fn approvals_missing(&self) -> u32 {
        self.approvals_required
            .saturating_sub(self.approvals.len() as u32)
    }

    /// A pending request that too few people may still approve: it will expire undecided
    /// unless an admin widens the policy.
    pub fn cannot_pass(&self) -> bool {
        self.state == RequestState::Pending
            && !self.break_glass
            && (self.eligible_approvers.len() as u32) < self.approvals_missing()
    }
}

/// A request with everything that happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestView,
    pub grant: Option<GrantView>,
    pub timeline: Vec<AuditEventView>,
    /// What bears on deciding it, while it waits for a decision.
    #[serde(default)]
    pub context: Option<crate::context::ApproverContext>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantView {
    pub id: i64,
    pub request_id: i64,
    pub state: GrantState,
    pub identity: NamedRef,
    pub resource: NamedRef,
    pub privilege: String,
    /// The task the access was asked for, which tells two grants of the same access apart.
    #[serde(default)]
    pub task: String,
    /// The person who asked for the access.
    pub holder: NamedRef,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    pub break_glass: bool,
    /// The review of a break-glass grant.
    pub review_id: Option<i64>,
    /// Nobody answers for the identity any more: an admin should decide about this access.
    pub identity_orphaned: bool,
    /// Whether the signed-in user may fetch a credential / revoke it.
    pub can_fetch_credential: bool,
    pub can_revoke: bool,
    /// What a connector made for the grant downstream, and where that stands.
    #[serde(default)]
    pub access: Option<GrantAccessView>,
    /// How the grant was used; `None`: never (as far as was counted).
    #[serde(default)]
    pub usage: Option<GrantUsageView>,
    /// How many approved extensions moved its expiry.
    #[serde(default)]
    pub extensions: u32,
    /// The extension request waiting for approvers, if any.
    #[serde(default)]
    pub pending_extension_id: Option<i64>,
    /// The longest extension the signed-in user may ask for now; `0`: they may not
    /// (not the holder, not live, already waiting, or the policy's total is reached).
    #[serde(default)]
    pub extendable_secs: i64,
}

/// How a grant was used: its token introspected by its resource's servers, credentials
/// fetched by its holder. Counted without keeping any token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantUsageView {
    pub introspections: i64,
    pub credential_fetches: i64,
    pub first_used_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// Where the last use came from (the caller's address), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_address: Option<String>,
}

impl GrantUsageView {
    /// Every counted use.
    pub fn uses(&self) -> i64 {
        self.introspections + self.credential_fetches
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialView {
    pub token: String,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
    /// Login details of the grant's temporary PostgreSQL role, when its resource has a
    /// PostgreSQL connector: a new password with every fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresAccess>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntrospectBody {
    pub token: String,
}

/// RFC 7662 token introspection; inactive tokens say nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntrospectView {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl IntrospectView {
    pub fn inactive() -> Self {
        IntrospectView {
            active: false,
            iss: None,
            sub: None,
            aud: None,
            scope: None,
            exp: None,
            jti: None,
        }
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEventView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// A user's name, or `stint` for the broker itself.
    pub actor: String,
    /// The user's id (absent for the broker and anonymous callers): names can be reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
    /// Where the call that made it came from, when it came over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// The result of walking the audit chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerification {
    pub ok: bool,
    /// Events that verified.
    pub count: i64,
    /// The last event that verified, and its hash.
    pub head_seq: i64,
    pub head_hash: String,
    /// The first event that does not verify, and why.
    pub first_bad_seq: Option<i64>,
    pub reason: Option<String>,
}

/// A signed statement of the audit chain's head at a moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditCheckpoint {
    pub at: DateTime<Utc>,
    pub head_seq: i64,
    pub head_hash: String,
    /// The signing key's id in the JWKS.
    pub kid: String,
    /// base64url Ed25519 signature over `stint-audit-checkpoint\n{head_seq}\n{head_hash}\n{at, RFC 3339}`.
    pub signature: String,
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    /// The input field at fault, when there is one (e.g. `duration_secs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// One page of a list, newest first; pass `next_cursor` as `cursor` for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakGlassBody {
    pub identity_id: i64,
    pub resource_id: i64,
    pub privilege: String,
    pub duration_secs: i64,
    pub justification: Justification,
    /// The taker's password again: break-glass is never one stray click.
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewBody {
    pub outcome: ReviewOutcome,
    #[serde(default)]
    pub notes: String,
    /// With an `unjustified` verdict: revoke the access now, in the same step.
    #[serde(default)]
    pub end_access: bool,
}

/// The post-hoc review of one break-glass access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewView {
    pub id: i64,
    pub status: ReviewStatus,
    pub outcome: Option<ReviewOutcome>,
    pub notes: Option<String>,
    pub taker: NamedRef,
    pub identity: NamedRef,
    pub resource: NamedRef,
    pub privilege: String,
    pub justification: Justification,
    pub request_id: i64,
    pub grant_id: i64,
    pub grant_state: GrantState,
    pub started_at: DateTime<Utc>,
    /// When the access ended, or will end.
    pub ends_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub reviewer: Option<NamedRef>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Whether the signed-in user may judge it now.
    pub can_review: bool,
}

/// A credential issued under a grant: its id and lifetime, never the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedCredentialView {
    pub jti: String,
    pub issued_to: NamedRef,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A review with the whole story of the access it judges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewDetail {
    #[serde(flatten)]
    pub review: ReviewView,
    pub credentials: Vec<IssuedCredentialView>,
    pub timeline: Vec<AuditEventView>,
}

/// `POST /api/v1/identities/{id}/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewIdentityTokenBody {
    pub name: String,
    pub expires_in_secs: i64,
}

/// A freshly minted identity token: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedIdentityToken {
    pub id: i64,
    pub name: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// An identity token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityTokenView {
    pub id: i64,
    pub name: String,
    pub created_by: NamedRef,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<NamedRef>,
}

/// `POST /api/v1/grants/{id}/release`: the holder's task is over.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseBody {
    pub outcome: crate::machine::ReleaseOutcome,
    #[serde(default)]
    pub note: Option<String>,
}
