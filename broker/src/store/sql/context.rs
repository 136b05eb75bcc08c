//! What an approver should know before deciding a request (`stint_core::context`), as a
//! read view: a few small queries about the request's identity and resource.

use super::{Conn, ms, time};
use crate::store::StoreResult;
use chrono::{DateTime, Duration, Utc};
use stint_core::GrantState;
use stint_core::api::NamedRef;
use stint_core::context::{
    AccessRef, ApproverContext, OwnerAttestation, PastGrant, RECENT_GRANTS, duration_advice,
};
use stint_core::usage::{EndedGrant, SIGNAL_DAYS};

/// The context of request `request_id` of `identity_id` on `resource_id`, asking for
/// `asked_secs`.
pub(super) async fn approver_context(
    conn: &mut Conn,
    request_id: i64,
    identity_id: i64,
    resource_id: i64,
    asked_secs: i64,
    now: DateTime<Utc>,
) -> StoreResult<ApproverContext> {
    let owners = super::ownership::current_owners(conn, identity_id, now).await?;
    // Grants that ran: one revoked before its start says nothing of use.
    let recent: Vec<PastRow> = sqlx::query_as(
        "SELECT g.id, g.request_id, g.privilege, r.duration_secs AS asked_secs, g.starts_at,
                COALESCE(g.ended_at, g.expires_at) AS ended_at, gu.last_used_at,
                COALESCE(gu.introspections, 0) AS introspections,
                COALESCE(gu.introspections + gu.credential_fetches, 0) AS uses, g.extensions
         FROM grants g
         JOIN requests r ON r.id = g.request_id
         LEFT JOIN grant_usage gu ON gu.grant_id = g.id
         WHERE g.identity_id = $1 AND g.resource_id = $2 AND g.state IN ('expired', 'revoked')
           AND COALESCE(g.ended_at, g.expires_at) > g.starts_at
         ORDER BY COALESCE(g.ended_at, g.expires_at) DESC, g.id DESC
         LIMIT $3",
    )
    .bind(identity_id)
    .bind(resource_id)
    .bind(RECENT_GRANTS as i64)
    .fetch_all(&mut *conn)
    .await?;
    let standing: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM standing_credentials
         WHERE identity_id = $1 AND resource_id = $2 AND status = 'mapped'",
    )
    .bind(identity_id)
    .bind(resource_id)
    .fetch_one(&mut *conn)
    .await?;
    let unjustified: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reviews rv JOIN grants g ON g.id = rv.grant_id
         WHERE g.identity_id = $1 AND rv.outcome = 'unjustified' AND rv.decided_at >= $2",
    )
    .bind(identity_id)
    .bind(ms(now - Duration::days(SIGNAL_DAYS)))
    .fetch_one(&mut *conn)
    .await?;
    let open: Vec<(String, String)> = sqlx::query_as(
        "SELECT res.name, r.privilege FROM requests r JOIN resources res ON res.id = r.resource_id
         WHERE r.identity_id = $1 AND r.state = 'pending' AND r.id <> $2
         ORDER BY r.created_at, r.id",
    )
    .bind(identity_id)
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await?;
    let live: Vec<(String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT res.name, g.privilege, g.expires_at, g.state, g.starts_at
         FROM grants g JOIN resources res ON res.id = g.resource_id
         WHERE g.identity_id = $1 AND g.state IN ('active', 'scheduled') AND g.expires_at > $2
         ORDER BY g.starts_at, g.id",
    )
    .bind(identity_id)
    .bind(ms(now))
    .fetch_all(&mut *conn)
    .await?;
    let recent_grants: Vec<PastGrant> = recent.into_iter().map(PastRow::past).collect();
    Ok(ApproverContext {
        owners: owners
            .into_iter()
            .map(|owner| OwnerAttestation {
                user: NamedRef::new(owner.user_id, owner.username),
                attest_until: time(owner.attest_until),
            })
            .collect(),
        duration_advice: duration_advice(asked_secs, &recent_grants),
        recent_grants,
        standing_paths: standing,
        unjustified_break_glass: unjustified,
        open_requests: open
            .into_iter()
            .map(|(resource, privilege)| AccessRef {
                resource,
                privilege,
                until: None,
                from: None,
            })
            .collect(),
        live_grants: live
            .into_iter()
            .map(|(resource, privilege, until, state, from)| AccessRef {
                resource,
                privilege,
                until: Some(time(until)),
                from: (state == GrantState::Scheduled.as_str()).then(|| time(from)),
            })
            .collect(),
    })
}

#[derive(sqlx::FromRow)]
struct PastRow {
    id: i64,
    request_id: i64,
    privilege: String,
    asked_secs: i64,
    starts_at: i64,
    ended_at: i64,
    last_used_at: Option<i64>,
    introspections: i64,
    uses: i64,
    extensions: i64,
}

impl PastRow {
    fn past(self) -> PastGrant {
        let ended = EndedGrant {
            starts_at: time(self.starts_at),
            ended_at: time(self.ended_at),
            last_used_at: self.last_used_at.map(time),
            introspections: self.introspections,
            uses: self.uses,
            extensions: self.extensions,
        };
        PastGrant::new(
            self.id,
            self.request_id,
            self.privilege,
            self.asked_secs,
            &ended,
        )
    }
}
