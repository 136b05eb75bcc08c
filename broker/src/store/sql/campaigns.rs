//! Access review campaigns as rows (the use cases are `crate::service::campaigns`), and
//! their read views: a campaign's progress, and the items a viewer may see.

use super::{Conn, ms, time};
use crate::store::port::{AdminRows, CampaignItemRecord, CampaignRecord, CampaignRows};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use stint_core::api::{NamedRef, UserView};
use stint_core::campaigns::{
    Assignee, CampaignDetail, CampaignItemView, CampaignScope, CampaignView, Decision,
    GrantSubject, IdentitySubject, ItemKind, NewCampaignBody, Owner, PlannedItem, ResourceSubject,
    StandingSubject, Subjects,
};
use stint_core::{IdentityKind, Role, RuleError, break_glass, rules, visibility};

/// An item with its assignee's and decider's names.
macro_rules! item_select {
    () => {
        "SELECT ci.id, ci.campaign_id, ci.kind, ci.subject, ci.detail, ci.assignee_id,
                a.username AS assignee_name, ci.resource_id, ci.identity_id, ci.grant_id,
                ci.standing_id, ci.ownership_id, ci.subject_user_id, ci.decision, ci.comment,
                ci.link, ci.decided_by,
                d.username AS decided_by_name, ci.decided_at
         FROM campaign_items ci
         LEFT JOIN users a ON a.id = ci.assignee_id
         LEFT JOIN users d ON d.id = ci.decided_by"
    };
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} `{value}`"))
}

fn assignee(id: Option<i64>, name: Option<String>) -> Assignee {
    match (id, name) {
        (Some(id), Some(name)) => Assignee::User {
            user: NamedRef::new(id, name),
        },
        _ => Assignee::Admins,
    }
}

#[async_trait]
impl CampaignRows for Conn {
    async fn campaign_subjects(
        &mut self,
        scope: &CampaignScope,
        now: DateTime<Utc>,
    ) -> StoreResult<Subjects> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM resources ORDER BY name")
            .fetch_all(&mut *self)
            .await?;
        let mut resources = Vec::new();
        for id in ids.into_iter().filter(|id| scope.has_resource(*id)) {
            let Some(r) = <Conn as AdminRows>::resource(self, id).await? else {
                continue;
            };
            let approvers = match &r.policy.approvers {
                stint_core::Approvers::Users { users } => users.clone(),
                stint_core::Approvers::Role => Vec::new(),
            };
            let mut policy = rules::describe_policy(&r.policy, &approvers);
            if let Some(bounds) = &r.policy.break_glass {
                policy.push_str(&format!(" · {}", break_glass::describe(bounds)));
            }
            let auto_approval = r.policy.auto_approve.as_ref().map(|a| {
                format!(
                    "Approves {} for {} kinds of identity, up to {}, without people",
                    a.privileges.join(", "),
                    a.identity_kinds.len(),
                    stint_core::format::duration(a.max_duration_secs)
                )
            });
            resources.push(ResourceSubject {
                resource: NamedRef::new(r.id, r.name),
                policy,
                approvers,
                auto_approval,
            });
        }
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, kind FROM identities ORDER BY name")
                .fetch_all(&mut *self)
                .await?;
        let owners: Vec<(i64, i64, i64, String, i64, bool)> = sqlx::query_as(
            "SELECT o.id, o.identity_id, u.id, u.username, o.attest_until, u.disabled
             FROM ownerships o JOIN users u ON u.id = o.user_id
             WHERE o.ended_at IS NULL AND o.attest_until > $1
             ORDER BY o.declared_at, o.id",
        )
        .bind(ms(now))
        .fetch_all(&mut *self)
        .await?;
        let mut identities = Vec::new();
        for (id, name, kind) in rows {
            let kind = IdentityKind::parse(&kind).ok_or_else(|| corrupt("identity kind", &kind))?;
            if !scope.has_kind(kind) {
                continue;
            }
            identities.push(IdentitySubject {
                identity: NamedRef::new(id, name),
                owners: owners
                    .iter()
                    .filter(|o| o.1 == id)
                    .map(|(declaration, _, user, username, until, disabled)| Owner {
                        declaration: *declaration,
                        user: NamedRef::new(*user, username.clone()),
                        attest_until: time(*until),
                        disabled: *disabled,
                    })
                    .collect(),
            });
        }
        let in_scope = |identity: i64, resource: i64| {
            scope.has_resource(resource) && identities.iter().any(|i| i.identity.id == identity)
        };
        let grants: Vec<(i64, i64, String, i64, String, String, i64, String, i64)> =
            sqlx::query_as(
                "SELECT g.id, i.id, i.name, res.id, res.name, g.privilege, u.id, u.username,
                        g.expires_at
                 FROM grants g
                 JOIN identities i ON i.id = g.identity_id
                 JOIN resources res ON res.id = g.resource_id
                 JOIN users u ON u.id = g.holder_id
                 WHERE g.state IN ('active', 'scheduled') AND g.expires_at > $1 ORDER BY g.id",
            )
            .bind(ms(now))
            .fetch_all(&mut *self)
            .await?;
        let standing: Vec<(i64, i64, String, i64, String, String)> = sqlx::query_as(
            "SELECT s.id, i.id, i.name, res.id, res.name, s.location
             FROM standing_credentials s
             JOIN identities i ON i.id = s.identity_id
             JOIN resources res ON res.id = s.resource_id
             WHERE s.status = 'mapped' ORDER BY s.id",
        )
        .fetch_all(&mut *self)
        .await?;
        let grants: Vec<_> = grants.into_iter().filter(|g| in_scope(g.1, g.3)).collect();
        let standing: Vec<_> = standing
            .into_iter()
            .filter(|s| in_scope(s.1, s.3))
            .collect();
        // A review of some resources covers the identities that reach them, not every
        // identity; a review of some kinds of identity covers their access, not every
        // resource's policy.
        if !scope.resource_ids.is_empty() {
            identities.retain(|i| {
                grants.iter().any(|g| g.1 == i.identity.id)
                    || standing.iter().any(|s| s.1 == i.identity.id)
            });
        }
        if !scope.identity_kinds.is_empty() && scope.resource_ids.is_empty() {
            resources.clear();
        }
        Ok(Subjects {
            grants: grants
                .into_iter()
                .map(
                    |(id, iid, iname, rid, rname, privilege, hid, hname, expires)| GrantSubject {
                        grant_id: id,
                        identity: NamedRef::new(iid, iname),
                        resource: NamedRef::new(rid, rname),
                        privilege,
                        holder: NamedRef::new(hid, hname),
                        expires_at: time(expires),
                    },
                )
                .collect(),
            standing: standing
                .into_iter()
                .map(|(id, iid, iname, rid, rname, location)| StandingSubject {
                    standing_id: id,
                    identity: NamedRef::new(iid, iname),
                    resource: NamedRef::new(rid, rname),
                    location,
                })
                .collect(),
            resources,
            identities,
        })
    }

    async fn insert_campaign(
        &mut self,
        body: &NewCampaignBody,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let scope = serde_json::to_string(&body.scope)
            .map_err(|e| StoreError::Corrupt(format!("scope: {e}")))?;
        Ok(sqlx::query_scalar(
            "INSERT INTO campaigns (name, scope, created_by, created_at, due_at, overdue_notice_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(&body.name)
        .bind(scope)
        .bind(by)
        .bind(ms(at))
        .bind(ms(body.due_at))
        .fetch_one(&mut *self)
        .await?)
    }

    async fn insert_campaign_item(
        &mut self,
        campaign_id: i64,
        item: &PlannedItem,
    ) -> StoreResult<i64> {
        let assignee = match &item.assignee {
            Assignee::User { user } => Some(user.id),
            Assignee::Admins => None,
        };
        Ok(sqlx::query_scalar(
            "INSERT INTO campaign_items
                (campaign_id, kind, subject, detail, assignee_id, resource_id, identity_id,
                 grant_id, ownership_id, standing_id, subject_user_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(campaign_id)
        .bind(item.kind.as_str())
        .bind(&item.subject)
        .bind(&item.detail)
        .bind(assignee)
        .bind(item.resource_id)
        .bind(item.identity_id)
        .bind(item.grant_id)
        .bind(item.ownership_id)
        .bind(item.standing_id)
        .bind(item.subject_user_id)
        .fetch_one(&mut *self)
        .await?)
    }

    async fn campaign(&mut self, id: i64) -> StoreResult<CampaignRecord> {
        let row: Option<(i64, String, Option<i64>, i64, i64)> = sqlx::query_as(
            "SELECT c.id, c.name, c.closed_at,
                    (SELECT COUNT(*) FROM campaign_items i WHERE i.campaign_id = c.id),
                    (SELECT COUNT(*) FROM campaign_items i
                     WHERE i.campaign_id = c.id AND i.decision IS NOT NULL)
             FROM campaigns c WHERE c.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        let (id, name, closed_at, items, decided) =
            row.ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))?;
        Ok(CampaignRecord {
            id,
            name,
            closed: closed_at.is_some(),
            items: items as u32,
            decided: decided as u32,
        })
    }

    async fn campaign_item(
        &mut self,
        campaign_id: i64,
        id: i64,
    ) -> StoreResult<CampaignItemRecord> {
        let row: Option<ItemRow> = sqlx::query_as(concat!(
            item_select!(),
            " WHERE ci.campaign_id = $1 AND ci.id = $2"
        ))
        .bind(campaign_id)
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        let row = row.ok_or_else(|| StoreError::NotFound(format!("campaign item {id}")))?;
        let view = row.view(None)?;
        Ok(CampaignItemRecord {
            id: view.id,
            kind: view.kind,
            subject: view.subject,
            assignee: view.assignee,
            decision: view.decision,
            identity_id: view.identity_id,
            grant_id: view.grant_id,
            standing_id: row.standing_id,
            ownership_id: row.ownership_id,
            subject_user_id: row.subject_user_id,
        })
    }

    async fn record_decision(
        &mut self,
        id: i64,
        decision: Decision,
        comment: &str,
        link: Option<&str>,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let changed = sqlx::query(
            "UPDATE campaign_items SET decision = $2, comment = $3, link = $4, decided_by = $5,
                    decided_at = $6
             WHERE id = $1 AND decision IS NULL",
        )
        .bind(id)
        .bind(decision.as_str())
        .bind(comment)
        .bind(link)
        .bind(by)
        .bind(ms(at))
        .execute(&mut *self)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(RuleError::Conflict("this item has been decided".into()).into());
        }
        Ok(())
    }

    async fn due_campaign_notices(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<CampaignRecord>> {
        let ids: Vec<i64> = sqlx::query_scalar(concat!(
            "SELECT c.id FROM campaigns c
             WHERE c.overdue_notice_at <= $1 AND c.closed_at IS NULL
             ORDER BY c.overdue_notice_at LIMIT $2",
            claim_rows!("c")
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        let mut due = Vec::with_capacity(ids.len());
        for id in ids {
            due.push(self.campaign(id).await?);
        }
        Ok(due)
    }

    async fn declaration_owner(
        &mut self,
        ownership_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT u.id, u.username FROM ownerships o JOIN users u ON u.id = o.user_id
             WHERE o.id = $1 AND o.ended_at IS NULL AND o.attest_until > $2",
        )
        .bind(ownership_id)
        .bind(ms(now))
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn campaign_notice_given(&mut self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE campaigns SET overdue_notice_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn close_campaign(&mut self, id: i64, by: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let changed = sqlx::query(
            "UPDATE campaigns SET closed_at = $2, closed_by = $3, overdue_notice_at = NULL
             WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(id)
        .bind(ms(at))
        .bind(by)
        .execute(&mut *self)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(RuleError::Conflict("the campaign is closed already".into()).into());
        }
        Ok(())
    }
}

#[derive(FromRow)]
struct ItemRow {
    id: i64,
    campaign_id: i64,
    kind: String,
    subject: String,
    detail: String,
    assignee_id: Option<i64>,
    assignee_name: Option<String>,
    resource_id: Option<i64>,
    identity_id: Option<i64>,
    grant_id: Option<i64>,
    standing_id: Option<i64>,
    ownership_id: Option<i64>,
    subject_user_id: Option<i64>,
    decision: Option<String>,
    comment: Option<String>,
    link: Option<String>,
    decided_by: Option<i64>,
    decided_by_name: Option<String>,
    decided_at: Option<i64>,
}

impl ItemRow {
    /// The item as `viewer` sees it (`None`: nobody's view; it cannot be decided).
    fn view(&self, viewer: Option<(&UserView, bool)>) -> StoreResult<CampaignItemView> {
        let kind = ItemKind::parse(&self.kind).ok_or_else(|| corrupt("item kind", &self.kind))?;
        let decision = self
            .decision
            .as_deref()
            .map(|d| Decision::parse(d).ok_or_else(|| corrupt("decision", d)))
            .transpose()?;
        let assignee = assignee(self.assignee_id, self.assignee_name.clone());
        let can_decide = viewer.is_some_and(|(viewer, open)| {
            open && decision.is_none()
                && match &assignee {
                    Assignee::User { user } => user.id == viewer.id,
                    Assignee::Admins => viewer.has(Role::Admin),
                }
        });
        Ok(CampaignItemView {
            id: self.id,
            campaign_id: self.campaign_id,
            kind,
            subject: self.subject.clone(),
            detail: self.detail.clone(),
            assignee,
            resource_id: self.resource_id,
            identity_id: self.identity_id,
            grant_id: self.grant_id,
            decision,
            comment: self.comment.clone(),
            link: self.link.clone(),
            decided_by: self
                .decided_by
                .zip(self.decided_by_name.clone())
                .map(|(id, name)| NamedRef::new(id, name)),
            decided_at: self.decided_at.map(time),
            can_decide,
        })
    }
}

/// What a viewer who does not oversee campaigns sees of one: only their items.
const MINE: &str = "(ci.assignee_id = $1 OR (ci.assignee_id IS NULL AND $2))";

type CampaignRow = (
    i64,
    String,
    String,
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
    i64,
    i64,
);

/// Campaigns the viewer may see, newest first: all of them for admins and auditors,
/// those with an item of theirs for anyone else.
pub(super) async fn list(
    conn: &mut Conn,
    viewer: &UserView,
    only: Option<i64>,
) -> StoreResult<Vec<CampaignView>> {
    let overseer = viewer.has_any(visibility::READS_EVERYTHING);
    let admin = viewer.has(Role::Admin);
    let sql = format!(
        "SELECT c.id, c.name, c.scope, c.created_by, cu.username, c.created_at, c.due_at,
                c.closed_at, c.closed_by, xu.username,
                (SELECT COUNT(*) FROM campaign_items ci WHERE ci.campaign_id = c.id),
                (SELECT COUNT(*) FROM campaign_items ci
                 WHERE ci.campaign_id = c.id AND ci.decision IS NOT NULL),
                (SELECT COUNT(*) FROM campaign_items ci
                 WHERE ci.campaign_id = c.id AND ci.decision IS NULL AND {MINE})
         FROM campaigns c
         JOIN users cu ON cu.id = c.created_by
         LEFT JOIN users xu ON xu.id = c.closed_by
         WHERE ($3 OR EXISTS (SELECT 1 FROM campaign_items ci
                               WHERE ci.campaign_id = c.id AND {MINE}))
           AND ($4 IS NULL OR c.id = $4)
         ORDER BY c.id DESC"
    );
    let rows: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(viewer.id)
        .bind(admin)
        .bind(overseer)
        .bind(only)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(
            |(
                id,
                name,
                scope,
                by,
                by_name,
                created,
                due,
                closed,
                closed_by,
                closed_name,
                items,
                decided,
                mine,
            )| {
                Ok(CampaignView {
                    id,
                    name,
                    scope: serde_json::from_str(&scope)
                        .map_err(|e| StoreError::Corrupt(format!("campaign scope: {e}")))?,
                    created_by: NamedRef::new(by, by_name),
                    created_at: time(created),
                    due_at: time(due),
                    closed_at: closed.map(time),
                    closed_by: closed_by
                        .zip(closed_name)
                        .map(|(id, n)| NamedRef::new(id, n)),
                    items: items as u32,
                    decided: decided as u32,
                    mine_open: mine as u32,
                })
            },
        )
        .collect()
}

/// One campaign with the items the viewer may see: every item for admins and auditors,
/// their own for anyone else (who sees nothing of a campaign without one: `NotFound`).
pub(super) async fn detail(
    conn: &mut Conn,
    viewer: &UserView,
    id: i64,
) -> StoreResult<CampaignDetail> {
    let campaign = list(conn, viewer, Some(id))
        .await?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))?;
    let overseer = viewer.has_any(visibility::READS_EVERYTHING);
    let sql = format!(
        "{} WHERE ci.campaign_id = $3 AND ($4 OR {MINE}) ORDER BY ci.id",
        item_select!()
    );
    let rows: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(viewer.id)
        .bind(viewer.has(Role::Admin))
        .bind(id)
        .bind(overseer)
        .fetch_all(&mut *conn)
        .await?;
    let open = campaign.closed_at.is_none();
    Ok(CampaignDetail {
        item_list: rows
            .iter()
            .map(|r| r.view(Some((viewer, open))))
            .collect::<StoreResult<_>>()?,
        campaign,
    })
}
