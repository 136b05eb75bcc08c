//! Break-glass access and its reviews, on SQLite. Each function runs inside the caller's
//! transaction (`BEGIN IMMEDIATE` for the writing ones).

use super::audit::{self, Actor, Event};
use super::{
    BREAK_GLASS, NewGrant, activate_grant, is_current_owner, is_privileged_viewer, load_target, ms,
    time,
};
use crate::store::{BreakGlassLimit, BreakGlassTaken, ReviewFilter, StoreError, StoreResult};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{FromRow, SqliteConnection};
use stint_core::api::{
    AuditEventView, BreakGlassBody, IssuedCredentialView, NamedRef, ReviewBody, ReviewDetail,
    ReviewView, UserView,
};
use stint_core::break_glass::{self, Attempt};
use stint_core::rules::Justification;
use stint_core::{GrantState, RequestState, ReviewOutcome, RuleError};

pub(super) async fn take(
    conn: &mut SqliteConnection,
    actor: &UserView,
    body: &BreakGlassBody,
    now: DateTime<Utc>,
    limit: BreakGlassLimit,
) -> StoreResult<BreakGlassTaken> {
    let (identity, resource) = load_target(conn, body.identity_id, body.resource_id).await?;
    let owners: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ownerships WHERE identity_id = ? AND ended_at IS NULL
         AND attest_until > ?",
    )
    .bind(body.identity_id)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await?;
    let recent_uses: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM requests WHERE kind = ? AND requester_id = ? AND identity_id = ?
         AND created_at > ?",
    )
    .bind(BREAK_GLASS)
    .bind(actor.id)
    .bind(body.identity_id)
    .bind(ms(now - limit.window))
    .fetch_one(&mut *conn)
    .await?;
    let (justification, bounds) = break_glass::check_attempt(&Attempt {
        identity_has_owner: owners > 0,
        taker_owns_identity: is_current_owner(conn, body.identity_id, actor.id, now).await?,
        taker_takeover_unconfirmed: super::ownership::takeover_unconfirmed(
            conn,
            body.identity_id,
            actor.id,
            now,
            limit.takeover_wait,
        )
        .await?,
        resource_privileges: &resource.privileges,
        policy: &resource.policy,
        privilege: &body.privilege,
        duration_secs: body.duration_secs,
        justification: &body.justification,
        recent_uses: recent_uses as u32,
        max_uses: limit.max_uses,
    })?;

    // The request records what was taken and why; it is born approved, by nobody.
    let request_id: i64 = sqlx::query_scalar(
        "INSERT INTO requests (identity_id, resource_id, privilege, duration_secs, task, ticket,
                               requester_id, state, approvals_required, max_duration_secs,
                               created_at, pending_expires_at, decided_at, kind)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(body.identity_id)
    .bind(body.resource_id)
    .bind(&body.privilege)
    .bind(body.duration_secs)
    .bind(&justification.task)
    .bind(&justification.ticket)
    .bind(actor.id)
    .bind(RequestState::Approved.as_str())
    .bind(bounds.max_duration_secs)
    .bind(ms(now))
    .bind(ms(now))
    .bind(ms(now))
    .bind(BREAK_GLASS)
    .fetch_one(&mut *conn)
    .await?;
    let grant = NewGrant {
        request_id,
        identity_id: body.identity_id,
        resource_id: body.resource_id,
        privilege: &body.privilege,
        holder_id: actor.id,
        kind: BREAK_GLASS,
    };
    let (grant_id, expires_at) = activate_grant(conn, &grant, now, body.duration_secs).await?;
    let due_at = now + Duration::seconds(bounds.review_within_secs);
    let review_id: i64 = sqlx::query_scalar(
        "INSERT INTO reviews (grant_id, request_id, taker_id, opened_at, due_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(grant_id)
    .bind(request_id)
    .bind(actor.id)
    .bind(ms(now))
    .bind(ms(due_at))
    .fetch_one(&mut *conn)
    .await?;

    let event = |action, target_kind, target_id, details| {
        Event::new(Actor::User(actor), action, target_kind, Some(target_id))
            .request(request_id)
            .grant(grant_id)
            .details(details)
    };
    let what = json!({
        "identity": identity,
        "resource": resource.name,
        "privilege": body.privilege,
        "duration_secs": body.duration_secs,
    });
    let mut taken = what.clone();
    taken["task"] = json!(justification.task);
    taken["ticket"] = json!(justification.ticket);
    audit::append(
        conn,
        now,
        event("break_glass.taken", "request", request_id, taken),
    )
    .await?;
    let mut activated = what;
    activated["expires_at"] = json!(expires_at);
    audit::append(
        conn,
        now,
        event("grant.activated", "grant", grant_id, activated),
    )
    .await?;
    let opened = json!({ "review_id": review_id, "due_at": due_at });
    audit::append(
        conn,
        now,
        event("review.opened", "review", review_id, opened),
    )
    .await?;
    Ok(BreakGlassTaken {
        request_id,
        grant_id,
        review_id,
    })
}

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
struct ReviewRow {
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
    conn: &mut SqliteConnection,
    viewer: &UserView,
    filter: ReviewFilter,
    now: DateTime<Utc>,
) -> StoreResult<Vec<ReviewView>> {
    let rows: Vec<ReviewRow> = sqlx::query_as(concat!(
        review_select!(),
        " WHERE (?1 OR rv.taker_id = ?2)
            AND (?3 IS NULL
                 OR (?3 = 'open' AND rv.outcome IS NULL AND rv.due_at > ?4)
                 OR (?3 = 'overdue' AND rv.outcome IS NULL AND rv.due_at <= ?4)
                 OR (?3 = 'decided' AND rv.outcome IS NOT NULL))
            AND (?5 IS NULL OR rv.outcome = ?5)
          ORDER BY CASE WHEN rv.outcome IS NULL AND rv.due_at <= ?4 THEN 0
                        WHEN rv.outcome IS NULL THEN 1 ELSE 2 END,
                   CASE WHEN rv.outcome IS NULL THEN rv.due_at ELSE -rv.decided_at END
          LIMIT 200"
    ))
    .bind(is_privileged_viewer(viewer))
    .bind(viewer.id)
    .bind(filter.status.map(|s| s.as_str()))
    .bind(ms(now))
    .bind(filter.outcome.map(|o| o.as_str()))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.view(viewer, now)).collect()
}

async fn load(conn: &mut SqliteConnection, id: i64) -> StoreResult<ReviewRow> {
    sqlx::query_as(concat!(review_select!(), " WHERE rv.id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("review {id}")))
}

pub(super) async fn detail(
    conn: &mut SqliteConnection,
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
         WHERE c.grant_id = ? ORDER BY c.issued_at",
    )
    .bind(row.grant_id)
    .fetch_all(&mut *conn)
    .await?;
    let timeline: Vec<super::AuditRow> = sqlx::query_as(concat!(
        "SELECT ",
        super::audit_columns!(),
        " FROM audit_events WHERE request_id = ? ORDER BY seq"
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

pub(super) async fn decide(
    conn: &mut SqliteConnection,
    actor: &UserView,
    id: i64,
    body: &ReviewBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let row = load(conn, id).await?;
    // As for reading it: who may not see a review gets 404, not 403.
    if !is_privileged_viewer(actor) && row.taker_id != actor.id {
        return Err(StoreError::NotFound(format!("review {id}")));
    }
    let notes = break_glass::decide(
        actor.id,
        &actor.roles,
        row.taker_id,
        row.outcome()?,
        body.outcome,
        &body.notes,
    )?;
    break_glass::check_end_access(body.outcome, body.end_access)?;
    let changed = sqlx::query(
        "UPDATE reviews SET outcome = ?, notes = ?, reviewer_id = ?, decided_at = ?
         WHERE id = ? AND outcome IS NULL",
    )
    .bind(body.outcome.as_str())
    .bind(&notes)
    .bind(actor.id)
    .bind(ms(now))
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(RuleError::Conflict("this review was decided meanwhile".into()).into());
    }
    audit::append(
        conn,
        now,
        Event::new(Actor::User(actor), "review.decided", "review", Some(id))
            .request(row.request_id)
            .grant(row.grant_id)
            .details(json!({
                "outcome": body.outcome,
                "notes": notes,
                "identity": row.identity_name,
                "taker": row.taker_name,
                "overdue": now >= time(row.due_at),
                "end_access": body.end_access,
            })),
    )
    .await?;
    if body.end_access {
        end_judged_access(conn, actor, &row, notes.as_deref().unwrap_or_default(), now).await?;
    }
    Ok(())
}

/// Revokes the access a review judged unjustified, in the verdict's transaction, as the
/// reviewer; nothing to do when it has already ended.
async fn end_judged_access(
    conn: &mut SqliteConnection,
    actor: &UserView,
    row: &ReviewRow,
    notes: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let grant = super::load_grant(conn, row.grant_id).await?;
    let live = stint_core::rules::LiveGrant {
        state: grant.state()?,
        secs_left: (grant.expires_at - ms(now)) / 1000,
        break_glass: true,
    };
    let reason = format!("judged unjustified in review #{}: {notes}", row.id);
    let Ok((next, reason)) = stint_core::rules::decide_revoke(&live, false, &actor.roles, &reason)
    else {
        return Ok(());
    };
    super::end_grant_early(
        conn,
        Actor::User(actor),
        &grant,
        next,
        &reason,
        json!({ "review": row.id }),
        now,
    )
    .await
}
