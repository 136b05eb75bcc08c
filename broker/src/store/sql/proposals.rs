//! Proposed changes as rows (the use cases are `crate::service::proposals`).

use super::{Conn, ms, time};
use crate::store::port::{Decision, ProposalRecord, ProposalRows};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stint_core::api::{NamedRef, UserView};
use stint_core::four_eyes::{Change, ProposalState, ProposalView, Widening, check_approver};

macro_rules! proposal_select {
    () => {
        "SELECT p.id, p.change, p.widenings, p.password_hash, p.proposed_by,
                pu.username, p.proposed_at, p.state, p.decided_by, du.username, p.decided_at,
                p.reason, p.created_id
         FROM proposals p
         JOIN users pu ON pu.id = p.proposed_by
         LEFT JOIN users du ON du.id = p.decided_by"
    };
}

type Row = (
    i64,
    String,
    String,
    Option<String>,
    i64,
    String,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("proposal {what}: {e}"))
}

fn record(row: Row) -> StoreResult<ProposalRecord> {
    let (
        id,
        change,
        widenings,
        password_hash,
        by,
        by_name,
        at,
        state,
        dby,
        dby_name,
        dat,
        reason,
        created_id,
    ) = row;
    let change: Change = serde_json::from_str(&change).map_err(|e| corrupt("change", e))?;
    let widenings: Vec<Widening> =
        serde_json::from_str(&widenings).map_err(|e| corrupt("widenings", e))?;
    let state = ProposalState::parse(&state).ok_or_else(|| corrupt("state", &state))?;
    Ok(ProposalRecord {
        view: ProposalView {
            id,
            change,
            widenings,
            state,
            proposed_by: NamedRef::new(by, by_name),
            proposed_at: time(at),
            decided_by: dby.zip(dby_name).map(|(id, name)| NamedRef::new(id, name)),
            decided_at: dat.map(time),
            reason,
            created_id,
        },
        password_hash,
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("a proposal serialises")
}

#[async_trait]
impl ProposalRows for Conn {
    async fn insert_proposal(
        &mut self,
        change: &Change,
        widenings: &[Widening],
        password_hash: Option<&str>,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO proposals (change, widenings, password_hash, proposed_by, proposed_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(json(change))
        .bind(json(&widenings))
        .bind(password_hash)
        .bind(by)
        .bind(ms(at))
        .fetch_one(&mut *self)
        .await?)
    }

    async fn proposal(&mut self, id: i64) -> StoreResult<ProposalRecord> {
        let row: Option<Row> = sqlx::query_as(concat!(proposal_select!(), " WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(&mut *self)
            .await?;
        record(row.ok_or_else(|| StoreError::NotFound(format!("proposal {id}")))?)
    }

    async fn decide_proposal(&mut self, id: i64, decision: &Decision<'_>) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE proposals
             SET state = $2, decided_by = $3, decided_at = $4, reason = $5, created_id = $6,
                 password_hash = NULL
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(decision.state.as_str())
        .bind(decision.by)
        .bind(ms(decision.at))
        .bind(decision.reason)
        .bind(decision.created_id)
        .execute(&mut *self)
        .await?;
        if done.rows_affected() == 0 {
            return Err(stint_core::RuleError::Conflict(format!(
                "proposal {id} is decided already"
            ))
            .into());
        }
        Ok(())
    }

    async fn proposals(
        &mut self,
        state: Option<ProposalState>,
        limit: u32,
    ) -> StoreResult<Vec<ProposalView>> {
        let rows: Vec<Row> = sqlx::query_as(concat!(
            proposal_select!(),
            " WHERE ($1 IS NULL OR p.state = $1) ORDER BY p.id DESC LIMIT $2"
        ))
        .bind(state.map(ProposalState::as_str))
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        rows.into_iter()
            .map(|row| record(row).map(|r| r.view))
            .collect()
    }

    async fn password_setters(&mut self, user_id: i64) -> StoreResult<Vec<i64>> {
        let setters: Vec<Option<i64>> = sqlx::query_scalar(
            "SELECT created_by FROM users WHERE id = $1
             UNION
             SELECT actor_id FROM audit_events
             WHERE action = 'user.password_reset' AND target_kind = 'user' AND target_id = $1",
        )
        .bind(user_id)
        .fetch_all(&mut *self)
        .await?;
        Ok(setters.into_iter().flatten().collect())
    }

    async fn proposals_awaiting(&mut self, viewer: &UserView) -> StoreResult<u32> {
        let pending = self
            .proposals(Some(ProposalState::Pending), u32::MAX)
            .await?;
        Ok(pending
            .iter()
            .filter(|p| check_approver(p, viewer.id, &viewer.roles).is_ok())
            .count() as u32)
    }
}
