//! The rows the read views and the port's records are made from: each table's select,
//! its row type, how it is loaded, and how it becomes what a viewer sees.

use super::{Conn, is_privileged_viewer, ms, parse_roles, parse_state, time};
use crate::store::port::{RequestKind, UserRecord};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use std::collections::HashMap;
use stint_core::api::{
    ApprovalView, AuditEventView, GrantUsageView, GrantView, NamedRef, RequestView, ResourceView,
    UserView,
};
use stint_core::connectors::{AccessPhase, GrantAccessView};
use stint_core::lifecycle::{self, Extendable};
use stint_core::rules::{self, Approval, Decidable, Justification};
use stint_core::visibility;
use stint_core::{
    Approvers, AutoApprove, BreakGlassPolicy, GrantState, Policy, RequestState, Role,
};

/// The `kind` of requests and grants taken by break-glass.
const BREAK_GLASS: &str = RequestKind::BreakGlass.as_str();
/// The `kind` of requests the broker approved under a resource's auto-approval rule.
const AUTO_APPROVED: &str = RequestKind::AutoApproved.as_str();

#[derive(FromRow)]
pub(super) struct UserRow {
    pub(super) id: i64,
    pub(super) username: String,
    pub(super) display_name: String,
    pub(super) roles: String,
    pub(super) password_hash: String,
    pub(super) disabled: bool,
    pub(super) must_change_password: bool,
}

impl UserRow {
    pub(super) fn view(&self) -> UserView {
        UserView {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            roles: parse_roles(&self.roles),
            identity_id: None,
            via: None,
            vouched_by: None,
        }
    }

    pub(super) fn record(self) -> UserRecord {
        UserRecord {
            id: self.id,
            roles: parse_roles(&self.roles),
            username: self.username,
            display_name: self.display_name,
            disabled: self.disabled,
            must_change_password: self.must_change_password,
        }
    }
}

/// A session and its user, as one row.
#[derive(FromRow)]
pub(super) struct SessionUserRow {
    pub(super) created_at: i64,
    pub(super) last_seen_at: i64,
    #[sqlx(flatten)]
    pub(super) user: UserRow,
}

macro_rules! resource_select {
    () => {
        "SELECT id, name, description, privileges, approvals_required, max_duration_secs,
                ticket_required, break_glass_allowed, break_glass_max_secs, review_within_secs,
                approvers, ticket_pattern, auto_approve, introspection_secret_at, connector,
                max_start_ahead_secs, max_total_secs
         FROM resources"
    };
}

#[derive(FromRow)]
pub(super) struct ResourceRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) privileges: String,
    pub(super) approvals_required: i64,
    pub(super) max_duration_secs: i64,
    pub(super) ticket_required: bool,
    pub(super) break_glass_allowed: bool,
    pub(super) break_glass_max_secs: i64,
    pub(super) review_within_secs: i64,
    pub(super) approvers: String,
    pub(super) ticket_pattern: Option<String>,
    pub(super) auto_approve: Option<String>,
    pub(super) introspection_secret_at: Option<i64>,
    pub(super) connector: Option<String>,
    pub(super) max_start_ahead_secs: Option<i64>,
    pub(super) max_total_secs: Option<i64>,
}

/// A JSON column, read back into its type.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

impl ResourceRow {
    /// The resource as users see it; `role_holders` are the enabled users with the
    /// approver role, from whom its approver pool is drawn.
    pub(super) fn view(&self, role_holders: &[NamedRef]) -> StoreResult<ResourceView> {
        let privileges: Vec<String> = parse_json("privileges", &self.privileges)?;
        let approvers: Approvers = parse_json("approvers", &self.approvers)?;
        let auto_approve: Option<AutoApprove> = match &self.auto_approve {
            Some(rule) => Some(parse_json("auto_approve", rule)?),
            None => None,
        };
        let approver_pool = role_holders
            .iter()
            .filter(|h| approvers.includes(h.id))
            .cloned()
            .collect();
        Ok(ResourceView {
            id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            privileges,
            policy: Policy {
                approvals_required: self.approvals_required as u32,
                max_duration_secs: self.max_duration_secs,
                ticket_required: self.ticket_required,
                break_glass: self.break_glass_allowed.then_some(BreakGlassPolicy {
                    max_duration_secs: self.break_glass_max_secs,
                    review_within_secs: self.review_within_secs,
                }),
                approvers,
                ticket_pattern: self.ticket_pattern.clone(),
                auto_approve,
                max_start_ahead_secs: self.max_start_ahead_secs,
                max_total_secs: self.max_total_secs,
            },
            approver_pool,
            introspection_secret_at: self.introspection_secret_at.map(time),
            connector: self.connector.clone(),
            usage: None,
        })
    }
}

macro_rules! request_select {
    () => {
        concat!(
            "
    SELECT r.id, r.state, r.identity_id, i.name AS identity_name, r.resource_id,
           res.name AS resource_name, r.privilege, r.duration_secs, r.task, r.ticket,
           r.requester_id, u.username AS requester_name, r.created_at, r.pending_expires_at,
           r.approvals_required, r.approvers, r.decided_at, r.decision_comment, r.kind,
           g.id AS grant_id, COALESCE(r.vouched_by, u.created_by) AS requester_created_by,
           r.starts_at, r.extends_grant_id,
           ",
            owner_ids!(),
            " AS owner_ids,
           (SELECT COUNT(*) FROM standing_credentials s
            WHERE s.identity_id = r.identity_id AND s.resource_id = r.resource_id
              AND s.status = 'mapped') AS standing_paths
    FROM requests r
    JOIN identities i ON i.id = r.identity_id
    JOIN resources res ON res.id = r.resource_id
    JOIN users u ON u.id = r.requester_id
    LEFT JOIN grants g ON g.request_id = r.id"
        )
    };
}

/// Who may see a request or grant: its requester, anyone who ever owned its identity, and
/// the roles that oversee (approvers, reviewers, admins, auditors, passed as a flag).
/// `$1` is the viewer.
macro_rules! visible_to_owner_or_requester {
    () => {
        "(r.requester_id = $1 OR EXISTS (
         SELECT 1 FROM ownerships o WHERE o.identity_id = r.identity_id AND o.user_id = $1
                                      AND o.ended_at IS NULL))"
    };
}

#[derive(FromRow)]
pub(super) struct RequestRow {
    pub(super) id: i64,
    pub(super) state: String,
    pub(super) identity_id: i64,
    pub(super) identity_name: String,
    pub(super) resource_id: i64,
    pub(super) resource_name: String,
    pub(super) privilege: String,
    pub(super) duration_secs: i64,
    pub(super) task: String,
    pub(super) ticket: Option<String>,
    pub(super) requester_id: i64,
    pub(super) requester_name: String,
    pub(super) created_at: i64,
    pub(super) pending_expires_at: i64,
    pub(super) approvals_required: i64,
    pub(super) approvers: String,
    pub(super) decided_at: Option<i64>,
    pub(super) decision_comment: Option<String>,
    pub(super) kind: String,
    pub(super) grant_id: Option<i64>,
    pub(super) requester_created_by: Option<i64>,
    /// The identity's owners whose declarations have not ended, comma-separated.
    pub(super) owner_ids: Option<String>,
    pub(super) standing_paths: i64,
    pub(super) starts_at: Option<i64>,
    pub(super) extends_grant_id: Option<i64>,
}

#[derive(FromRow)]
pub(super) struct ApprovalRow {
    pub(super) approver_id: i64,
    pub(super) approver_name: String,
    pub(super) duration_secs: i64,
    pub(super) comment: Option<String>,
    pub(super) at: i64,
}

macro_rules! grant_select {
    () => {
        "
    SELECT g.id, g.request_id, g.state, g.identity_id, i.name AS identity_name, g.resource_id,
           res.name AS resource_name, g.privilege, g.holder_id, u.username AS holder_name,
           g.starts_at, g.expires_at, g.ended_at, g.revoke_reason, g.kind, rv.id AS review_id,
           r.task, ga.connector AS access_connector, ga.account AS access_account,
           ga.provisioned_at AS access_provisioned_at, ga.revoked_at AS access_revoked_at,
           ga.sessions_ended AS access_sessions_ended, cj.attempts AS access_attempts,
           cj.last_error AS access_last_error, cj.next_attempt_at AS access_next_attempt_at,
           cj.done_at AS access_step_done_at, cj.flagged_at AS access_flagged_at,
           gu.introspections AS usage_introspections,
           gu.credential_fetches AS usage_credential_fetches,
           gu.first_used_at AS usage_first_used_at, gu.last_used_at AS usage_last_used_at,
           gu.last_address AS usage_last_address,
           g.extensions, res.max_duration_secs AS policy_max_duration_secs,
           res.max_total_secs AS policy_max_total_secs,
           (SELECT MAX(x.id) FROM requests x
            WHERE x.extends_grant_id = g.id AND x.state = 'pending') AS pending_extension_id
    FROM grants g
    LEFT JOIN reviews rv ON rv.grant_id = g.id
    LEFT JOIN grant_access ga ON ga.grant_id = g.id
    LEFT JOIN grant_usage gu ON gu.grant_id = g.id
    LEFT JOIN connector_jobs cj
           ON cj.id = (SELECT id FROM connector_jobs WHERE grant_id = g.id
                       ORDER BY CASE WHEN done_at IS NULL THEN 0 ELSE 1 END,
                                CASE action WHEN 'provision' THEN 0 WHEN 'revoke' THEN 1 ELSE 2 END,
                                id DESC
                       LIMIT 1)
    JOIN requests r ON r.id = g.request_id
    JOIN identities i ON i.id = g.identity_id
    JOIN resources res ON res.id = g.resource_id
    JOIN users u ON u.id = g.holder_id"
    };
}

#[derive(FromRow)]
pub(super) struct GrantRow {
    pub(super) id: i64,
    pub(super) request_id: i64,
    pub(super) state: String,
    pub(super) identity_id: i64,
    pub(super) identity_name: String,
    pub(super) resource_id: i64,
    pub(super) resource_name: String,
    pub(super) privilege: String,
    pub(super) holder_id: i64,
    pub(super) holder_name: String,
    pub(super) starts_at: i64,
    pub(super) expires_at: i64,
    pub(super) ended_at: Option<i64>,
    pub(super) revoke_reason: Option<String>,
    pub(super) kind: String,
    pub(super) review_id: Option<i64>,
    pub(super) task: String,
    #[sqlx(flatten)]
    pub(super) access: AccessColumns,
    #[sqlx(flatten)]
    pub(super) usage: UsageColumns,
    pub(super) extensions: i64,
    pub(super) policy_max_duration_secs: i64,
    pub(super) policy_max_total_secs: Option<i64>,
    pub(super) pending_extension_id: Option<i64>,
}

/// How a grant was used (`grant_select!`'s `usage_` columns), all NULL when it never was.
#[derive(FromRow)]
pub(super) struct UsageColumns {
    pub(super) usage_introspections: Option<i64>,
    pub(super) usage_credential_fetches: Option<i64>,
    pub(super) usage_first_used_at: Option<i64>,
    pub(super) usage_last_used_at: Option<i64>,
    pub(super) usage_last_address: Option<String>,
}

impl UsageColumns {
    pub(super) fn view(&self) -> Option<GrantUsageView> {
        Some(GrantUsageView {
            introspections: self.usage_introspections?,
            credential_fetches: self.usage_credential_fetches?,
            first_used_at: time(self.usage_first_used_at?),
            last_used_at: time(self.usage_last_used_at?),
            last_address: self.usage_last_address.clone(),
        })
    }
}

/// What a connector made for a grant and its latest step (`grant_select!`'s `access_`
/// columns), all NULL when its resource has no connector.
#[derive(FromRow)]
pub(super) struct AccessColumns {
    pub(super) access_connector: Option<String>,
    pub(super) access_account: Option<String>,
    pub(super) access_provisioned_at: Option<i64>,
    pub(super) access_revoked_at: Option<i64>,
    pub(super) access_sessions_ended: Option<i64>,
    pub(super) access_attempts: Option<i64>,
    pub(super) access_last_error: Option<String>,
    pub(super) access_next_attempt_at: Option<i64>,
    pub(super) access_step_done_at: Option<i64>,
    pub(super) access_flagged_at: Option<i64>,
}

impl AccessColumns {
    pub(super) fn view(&self, grant_ended: bool) -> Option<GrantAccessView> {
        let connector = self.access_connector.clone()?;
        let phase = AccessPhase::of(
            self.access_provisioned_at.is_some(),
            self.access_revoked_at.is_some(),
            grant_ended,
        );
        let open = self.access_step_done_at.is_none();
        Some(GrantAccessView {
            connector,
            phase,
            account: self.access_account.clone(),
            provisioned_at: self.access_provisioned_at.map(time),
            revoked_at: self.access_revoked_at.map(time),
            sessions_ended: self.access_sessions_ended,
            attempts: self.access_attempts.unwrap_or(0),
            last_error: self.access_last_error.clone().filter(|_| open),
            next_attempt_at: self.access_next_attempt_at.filter(|_| open).map(time),
            failing: open && self.access_flagged_at.is_some(),
        })
    }
}

#[derive(FromRow)]
pub(super) struct AuditRow {
    pub(super) seq: i64,
    pub(super) at: i64,
    pub(super) actor_id: Option<i64>,
    pub(super) actor_name: String,
    pub(super) action: String,
    pub(super) target_kind: String,
    pub(super) target_id: Option<i64>,
    pub(super) details: String,
    pub(super) source_ip: Option<String>,
    pub(super) user_agent: Option<String>,
}

/// The columns of an `AuditRow`.
macro_rules! audit_columns {
    () => {
        "seq, at, actor_id, actor_name, action, target_kind, target_id, details, source_ip,
         user_agent"
    };
}
pub(crate) use audit_columns;

impl AuditRow {
    /// The event as `viewer` may see it: where a call came from (address, user agent) is
    /// shown to auditors and admins, and to whoever made it, not to other users.
    pub(super) fn view_for(self, viewer: &UserView) -> AuditEventView {
        let oversees = viewer.has_any(visibility::READS_EVERYTHING);
        self.view_for_id(viewer.id, oversees)
    }

    pub(super) fn view_for_id(self, viewer_id: i64, oversees: bool) -> AuditEventView {
        let sees_origin = oversees || self.actor_id == Some(viewer_id);
        let mut view = self.view();
        if !sees_origin {
            view.source_ip = None;
            view.user_agent = None;
        }
        view
    }

    pub(super) fn view(self) -> AuditEventView {
        AuditEventView {
            seq: self.seq,
            at: time(self.at),
            actor: self.actor_name,
            actor_id: self.actor_id,
            action: self.action,
            target: match self.target_id {
                Some(id) => format!("{} {id}", self.target_kind),
                None => self.target_kind,
            },
            details: serde_json::from_str(&self.details).unwrap_or_default(),
            source_ip: self.source_ip,
            user_agent: self.user_agent,
        }
    }
}

/// Whether `viewer` may see the request (and its grant): see `visible_to_owner_or_requester`.
pub(super) async fn can_see_request(
    conn: &mut Conn,
    viewer: &UserView,
    request_id: i64,
) -> StoreResult<bool> {
    if is_privileged_viewer(viewer) {
        return Ok(true);
    }
    Ok(sqlx::query_scalar(concat!(
        "SELECT EXISTS (SELECT 1 FROM requests r WHERE r.id = $2 AND ",
        visible_to_owner_or_requester!(),
        ")"
    ))
    .bind(viewer.id)
    .bind(request_id)
    .fetch_one(&mut *conn)
    .await?)
}

pub(super) async fn is_current_owner(
    conn: &mut Conn,
    identity_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM ownerships WHERE identity_id = $1 AND user_id = $2
                        AND ended_at IS NULL AND attest_until > $3)",
    )
    .bind(identity_id)
    .bind(user_id)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await?)
}

pub(super) async fn load_resource(conn: &mut Conn, id: i64) -> StoreResult<Option<ResourceRow>> {
    Ok(
        sqlx::query_as(concat!(resource_select!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The enabled users holding the approver role, by name.
pub(super) async fn approver_role_holders(conn: &mut Conn) -> StoreResult<Vec<NamedRef>> {
    role_holders(conn, Role::Approver).await
}

/// The enabled users holding `role`, by name. Roles are parsed, not matched as text, so no
/// role name can pass for another.
pub(super) async fn role_holders(conn: &mut Conn, role: Role) -> StoreResult<Vec<NamedRef>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, username, roles FROM users WHERE NOT disabled ORDER BY username",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, roles)| parse_roles(roles).contains(&role))
        .map(|(id, name, _)| NamedRef::new(id, name))
        .collect())
}

pub(super) async fn load_request(conn: &mut Conn, id: i64) -> StoreResult<RequestRow> {
    sqlx::query_as(concat!(request_select!(), " WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("request {id}")))
}

/// A request with its approvals, oldest first, read in one statement.
#[derive(FromRow)]
struct RequestWithApprovalsRow {
    #[sqlx(flatten)]
    request: RequestRow,
    /// `approvals_json!`: `[approver_id, approver_name, duration_secs, comment, at]` each.
    approval_list: String,
}

/// The request `id` and its approvals so far (what deciding it, and showing it, need).
pub(super) async fn load_request_with_approvals(
    conn: &mut Conn,
    id: i64,
) -> StoreResult<(RequestRow, Vec<ApprovalRow>)> {
    let row: RequestWithApprovalsRow = sqlx::query_as(concat!(
        "SELECT rs.*, ",
        approvals_json!("rs"),
        " AS approval_list FROM (",
        request_select!(),
        " WHERE r.id = $1) rs"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("request {id}")))?;
    type Listed = (i64, String, i64, Option<String>, i64);
    let listed: Vec<Listed> = parse_json("approvals", &row.approval_list)?;
    let approvals = listed
        .into_iter()
        .map(
            |(approver_id, approver_name, duration_secs, comment, at)| ApprovalRow {
                approver_id,
                approver_name,
                duration_secs,
                comment,
                at,
            },
        )
        .collect();
    Ok((row.request, approvals))
}

pub(super) async fn load_grant(conn: &mut Conn, id: i64) -> StoreResult<GrantRow> {
    sqlx::query_as(concat!(grant_select!(), " WHERE g.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("grant {id}")))
}

/// A grant with its identity's owners whose attestation holds at the time bound as `$2`.
#[derive(FromRow)]
pub(super) struct OwnedGrantRow {
    #[sqlx(flatten)]
    pub(super) grant: GrantRow,
    owner_ids: Option<String>,
}

impl OwnedGrantRow {
    pub(super) fn owners(&self) -> Vec<i64> {
        parse_id_list(self.owner_ids.as_deref())
    }
}

/// A grant and its identity's current owners at `now` (what its view needs), in one
/// statement rather than two.
pub(super) async fn load_owned_grant(
    conn: &mut Conn,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<OwnedGrantRow> {
    sqlx::query_as(concat!(
        "SELECT gs.*, ",
        owner_ids!("gs", attested_at 2),
        " AS owner_ids FROM (",
        grant_select!(),
        " WHERE g.id = $1) gs"
    ))
    .bind(id)
    .bind(ms(now))
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("grant {id}")))
}

/// Ids as the `owner_ids!` aggregates spell them: comma-separated, NULL for none.
fn parse_id_list(ids: Option<&str>) -> Vec<i64> {
    ids.unwrap_or_default()
        .split(',')
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// A JSON array of ids, for `IN ids_in!(n)`: one query for a whole
/// page instead of one per row.
pub(super) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    serde_json::Value::from(ids.into_iter().collect::<Vec<_>>()).to_string()
}

/// An outbox whose rows workers lease before attempting them.
#[derive(Clone, Copy)]
pub(super) enum Outbox {
    ConnectorJobs,
    NotificationDeliveries,
}

/// Leases the rows `ids` of `outbox` to `claim` until `until`: no other worker takes them
/// meanwhile, and only `claim` records their outcome.
pub(super) async fn lease(
    conn: &mut Conn,
    outbox: Outbox,
    ids: impl IntoIterator<Item = i64>,
    until: DateTime<Utc>,
    claim: &str,
) -> StoreResult<()> {
    let ids = id_list(ids);
    if ids == "[]" {
        return Ok(());
    }
    let sql = match outbox {
        Outbox::ConnectorJobs => concat!(
            "UPDATE connector_jobs SET claimed_until = $1, claim_token = $3 WHERE id IN ",
            ids_in!(2)
        ),
        Outbox::NotificationDeliveries => concat!(
            "UPDATE notification_deliveries SET claimed_until = $1, claim_token = $3 WHERE id IN ",
            ids_in!(2)
        ),
    };
    sqlx::query(sql)
        .bind(ms(until))
        .bind(ids)
        .bind(claim)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The current owners of each of `identity_ids`.
pub(super) async fn current_owners_of(
    conn: &mut Conn,
    identity_ids: &[i64],
    now: DateTime<Utc>,
) -> StoreResult<HashMap<i64, Vec<i64>>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(concat!(
        "SELECT identity_id, user_id FROM ownerships
         WHERE identity_id IN ",
        ids_in!(1),
        " AND ended_at IS NULL AND attest_until > $2"
    ))
    .bind(id_list(identity_ids.iter().copied()))
    .bind(ms(now))
    .fetch_all(&mut *conn)
    .await?;
    let mut owners: HashMap<i64, Vec<i64>> = HashMap::new();
    for (identity, user) in rows {
        owners.entry(identity).or_default().push(user);
    }
    Ok(owners)
}

/// The approvals of each of `request_ids`, oldest first.
pub(super) async fn approvals_of_requests(
    conn: &mut Conn,
    request_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<ApprovalRow>>> {
    let rows: Vec<(i64, i64, String, i64, Option<String>, i64)> = sqlx::query_as(concat!(
        "SELECT a.request_id, a.approver_id, u.username, a.duration_secs, a.comment, a.at
         FROM approvals a JOIN users u ON u.id = a.approver_id
         WHERE a.request_id IN ",
        ids_in!(1),
        " ORDER BY a.at, a.approver_id"
    ))
    .bind(id_list(request_ids.iter().copied()))
    .fetch_all(&mut *conn)
    .await?;
    let mut approvals: HashMap<i64, Vec<ApprovalRow>> = HashMap::new();
    for (request_id, approver_id, approver_name, duration_secs, comment, at) in rows {
        approvals.entry(request_id).or_default().push(ApprovalRow {
            approver_id,
            approver_name,
            duration_secs,
            comment,
            at,
        });
    }
    Ok(approvals)
}

pub(super) fn approvals_of(rows: &[ApprovalRow]) -> Vec<Approval> {
    rows.iter()
        .map(|a| Approval {
            approver_id: a.approver_id,
            duration_secs: a.duration_secs,
        })
        .collect()
}

impl RequestRow {
    pub(super) fn state(&self) -> StoreResult<RequestState> {
        parse_state(&self.state, RequestState::parse)
    }

    /// The request as `viewer` sees it; `role_holders` are the enabled holders of the
    /// approver role, from whom who may still approve it is drawn.
    pub(super) fn view(
        &self,
        viewer: &UserView,
        approvals: &[ApprovalRow],
        role_holders: &[NamedRef],
        now: DateTime<Utc>,
    ) -> StoreResult<RequestView> {
        let state = self.state()?;
        let decidable_approvals = approvals_of(approvals);
        let approvers = self.approvers()?;
        let owners = self.owners();
        let decidable = self.decidable(&decidable_approvals, &approvers, &owners, now)?;
        let can_decide = rules::may_approve(&decidable, viewer.id, &viewer.roles);
        let eligible_approvers = if state == RequestState::Pending {
            rules::eligible_approvers(&decidable, role_holders)
        } else {
            Vec::new()
        };
        Ok(RequestView {
            id: self.id,
            state,
            identity: NamedRef::new(self.identity_id, self.identity_name.clone()),
            resource: NamedRef::new(self.resource_id, self.resource_name.clone()),
            privilege: self.privilege.clone(),
            duration_secs: self.duration_secs,
            justification: Justification {
                task: self.task.clone(),
                ticket: self.ticket.clone(),
            },
            requester: NamedRef::new(self.requester_id, self.requester_name.clone()),
            created_at: time(self.created_at),
            pending_expires_at: time(self.pending_expires_at),
            approvals_required: self.approvals_required as u32,
            approvers,
            eligible_approvers,
            approvals: approvals
                .iter()
                .map(|a| ApprovalView {
                    approver: NamedRef::new(a.approver_id, a.approver_name.clone()),
                    duration_secs: a.duration_secs,
                    comment: a.comment.clone(),
                    at: time(a.at),
                })
                .collect(),
            decision_comment: self.decision_comment.clone(),
            decided_at: self.decided_at.map(time),
            grant_id: self.grant_id,
            break_glass: self.kind == BREAK_GLASS,
            auto_approved: self.kind == AUTO_APPROVED,
            can_decide,
            standing_paths: self.standing_paths as u32,
            starts_at: self.starts_at.map(time),
            extends_grant_id: self.extends_grant_id,
        })
    }

    pub(super) fn approvers(&self) -> StoreResult<Approvers> {
        parse_json("approvers", &self.approvers)
    }

    pub(super) fn owners(&self) -> Vec<i64> {
        parse_id_list(self.owner_ids.as_deref())
    }

    pub(super) fn decidable<'a>(
        &self,
        approvals: &'a [Approval],
        approvers: &'a Approvers,
        owners: &'a [i64],
        now: DateTime<Utc>,
    ) -> StoreResult<Decidable<'a>> {
        Ok(Decidable {
            state: self.state()?,
            requester_id: self.requester_id,
            duration_secs: self.duration_secs,
            approvals_required: self.approvals_required as u32,
            approvers,
            approvals,
            owners,
            requester_created_by: self.requester_created_by,
            pending_expires_at: time(self.pending_expires_at),
            now,
        })
    }
}

impl GrantRow {
    pub(super) fn state(&self) -> StoreResult<GrantState> {
        parse_state(&self.state, GrantState::parse)
    }

    /// The grant as `viewer` sees it, given its identity's current owners.
    pub(super) fn view_with(
        &self,
        viewer: &UserView,
        owners: &[i64],
        now: DateTime<Utc>,
    ) -> StoreResult<GrantView> {
        let state = self.state()?;
        let owner = owners.contains(&viewer.id);
        let orphaned = owners.is_empty();
        let live = state == GrantState::Active && self.expires_at > ms(now);
        let secs_left = (self.expires_at - ms(now)) / 1000;
        // The holder asks, while they may still ask for this identity.
        let may_ask =
            rules::may_ask_for(owner, viewer.identity_id.map(|id| id == self.identity_id));
        let extendable = self.extendable(state, self.holder_id == viewer.id && may_ask);
        let extendable_secs = if lifecycle::check_extension(&extendable, 1, now).is_ok() {
            extendable.longest_extension()
        } else {
            0
        };
        let access = self.access.view(state.is_final());
        // A grant whose access downstream is not made yet cannot be used yet.
        let usable = live
            && access
                .as_ref()
                .is_none_or(|a| a.phase == AccessPhase::Ready);
        Ok(GrantView {
            id: self.id,
            request_id: self.request_id,
            state,
            identity: NamedRef::new(self.identity_id, self.identity_name.clone()),
            resource: NamedRef::new(self.resource_id, self.resource_name.clone()),
            privilege: self.privilege.clone(),
            task: self.task.clone(),
            holder: NamedRef::new(self.holder_id, self.holder_name.clone()),
            starts_at: time(self.starts_at),
            expires_at: time(self.expires_at),
            ended_at: self.ended_at.map(time),
            revoke_reason: self.revoke_reason.clone(),
            break_glass: self.kind == BREAK_GLASS,
            review_id: self.review_id,
            identity_orphaned: orphaned,
            can_fetch_credential: usable && self.holder_id == viewer.id,
            can_revoke: rules::revocable(state, secs_left)
                && rules::may_revoke(owner, &viewer.roles, self.kind == BREAK_GLASS),
            access,
            usage: self.usage.view().map(|mut usage| {
                // A server's address, as the trail's addresses, is for those who oversee.
                if !viewer.has_any(visibility::SEES_CALLER_ADDRESSES) {
                    usage.last_address = None;
                }
                usage
            }),
            extensions: self.extensions as u32,
            pending_extension_id: self.pending_extension_id,
            extendable_secs,
        })
    }

    /// The grant as asking to extend it needs to see it.
    pub(super) fn extendable(&self, state: GrantState, actor_is_holder: bool) -> Extendable {
        Extendable {
            state,
            starts_at: time(self.starts_at),
            expires_at: time(self.expires_at),
            break_glass: self.kind == BREAK_GLASS,
            actor_is_holder,
            pending_extension: self.pending_extension_id,
            max_duration_secs: self.policy_max_duration_secs,
            total_limit_secs: lifecycle::total_limit(
                self.policy_max_duration_secs,
                self.policy_max_total_secs,
            ),
        }
    }
}
