//! The SQL behind the storage port and the `Store` façade, written once and compiled for
//! each backend: `sqlite/` and `postgres/` each include this module with their own `Conn`,
//! `Db` and `Backend` types and their own dialect macros (the few expressions SQLite and
//! PostgreSQL spell differently: JSON, string aggregation, case-insensitive matching, row
//! claiming). Statements use `$N` parameters, which both accept.
//!
//! How a write is serialised is the backend's: SQLite's `BEGIN IMMEDIATE` and writer
//! queue, PostgreSQL's transaction-scoped lock on the audit chain's head (see each
//! backend's module). The UNIQUE constraints (one approval per approver, one grant per
//! request) are the second line of defence on both.
//!
//! This module holds the `Store` façade (each call a read view or a use case of
//! `crate::service`) and what every submodule shares; `records` the rows views are made
//! from, and the other submodules the port's rows domain by domain.

use super::{Args, Backend, Conn, Db};
use crate::connectors::{Connectors, Revoked};
use crate::credential::{Keyring, TrustedKeys};
use crate::service;
use crate::store::audit;
use crate::store::port::{AuditTrail, Database, ProposalRows, Rows, Tx};
use crate::store::port::{ConnectorJob, DeliveryJob};
use crate::store::port::{GrantAccessRecord, IssuerRecord, SessionRecord, UserRecord};
use crate::store::{
    AuditFilter, BreakGlassLimit, BreakGlassTaken, FailedPassword, FourEyes, GrantFilter,
    Introspected, LiveBatch, LoginCandidate, NewSigningKey, NewUser, RequestFilter, ReviewFilter,
    Saved, SessionLimits, SessionUser, StandingFilter, Store, StoreError, StoreResult, StoredKey,
    SweepReport,
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
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
use stint_core::four_eyes::{ProposalState, ProposalView, RejectBody};
use stint_core::notify::{DeliveryView, MutesBody, NewSinkBody, NotificationChoice, SinkView};
use stint_core::standing::{
    CoverageView, ImportSummary, MappingRuleBody, MappingRuleView, NewStandingBody, StandingView,
    TriageBody,
};
use stint_core::usage::UsageSignals;
use stint_core::visibility;
use stint_core::{GrantState, RequestState, Role};
use zeroize::Zeroizing;

/// How many proposals a list shows, newest first.
const PROPOSALS_LISTED: u32 = 200;

/// Admins decide proposals; auditors read them.
fn see_proposals(viewer: &UserView) -> StoreResult<()> {
    if !viewer.has_any(&[Role::Admin, Role::Auditor]) {
        return Err(stint_core::RuleError::Forbidden(
            "only admins and auditors see proposals".into(),
        )
        .into());
    }
    Ok(())
}

/// Whether `$1` is free to decide request `r`: no current owner of its identity, not the
/// admin who created the requester's account, nor who vouched for the credential an
/// identity filed it with (see `rules::Decidable`).
macro_rules! free_of_conflict {
    () => {
        "NOT EXISTS (SELECT 1 FROM ownerships o WHERE o.identity_id = r.identity_id
                     AND o.user_id = $1 AND o.ended_at IS NULL)
         AND NOT EXISTS (SELECT 1 FROM users ru WHERE ru.id = r.requester_id
                         AND ru.created_by = $1)
         AND (r.vouched_by IS NULL OR r.vouched_by <> $1)"
    };
}

/// A session and its user (`Database::session`): on the calling thread where the backend
/// can, through a pooled connection otherwise.
pub(super) async fn session(
    db: &Backend,
    token_hash: &str,
) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
    if let Some(found) = db.read_inline(|conn| sessions::session_inline(conn, token_hash)) {
        return Ok(found);
    }
    db.lookup().await?.session(token_hash).await
}

/// What a connector made for a grant (`Database::grant_access`): on the calling thread
/// where the backend can, through a pooled connection otherwise.
pub(super) async fn grant_access(
    db: &Backend,
    grant_id: i64,
) -> StoreResult<Option<GrantAccessRecord>> {
    if let Some(found) = db.read_inline(|conn| connectors::grant_access_inline(conn, grant_id)) {
        return Ok(found);
    }
    db.lookup().await?.grant_access(grant_id).await
}

/// A transaction, offered as the port's rows; a writer may hold its turn in the backend's
/// queue of writers until it ends.
pub(super) struct Transaction {
    tx: sqlx::Transaction<'static, Db>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Transaction {
    pub(super) fn boxed(
        tx: sqlx::Transaction<'static, Db>,
        turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) -> Box<dyn Tx> {
        Box::new(Transaction { tx, _turn: turn })
    }
}

impl std::ops::Deref for Transaction {
    type Target = dyn Rows;
    fn deref(&self) -> &(dyn Rows + 'static) {
        &*self.tx
    }
}

impl std::ops::DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut (dyn Rows + 'static) {
        &mut *self.tx
    }
}

#[async_trait]
impl Tx for Transaction {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        Ok(self.tx.commit().await?)
    }
}

/// A pooled connection outside any transaction (`Database::lookup`).
pub(super) struct Connection(sqlx::pool::PoolConnection<Db>);

impl Connection {
    pub(super) fn boxed(conn: sqlx::pool::PoolConnection<Db>) -> Box<dyn Tx> {
        Box::new(Connection(conn))
    }
}

impl std::ops::Deref for Connection {
    type Target = dyn Rows;
    fn deref(&self) -> &(dyn Rows + 'static) {
        &*self.0
    }
}

impl std::ops::DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut (dyn Rows + 'static) {
        &mut *self.0
    }
}

#[async_trait]
impl Tx for Connection {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        Ok(())
    }
}

/// Refuses a database whose schema is not exactly `migrator`'s latest: a store opened only
/// to read neither creates nor migrates anything, so an old or foreign database is an error.
pub(super) async fn check_schema(
    pool: &sqlx::Pool<Db>,
    migrator: &sqlx::migrate::Migrator,
) -> StoreResult<()> {
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .map_err(|_| StoreError::Corrupt("this is not a Stint database".into()))?;
    if applied != migrator.iter().map(|m| m.version).max() {
        return Err(StoreError::Corrupt(
            "this database is from another version of Stint: start `stint serve` on it once \
             to migrate it"
                .into(),
        ));
    }
    Ok(())
}

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(super) fn parse_roles(s: &str) -> Vec<Role> {
    s.split(',').filter_map(Role::parse).collect()
}

pub(super) fn is_privileged_viewer(viewer: &UserView) -> bool {
    viewer.has_any(visibility::SEES_ALL_ACCESS)
}

pub(super) fn parse_state<T>(s: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown state `{s}`")))
}

// The rows and their views; declared here so that its select macros are in scope below
// and in the modules after it.
#[macro_use]
mod records;
use records::*;

/// A `Search` on request `r` (a grant's own request, for grants): its fields bound as
/// `bind_search!` binds them, to the parameters numbered here (identity, resource,
/// requester, since, until, ticket, words).
macro_rules! matches_search {
    ($identity:literal, $resource:literal, $requester:literal, $since:literal, $until:literal,
     $ticket:literal, $words:literal) => {
        concat!(
            " AND ($",
            $identity,
            " IS NULL OR r.identity_id = $",
            $identity,
            ")
              AND ($",
            $resource,
            " IS NULL OR r.resource_id = $",
            $resource,
            ")
              AND ($",
            $requester,
            " IS NULL OR r.requester_id = $",
            $requester,
            ")
              AND ($",
            $since,
            " IS NULL OR r.created_at >= $",
            $since,
            ")
              AND ($",
            $until,
            " IS NULL OR r.created_at < $",
            $until,
            ")
              AND ($",
            $ticket,
            " IS NULL OR LOWER(r.ticket) = LOWER($",
            $ticket,
            "))
              AND NOT EXISTS (SELECT 1 FROM ",
            json_texts!($words),
            " WHERE NOT (r.task || ' ' || COALESCE(r.ticket, '') ",
            ilike!(),
            " value ESCAPE '\\'))"
        )
    };
}

/// Binds a `Search`'s fields, in `matches_search!`'s order, after a query's own.
macro_rules! bind_search {
    ($query:expr, $search:expr) => {{
        let search: &crate::store::Search = $search;
        let words: Vec<String> = search
            .words()
            .map(|w| format!("%{}%", escape_like(w)))
            .collect();
        $query
            .bind(search.identity_id)
            .bind(search.resource_id)
            .bind(search.requester_id)
            .bind(search.since.map(ms))
            .bind(search.until.map(ms))
            .bind(search.ticket.clone())
            .bind(serde_json::to_string(&words).expect("strings serialise"))
    }};
}

#[async_trait]
impl Store for Backend {
    async fn login_candidate(&self, username: &str) -> StoreResult<Option<LoginCandidate>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, username, display_name, roles, password_hash, disabled,
                    must_change_password
             FROM users WHERE username = $1 AND identity_id IS NULL",
        )
        .bind(username)
        .fetch_optional(self.reads())
        .await?;
        Ok(row.filter(|u| !u.disabled).map(|u| LoginCandidate {
            user: u.view(),
            must_change_password: u.must_change_password,
            password_hash: u.password_hash,
        }))
    }

    async fn open_session(
        &self,
        user: &UserView,
        token_hash: &str,
        replaces: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::sessions::open(self, user, token_hash, replaces, now).await
    }

    async fn record_refusal(
        &self,
        actor: &UserView,
        method: &str,
        path: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::sessions::record_refusal(self, actor, method, path, reason, now).await
    }

    async fn login_locked_until(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        service::sessions::locked_until(self, keys, now).await
    }

    async fn record_failed_password(
        &self,
        attempt: &FailedPassword<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        service::sessions::record_failed_password(self, attempt, now).await
    }

    async fn session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        limits: SessionLimits,
    ) -> StoreResult<Option<SessionUser>> {
        service::sessions::user(self, token_hash, now, limits).await
    }

    async fn session_user_untouched(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        limits: SessionLimits,
    ) -> StoreResult<Option<SessionUser>> {
        service::sessions::user_untouched(self, token_hash, now, limits).await
    }

    async fn change_password(
        &self,
        user: &UserView,
        password_hash: &str,
        keep_session: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        service::sessions::change_password(self, user, password_hash, keep_session, now).await
    }

    async fn reset_password(
        &self,
        actor: &UserView,
        user_id: i64,
        password_hash: &str,
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::sessions::reset_password(self, actor, user_id, password_hash, four_eyes, now).await
    }

    async fn close_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        service::sessions::close(self, token_hash, now).await
    }

    async fn add_usage(
        &self,
        tallies: &[(i64, stint_core::api::GrantUsageView)],
    ) -> StoreResult<()> {
        service::usage::add(self, tallies).await
    }

    async fn sso_provider_of(&self, user_id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT provider FROM oidc_links WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(self.reads())
                .await?,
        )
    }

    async fn start_sso(
        &self,
        flow_hash: &str,
        started: &crate::store::port::StartedSignIn,
    ) -> StoreResult<()> {
        service::oidc::start(self, flow_hash, started).await
    }

    async fn sso_under_way(
        &self,
        flow_hash: &str,
        provider: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        service::oidc::under_way(self, flow_hash, provider, now).await
    }

    async fn finish_sso(
        &self,
        flow_hash: &str,
        provider: &str,
        answer: &service::oidc::Answer<'_>,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<service::oidc::SignIn> {
        service::oidc::finish(self, flow_hash, provider, answer, session_hash, now).await
    }

    async fn record_sso_refusal(
        &self,
        provider: &str,
        refusal: &service::oidc::Refusal<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::oidc::record_refusal(self, provider, refusal, now).await
    }

    async fn identities(
        &self,
        viewer: &UserView,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<IdentityView>> {
        let mut conn = self.reads().acquire().await?;
        ownership::identities(&mut conn, viewer, now).await
    }

    async fn identity(
        &self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<IdentityView> {
        let mut conn = self.reads().acquire().await?;
        ownership::identity(&mut conn, viewer, id, now).await
    }

    async fn resources(&self) -> StoreResult<Vec<ResourceView>> {
        let mut conn = self.reads().acquire().await?;
        let rows: Vec<ResourceRow> = sqlx::query_as(concat!(resource_select!(), " ORDER BY name"))
            .fetch_all(&mut *conn)
            .await?;
        let holders = approver_role_holders(&mut conn).await?;
        rows.iter().map(|r| r.view(&holders)).collect()
    }

    async fn resource(&self, id: i64) -> StoreResult<ResourceView> {
        let mut conn = self.reads().acquire().await?;
        let row = load_resource(&mut conn, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("resource {id}")))?;
        row.view(&approver_role_holders(&mut conn).await?)
    }

    async fn resource_usage(&self, id: i64, now: DateTime<Utc>) -> StoreResult<UsageSignals> {
        let mut conn = self.reads().acquire().await?;
        usage::signals(&mut conn, usage::Of::Resource(id), now).await
    }

    async fn file_request(
        &self,
        actor: &UserView,
        body: &NewRequestBody,
        now: DateTime<Utc>,
        pending_ttl: Duration,
    ) -> StoreResult<i64> {
        service::requests::file(self, actor, body, now, pending_ttl).await
    }

    async fn request_extension(
        &self,
        actor: &UserView,
        grant_id: i64,
        body: &ExtendBody,
        now: DateTime<Utc>,
        pending_ttl: Duration,
    ) -> StoreResult<i64> {
        service::extensions::request(self, actor, grant_id, body, now, pending_ttl).await
    }

    async fn approve(
        &self,
        actor: &UserView,
        request_id: i64,
        body: &ApproveBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::requests::approve(self, actor, request_id, body, now).await
    }

    async fn deny(
        &self,
        actor: &UserView,
        request_id: i64,
        comment: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::requests::deny(self, actor, request_id, comment, now).await
    }

    async fn cancel(
        &self,
        actor: &UserView,
        request_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::requests::cancel(self, actor, request_id, now).await
    }

    async fn requests(
        &self,
        viewer: &UserView,
        filter: &RequestFilter,
    ) -> StoreResult<Vec<RequestView>> {
        if filter.awaiting_me && !viewer.has(Role::Approver) {
            return Ok(Vec::new());
        }
        let query = sqlx::query_as(concat!(
            request_select!(),
            " WHERE ($5 OR ",
            visible_to_owner_or_requester!(),
            ")
              AND (NOT $6 OR r.requester_id = $1)
              AND (NOT $7 OR (r.state = 'pending' AND r.requester_id != $1 AND NOT EXISTS (
                   SELECT 1 FROM approvals a WHERE a.request_id = r.id AND a.approver_id = $1)
                   AND ",
            among_request_approvers!(),
            " AND ",
            free_of_conflict!(),
            "))
              AND ($2 IS NULL OR r.state = $2)
              AND ($3 IS NULL OR r.id < $3)
",
            matches_search!(8, 9, 10, 11, 12, 13, 14),
            " ORDER BY r.id DESC LIMIT $4"
        ))
        .bind(viewer.id)
        .bind(filter.state.map(RequestState::as_str))
        .bind(filter.before_id)
        .bind(filter.limit.max(1) as i64)
        .bind(is_privileged_viewer(viewer))
        .bind(filter.mine)
        .bind(filter.awaiting_me);
        let rows: Vec<RequestRow> = bind_search!(query, &filter.search)
            .fetch_all(self.reads())
            .await?;
        let mut conn = self.reads().acquire().await?;
        let role_holders = approver_role_holders(&mut conn).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let approvals = approvals_of_requests(&mut conn, &ids).await?;
        rows.iter()
            .map(|row| {
                let approvals = approvals.get(&row.id).map_or(&[][..], Vec::as_slice);
                row.view(viewer, approvals, &role_holders, filter.now)
            })
            .collect()
    }

    async fn request_detail(
        &self,
        viewer: &UserView,
        request_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<RequestDetail> {
        let mut conn = self.reads().acquire().await?;
        let (request, approvals) = load_request_with_approvals(&mut conn, request_id).await?;
        if !can_see_request(&mut conn, viewer, request_id).await? {
            // Same answer as a missing request: ids of other teams' work do not leak.
            return Err(StoreError::NotFound(format!("request {request_id}")));
        }
        let grant = match request.grant_id {
            Some(id) => {
                let owned = load_owned_grant(&mut conn, id, now).await?;
                Some(owned.grant.view_with(viewer, &owned.owners(), now)?)
            }
            None => None,
        };
        let timeline: Vec<AuditRow> = sqlx::query_as(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_events WHERE request_id = $1 ORDER BY seq"
        ))
        .bind(request_id)
        .fetch_all(&mut *conn)
        .await?;
        let sees_context = viewer.has_any(visibility::SEES_APPROVER_CONTEXT);
        let context = if sees_context && request.state == RequestState::Pending.as_str() {
            Some(
                context::approver_context(
                    &mut conn,
                    request.id,
                    request.identity_id,
                    request.resource_id,
                    request.duration_secs,
                    now,
                )
                .await?,
            )
        } else {
            None
        };
        // Who may still approve is drawn from the role's holders only while it is pending:
        // a decided request's answer (every approval's and denial's) spares the read.
        let role_holders = if request.state == RequestState::Pending.as_str() {
            approver_role_holders(&mut conn).await?
        } else {
            Vec::new()
        };
        Ok(RequestDetail {
            request: request.view(viewer, &approvals, &role_holders, now)?,
            grant,
            timeline: timeline.into_iter().map(|e| e.view_for(viewer)).collect(),
            context,
        })
    }

    async fn approvals_waiting(&self, viewer: &UserView) -> StoreResult<u32> {
        if !viewer.has(Role::Approver) {
            return Ok(0);
        }
        let n: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM requests r WHERE r.state = 'pending' AND r.requester_id != $1
             AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.request_id = r.id
                             AND a.approver_id = $1) AND ",
            among_request_approvers!(),
            " AND ",
            free_of_conflict!()
        ))
        .bind(viewer.id)
        .fetch_one(self.reads())
        .await?;
        Ok(n as u32)
    }

    async fn grants(
        &self,
        viewer: &UserView,
        filter: &GrantFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<GrantView>> {
        // `access` as `AccessPhase::of` computes the phase from the same columns.
        let query = sqlx::query_as(concat!(
            grant_select!(),
            " WHERE ($3 OR ",
            visible_to_owner_or_requester!(),
            ") AND ($2 IS NULL OR g.state = $2)
              AND ($4 IS NULL
                   OR ($4 = 'failing' AND cj.flagged_at IS NOT NULL AND cj.done_at IS NULL)
                   OR (ga.grant_id IS NOT NULL AND (
                       ($4 = 'revoked' AND ga.revoked_at IS NOT NULL)
                       OR ($4 = 'revoking' AND ga.revoked_at IS NULL AND g.ended_at IS NOT NULL)
                       OR ($4 = 'ready' AND ga.revoked_at IS NULL AND g.ended_at IS NULL
                           AND ga.provisioned_at IS NOT NULL)
                       OR ($4 = 'provisioning' AND ga.revoked_at IS NULL
                           AND g.ended_at IS NULL AND ga.provisioned_at IS NULL))))
",
            matches_search!(6, 7, 8, 9, 10, 11, 12),
            // A page after `after`: keyset on the order itself, so grants ending or added
            // meanwhile neither repeat nor go missing.
            " AND ($13 IS NULL OR g.expires_at > $13 OR (g.expires_at = $13 AND g.id > $14))
              ORDER BY g.expires_at, g.id LIMIT $5"
        ))
        .bind(viewer.id)
        .bind(filter.state.map(GrantState::as_str))
        .bind(is_privileged_viewer(viewer) && !filter.mine)
        .bind(filter.access.map(AccessFilter::as_str))
        .bind(filter.limit.max(1) as i64);
        let rows: Vec<GrantRow> = bind_search!(query, &filter.search)
            .bind(filter.after.map(|(ms, _)| ms))
            .bind(filter.after.map(|(_, id)| id))
            .fetch_all(self.reads())
            .await?;
        let mut conn = self.reads().acquire().await?;
        let identities: Vec<i64> = rows.iter().map(|g| g.identity_id).collect();
        let owners = current_owners_of(&mut conn, &identities, now).await?;
        rows.iter()
            .map(|g| {
                let owners = owners.get(&g.identity_id).map_or(&[][..], Vec::as_slice);
                g.view_with(viewer, owners, now)
            })
            .collect()
    }

    async fn grant(
        &self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<GrantView> {
        let mut conn = self.reads().acquire().await?;
        let owned = load_owned_grant(&mut conn, id, now).await?;
        if !can_see_request(&mut conn, viewer, owned.grant.request_id).await? {
            return Err(StoreError::NotFound(format!("grant {id}")));
        }
        owned.grant.view_with(viewer, &owned.owners(), now)
    }

    async fn issue_credential(
        &self,
        actor: &UserView,
        grant_id: i64,
        now: DateTime<Utc>,
        keyring: &Keyring,
        connectors: &Connectors,
    ) -> StoreResult<CredentialView> {
        service::grants::issue_credential(self, actor, grant_id, now, keyring, connectors).await
    }

    async fn revoke(
        &self,
        actor: &UserView,
        grant_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::grants::revoke(self, actor, grant_id, reason, now).await
    }

    async fn release(
        &self,
        actor: &UserView,
        grant_id: i64,
        body: &ReleaseBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::grants::release(self, actor, grant_id, body, now).await
    }

    async fn mint_identity_token(
        &self,
        actor: &UserView,
        identity_id: i64,
        body: &NewIdentityTokenBody,
        now: DateTime<Utc>,
    ) -> StoreResult<IssuedIdentityToken> {
        service::tokens::mint(self, actor, identity_id, body, now).await
    }

    async fn identity_tokens(
        &self,
        viewer: &UserView,
        identity_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<IdentityTokenView>> {
        service::tokens::list(self, viewer, identity_id, now).await
    }

    async fn revoke_identity_token(
        &self,
        actor: &UserView,
        identity_id: i64,
        token_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::tokens::revoke(self, actor, identity_id, token_id, now).await
    }

    async fn token_caller(&self, token: &str, now: DateTime<Utc>) -> StoreResult<Option<UserView>> {
        service::tokens::caller(self, token, now).await
    }

    async fn register_issuer(
        &self,
        actor: &UserView,
        body: &IssuerBody,
        now: DateTime<Utc>,
    ) -> StoreResult<IssuerView> {
        service::federation::register(self, actor, body, now).await
    }

    async fn issuers(&self, viewer: &UserView) -> StoreResult<Vec<IssuerView>> {
        service::federation::issuers(self, viewer).await
    }

    async fn identity_federation_rules(
        &self,
        viewer: &UserView,
        identity_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<IdentityRuleView>> {
        service::federation::identity_rules(self, viewer, identity_id, now).await
    }

    async fn federation_issuer(&self, iss: &str) -> StoreResult<Option<IssuerRecord>> {
        service::federation::issuer(self, iss).await
    }

    async fn exchange_token(
        &self,
        issuer: &IssuerRecord,
        claims: &BTreeMap<String, String>,
        lifetime_secs: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<ExchangedToken, Refusal>> {
        service::federation::exchange(self, issuer, claims, lifetime_secs, now).await
    }

    async fn record_federation_refusal(
        &self,
        issuer: &IssuerRecord,
        refusal: &Refusal,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::federation::record_refusal(self, issuer, refusal, now).await
    }

    async fn introspect(
        &self,
        viewer: &UserView,
        token_hash: &str,
        now: DateTime<Utc>,
        issuer: &str,
    ) -> StoreResult<IntrospectView> {
        let mut conn = self.reads().acquire().await?;
        introspection::for_person(&mut conn, viewer, token_hash, now, issuer).await
    }

    async fn introspect_as_resource(
        &self,
        secret_hash: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        issuer: &str,
    ) -> StoreResult<Option<Introspected>> {
        // On the calling thread where the backend can (SQLite), through the pool otherwise.
        let inline = self.read_inline(|conn| {
            introspection::for_resource_inline(conn, secret_hash, token_hash, now, issuer)
        });
        if let Some(introspected) = inline {
            return Ok(introspected);
        }
        let mut conn = self.reads().acquire().await?;
        introspection::for_resource(&mut conn, secret_hash, token_hash, now, issuer).await
    }

    async fn set_introspection_secret(
        &self,
        actor: &UserView,
        resource_id: i64,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<String> {
        service::admin::set_introspection_secret(self, actor, resource_id, secret_hash, now).await
    }

    async fn take_break_glass(
        &self,
        actor: &UserView,
        body: &BreakGlassBody,
        now: DateTime<Utc>,
        limit: BreakGlassLimit,
    ) -> StoreResult<BreakGlassTaken> {
        service::break_glass::take(self, actor, body, now, limit).await
    }

    async fn reviews(
        &self,
        viewer: &UserView,
        filter: ReviewFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ReviewView>> {
        let mut conn = self.reads().acquire().await?;
        break_glass::list(&mut conn, viewer, filter, now).await
    }

    async fn review(
        &self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewDetail> {
        let mut conn = self.reads().acquire().await?;
        break_glass::detail(&mut conn, viewer, id, now).await
    }

    async fn identities_owned(&self, viewer: &UserView, now: DateTime<Utc>) -> StoreResult<u32> {
        ownership::owned_count(&mut *self.reads().acquire().await?, viewer.id, now).await
    }

    async fn reviews_waiting(
        &self,
        viewer: &UserView,
        now: DateTime<Utc>,
    ) -> StoreResult<(u32, u32)> {
        if !viewer.has(Role::Reviewer) {
            return Ok((0, 0));
        }
        let (all, overdue): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE due_at <= $2) FROM reviews
             WHERE outcome IS NULL AND taker_id != $1",
        )
        .bind(viewer.id)
        .bind(ms(now))
        .fetch_one(self.reads())
        .await?;
        Ok((all as u32, overdue as u32))
    }

    async fn decide_review(
        &self,
        actor: &UserView,
        id: i64,
        body: &ReviewBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::reviews::decide(self, actor, id, body, now).await
    }

    async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEventView>> {
        let asked = &filter.asked;
        let text = asked.q.as_ref().map(|t| format!("%{}%", escape_like(t)));
        let action = asked
            .action
            .as_ref()
            .map(|a| format!("{}%", escape_like(a)));
        let rows: Vec<AuditRow> = sqlx::query_as(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_events
             WHERE ($1 IS NULL OR actor_name = $1)
               AND ($2 IS NULL OR action ",
            ilike!(),
            " $2 ESCAPE '\\')
               AND ($3 IS NULL OR request_id = $3)
               AND ($4 IS NULL OR grant_id = $4
                    OR request_id = (SELECT request_id FROM grants WHERE id = $4))
               AND ($5 IS NULL OR actor_name ",
            ilike!(),
            " $5 ESCAPE '\\' OR action ",
            ilike!(),
            " $5 ESCAPE '\\' OR details ",
            ilike!(),
            " $5 ESCAPE '\\')
               AND ($6 IS NULL OR at >= $6)
               AND ($7 IS NULL OR at < $7)
               AND ($8 IS NULL OR seq < $8)
               AND ($10 IS NULL OR seq > $10)
               AND ($11 IS NULL OR request_id IN (
                    SELECT r.id FROM requests r
                    JOIN ownerships o ON o.identity_id = r.identity_id AND o.user_id = $11
                                         AND o.ended_at IS NULL)
                    OR (target_kind = 'identity' AND target_id IN (
                        SELECT identity_id FROM ownerships
                        WHERE user_id = $11 AND ended_at IS NULL)))
               AND ($12 IS NULL OR request_id IN (
                    SELECT r.id FROM requests r JOIN identities i ON i.id = r.identity_id
                    WHERE i.name = $12)
                    OR (target_kind = 'identity' AND target_id = (
                        SELECT id FROM identities WHERE name = $12)))
               AND ($13 IS NULL OR request_id IN (
                    SELECT r.id FROM requests r JOIN resources res ON res.id = r.resource_id
                    WHERE res.name = $13)
                    OR (target_kind = 'resource' AND target_id = (
                        SELECT id FROM resources WHERE name = $13)))
             ORDER BY CASE WHEN $10 IS NULL THEN -seq ELSE seq END LIMIT $9"
        ))
        .bind(&asked.actor)
        .bind(action)
        .bind(asked.request_id)
        .bind(asked.grant_id)
        .bind(text)
        .bind(asked.since.map(ms))
        .bind(asked.until.map(ms))
        .bind(asked.cursor)
        .bind(filter.limit.max(1) as i64)
        .bind(asked.after_seq)
        .bind(filter.owner)
        .bind(&asked.identity)
        .bind(&asked.resource)
        .fetch_all(self.reads())
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| match filter.owner {
                // An owner's view: other users' addresses stay hidden.
                Some(owner) => row.view_for_id(owner, false),
                None => row.view(),
            })
            .collect())
    }

    async fn verify_audit(
        &self,
        trusted: &TrustedKeys,
        outside: &[AuditCheckpoint],
    ) -> StoreResult<AuditVerification> {
        // One snapshot: events and checkpoints appended meanwhile are not half-seen.
        let mut tx = Database::read(self).await?;
        audit::verify(&mut **tx, trusted, outside).await
    }

    async fn live_access(
        &self,
        viewer: &UserView,
        filter: &stint_core::oversight::LiveAccessFilter,
        shown: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<stint_core::oversight::LiveAccessView> {
        if !viewer.has_any(visibility::SEES_LIVE_ACCESS) {
            return Err(stint_core::RuleError::Forbidden(
                "only admins and auditors see all live access".into(),
            )
            .into());
        }
        let filter = filter.clone().normalized()?;
        // One statement for the grants and one for their owners: one moment for both.
        let mut tx = self.snapshot().await?;
        oversight::live_access(&mut tx, viewer, &filter, shown, now).await
    }

    async fn bulk_revoke(
        &self,
        actor: &UserView,
        body: &stint_core::oversight::BulkRevokeBody,
        now: DateTime<Utc>,
    ) -> StoreResult<stint_core::oversight::BulkRevokeOutcome> {
        service::oversight::bulk_revoke(self, actor, body, now).await
    }

    async fn start_campaign(
        &self,
        actor: &UserView,
        body: &stint_core::campaigns::NewCampaignBody,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        service::campaigns::start(self, actor, body, now).await
    }

    async fn campaigns(
        &self,
        viewer: &UserView,
    ) -> StoreResult<Vec<stint_core::campaigns::CampaignView>> {
        let mut conn = self.reads().acquire().await?;
        campaigns::list(&mut conn, viewer, None).await
    }

    async fn campaign(
        &self,
        viewer: &UserView,
        id: i64,
    ) -> StoreResult<stint_core::campaigns::CampaignDetail> {
        let mut tx = self.snapshot().await?;
        campaigns::detail(&mut tx, viewer, id).await
    }

    async fn decide_campaign_item(
        &self,
        actor: &UserView,
        campaign_id: i64,
        item_id: i64,
        body: &stint_core::campaigns::DecisionBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::campaigns::decide(self, actor, campaign_id, item_id, body, now).await
    }

    async fn close_campaign(
        &self,
        actor: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::campaigns::close(self, actor, id, now).await
    }

    async fn evidence_facts(
        &self,
        trusted: &TrustedKeys,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<stint_core::evidence::facts::Facts> {
        let mut tx = self.snapshot().await?;
        evidence::facts(&mut tx, trusted, since, until, now).await
    }

    async fn audit_head(&self) -> StoreResult<(i64, String)> {
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(self.reads())
                .await?;
        Ok(head.unwrap_or((0, audit::GENESIS_HASH.to_string())))
    }

    async fn append_checkpoint(&self, checkpoint: &AuditCheckpoint) -> StoreResult<bool> {
        // In a write transaction: it holds the chain, so the newest checkpoint stored is
        // always of the newest head checkpointed.
        let mut tx = Database::write(self).await?;
        let stored = tx.insert_checkpoint(checkpoint).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn checkpoints(&self, limit: u32) -> StoreResult<Vec<AuditCheckpoint>> {
        let mut conn = self.reads().acquire().await?;
        AuditTrail::checkpoints(&mut *conn, limit).await
    }

    async fn live_events(
        &self,
        after_seq: i64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<LiveBatch> {
        live::after(&mut *self.reads().acquire().await?, after_seq, limit, now).await
    }

    async fn sweep(&self, now: DateTime<Utc>) -> StoreResult<SweepReport> {
        service::sweep::sweep(self, now).await
    }

    async fn claim_connector_jobs(
        &self,
        connectors: &Connectors,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<ConnectorJob>> {
        service::connectors::claim(self, connectors, now, due_by, lease, limit).await
    }

    async fn retry_connector_steps_now(&self, now: DateTime<Utc>) -> StoreResult<()> {
        service::connectors::retry_now(self, now).await
    }

    async fn connector_step_succeeded(
        &self,
        job: &ConnectorJob,
        revoked: Option<&Revoked>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::connectors::succeeded(self, job, revoked, now).await
    }

    async fn connector_step_failed(
        &self,
        job: &ConnectorJob,
        error: &str,
        policy: &RetryPolicy,
        jitter: f64,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>> {
        service::connectors::failed(self, job, error, policy, jitter, now).await
    }

    async fn next_connector_step_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.lookup().await?.next_connector_job_at().await
    }

    async fn connectors_in_use(&self) -> StoreResult<Vec<String>> {
        self.lookup().await?.connectors_in_use().await
    }

    async fn add_notification_sink(
        &self,
        actor: &UserView,
        body: &NewSinkBody,
        variables: &crate::config::Variables,
        alert_after: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<SinkView> {
        service::notifications::add_sink(self, actor, body, variables, alert_after, now).await
    }

    async fn remove_notification_sink(
        &self,
        actor: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::notifications::remove_sink(self, actor, id, now).await
    }

    async fn notification_sinks(
        &self,
        viewer: &UserView,
        alert_after: i64,
    ) -> StoreResult<Vec<SinkView>> {
        service::notifications::sinks(self, viewer, alert_after).await
    }

    async fn notification_deliveries(
        &self,
        viewer: &UserView,
        sink_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryView>> {
        service::notifications::deliveries(self, viewer, sink_id, limit).await
    }

    async fn notifications_to_fan_out(&self) -> StoreResult<bool> {
        self.lookup().await?.fan_out_due().await
    }

    async fn fan_out_notifications(
        &self,
        public_url: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<(u32, bool)> {
        service::notifications::fan_out(self, public_url, limit, now).await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        service::notifications::claim(self, now, due_by, lease, limit).await
    }

    async fn delivery_attempted(
        &self,
        job: &DeliveryJob,
        result: Result<u16, crate::outbound::PostError>,
        policy: &RetryPolicy,
        jitter: f64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::notifications::attempted(self, job, result, policy, jitter, now).await
    }

    async fn next_delivery_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.lookup().await?.next_delivery_at().await
    }

    async fn ops_facts(&self, now: DateTime<Utc>) -> StoreResult<crate::store::OpsFacts> {
        let mut conn = self.reads().acquire().await?;
        ops::facts(&mut conn, now).await
    }

    async fn notification_choices(
        &self,
        viewer: &UserView,
    ) -> StoreResult<Vec<NotificationChoice>> {
        service::notifications::my_choices(self, viewer).await
    }

    async fn set_notification_choices(
        &self,
        actor: &UserView,
        body: &MutesBody,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<NotificationChoice>> {
        service::notifications::set_my_choices(self, actor, body, now).await
    }

    async fn next_grant_change(&self) -> StoreResult<Option<DateTime<Utc>>> {
        // A scheduled grant's start comes before its expiry.
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(at) FROM (
                 SELECT MIN(expires_at) AS at FROM grants WHERE state = 'active'
                 UNION ALL
                 SELECT MIN(starts_at) FROM grants WHERE state = 'scheduled'
             ) next",
        )
        .fetch_one(self.reads())
        .await?;
        Ok(at.map(time))
    }

    async fn signing_keys(&self, now: DateTime<Utc>) -> StoreResult<Vec<StoredKey>> {
        let mut conn = self.reads().acquire().await?;
        keys::signing_keys(&mut conn, now).await
    }

    async fn add_signing_key(
        &self,
        key: &NewSigningKey<'_>,
        rotate: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        service::keys::add(self, key, rotate, now).await
    }

    async fn legacy_signing_keys(
        &self,
    ) -> StoreResult<Vec<(String, Zeroizing<Vec<u8>>, DateTime<Utc>)>> {
        self.legacy_keys().await
    }

    async fn seal_legacy_key(
        &self,
        key: &NewSigningKey<'_>,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.seal_legacy(key, created_at, now).await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.reads())
            .await?;
        Ok(users == 0)
    }

    async fn bootstrap_lock(&self) -> StoreResult<crate::store::BootstrapLock> {
        self.bootstrap().await
    }

    fn write_runtime(&self) -> Option<tokio::runtime::Handle> {
        self.writer_runtime()
    }

    async fn backup_into(&self, path: &std::path::Path) -> StoreResult<()> {
        self.copy_into(path).await
    }

    async fn identity_detail(
        &self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
        max_attestation_days: i64,
    ) -> StoreResult<IdentityDetail> {
        let mut conn = self.reads().acquire().await?;
        ownership::detail(&mut conn, viewer, id, now, max_attestation_days).await
    }

    async fn declare_ownership(
        &self,
        actor: &UserView,
        identity_id: i64,
        body: &DeclareBody,
        now: DateTime<Utc>,
        max_attestation_days: i64,
    ) -> StoreResult<()> {
        service::ownership::declare(self, actor, identity_id, body, now, max_attestation_days).await
    }

    async fn confirm_takeover(
        &self,
        actor: &UserView,
        identity_id: i64,
        declaration_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::ownership::confirm_takeover(self, actor, identity_id, declaration_id, now).await
    }

    async fn step_down(
        &self,
        actor: &UserView,
        identity_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::ownership::step_down(self, actor, identity_id, reason, now).await
    }

    async fn seed_ownership(
        &self,
        identity_id: i64,
        user: &UserView,
        statement: &str,
        attest_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::ownership::seed(self, identity_id, user, statement, attest_until, now).await
    }

    async fn users(&self) -> StoreResult<Vec<UserAdminView>> {
        let mut conn = self.reads().acquire().await?;
        admin::users(&mut conn).await
    }

    async fn create_user(
        &self,
        actor: Option<&UserView>,
        user: &NewUser<'_>,
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<Saved> {
        service::admin::create_user(self, actor, user, four_eyes, now).await
    }

    async fn update_user(
        &self,
        actor: &UserView,
        id: i64,
        body: &UserUpdateBody,
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<Saved> {
        service::admin::update_user(self, actor, id, body, four_eyes, now).await
    }

    async fn create_identity(
        &self,
        actor: Option<&UserView>,
        body: &IdentityBody,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        service::admin::create_identity(self, actor, body, now).await
    }

    async fn update_identity(
        &self,
        actor: &UserView,
        id: i64,
        body: &IdentityBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::admin::update_identity(self, actor, id, body, now).await
    }

    async fn create_resource(
        &self,
        actor: Option<&UserView>,
        body: &ResourceBody,
        connectors: &[ConnectorView],
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<Saved> {
        service::admin::create_resource(self, actor, body, connectors, four_eyes, now).await
    }

    async fn update_resource(
        &self,
        actor: &UserView,
        id: i64,
        body: &ResourceBody,
        connectors: &[ConnectorView],
        four_eyes: FourEyes,
        now: DateTime<Utc>,
    ) -> StoreResult<Saved> {
        service::admin::update_resource(self, actor, id, body, connectors, four_eyes, now).await
    }

    async fn proposals(
        &self,
        viewer: &UserView,
        state: Option<ProposalState>,
    ) -> StoreResult<Vec<ProposalView>> {
        see_proposals(viewer)?;
        let mut conn = self.reads().acquire().await?;
        conn.proposals(state, PROPOSALS_LISTED).await
    }

    async fn proposal(&self, viewer: &UserView, id: i64) -> StoreResult<ProposalView> {
        see_proposals(viewer)?;
        let mut conn = self.reads().acquire().await?;
        Ok(conn.proposal(id).await?.view)
    }

    async fn proposals_awaiting(&self, viewer: &UserView) -> StoreResult<u32> {
        if !viewer.has(Role::Admin) {
            return Ok(0);
        }
        let mut conn = self.reads().acquire().await?;
        conn.proposals_awaiting(viewer).await
    }

    async fn approve_proposal(
        &self,
        actor: &UserView,
        id: i64,
        connectors: &[ConnectorView],
        now: DateTime<Utc>,
    ) -> StoreResult<ProposalView> {
        service::proposals::approve(self, actor, id, connectors, now).await
    }

    async fn reject_proposal(
        &self,
        actor: &UserView,
        id: i64,
        body: &RejectBody,
        now: DateTime<Utc>,
    ) -> StoreResult<ProposalView> {
        service::proposals::reject(self, actor, id, body, now).await
    }

    async fn import_report(
        &self,
        actor: Option<&UserView>,
        report: &crate::scan_report::Report,
        source: &str,
        full_scan: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<ImportSummary> {
        service::import::import(self, actor, report, source, full_scan, now).await
    }

    async fn standing(
        &self,
        viewer: &UserView,
        filter: StandingFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<StandingView>> {
        let mut conn = self.reads().acquire().await?;
        standing::list(&mut conn, viewer, &filter, now).await
    }

    async fn standing_one(
        &self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<StandingView> {
        let mut conn = self.reads().acquire().await?;
        standing::one(&mut conn, viewer, id, now).await
    }

    async fn record_standing(
        &self,
        actor: &UserView,
        body: &NewStandingBody,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        service::standing::record(self, actor, body, now).await
    }

    async fn triage_standing(
        &self,
        actor: &UserView,
        id: i64,
        body: &TriageBody,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::standing::triage(self, actor, id, body, now).await
    }

    async fn mapping_rules(&self) -> StoreResult<Vec<MappingRuleView>> {
        let mut conn = self.reads().acquire().await?;
        standing::rules(&mut conn).await
    }

    async fn create_mapping_rule(
        &self,
        actor: &UserView,
        body: &MappingRuleBody,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        service::standing::create_rule(self, actor, body, now).await
    }

    async fn retire_mapping_rule(
        &self,
        actor: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        service::standing::retire_rule(self, actor, id, now).await
    }

    async fn coverage(&self, viewer: &UserView, now: DateTime<Utc>) -> StoreResult<CoverageView> {
        let mut conn = self.reads().acquire().await?;
        standing::coverage(&mut conn, viewer, now).await
    }
}

/// `text` for use inside a LIKE pattern with `ESCAPE '\'`: its wildcards match literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

// Declared after the query macros above, which they use.
mod admin;
mod break_glass;
mod campaigns;
mod connectors;
mod context;
mod evidence;
mod federation;
mod import;
mod introspection;
mod keys;
mod lifecycle;
mod live;
mod notices;
mod notifications;
mod oidc;
mod ops;
mod oversight;
mod ownership;
mod proposals;
mod rows;
mod sessions;
mod standing;
mod tokens;
mod usage;
