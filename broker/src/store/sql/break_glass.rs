//! Break-glass reviews (taking break-glass is `crate::service::break_glass`).
//! Each function runs inside the caller's transaction (`BEGIN IMMEDIATE` for the writing
//! ones).

use super::Conn;
use super::{escape_like, is_privileged_viewer, ms, time};
use crate::store::port::ReviewRecord;
use crate::store::{ReviewFilter, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use stint_core::api::{
    AuditEventView, IssuedCredentialView, NamedRef, ReviewDetail, ReviewView, UserView,
};
use stint_core::break_glass;
use stint_core::rules::Justification;
use stint_core::{GrantState, ReviewOutcome};

macro_rules! review_select {
    () => {
        "SELECT rv.id, rv.outcome, rv.notes, rv.taker_id, t.username AS taker_name,
                r.identity_id, i.name AS identity_name, r.resource_id, res.name AS resource_name,
                r.privilege, r.task, r.ticket, rv.request_id, rv.grant_id, g.state AS grant_state,
                g.starts_at, COALESCE(g.ended_at, g.expires_at) AS ends_at, rv.opened_at,
                rv.due_at, rv.reviewer_id, rvr.username AS reviewer_name, rv.decided_at
         FROM reviews rv
         JOIN requests r ON r.id = rv.request_id
         JOIN grants g ON g.id = rv.grant_id
         JOIN identities i ON i.id = r.identity_id
         JOIN resources res ON res.id = r.resource_id
         JOIN users t ON t.id = rv.taker_id
         LEFT JOIN users rvr ON rvr.id = rv.reviewer_id"
    };
}

#[derive(FromRow)]
pub(super) struct ReviewRow {
    id: i64,
    outcome: Option<String>,
    notes: Option<String>,
    taker_id: i64,
    taker_name: String,
    identity_id: i64,
    identity_name: String,
    resource_id: i64,
    resource_name: String,
    privilege: String,
    task: String,
    ticket: Option<String>,
    request_id: i64,
    grant_id: i64,
    grant_state: String,
    starts_at: i64,
    ends_at: i64,
    opened_at: i64,
    due_at: i64,
    reviewer_id: Option<i64>,
    reviewer_name: Option<String>,
    decided_at: Option<i64>,
}

impl ReviewRow {
    /// The review as the port's use cases read it.
    pub(super) fn record(self) -> StoreResult<ReviewRecord> {
        Ok(ReviewRecord {
            id: self.id,
            outcome: self.outcome()?,
            taker: NamedRef::new(self.taker_id, self.taker_name),
            identity: NamedRef::new(self.identity_id, self.identity_name),
            request_id: self.request_id,
            grant_id: self.grant_id,
            due_at: time(self.due_at),
        })
    }

    fn outcome(&self) -> StoreResult<Option<ReviewOutcome>> {
        self.outcome
            .as_deref()
            .map(|o| {
                ReviewOutcome::parse(o)
                    .ok_or_else(|| StoreError::Corrupt(format!("review outcome `{o}`")))
            })
            .transpose()
    }

    fn view(&self, viewer: &UserView, now: DateTime<Utc>) -> StoreResult<ReviewView> {
        let outcome = self.outcome()?;
        Ok(ReviewView {
            id: self.id,
            status: break_glass::status(outcome, time(self.due_at), now),
            outcome,
            notes: self.notes.clone(),
            taker: NamedRef::new(self.taker_id, self.taker_name.clone()),
            identity: NamedRef::new(self.identity_id, self.identity_name.clone()),
            resource: NamedRef::new(self.resource_id, self.resource_name.clone()),
            privilege: self.privilege.clone(),
            justification: Justification {
                task: self.task.clone(),
                ticket: self.ticket.clone(),
            },
            request_id: self.request_id,
            grant_id: self.grant_id,
            grant_state: GrantState::parse(&self.grant_state)
                .ok_or_else(|| StoreError::Corrupt(format!("state `{}`", self.grant_state)))?,
            started_at: time(self.starts_at),
            ends_at: time(self.ends_at),
            opened_at: time(self.opened_at),
            due_at: time(self.due_at),
            reviewer: self
                .reviewer_id
                .zip(self.reviewer_name.clone())
                .map(|(id, name)| NamedRef { id, name }),
            decided_at: self.decided_at.map(time),
            can_review: break_glass::may_review(viewer.id, &viewer.roles, self.taker_id, outcome),
        })
    }
}

/// Reviewers, admins, auditors and approvers see every review; anyone else only their own.
pub(super) async fn list(
    conn: &mut Conn,
    viewer: &UserView,
    filter: ReviewFilter,
    now: DateTime<Utc>,
) -> StoreResult<Vec<ReviewView>> {
    let query = sqlx::query_as(concat!(
        review_select!(),
        " WHERE ($1 OR rv.taker_id = $2)
            AND ($3 IS NULL
                 OR ($3 = 'open' AND rv.outcome IS NULL AND rv.due_at > $4)
                 OR ($3 = 'overdue' AND rv.outcome IS NULL AND rv.due_at <= $4)
                 OR ($3 = 'decided' AND rv.outcome IS NOT NULL))
            AND ($5 IS NULL OR rv.outcome = $5)",
        matches_search!("6", "7", "8", "9", "10", "11", "12"),
        " ORDER BY CASE WHEN rv.outcome IS NULL AND rv.due_at <= $4 THEN 0
                        WHEN rv.outcome IS NULL THEN 1 ELSE 2 END,
                   CASE WHEN rv.outcome IS NULL THEN rv.due_at ELSE -rv.decided_at END
          LIMIT $13"
    ))
    .bind(is_privileged_viewer(viewer))
    .bind(viewer.id)
    .bind(filter.status.map(|s| s.as_str()))
    .bind(ms(now))
    .bind(filter.outcome.map(|o| o.as_str()));
    let limit = if filter.limit == 0 { 200 } else { filter.limit };
    let rows: Vec<ReviewRow> = bind_search!(query, &filter.search)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.view(viewer, now)).collect()
}

pub(super) async fn load(conn: &mut Conn, id: i64) -> StoreResult<ReviewRow> {
    sqlx::query_as(concat!(review_select!(), " WHERE rv.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("review {id}")))
}

pub(super) async fn detail(
    conn: &mut Conn,
    viewer: &UserView,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<ReviewDetail> {
    let row = load(conn, id).await?;
    if !is_privileged_viewer(viewer) && row.taker_id != viewer.id {
        return Err(StoreError::NotFound(format!("review {id}")));
    }
    let credentials: Vec<(String, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT c.jti, c.issued_to, u.username, c.issued_at, c.expires_at
         FROM credentials c JOIN users u ON u.id = c.issued_to
         WHERE c.grant_id = $1 ORDER BY c.issued_at, c.jti",
    )
    .bind(row.grant_id)
    .fetch_all(&mut *conn)
    .await?;
    let timeline: Vec<super::AuditRow> = sqlx::query_as(concat!(
        "SELECT ",
        super::audit_columns!(),
        " FROM audit_events WHERE request_id = $1 ORDER BY seq"
    ))
    .bind(row.request_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ReviewDetail {
        review: row.view(viewer, now)?,
        credentials: credentials
            .into_iter()
            .map(
                |(jti, user_id, username, issued_at, expires_at)| IssuedCredentialView {
                    jti,
                    issued_to: NamedRef::new(user_id, username),
                    issued_at: time(issued_at),
                    expires_at: time(expires_at),
                },
            )
            .collect(),
        timeline: timeline
            .into_iter()
            .map(|e| e.view_for(viewer))
            .collect::<Vec<AuditEventView>>(),
    })
}
