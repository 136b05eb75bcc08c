//! The storage port's rows on a backend's connection, inside the transaction its
//! `Database` opened (which, when it writes, already holds the audit chain's head).

use super::{Conn, Db};
use super::{
    GrantRow, RequestRow, approvals_of, approver_role_holders, current_owners_of, is_current_owner,
    load_grant, load_request, load_request_with_approvals, load_resource, ms, ownership,
    parse_state, time,
};
use crate::store::audit::{GENESIS_HASH, SealedEvent};
use crate::store::port::{
    AuditLog, AuditTrail, CatalogRows, GrantRecord, GrantRows, NewCredential, NewGrant,
    NewRequestRecord, RequestKind, RequestRecord, RequestRows, RequestTarget, ReviewRecord,
    ReviewRows,
};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stint_core::api::{AuditCheckpoint, GrantUsageView, NamedRef, UserView};
use stint_core::live;
use stint_core::rules::Approval;
use stint_core::{GrantState, IdentityKind, RequestState, ReviewOutcome, RuleError};

/// Grants per usage statement: six parameters each, well inside both backends' limits
/// (SQLite's 32 766, PostgreSQL's 65 535).
const USAGE_ROWS_PER_STATEMENT: usize = 500;

#[async_trait]
impl AuditLog for Conn {
    /// The write transaction already holds the chain's head (SQLite's one write lock, or
    /// PostgreSQL's advisory lock on it): it cannot move before this transaction ends.
    async fn audit_head(&mut self) -> StoreResult<(i64, String)> {
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *self)
                .await?;
        Ok(head.unwrap_or_else(|| (0, GENESIS_HASH.to_string())))
    }

    async fn insert_event(&mut self, e: &SealedEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (seq, at, actor_id, actor_name, action, target_kind,
                                       target_id, request_id, grant_id, details, prev_hash, hash,
                                       source_ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(e.seq)
        .bind(e.at_ms)
        .bind(e.actor_id)
        .bind(&e.actor_name)
        .bind(&e.action)
        .bind(&e.target_kind)
        .bind(e.target_id)
        .bind(e.request_id)
        .bind(e.grant_id)
        .bind(&e.details)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .bind(&e.source_ip)
        .bind(&e.user_agent)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn insert_checkpoint(&mut self, checkpoint: &AuditCheckpoint) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO audit_checkpoints (at, head_seq, head_hash, kid, signature)
             SELECT $1, $2, $3, $4, $5
             WHERE NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE head_seq >= $2)",
        )
        .bind(ms(checkpoint.at))
        .bind(checkpoint.head_seq)
        .bind(&checkpoint.head_hash)
        .bind(&checkpoint.kid)
        .bind(&checkpoint.signature)
        .execute(&mut *self)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }
}

#[async_trait]
impl AuditTrail for Conn {
    async fn audit_batch(&mut self, from: i64, limit: i64) -> StoreResult<String> {
        Ok(sqlx::query_scalar(audit_batch!())
            .bind(from)
            .bind(limit)
            .fetch_one(&mut *self)
            .await?)
    }

    async fn event_hash(&mut self, seq: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT hash FROM audit_events WHERE seq = $1")
                .bind(seq)
                .fetch_optional(&mut *self)
                .await?,
        )
    }

    async fn checkpoints(&mut self, limit: u32) -> StoreResult<Vec<AuditCheckpoint>> {
        let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
            "SELECT at, head_seq, head_hash, kid, signature FROM audit_checkpoints
             ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(at, head_seq, head_hash, kid, signature)| AuditCheckpoint {
                    at: time(at),
                    head_seq,
                    head_hash,
                    kid,
                    signature,
                },
            )
            .collect())
    }
}

#[async_trait]
impl CatalogRows for Conn {
    async fn request_target(
        &mut self,
        identity_id: i64,
        resource_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<RequestTarget> {
        // As few statements as will do: each is a round trip inside a write transaction.
        let identity: Option<(String, String)> =
            sqlx::query_as("SELECT name, kind FROM identities WHERE id = $1")
                .bind(identity_id)
                .fetch_optional(&mut *self)
                .await?;
        let (name, kind) = identity.ok_or_else(|| {
            RuleError::invalid("identity_id", format!("no identity has id {identity_id}"))
        })?;
        let identity_kind = IdentityKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("identity kind `{kind}`")))?;
        let resource = load_resource(self, resource_id).await?.ok_or_else(|| {
            RuleError::invalid("resource_id", format!("no resource has id {resource_id}"))
        })?;
        let resource = resource.view(&approver_role_holders(self).await?)?;
        let current_owners = current_owners_of(self, &[identity_id], now)
            .await?
            .remove(&identity_id)
            .unwrap_or_default();
        Ok(RequestTarget {
            identity: NamedRef::new(identity_id, name),
            identity_kind,
            resource,
            current_owners,
        })
    }

    async fn is_current_owner(
        &mut self,
        identity_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        is_current_owner(self, identity_id, user_id, now).await
    }

    async fn has_owner(&mut self, identity_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        ownership::has_owner(self, identity_id, now).await
    }

    async fn identity(&mut self, id: i64) -> StoreResult<NamedRef> {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM identities WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self)
            .await?;
        name.map(|name| NamedRef::new(id, name))
            .ok_or_else(|| StoreError::NotFound(format!("identity {id}")))
    }

    async fn takeover_unconfirmed(
        &mut self,
        identity_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
        wait: Option<chrono::Duration>,
    ) -> StoreResult<bool> {
        ownership::takeover_unconfirmed(self, identity_id, user_id, now, wait).await
    }
}

#[async_trait]
impl RequestRows for Conn {
    async fn request(&mut self, id: i64) -> StoreResult<RequestRecord> {
        load_request(self, id).await?.record()
    }

    async fn due_requests(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<RequestRecord>> {
        let rows: Vec<RequestRow> = sqlx::query_as(concat!(
            request_select!(),
            " WHERE r.state = 'pending' AND r.pending_expires_at <= $1
              ORDER BY r.pending_expires_at, r.id LIMIT $2",
            claim_rows!("r")
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(RequestRow::record).collect()
    }

    async fn may_see_request(&mut self, viewer: &UserView, id: i64) -> StoreResult<bool> {
        super::can_see_request(self, viewer, id).await
    }

    async fn request_with_approvals(
        &mut self,
        id: i64,
    ) -> StoreResult<(RequestRecord, Vec<Approval>)> {
        let (request, approvals) = load_request_with_approvals(self, id).await?;
        Ok((request.record()?, approvals_of(&approvals)))
    }

    async fn insert_request(&mut self, new: &NewRequestRecord<'_>) -> StoreResult<i64> {
        let approvers =
            serde_json::to_string(new.approvers).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(sqlx::query_scalar(
            "INSERT INTO requests (identity_id, resource_id, privilege, duration_secs, task, ticket,
                                   requester_id, state, approvals_required, max_duration_secs,
                                   created_at, pending_expires_at, approvers, kind, decided_at,
                                   vouched_by, starts_at, extends_grant_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                     $18)
             RETURNING id",
        )
        .bind(new.identity_id)
        .bind(new.resource_id)
        .bind(new.privilege)
        .bind(new.duration_secs)
        .bind(&new.justification.task)
        .bind(&new.justification.ticket)
        .bind(new.requester_id)
        .bind(new.state.as_str())
        .bind(new.approvals_required as i64)
        .bind(new.max_duration_secs)
        .bind(ms(new.created_at))
        .bind(ms(new.pending_expires_at))
        .bind(&approvers)
        .bind(new.kind.as_str())
        .bind(new.decided_at.map(ms))
        .bind(new.vouched_by)
        .bind(new.starts_at.map(ms))
        .bind(new.extends_grant_id)
        .fetch_one(&mut *self)
        .await?)
    }

    async fn break_glass_uses(
        &mut self,
        requester_id: i64,
        identity_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM requests WHERE kind = $1 AND requester_id = $2 AND identity_id = $3
             AND created_at > $4",
        )
        .bind(RequestKind::BreakGlass.as_str())
        .bind(requester_id)
        .bind(identity_id)
        .bind(ms(since))
        .fetch_one(&mut *self)
        .await?;
        Ok(n as u32)
    }

    async fn insert_approval(
        &mut self,
        request_id: i64,
        approval: &Approval,
        comment: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO approvals (request_id, approver_id, duration_secs, comment, at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(request_id)
        .bind(approval.approver_id)
        .bind(approval.duration_secs)
        .bind(comment)
        .bind(ms(at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn set_request_state(
        &mut self,
        id: i64,
        from: RequestState,
        next: RequestState,
        at: DateTime<Utc>,
        comment: Option<&str>,
    ) -> StoreResult<()> {
        let changed = sqlx::query(
            "UPDATE requests SET state = $1, decided_at = $2, decision_comment = $3
             WHERE id = $4 AND state = $5",
        )
        .bind(next.as_str())
        .bind(ms(at))
        .bind(comment)
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *self)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(RuleError::Conflict(format!("request {id} changed meanwhile")).into());
        }
        Ok(())
    }
}

impl RequestRow {
    /// The request as the port's use cases read it.
    fn record(&self) -> StoreResult<RequestRecord> {
        Ok(RequestRecord {
            id: self.id,
            state: parse_state(&self.state, RequestState::parse)?,
            kind: RequestKind::parse(&self.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("request kind `{}`", self.kind)))?,
            identity: NamedRef::new(self.identity_id, self.identity_name.clone()),
            resource: NamedRef::new(self.resource_id, self.resource_name.clone()),
            privilege: self.privilege.clone(),
            duration_secs: self.duration_secs,
            requester_id: self.requester_id,
            requester_created_by: self.requester_created_by,
            approvals_required: self.approvals_required as u32,
            approvers: self.approvers()?,
            owners: self.owners(),
            pending_expires_at: time(self.pending_expires_at),
            starts_at: self.starts_at.map(time),
            extends_grant_id: self.extends_grant_id,
        })
    }
}

impl GrantRow {
    /// The grant as the port's use cases read it.
    pub(super) fn record(&self) -> StoreResult<GrantRecord> {
        Ok(GrantRecord {
            id: self.id,
            request_id: self.request_id,
            state: self.state()?,
            kind: RequestKind::parse(&self.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("grant kind `{}`", self.kind)))?,
            identity: NamedRef::new(self.identity_id, self.identity_name.clone()),
            resource: NamedRef::new(self.resource_id, self.resource_name.clone()),
            privilege: self.privilege.clone(),
            holder_id: self.holder_id,
            starts_at: time(self.starts_at),
            expires_at: time(self.expires_at),
            usage: self.usage.view(),
        })
    }
}

#[async_trait]
impl GrantRows for Conn {
    async fn grant(&mut self, id: i64) -> StoreResult<GrantRecord> {
        load_grant(self, id).await?.record()
    }

    async fn due_grants(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<GrantRecord>> {
        let rows: Vec<GrantRow> = sqlx::query_as(concat!(
            grant_select!(),
            " WHERE g.state IN ('active', 'scheduled') AND g.expires_at <= $1
              ORDER BY g.expires_at, g.id LIMIT $2",
            claim_rows!("g")
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        rows.iter().map(GrantRow::record).collect()
    }

    async fn anything_due(&mut self, now: DateTime<Utc>) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM grants WHERE state IN ('active', 'scheduled')
                            AND expires_at <= $1)
                 OR EXISTS (SELECT 1 FROM grants WHERE state = 'scheduled' AND starts_at <= $1)
                 OR EXISTS (SELECT 1 FROM requests WHERE state = 'pending'
                            AND pending_expires_at <= $1)
                 OR EXISTS (SELECT 1 FROM ownerships WHERE ended_at IS NULL
                            AND attest_until <= $1)
                 OR EXISTS (SELECT 1 FROM grants WHERE expiry_notice_at <= $1)
                 OR EXISTS (SELECT 1 FROM reviews WHERE due_soon_notice_at <= $1)
                 OR EXISTS (SELECT 1 FROM reviews WHERE overdue_notice_at <= $1)
                 OR EXISTS (SELECT 1 FROM campaigns WHERE overdue_notice_at <= $1
                            AND closed_at IS NULL)",
        )
        .bind(ms(now))
        .fetch_one(&mut *self)
        .await?)
    }

    async fn end_grant(
        &mut self,
        id: i64,
        from: GrantState,
        next: GrantState,
        ended_at: DateTime<Utc>,
        early: Option<(&str, Option<i64>)>,
    ) -> StoreResult<()> {
        let (reason, revoked_by) = early.unzip();
        let changed = sqlx::query(
            "UPDATE grants SET state = $1, ended_at = $2, expiry_notice_at = NULL,
                    revoke_reason = COALESCE($3, revoke_reason),
                    revoked_by = COALESCE($4, revoked_by)
             WHERE id = $5 AND state = $6",
        )
        .bind(next.as_str())
        .bind(ms(ended_at))
        .bind(reason)
        .bind(revoked_by.flatten())
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *self)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(RuleError::Conflict(format!("grant {id} changed meanwhile")).into());
        }
        // Access never attempted was never made: there is nothing to take away (and a
        // webhook is never told of an end it never heard begin).
        let unmade = sqlx::query(
            "UPDATE connector_jobs SET done_at = $2, outcome = 'superseded'
             WHERE grant_id = $1 AND action = 'provision' AND done_at IS NULL
               AND attempts = 0 AND claimed_until IS NULL",
        )
        .bind(id)
        .bind(ms(ended_at))
        .execute(&mut *self)
        .await?
        .rows_affected();
        if unmade == 1 {
            sqlx::query("UPDATE grant_access SET revoked_at = $2 WHERE grant_id = $1")
                .bind(id)
                .bind(ms(ended_at))
                .execute(&mut *self)
                .await?;
        }
        // Whatever a connector made for it is to be taken away: queued in this transaction.
        sqlx::query(
            "INSERT INTO connector_jobs (grant_id, action, queued_at, next_attempt_at)
             SELECT grant_id, 'revoke', $2, $2 FROM grant_access
             WHERE grant_id = $1 AND revoked_at IS NULL
             ON CONFLICT (grant_id, action) DO NOTHING",
        )
        .bind(id)
        .bind(ms(ended_at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn add_usage(&mut self, tallies: &[(i64, GrantUsageView)]) -> StoreResult<()> {
        // One statement per chunk rather than per grant: a flush while thousands of grants
        // are in use would otherwise hold the one write turn for a statement each, and every
        // other write would wait behind it. Increments, so replicas' tallies add up; CASE
        // rather than MIN/LEAST, which the two dialects spell differently.
        for chunk in tallies.chunks(USAGE_ROWS_PER_STATEMENT) {
            let mut upsert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO grant_usage (grant_id, introspections, credential_fetches,
                                          first_used_at, last_used_at, last_address) ",
            );
            upsert.push_values(chunk, |mut row, (grant_id, uses)| {
                row.push_bind(*grant_id)
                    .push_bind(uses.introspections)
                    .push_bind(uses.credential_fetches)
                    .push_bind(ms(uses.first_used_at))
                    .push_bind(ms(uses.last_used_at))
                    .push_bind(uses.last_address.clone());
            });
            upsert.push(
                " ON CONFLICT (grant_id) DO UPDATE SET
                   introspections = grant_usage.introspections + excluded.introspections,
                   credential_fetches = grant_usage.credential_fetches
                                        + excluded.credential_fetches,
                   first_used_at = CASE WHEN excluded.first_used_at < grant_usage.first_used_at
                                        THEN excluded.first_used_at
                                        ELSE grant_usage.first_used_at END,
                   last_address = CASE WHEN excluded.last_used_at >= grant_usage.last_used_at
                                            AND excluded.last_address IS NOT NULL
                                       THEN excluded.last_address
                                       ELSE grant_usage.last_address END,
                   last_used_at = CASE WHEN excluded.last_used_at > grant_usage.last_used_at
                                       THEN excluded.last_used_at
                                       ELSE grant_usage.last_used_at END",
            );
            upsert.build().execute(&mut *self).await?;
        }
        Ok(())
    }

    async fn insert_credential(&mut self, c: &NewCredential<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO credentials (jti, grant_id, token_hash, issued_to, issued_at, expires_at, kid)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.jti)
        .bind(c.grant_id)
        .bind(c.token_hash)
        .bind(c.issued_to)
        .bind(ms(c.issued_at))
        .bind(ms(c.expires_at))
        .bind(c.kid)
        .execute(&mut *self)
        .await?;
        // One statement for all of them: each is a round trip inside the write.
        sqlx::query(concat!(
            "INSERT INTO credential_fingerprints (fingerprint, jti) SELECT f.value, $2 FROM ",
            json_texts!(1),
            " f"
        ))
        .bind(serde_json::Value::from(c.fingerprints.to_vec()).to_string())
        .bind(c.jti)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn insert_grant(
        &mut self,
        grant: &NewGrant<'_>,
        state: GrantState,
        starts_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO grants (request_id, identity_id, resource_id, privilege, holder_id, kind,
                                 state, starts_at, expires_at, expiry_notice_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(grant.request_id)
        .bind(grant.identity_id)
        .bind(grant.resource_id)
        .bind(grant.privilege)
        .bind(grant.holder_id)
        .bind(grant.kind.as_str())
        .bind(state.as_str())
        .bind(ms(starts_at))
        .bind(ms(expires_at))
        .bind(live::expiry_notice_at(starts_at, expires_at).map(ms))
        .fetch_one(&mut *self)
        .await?;
        // A resource linked to a connector: its access is to be made, queued in this
        // transaction (one statement, which inserts nothing for other resources), due at
        // the grant's start (a scheduled grant's access is made when it starts).
        let linked = sqlx::query(
            "INSERT INTO grant_access (grant_id, connector)
             SELECT $1, connector FROM resources WHERE id = $2 AND connector IS NOT NULL",
        )
        .bind(id)
        .bind(grant.resource_id)
        .execute(&mut *self)
        .await?
        .rows_affected();
        if linked == 1 {
            sqlx::query(
                "INSERT INTO connector_jobs (grant_id, action, queued_at, next_attempt_at)
                 VALUES ($1, 'provision', $2, $2)",
            )
            .bind(id)
            .bind(ms(starts_at))
            .execute(&mut *self)
            .await?;
        }
        Ok(id)
    }
}

#[async_trait]
impl ReviewRows for Conn {
    async fn review(&mut self, id: i64) -> StoreResult<ReviewRecord> {
        super::break_glass::load(self, id).await?.record()
    }

    async fn decide_review(
        &mut self,
        id: i64,
        outcome: ReviewOutcome,
        notes: Option<&str>,
        reviewer_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let changed = sqlx::query(
            "UPDATE reviews SET outcome = $1, notes = $2, reviewer_id = $3, decided_at = $4,
                    due_soon_notice_at = NULL, overdue_notice_at = NULL
             WHERE id = $5 AND outcome IS NULL",
        )
        .bind(outcome.as_str())
        .bind(notes)
        .bind(reviewer_id)
        .bind(ms(at))
        .bind(id)
        .execute(&mut *self)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(RuleError::Conflict("this review was decided meanwhile".into()).into());
        }
        Ok(())
    }

    async fn insert_review(
        &mut self,
        grant_id: i64,
        request_id: i64,
        taker_id: i64,
        opened_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO reviews (grant_id, request_id, taker_id, opened_at, due_at,
                                  due_soon_notice_at, overdue_notice_at)
             VALUES ($1, $2, $3, $4, $5, $6, $5) RETURNING id",
        )
        .bind(grant_id)
        .bind(request_id)
        .bind(taker_id)
        .bind(ms(opened_at))
        .bind(ms(due_at))
        .bind(live::due_soon_notice_at(opened_at, due_at).map(ms))
        .fetch_one(&mut *self)
        .await?)
    }
}
