//! Notification sinks and their outbox as rows (the use cases are
//! `crate::service::notifications`): the sinks, the fan-out's cursor over the audit trail,
//! the deliveries queued from it and every attempt of each.

use super::Conn;
use super::records::{
    Outbox, approver_role_holders, lease, load_grant, load_request_with_approvals, role_holders,
};
use super::{ms, parse_roles, time};
use crate::store::port::{
    AdminRows, AttemptOutcome, DeliveryJob, NewSink, NotableBatch, NotableEvent, NotificationRows,
    ProposalRows, SinkRecord,
};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use std::collections::HashMap;
use stint_core::Role;
use stint_core::api::{NamedRef, UserView};
use stint_core::notify::{
    AttemptView, AudienceFacts, DeliveryStatus, DeliveryView, NOTIFY_EVENTS, NoticeRequest,
    SinkKind, SinkTarget, SinkView, redacted_url, sink_failing,
};

#[derive(FromRow)]
struct SinkRow {
    id: i64,
    name: String,
    kind: String,
    url_env: Option<String>,
    url: Option<String>,
    secret_env: Option<String>,
    events: String,
    resource_ids: Option<String>,
    from_seq: i64,
    created_at: i64,
    created_by: i64,
    created_by_name: String,
    failures_in_a_row: i64,
    last_delivered_at: Option<i64>,
    pending: i64,
}

const SINK_SELECT: &str = "
    SELECT s.id, s.name, s.kind, s.url_env, s.url, s.secret_env, s.events, s.resource_ids,
           s.from_seq, s.created_at, s.created_by, u.username AS created_by_name,
           s.failures_in_a_row, s.last_delivered_at,
           (SELECT COUNT(*) FROM notification_deliveries d
            WHERE d.sink_id = s.id AND d.delivered_at IS NULL AND d.gave_up_at IS NULL)
             AS pending
    FROM notification_sinks s JOIN users u ON u.id = s.created_by
    WHERE s.removed_at IS NULL ORDER BY s.name";

fn kind(text: &str) -> StoreResult<SinkKind> {
    SinkKind::parse(text).ok_or_else(|| StoreError::Corrupt(format!("sink kind {text:?}")))
}

fn json_list<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<Vec<T>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

impl SinkRow {
    fn record(&self) -> StoreResult<SinkRecord> {
        Ok(SinkRecord {
            id: self.id,
            name: self.name.clone(),
            kind: kind(&self.kind)?,
            events: json_list("sink events", &self.events)?,
            resource_ids: self
                .resource_ids
                .as_deref()
                .map(|ids| json_list("sink resources", ids))
                .transpose()?,
            from_seq: self.from_seq,
        })
    }

    fn view(&self, resources: &HashMap<i64, String>, alert_after: i64) -> StoreResult<SinkView> {
        let record = self.record()?;
        let target = match (&self.url_env, &self.url) {
            (Some(var), _) => format!("${var}"),
            (None, Some(url)) => redacted_url(url),
            (None, None) => {
                return Err(StoreError::Corrupt(format!("sink {} has no URL", self.id)));
            }
        };
        Ok(SinkView {
            id: self.id,
            name: self.name.clone(),
            kind: record.kind,
            target,
            secret_env: self.secret_env.clone(),
            events: record.events,
            resources: record.resource_ids.map(|ids| {
                ids.into_iter()
                    .map(|id| {
                        let name = resources.get(&id).cloned().unwrap_or_default();
                        NamedRef::new(id, name)
                    })
                    .collect()
            }),
            created_at: time(self.created_at),
            created_by: NamedRef::new(self.created_by, self.created_by_name.clone()),
            failures_in_a_row: self.failures_in_a_row,
            failing: sink_failing(self.failures_in_a_row, alert_after),
            last_delivered_at: self.last_delivered_at.map(time),
            pending: self.pending,
        })
    }
}

#[derive(FromRow)]
struct EventRow {
    seq: i64,
    at: i64,
    actor_name: String,
    action: String,
    target_kind: String,
    target_id: Option<i64>,
    request_id: Option<i64>,
    grant_id: Option<i64>,
    details: String,
}

#[derive(FromRow)]
struct DeliveryRow {
    id: i64,
    sink_id: i64,
    sink_name: String,
    kind: String,
    url_env: Option<String>,
    url: Option<String>,
    secret_env: Option<String>,
    event: String,
    body: String,
    attempts: i64,
}

/// The broker reading a request to tell of it: it may see everything.
fn broker_viewer() -> UserView {
    UserView {
        id: 0,
        username: "stint".into(),
        display_name: "Stint".into(),
        roles: vec![Role::Admin, Role::Auditor],
        identity_id: None,
        via: None,
        vouched_by: None,
    }
}

/// The enabled current owners of an identity, by name.
async fn owners(
    conn: &mut Conn,
    identity_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<Vec<NamedRef>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT u.id, u.username FROM ownerships o JOIN users u ON u.id = o.user_id
         WHERE o.identity_id = $1 AND o.ended_at IS NULL AND o.attest_until > $2
           AND NOT u.disabled
         ORDER BY u.username",
    )
    .bind(identity_id)
    .bind(ms(now))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| NamedRef::new(id, name))
        .collect())
}

/// An event with the facts its message tells: its request (and so its resource and the
/// identity's owners), its grant, its review.
/// The people messages are drawn from, read once per batch: the approver, reviewer and
/// admin roles' enabled holders.
struct Staff {
    approvers: Vec<NamedRef>,
    reviewers: Vec<NamedRef>,
    admins: Vec<NamedRef>,
}

impl Staff {
    async fn read(conn: &mut Conn) -> StoreResult<Staff> {
        Ok(Staff {
            approvers: approver_role_holders(conn).await?,
            reviewers: role_holders(conn, Role::Reviewer).await?,
            admins: role_holders(conn, Role::Admin).await?,
        })
    }
}

async fn notable(
    conn: &mut Conn,
    row: EventRow,
    staff: &Staff,
    now: DateTime<Utc>,
) -> StoreResult<NotableEvent> {
    let details: serde_json::Value = serde_json::from_str(&row.details).unwrap_or_default();
    let mut event = NotableEvent {
        seq: row.seq,
        action: row.action,
        at: time(row.at),
        actor: row.actor_name,
        request: None,
        resource_id: None,
        grant_id: row.grant_id,
        grant_expires_at: None,
        review_id: None,
        review_due_at: None,
        reason: None,
        campaign: None,
        proposal: None,
        audience: AudienceFacts::default(),
    };
    if let Some(request_id) = row.request_id {
        let (request, approvals) = load_request_with_approvals(conn, request_id).await?;
        let view = request.view(&broker_viewer(), &approvals, &staff.approvers, now)?;
        event.resource_id = Some(view.resource.id);
        event.reason = view.decision_comment.clone();
        event.audience.eligible_approvers = view.eligible_approvers.clone();
        event.audience.requester = Some(view.requester.clone());
        event.audience.owners = owners(conn, view.identity.id, now).await?;
        if view.break_glass {
            event.audience.taker = Some(view.requester.id);
        }
        event.request = Some(NoticeRequest {
            id: view.id,
            identity: view.identity.name,
            resource: view.resource.name,
            privilege: view.privilege,
            duration_secs: view.duration_secs,
            task: view.justification.task,
            ticket: view.justification.ticket,
            requester: view.requester.name,
            break_glass: view.break_glass,
            auto_approved: view.auto_approved,
        });
    }
    if let Some(grant_id) = row.grant_id {
        let grant = load_grant(conn, grant_id).await?;
        event.grant_expires_at = Some(time(grant.expires_at));
        event.audience.holder = Some(NamedRef::new(grant.holder_id, grant.holder_name));
        if event.action == "grant.revoked" {
            event.reason = grant.revoke_reason;
        }
        event.review_id = grant.review_id;
    }
    if row.target_kind == "review" {
        event.review_id = row.target_id;
    }
    if let Some(review_id) = event.review_id {
        let due: Option<i64> = sqlx::query_scalar("SELECT due_at FROM reviews WHERE id = $1")
            .bind(review_id)
            .fetch_optional(&mut *conn)
            .await?;
        event.review_due_at = due.map(time);
    }
    if row.target_kind == "campaign"
        && let Some(id) = row.target_id
    {
        // A start is news for everyone with an item; a reminder, for whoever still owes one
        // while the campaign is open.
        let everyone = event.action != "campaign.overdue";
        let closed: bool =
            sqlx::query_scalar("SELECT closed_at IS NOT NULL FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
        let (name, due_at, admins_answer): (String, i64, bool) = sqlx::query_as(
            "SELECT c.name, c.due_at,
                    EXISTS (SELECT 1 FROM campaign_items ci
                            WHERE ci.campaign_id = c.id AND ci.assignee_id IS NULL
                              AND ($2 OR ci.decision IS NULL))
             FROM campaigns c WHERE c.id = $1",
        )
        .bind(id)
        .bind(everyone)
        .fetch_one(&mut *conn)
        .await?;
        let people: Vec<(i64, String)> = sqlx::query_as(
            "SELECT DISTINCT u.id, u.username FROM campaign_items ci
             JOIN users u ON u.id = ci.assignee_id
             WHERE ci.campaign_id = $1 AND u.disabled = FALSE AND ($2 OR ci.decision IS NULL)
             ORDER BY u.id",
        )
        .bind(id)
        .bind(everyone)
        .fetch_all(&mut *conn)
        .await?;
        event.audience.assignees = people
            .into_iter()
            .filter(|_| everyone || !closed)
            .map(|(id, name)| NamedRef::new(id, name))
            .chain(
                staff
                    .admins
                    .iter()
                    .filter(|_| admins_answer && (everyone || !closed))
                    .cloned(),
            )
            .collect();
        event.campaign = Some(stint_core::notify::NoticeCampaign {
            id,
            name,
            due_at: time(due_at),
        });
    }
    if row.target_kind == "proposal"
        && let Some(id) = row.target_id
    {
        let proposal = <Conn as ProposalRows>::proposal(conn, id).await?.view;
        // Named: the admins who may approve it (not its proposer, nor whom it is about).
        for admin in &staff.admins {
            let roles = <Conn as AdminRows>::user(conn, admin.id).await?.roles;
            if admin.id != proposal.proposed_by.id && !proposal.change.concerns(admin.id, &roles) {
                event.audience.second_admins.push(admin.clone());
            }
        }
        event.proposal = Some(stint_core::notify::NoticeProposal {
            id,
            subject: proposal.change.subject(),
            widenings: proposal
                .widenings
                .into_iter()
                .map(|w| w.description)
                .collect(),
        });
    }
    if event.action == "grant.revocation_failing" {
        event.reason = details["error"].as_str().map(str::to_string);
    }
    event.audience.reviewers = staff.reviewers.clone();
    event.audience.admins = staff.admins.clone();
    Ok(event)
}

#[async_trait]
impl NotificationRows for Conn {
    async fn insert_sink(&mut self, new: &NewSink<'_>) -> StoreResult<i64> {
        let (url_env, url) = match &new.sink.target {
            SinkTarget::Env(var) => (Some(var.as_str()), None),
            SinkTarget::Url(url) => (None, Some(url.as_str())),
        };
        Ok(sqlx::query_scalar(
            "INSERT INTO notification_sinks (name, kind, url_env, url, secret_env, events,
                                             resource_ids, from_seq, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&new.sink.name)
        .bind(new.sink.kind.as_str())
        .bind(url_env)
        .bind(url)
        .bind(new.sink.secret_env.as_deref())
        .bind(serde_json::to_string(&new.sink.events).expect("strings serialise"))
        .bind(
            new.resource_ids
                .as_ref()
                .map(|ids| serde_json::to_string(ids).expect("ids serialise")),
        )
        .bind(new.from_seq)
        .bind(ms(new.at))
        .bind(new.by)
        .fetch_one(&mut *self)
        .await?)
    }

    async fn sink_named(&mut self, name: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM notification_sinks WHERE name = $1 AND removed_at IS NULL",
        )
        .bind(name)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn resource_ids_named(&mut self, names: &[String]) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(concat!(
            "SELECT name, id FROM resources WHERE name IN (SELECT value FROM ",
            json_texts!(1),
            ")"
        ))
        .bind(serde_json::to_string(names).expect("strings serialise"))
        .fetch_all(&mut *self)
        .await?)
    }

    async fn remove_sink(&mut self, id: i64, at: DateTime<Utc>) -> StoreResult<Option<String>> {
        let name: Option<String> = sqlx::query_scalar(
            "UPDATE notification_sinks SET removed_at = $1
             WHERE id = $2 AND removed_at IS NULL RETURNING name",
        )
        .bind(ms(at))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?;
        if name.is_some() {
            sqlx::query(
                "UPDATE notification_deliveries SET gave_up_at = $1, claimed_until = NULL,
                        claim_token = NULL
                 WHERE sink_id = $2 AND delivered_at IS NULL AND gave_up_at IS NULL",
            )
            .bind(ms(at))
            .bind(id)
            .execute(&mut *self)
            .await?;
        }
        Ok(name)
    }

    async fn sink_views(&mut self, alert_after: i64) -> StoreResult<Vec<SinkView>> {
        let rows: Vec<SinkRow> = sqlx::query_as(SINK_SELECT).fetch_all(&mut *self).await?;
        let resources: HashMap<i64, String> = sqlx::query_as("SELECT id, name FROM resources")
            .fetch_all(&mut *self)
            .await?
            .into_iter()
            .collect();
        rows.iter()
            .map(|row| row.view(&resources, alert_after))
            .collect()
    }

    async fn sink_deliveries(
        &mut self,
        sink_id: i64,
        limit: u32,
    ) -> StoreResult<Option<Vec<DeliveryView>>> {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM notification_sinks WHERE id = $1 AND removed_at IS NULL)",
        )
        .bind(sink_id)
        .fetch_one(&mut *self)
        .await?;
        if !exists {
            return Ok(None);
        }
        type Row = (i64, i64, String, i64, i64, i64, Option<i64>, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, seq, event, queued_at, attempts, next_attempt_at, delivered_at, gave_up_at
             FROM notification_deliveries WHERE sink_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(sink_id)
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        let attempts: Vec<(i64, i64, Option<i64>, Option<String>)> = sqlx::query_as(concat!(
            "SELECT delivery_id, at, response_code, error FROM notification_attempts
             WHERE delivery_id IN ",
            ids_in!(1),
            " ORDER BY id"
        ))
        .bind(super::records::id_list(rows.iter().map(|r| r.0)))
        .fetch_all(&mut *self)
        .await?;
        let mut by_delivery: HashMap<i64, Vec<AttemptView>> = HashMap::new();
        for (delivery, at, code, error) in attempts {
            by_delivery.entry(delivery).or_default().push(AttemptView {
                at: time(at),
                response_code: code.and_then(|c| u16::try_from(c).ok()),
                error,
            });
        }
        Ok(Some(
            rows.into_iter()
                .map(
                    |(id, seq, event, queued_at, tries, next, delivered, gave_up)| {
                        let status = match (delivered, gave_up) {
                            (Some(_), _) => DeliveryStatus::Delivered,
                            (None, Some(_)) => DeliveryStatus::GaveUp,
                            (None, None) if tries == 0 => DeliveryStatus::Queued,
                            (None, None) => DeliveryStatus::Retrying,
                        };
                        let open = delivered.is_none() && gave_up.is_none();
                        DeliveryView {
                            id,
                            event,
                            seq,
                            status,
                            queued_at: time(queued_at),
                            next_attempt_at: open.then(|| time(next)),
                            delivered_at: delivered.map(time),
                            attempts: by_delivery.remove(&id).unwrap_or_default(),
                        }
                    },
                )
                .collect(),
        ))
    }

    async fn active_sinks(&mut self) -> StoreResult<Vec<SinkRecord>> {
        let rows: Vec<SinkRow> = sqlx::query_as(SINK_SELECT).fetch_all(&mut *self).await?;
        rows.iter().map(SinkRow::record).collect()
    }

    async fn notification_cursor(&mut self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT seq FROM notification_cursor WHERE id = 1")
                .fetch_one(&mut *self)
                .await?,
        )
    }

    async fn set_notification_cursor(&mut self, seq: i64) -> StoreResult<()> {
        sqlx::query("UPDATE notification_cursor SET seq = $1 WHERE id = 1")
            .bind(seq)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn notable_events(
        &mut self,
        after_seq: i64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<NotableBatch> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
            .fetch_one(&mut *self)
            .await?;
        let head = head.unwrap_or(0).max(after_seq);
        let actions: Vec<&str> = NOTIFY_EVENTS.iter().map(|e| e.action).collect();
        let rows: Vec<EventRow> = sqlx::query_as(concat!(
            "SELECT seq, at, actor_name, action, target_kind, target_id, request_id, grant_id,
                    details
             FROM audit_events
             WHERE seq > $1 AND seq <= $2 AND action IN (SELECT value FROM ",
            json_texts!(3),
            ") ORDER BY seq LIMIT $4"
        ))
        .bind(after_seq)
        .bind(head)
        .bind(serde_json::to_string(&actions).expect("strings serialise"))
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        let read_to = match rows.last() {
            Some(last) if rows.len() as u32 == limit => last.seq,
            _ => head,
        };
        let staff = Staff::read(self).await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let seq = row.seq;
            match notable(self, row, &staff, now).await {
                Ok(event) => events.push(event),
                // One event whose facts cannot be read must not stop every later message.
                Err(e @ (StoreError::NotFound(_) | StoreError::Corrupt(_))) => {
                    tracing::warn!(seq, error = %e, "an event could not be told; skipped");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(NotableBatch {
            events,
            read_to,
            more: read_to < head,
        })
    }

    async fn queue_delivery(
        &mut self,
        sink_id: i64,
        seq: i64,
        event: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO notification_deliveries (sink_id, seq, event, body, queued_at,
                                                  next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (sink_id, seq) DO NOTHING",
        )
        .bind(sink_id)
        .bind(seq)
        .bind(event)
        .bind(body)
        .bind(ms(at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        give_up_before: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim: &str,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        sqlx::query(
            "UPDATE notification_deliveries SET gave_up_at = $1, claimed_until = NULL,
                    claim_token = NULL
             WHERE delivered_at IS NULL AND gave_up_at IS NULL AND queued_at < $2
               AND (claimed_until IS NULL OR claimed_until <= $1)",
        )
        .bind(ms(now))
        .bind(ms(give_up_before))
        .execute(&mut *self)
        .await?;
        let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
            "SELECT d.id, d.sink_id, s.name AS sink_name, s.kind, s.url_env, s.url, s.secret_env,
                    d.event, d.body, d.attempts
             FROM notification_deliveries d
             JOIN notification_sinks s ON s.id = d.sink_id
             WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.next_attempt_at <= $3
               AND (d.claimed_until IS NULL OR d.claimed_until <= $1)
             ORDER BY d.next_attempt_at, d.id LIMIT $2",
            claim_rows!("d")
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .bind(ms(due_by))
        .fetch_all(&mut *self)
        .await?;
        lease(
            self,
            Outbox::NotificationDeliveries,
            rows.iter().map(|r| r.id),
            lease_until,
            claim,
        )
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(DeliveryJob {
                    claim: claim.to_string(),
                    id: row.id,
                    sink_id: row.sink_id,
                    sink_name: row.sink_name,
                    kind: kind(&row.kind)?,
                    url_env: row.url_env,
                    url: row.url,
                    secret_env: row.secret_env,
                    event: row.event,
                    body: row.body,
                    attempts: row.attempts,
                })
            })
            .collect()
    }

    async fn record_delivery_attempt(
        &mut self,
        job: &DeliveryJob,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let (delivered, next, code, error) = match outcome {
            AttemptOutcome::Delivered { response_code } => {
                (Some(ms(now)), None, Some(i64::from(*response_code)), None)
            }
            AttemptOutcome::Failed {
                response_code,
                error,
                next_attempt_at,
            } => (
                None,
                Some(ms(*next_attempt_at)),
                response_code.map(i64::from),
                Some(error.as_str()),
            ),
        };
        let held = sqlx::query(
            "UPDATE notification_deliveries
             SET attempts = attempts + 1, delivered_at = $1,
                 next_attempt_at = COALESCE($2, next_attempt_at),
                 claimed_until = NULL, claim_token = NULL
             WHERE id = $3 AND claim_token = $4 AND delivered_at IS NULL AND gave_up_at IS NULL",
        )
        .bind(delivered)
        .bind(next)
        .bind(job.id)
        .bind(&job.claim)
        .execute(&mut *self)
        .await?
        .rows_affected()
            == 1;
        if !held {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO notification_attempts (delivery_id, at, response_code, error)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(job.id)
        .bind(ms(now))
        .bind(code)
        .bind(error)
        .execute(&mut *self)
        .await?;
        if delivered.is_some() {
            sqlx::query(
                "UPDATE notification_sinks SET failures_in_a_row = 0, last_delivered_at = $1
                 WHERE id = $2",
            )
            .bind(ms(now))
            .bind(job.sink_id)
            .execute(&mut *self)
            .await?;
        } else {
            sqlx::query(
                "UPDATE notification_sinks SET failures_in_a_row = failures_in_a_row + 1
                 WHERE id = $1",
            )
            .bind(job.sink_id)
            .execute(&mut *self)
            .await?;
        }
        Ok(Some(
            sqlx::query_scalar("SELECT failures_in_a_row FROM notification_sinks WHERE id = $1")
                .bind(job.sink_id)
                .fetch_one(&mut *self)
                .await?,
        ))
    }

    async fn next_delivery_at(&mut self) -> StoreResult<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT min(CASE WHEN claimed_until > next_attempt_at THEN claimed_until
                             ELSE next_attempt_at END)
             FROM notification_deliveries WHERE delivered_at IS NULL AND gave_up_at IS NULL",
        )
        .fetch_one(&mut *self)
        .await?;
        Ok(at.map(time))
    }

    async fn fan_out_due(&mut self) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM notification_sinks WHERE removed_at IS NULL)
                AND (SELECT COALESCE(MAX(seq), 0) FROM audit_events)
                    > (SELECT seq FROM notification_cursor WHERE id = 1)",
        )
        .fetch_one(&mut *self)
        .await?)
    }

    async fn notification_mutes(&mut self) -> StoreResult<HashMap<i64, (Vec<Role>, Vec<String>)>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT m.user_id, u.roles, m.event FROM notification_mutes m
             JOIN users u ON u.id = m.user_id",
        )
        .fetch_all(&mut *self)
        .await?;
        let mut mutes: HashMap<i64, (Vec<Role>, Vec<String>)> = HashMap::new();
        for (user, roles, event) in rows {
            mutes
                .entry(user)
                .or_insert_with(|| (parse_roles(&roles), Vec::new()))
                .1
                .push(event);
        }
        Ok(mutes)
    }

    async fn muted_by(&mut self, user_id: i64) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT event FROM notification_mutes WHERE user_id = $1 ORDER BY event",
        )
        .bind(user_id)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn set_mutes(&mut self, user_id: i64, muted: &[String]) -> StoreResult<()> {
        sqlx::query("DELETE FROM notification_mutes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self)
            .await?;
        for event in muted {
            sqlx::query("INSERT INTO notification_mutes (user_id, event) VALUES ($1, $2)")
                .bind(user_id)
                .bind(event)
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }
}
