//! Standing credentials: imports, records made by hand, triage, mapping rules and
//! coverage. Each write runs inside the caller's write transaction with its audit events.

use super::Conn;
use super::{ms, time};
use crate::store::port::{MappingRule, StandingMapping, StandingRecord, StandingRows};
use crate::store::{StandingFilter, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::FromRow;
use stint_core::Role;
use stint_core::api::{NamedRef, UserView};
use stint_core::standing::{
    self, CoveragePoint, CoverageView, MappingRuleBody, MappingRuleView, NewStandingBody,
    ResourceCoverage, SecretSource, StandingStatus, StandingView,
};

/// How many days the coverage chart looks back.
const HISTORY_DAYS: i64 = 30;

/// A finding with whether the viewer (`$1`) owns, at `$2`, the identity it is mapped to.
macro_rules! standing_select {
    () => {
        "SELECT s.id, s.tool, s.source, s.location, s.secret_type, s.fingerprint, s.description,
                s.first_seen, s.last_seen, s.not_seen_since, s.status, s.identity_id,
                i.name AS identity_name, s.resource_id, res.name AS resource_name, s.privilege,
                s.owner_id, ow.username AS owner_name, s.mapped_by_rule, s.resolution_reason,
                s.resolved_by, rb.username AS resolved_by_name, s.resolved_at, s.grant_id,
                mine.identity_id IS NOT NULL AS viewer_owns,
                s.mapped_by IS NOT NULL AND s.mapped_by = $1 AS viewer_mapped
         FROM standing_credentials s
         LEFT JOIN identities i ON i.id = s.identity_id
         LEFT JOIN resources res ON res.id = s.resource_id
         LEFT JOIN users ow ON ow.id = s.owner_id
         LEFT JOIN users rb ON rb.id = s.resolved_by
         LEFT JOIN (SELECT DISTINCT identity_id FROM ownerships
                    WHERE user_id = $1 AND ended_at IS NULL AND attest_until > $2) mine
                ON mine.identity_id = s.identity_id"
    };
}

#[derive(FromRow)]
struct StandingRow {
    id: i64,
    tool: String,
    source: String,
    location: String,
    secret_type: String,
    fingerprint: Option<String>,
    description: String,
    first_seen: i64,
    last_seen: i64,
    not_seen_since: Option<i64>,
    status: String,
    identity_id: Option<i64>,
    identity_name: Option<String>,
    resource_id: Option<i64>,
    resource_name: Option<String>,
    privilege: Option<String>,
    owner_id: Option<i64>,
    owner_name: Option<String>,
    mapped_by_rule: Option<i64>,
    resolution_reason: Option<String>,
    resolved_by: Option<i64>,
    resolved_by_name: Option<String>,
    resolved_at: Option<i64>,
    grant_id: Option<i64>,
    viewer_owns: bool,
    /// The viewer mapped this finding by hand.
    viewer_mapped: bool,
}

fn named(id: Option<i64>, name: Option<String>) -> Option<NamedRef> {
    Some(NamedRef::new(id?, name?))
}

impl StandingRow {
    fn status(&self) -> StoreResult<StandingStatus> {
        StandingStatus::parse(&self.status)
            .ok_or_else(|| StoreError::Corrupt(format!("standing status `{}`", self.status)))
    }

    fn view(self, viewer: &UserView) -> StoreResult<StandingView> {
        let status = self.status()?;
        Ok(StandingView {
            id: self.id,
            tool: SecretSource::parse(&self.tool)
                .ok_or_else(|| StoreError::Corrupt(format!("standing tool `{}`", self.tool)))?,
            source: self.source,
            location: self.location,
            secret_type: self.secret_type,
            fingerprint: self.fingerprint,
            description: self.description,
            first_seen: time(self.first_seen),
            last_seen: time(self.last_seen),
            not_seen_since: self.not_seen_since.map(time),
            status,
            identity: named(self.identity_id, self.identity_name),
            resource: named(self.resource_id, self.resource_name),
            privilege: self.privilege,
            owner: named(self.owner_id, self.owner_name),
            mapped_by_rule: self.mapped_by_rule,
            resolution_reason: self.resolution_reason,
            resolved_by: named(self.resolved_by, self.resolved_by_name),
            resolved_at: self.resolved_at.map(time),
            grant_id: self.grant_id,
            can_triage: standing::may_triage(status, viewer.has(Role::Admin), self.viewer_owns),
        })
    }
}

/// Admins and auditors see every finding; everyone else the unmapped ones (which an owner
/// may claim) and those about identities they own now.
fn sees_everything(viewer: &UserView) -> bool {
    viewer.has_any(stint_core::visibility::READS_EVERYTHING)
}

/// The findings `viewer` may see, narrowed by `filter` and, when given, to one id: unmapped
/// first, then mapped, then resolved; oldest first within each.
async fn visible(
    conn: &mut Conn,
    viewer: &UserView,
    filter: &StandingFilter,
    id: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<StandingRow>> {
    Ok(sqlx::query_as(concat!(
        standing_select!(),
        " WHERE ($3 OR s.status = 'unmapped' OR mine.identity_id IS NOT NULL)
            AND ($4 IS NULL OR s.status = $4)
            AND ($5 IS NULL OR s.identity_id = $5)
            AND ($6 IS NULL OR s.id = $6)
          ORDER BY CASE s.status WHEN 'unmapped' THEN 0 WHEN 'mapped' THEN 1 ELSE 2 END,
                   s.first_seen, s.id"
    ))
    .bind(viewer.id)
    .bind(ms(now))
    .bind(sees_everything(viewer))
    .bind(filter.status.map(StandingStatus::as_str))
    .bind(filter.identity_id)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}

/// One finding `viewer` may see; one they may not is not found.
async fn visible_one(
    conn: &mut Conn,
    viewer: &UserView,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<StandingRow> {
    visible(conn, viewer, &StandingFilter::default(), Some(id), now)
        .await?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("standing credential {id}")))
}

pub(super) async fn list(
    conn: &mut Conn,
    viewer: &UserView,
    filter: &StandingFilter,
    now: DateTime<Utc>,
) -> StoreResult<Vec<StandingView>> {
    visible(conn, viewer, filter, None, now)
        .await?
        .into_iter()
        .map(|row| row.view(viewer))
        .collect()
}

pub(super) async fn one(
    conn: &mut Conn,
    viewer: &UserView,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<StandingView> {
    visible_one(conn, viewer, id, now).await?.view(viewer)
}

#[derive(FromRow)]
pub(super) struct RuleRow {
    pub(super) id: i64,
    tool: Option<String>,
    secret_type: Option<String>,
    path_pattern: String,
    identity_id: i64,
    identity_name: String,
    resource_id: i64,
    resource_name: String,
    privilege: Option<String>,
    created_by: i64,
    created_by_name: String,
    created_at: i64,
}

impl RuleRow {
    /// The rule as matching findings needs it.
    pub(super) fn matcher(self) -> MappingRule {
        MappingRule {
            id: self.id,
            tool: self.tool.as_deref().and_then(SecretSource::parse),
            secret_type: self.secret_type,
            path_pattern: self.path_pattern,
        }
    }

    fn view(self) -> MappingRuleView {
        MappingRuleView {
            id: self.id,
            tool: self.tool.as_deref().and_then(SecretSource::parse),
            secret_type: self.secret_type,
            path_pattern: self.path_pattern,
            identity: NamedRef::new(self.identity_id, self.identity_name),
            resource: NamedRef::new(self.resource_id, self.resource_name),
            privilege: self.privilege,
            created_by: NamedRef::new(self.created_by, self.created_by_name),
            created_at: time(self.created_at),
        }
    }
}

/// The rules in force, oldest first: the first that matches a finding maps it.
pub(super) async fn rules(conn: &mut Conn) -> StoreResult<Vec<MappingRuleView>> {
    Ok(active_rules(conn)
        .await?
        .into_iter()
        .map(RuleRow::view)
        .collect())
}

pub(super) async fn active_rules(conn: &mut Conn) -> StoreResult<Vec<RuleRow>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.tool, r.secret_type, r.path_pattern, r.identity_id,
                i.name AS identity_name, r.resource_id, res.name AS resource_name, r.privilege,
                r.created_by, u.username AS created_by_name, r.created_at
         FROM standing_rules r
         JOIN identities i ON i.id = r.identity_id
         JOIN resources res ON res.id = r.resource_id
         JOIN users u ON u.id = r.created_by
         WHERE r.deleted_at IS NULL ORDER BY r.id",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Per resource, the mapped standing credentials reaching it; the share over time.
pub(super) async fn coverage(
    conn: &mut Conn,
    viewer: &UserView,
    now: DateTime<Utc>,
) -> StoreResult<CoverageView> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT res.id, res.name,
                (SELECT COUNT(*) FROM standing_credentials s
                 WHERE s.resource_id = res.id AND s.status = 'mapped')
         FROM resources res ORDER BY res.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let resources = rows
        .into_iter()
        .map(|(id, name, n)| ResourceCoverage {
            resource: NamedRef::new(id, name),
            standing_paths: n as u32,
        })
        .collect();
    let unmapped: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM standing_credentials WHERE status = 'unmapped'")
            .fetch_one(&mut *conn)
            .await?;
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM standing_credentials WHERE status IN ('unmapped', 'mapped')
         ORDER BY first_seen, id LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    // Shown only to a viewer who may see that finding; the figures above are everyone's.
    let oldest_unresolved = match oldest {
        Some(id) => visible(conn, viewer, &StandingFilter::default(), Some(id), now)
            .await?
            .pop()
            .map(|row| row.view(viewer))
            .transpose()?,
        None => None,
    };
    Ok(CoverageView {
        resources,
        unmapped: unmapped as u32,
        oldest_unresolved,
        history: history(conn, now).await?,
    })
}

/// Coverage at the end of each of the last `HISTORY_DAYS` days (UTC), the last point now:
/// a resource had a standing path at `t` if a credential reaching it was mapped by `t` and
/// not resolved by then.
async fn history(conn: &mut Conn, now: DateTime<Utc>) -> StoreResult<Vec<CoveragePoint>> {
    let midnight = now
        .duration_trunc(Duration::days(1))
        .map_err(|e| StoreError::Corrupt(format!("clock: {e}")))?;
    let mut points = Vec::with_capacity(HISTORY_DAYS as usize);
    for days_back in (0..HISTORY_DAYS).rev() {
        let at = if days_back == 0 {
            now
        } else {
            midnight - Duration::days(days_back - 1)
        };
        points.push(coverage_at(conn, at).await?);
    }
    Ok(points)
}

/// Coverage at `at`: a resource had a standing path then if a credential reaching it was
/// mapped by `at` and not resolved by then.
pub(super) async fn coverage_at(conn: &mut Conn, at: DateTime<Utc>) -> StoreResult<CoveragePoint> {
    let (resources, exposed): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM resources WHERE created_at <= $1),
                (SELECT COUNT(DISTINCT s.resource_id) FROM standing_credentials s
                 JOIN resources res ON res.id = s.resource_id AND res.created_at <= $1
                 WHERE s.mapped_at <= $1 AND (s.resolved_at IS NULL OR s.resolved_at > $1))",
    )
    .bind(ms(at))
    .fetch_one(&mut *conn)
    .await?;
    Ok(CoveragePoint {
        at,
        jit_only: (resources - exposed) as u32,
        resources: resources as u32,
    })
}

#[async_trait]
impl StandingRows for Conn {
    async fn visible_standing(
        &mut self,
        viewer: &UserView,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StandingRecord>> {
        let row = visible(self, viewer, &StandingFilter::default(), Some(id), now)
            .await?
            .pop();
        row.map(|row| {
            Ok(StandingRecord {
                id: row.id,
                status: row.status()?,
                tool: row.tool,
                source: row.source,
                location: row.location,
                viewer_owns: row.viewer_owns,
                viewer_mapped: row.viewer_mapped,
            })
        })
        .transpose()
    }

    async fn insert_manual_standing(
        &mut self,
        body: &NewStandingBody,
        owner_id: i64,
        created_by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO standing_credentials
                (tool, source, location, secret_type, description, first_seen, last_seen, status,
                 identity_id, resource_id, privilege, mapped_at, owner_id, created_by)
             VALUES ('manual', 'manual', $1, $2, $3, $4, $5, 'mapped', $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(&body.location)
        .bind(&body.secret_type)
        .bind(&body.description)
        .bind(ms(at))
        .bind(ms(at))
        .bind(body.identity_id)
        .bind(body.resource_id)
        .bind(&body.privilege)
        .bind(ms(at))
        .bind(owner_id)
        .bind(created_by)
        .fetch_one(&mut *self)
        .await?)
    }

    async fn map_standing(
        &mut self,
        id: i64,
        from: StandingStatus,
        to: &StandingMapping<'_>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE standing_credentials SET status = $1, identity_id = $2, resource_id = $3,
                    privilege = $4, mapped_at = $5, mapped_by_rule = NULL, mapped_by = $6
             WHERE id = $7 AND status = $8",
        )
        .bind(to.next.as_str())
        .bind(to.identity_id)
        .bind(to.resource_id)
        .bind(to.privilege)
        .bind(ms(to.at))
        .bind(to.by)
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn resolve_standing(
        &mut self,
        id: i64,
        from: StandingStatus,
        next: StandingStatus,
        reason: Option<&str>,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE standing_credentials SET status = $1, resolution_reason = $2,
                    resolved_by = $3, resolved_at = $4
             WHERE id = $5 AND status = $6",
        )
        .bind(next.as_str())
        .bind(reason)
        .bind(by)
        .bind(ms(at))
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn insert_mapping_rule(
        &mut self,
        body: &MappingRuleBody,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO standing_rules (tool, secret_type, path_pattern, identity_id,
                                         resource_id, privilege, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(body.tool.map(SecretSource::as_str))
        .bind(&body.secret_type)
        .bind(&body.path_pattern)
        .bind(body.identity_id)
        .bind(body.resource_id)
        .bind(&body.privilege)
        .bind(by)
        .bind(ms(at))
        .fetch_one(&mut *self)
        .await?)
    }

    async fn retire_mapping_rule(&mut self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE standing_rules SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(ms(at))
        .bind(id)
        .execute(&mut *self)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn user_exists(&mut self, id: i64) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND identity_id IS NULL)",
        )
        .bind(id)
        .fetch_one(&mut *self)
        .await?)
    }
}
